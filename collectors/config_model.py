"""The configuration's shape: frozen, typed values every collector reads.

Named tuples, not dataclasses: the config is read before the first phase's pytest is spawned
when nothing was started ahead of it (a phase with an `env` of its own, services to probe
first, starts switched off), and importing `dataclasses` (and with it `inspect`, `ast`, `dis`
and `tokenize`) took about 7 ms of that, making these 4 classes about 2 ms more. A change of
one field is `value._replace(field=...)`."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple
from urllib.parse import urlsplit

DEFAULT_PHASE_DIRS: tuple[str, ...] = ("unit", "integration", "e2e", "staging")


NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})  # the default of a table nobody wrote


class ConfigError(Exception):
    """A configuration mistake, phrased for the person who made it."""


class PhaseConfig(NamedTuple):
    name: str
    pytest: tuple[str, ...] | None = None  # args for `python -m pytest`
    command: tuple[str, ...] | None = None  # the project's own runner
    timeout: float | None = None  # seconds for the whole phase
    env: Mapping[str, str] = NO_ENTRIES
    requires: tuple[str, ...] = ()  # service names that must be up


class GapConfig(NamedTuple):
    name: str
    title: str
    match: tuple[str, ...] = ()  # case-insensitive globs over the node id
    markers: tuple[str, ...] = ()


class ServiceConfig(NamedTuple):
    name: str
    url: str  # as configured, may carry credentials: never print it, print `display_url`
    kind: str  # "http", "websocket" or "tcp"
    display_url: str  # credentials replaced with ***
    expect_status: tuple[int, ...] | None = None  # None: any 2xx
    max_latency_ms: float | None = None
    body_contains: str | None = None
    expect_json: Mapping[str, Any] = NO_ENTRIES
    interval_s: float = 5.0
    timeout_s: float = 3.0
    headers: Mapping[str, str] = NO_ENTRIES
    subprotocols: tuple[str, ...] = ()
    send: str | None = None
    expect_events: tuple[str, ...] = ()
    event_key: str = "type"
    within_s: float = 10.0
    stream: bool = False
    critical: bool = True
    process: str | None = None  # a name fragment identifying the service's process

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int | None:
        parts = urlsplit(self.url)
        try:
            if parts.port is not None:
                return parts.port
        except ValueError:
            return None
        return {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)


class Config(NamedTuple):
    root: Path
    source: Path | None  # the file the config came from; None when defaults were used
    python: str  # interpreter that runs pytest phases
    phases: tuple[PhaseConfig, ...]
    gaps: tuple[GapConfig, ...]  # empty: group tests by the default rule (gaps.default_gap)
    services: tuple[ServiceConfig, ...] = ()
    secrets: tuple[str, ...] = ()  # values that must never be shown (see collectors.secrets)
    warnings: tuple[str, ...] = ()  # non-fatal notes, e.g. an unset ${VAR}
    # The configuration as written (before ${VAR} expansion, so no secret is in it), whose
    # sha256 is `digest`: {} for the defaults (no file), None for a Config made in code.
    # Hashed when first asked for, after the first phase is spawned (hashlib loads OpenSSL:
    # 3 to 4 ms of start-up).
    table: Mapping[str, Any] | None = None
    # Class or function names that must be defined once in the project's own code; None when
    # the key is absent (claimcheck then suggests likely duplicates instead), () turns both off.
    single_source: tuple[str, ...] | None = None

    @property
    def digest(self) -> str:
        """sha256 of the configuration as written: two runs with the same digest ran the same
        phases, gaps and services; key order and TOML formatting do not count. "" for a
        Config made in code."""
        return "" if self.table is None else config_digest(self.table)

    def phase(self, name: str) -> PhaseConfig:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


def config_digest(table: Mapping[str, Any]) -> str:
    """A stable hash of a configuration table: key order and TOML formatting do not count."""
    import hashlib
    import json

    canonical = json.dumps(table, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
