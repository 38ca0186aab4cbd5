from __future__ import annotations

from app.factories.websocket_factory import get_websocket_manager
from app.legacy.websocket import WebSocketManager as LegacyWebSocketManager
from app.routers.base import Router
from app.routers.message_router import MessageRouter
from app.websocket_manager import WebSocketManager

router = Router("/api")
router.add("GET", "/agents")  # the same path as app.routers.agents: whichever loads last wins
router.add("GET", "/agents/{agent_id}/events")

# A second manager, not the factory's shared one: events sent here never reach subscribers.
manager = WebSocketManager()
shared = get_websocket_manager()

# The v2 event bridge still speaks to the 1.x manager, and routes with its own MessageRouter.
bridge = LegacyWebSocketManager()
messages = MessageRouter()
