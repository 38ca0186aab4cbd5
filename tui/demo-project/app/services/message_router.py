"""Routes agent messages to handlers: the service layer's MessageRouter."""

from __future__ import annotations

from typing import Any, Callable

Handler = Callable[[dict[str, Any]], None]


class MessageRouter:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def register(self, message_type: str, handler: Handler) -> None:
        self.handlers[message_type] = handler

    def route(self, message: dict[str, Any]) -> bool:
        handler = self.handlers.get(message.get("type", ""))
        if handler is None:
            return False
        handler(message)
        return True
