"""A router just big enough to register routes."""

from __future__ import annotations

import warnings


class Router:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.routes: list[tuple[str, str]] = []

    def add(self, method: str, path: str) -> None:
        self.routes.append((method, self.prefix + path))

    def add_legacy(self, method: str, path: str) -> None:
        warnings.warn(
            "Router.add_legacy() is deprecated; use Router.add()", DeprecationWarning, stacklevel=2
        )
        self.add(method, path)
