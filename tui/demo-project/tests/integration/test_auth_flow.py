import pytest
from app.auth import (
    create_auth_handler,  # renamed to create_auth_service; never updated here
)


@pytest.mark.auth
def test_login_issues_token():
    handler = create_auth_handler("s3cr3t-signing")
    assert handler.issue("ada")
