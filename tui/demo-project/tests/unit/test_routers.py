import pytest
from app.routers import route_table
from app.routers.base import Router


@pytest.mark.routers
def test_router_prefix_is_applied():
    router = Router("/api")
    router.add("GET", "/ping")
    assert router.routes == [("GET", "/api/ping")]


@pytest.mark.routers
def test_legacy_registration_still_works():
    router = Router("/api")
    router.add_legacy("GET", "/old")
    assert router.routes == [("GET", "/api/old")]


@pytest.mark.routers
def test_every_route_is_registered_once():
    routes = route_table()
    duplicates = sorted({route for route in routes if routes.count(route) > 1})
    print(f"{len(routes)} routes registered across {len(set(routes))} unique paths")
    assert not duplicates, f"routes registered by more than one router: {duplicates}"
