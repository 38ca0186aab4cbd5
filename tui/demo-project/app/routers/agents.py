from __future__ import annotations

from app.routers.base import Router

router = Router("/api")
router.add("GET", "/agents")
router.add("POST", "/agents")
router.add("GET", "/agents/{agent_id}")
