"""A WebSocketManager the notifications team wrote for the service layer (the second one)."""

from __future__ import annotations

from typing import Any, Callable


class WebSocketManager:
    def __init__(self) -> None:
        self.subscribers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    def subscribe(self, run_id: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self.subscribers.setdefault(run_id, []).append(callback)

    def unsubscribe(self, run_id: str) -> None:
        self.subscribers.pop(run_id, None)

    def send_event(self, run_id: str, type: str, **data: Any) -> int:
        for callback in self.subscribers.get(run_id, []):
            callback({"type": type, "run_id": run_id, **data})
        return len(self.subscribers.get(run_id, []))
