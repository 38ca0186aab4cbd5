import time

import pytest
from app.factories.websocket_factory import get_websocket_manager


@pytest.mark.factory
def test_factory_returns_one_shared_manager():
    time.sleep(0.05)
    assert get_websocket_manager() is get_websocket_manager()


@pytest.mark.factory
def test_v2_router_uses_the_shared_manager():
    from app.routers import v2_agents

    assert v2_agents.manager is get_websocket_manager(), (
        "app.routers.v2_agents builds its own WebSocketManager instead of using the factory's"
    )
