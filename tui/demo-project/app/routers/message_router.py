"""Routes agent messages to handlers: the HTTP layer's MessageRouter (a copy of the service one)."""

from __future__ import annotations

from typing import Any, Callable


class MessageRouter:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, Any]], None]] = {}

    def register(self, message_type: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self.routes[message_type] = handler

    def route(self, message: dict[str, Any]) -> bool:
        handler = self.routes.get(message.get("type", ""))
        if handler is not None:
            handler(message)
        return handler is not None
