import time

import pytest
from app.auth import create_auth_service


@pytest.mark.auth
class TestAuthService:
    def test_issue_and_verify(self):
        service = create_auth_service("s3cr3t-signing")
        token = service.issue("ada", now=1_000)
        assert service.verify(token, now=1_001) == "ada"

    def test_rejects_wrong_signature(self):
        service = create_auth_service("s3cr3t-signing")
        token = service.issue("ada", now=1_000).replace("s3cr", "xxxx")
        assert service.verify(token, now=1_001) is None

    def test_token_expires_after_ttl(self):
        service = create_auth_service("s3cr3t-signing", ttl_s=60)
        token = service.issue("ada", now=1_000)
        time.sleep(0.1)
        user = service.verify(token, now=1_000 + 61)
        assert user is None, f"token for {user!r} still valid 61 s after issue with ttl_s=60"

    def test_rejects_garbage(self):
        assert create_auth_service("s3cr3t-signing").verify("not-a-token") is None
