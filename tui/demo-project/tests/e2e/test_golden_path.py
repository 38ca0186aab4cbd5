"""End-to-end: needs the backend up; claimcheck blocks this phase while it is down."""

import json
import os
import urllib.request

import pytest


@pytest.mark.websocket
def test_agent_run_completes():
    request = urllib.request.Request(os.environ["BACKEND_URL"].replace("/health", "/api/agents"),
                                     data=json.dumps({"task": "search"}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=2) as response:
        assert json.loads(response.read())["status"] == "agent_completed"
