import http.client
import os
from urllib.parse import urlsplit

import pytest


@pytest.mark.websocket
def test_e2e_websocket_handshake():
    """Opens the e2e gateway the way the staging harness does: without the bypass key."""
    parts = urlsplit(os.environ["E2E_WS_URL"])
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
    connection.request("GET", parts.path, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })
    response = connection.getresponse()
    body = response.read().decode().strip()
    connection.close()
    print(f"handshake answered {response.status}: {body}")
    assert response.status == 101, f"handshake rejected with {response.status}: {body}"
