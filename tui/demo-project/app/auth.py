"""Token checks for the backend.

`create_auth_handler` was renamed to `create_auth_service` during the "auth consolidation";
the integration tests were never updated, which is why they cannot even be imported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class AuthService:
    secret: str
    ttl_s: int = 3600

    def issue(self, user: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        return f"{user}.{issued}.{self.secret[:4]}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """Return the user a token belongs to, or None when it is invalid or expired."""
        try:
            user, issued, tag = token.rsplit(".", 2)
        except ValueError:
            return None
        if tag != self.secret[:4]:
            return None
        age = (time.time() if now is None else now) - int(issued)
        # The consolidation changed the unit of ttl_s from minutes to seconds, but not this line.
        if age > self.ttl_s * 60:
            return None
        return user


def create_auth_service(secret: str, ttl_s: int = 3600) -> AuthService:
    return AuthService(secret=secret, ttl_s=ttl_s)
