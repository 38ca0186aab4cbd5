import time

import pytest
from app.routers import ROUTERS, route_table


@pytest.mark.routers
def test_all_routers_share_the_api_prefix():
    time.sleep(0.1)
    assert {router.prefix for router in ROUTERS} == {"/api"}


@pytest.mark.routers
def test_agent_events_route_exists():
    assert ("GET", "/api/agents/{agent_id}/events") in route_table()


@pytest.mark.routers
def test_one_router_owns_agents():
    owners = [router for router in ROUTERS if ("GET", "/api/agents") in router.routes]
    assert len(owners) == 1, f"/api/agents is registered by {len(owners)} routers"
