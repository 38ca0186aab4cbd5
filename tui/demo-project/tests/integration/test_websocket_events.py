import time

import pytest
from app.websocket_manager import GOLDEN_PATH, WebSocketManager, run_agent


@pytest.mark.websocket
def test_agent_emits_golden_path():
    manager, seen = WebSocketManager(), []
    manager.subscribe("run-7", seen.append)
    print("subscribed to run-7; starting agent with tools ['search']")
    time.sleep(0.15)
    run_agent(manager, "run-7", tools=["search"])
    assert [event["type"] for event in seen] == list(GOLDEN_PATH)


@pytest.mark.websocket
def test_events_reach_late_subscribers():
    manager, seen = WebSocketManager(), []
    manager.send_event("run-8", "agent_started")
    manager.subscribe("run-8", seen.append)
    time.sleep(0.1)
    assert seen == [], "events are not replayed; late subscribers start empty"


@pytest.mark.websocket
def test_events_carry_the_run_id():
    manager, seen = WebSocketManager(), []
    manager.subscribe("run-9", seen.append)
    manager.send_event("run-9", "agent_thinking", step=1)
    assert seen[0]["run_id"] == "run-9"
