"""Builds WebSocket managers for the routers."""

from __future__ import annotations

from app.websocket_manager import WebSocketManager

_shared: WebSocketManager | None = None


def get_websocket_manager() -> WebSocketManager:
    """One shared manager; the v2 router builds its own instead (a factory conflict)."""
    global _shared
    if _shared is None:
        _shared = WebSocketManager()
    return _shared
