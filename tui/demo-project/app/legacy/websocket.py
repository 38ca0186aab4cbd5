"""The 1.x manager: the third WebSocketManager, still wired into the v2 event bridge."""

from __future__ import annotations

from typing import Any, Callable


class WebSocketManager:
    def __init__(self) -> None:
        self.connections: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    def subscribe(self, run_id: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self.connections.setdefault(run_id, []).append(callback)

    def send_event(self, run_id: str, event_type: str, **data: Any) -> int:
        """The old signature (`event_type=`), which the agent runner still calls."""
        for callback in self.connections.get(run_id, []):
            callback({"event_type": event_type, "run_id": run_id, **data})
        return len(self.connections.get(run_id, []))

    def broadcast(self, event: dict[str, Any]) -> int:
        return sum(self.send_event(run_id, **event) for run_id in list(self.connections))
