"""Fans agent events out to WebSocket subscribers."""

from __future__ import annotations

import warnings
from typing import Any, Callable

GOLDEN_PATH = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
               "agent_completed")


class WebSocketManager:
    def __init__(self) -> None:
        self.subscribers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    def subscribe(self, run_id: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.setdefault(run_id, []).append(callback)

    def send_event(self, run_id: str, type: str, **data: Any) -> int:
        """Deliver one event; returns how many subscribers got it.

        The agent runner calls this with `event_type=`, the old name: the interface mismatch.
        """
        event = {"type": type, "run_id": run_id, **data}
        delivered = 0
        for callback in self.subscribers.get(run_id, []):
            callback(event)
            delivered += 1
        return delivered

    def broadcast(self, event: dict[str, Any]) -> int:
        warnings.warn("WebSocketManager.broadcast() is deprecated; use send_event()",
                      DeprecationWarning, stacklevel=2)
        return sum(self.send_event(run_id, **event) for run_id in list(self.subscribers))


def run_agent(manager: WebSocketManager, run_id: str, tools: list[str]) -> None:
    """The agent runner: emits the golden path, or tries to."""
    manager.send_event(run_id, "agent_started")
    manager.send_event(run_id, "agent_thinking")
    for tool in tools:
        manager.send_event(run_id, "tool_executing", tool=tool)
        manager.send_event(run_id, event_type="tool_completed", tool=tool)
    manager.send_event(run_id, "agent_completed")
