"""Load tests added in a hurry; `scalability` was never registered, and --strict-markers is on,
so pytest refuses to collect this whole file."""

import time

import pytest
from app.websocket_manager import WebSocketManager


@pytest.mark.scalability
def test_thousand_subscribers():
    manager = WebSocketManager()
    for index in range(1_000):
        manager.subscribe("run-1", lambda event: None)
    assert manager.send_event("run-1", "agent_started") == 1_000


def test_subscribe_is_cheap():
    time.sleep(0.05)
    assert WebSocketManager().subscribers == {}
