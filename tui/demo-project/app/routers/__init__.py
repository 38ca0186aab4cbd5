"""Routers. `agents` and `v2_agents` both claim /api/agents: the router fragmentation."""

from __future__ import annotations

from app.routers import agents, v2_agents

ROUTERS = (agents.router, v2_agents.router)


def route_table() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, in registration order."""
    return [route for router in ROUTERS for route in router.routes]
