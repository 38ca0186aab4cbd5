"""Pushes agent progress to the browser."""

from __future__ import annotations

from app.legacy.websocket import WebSocketManager  # "temporary", since 1.9
from app.services.message_router import MessageRouter

manager = WebSocketManager()
router = MessageRouter()
