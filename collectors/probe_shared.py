"""What every probe shares: bounds, the sample builder, the HTTP client, errors in words."""

from __future__ import annotations

import errno
import functools
import inspect
import ipaddress
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import Any

import httpx
import websockets.exceptions as ws_exc
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import (
    EventCheck,
    ServiceSample,
    StreamEvent,
)
from claimcheck.collectors.secrets import Redactor, strip_control
from websockets.asyncio.client import connect as ws_connect

OnFrame = Callable[[StreamEvent], None]
Connect = Callable[..., Awaitable[Any]]

PAYLOAD_LIMIT = 2048  # characters of a frame kept in a StreamEvent
BODY_LIMIT = 256 * 1024  # bytes of an HTTP body read for body_contains / expect_json
DETAIL_LIMIT = 300  # characters of a sample's detail
SNIPPET_LIMIT = 160  # characters of a rejected body quoted in a detail
NAME_LIMIT = 100  # characters of an event type
SEEN_LIMIT = 32  # distinct event types remembered by one probe
BINARY_PREVIEW = 32  # bytes of a binary frame shown as hex
WS_MAX_FRAME = 1024 * 1024  # bigger frames close the connection (websockets' default)
CLOSE_TIMEOUT_S = 1.0  # waiting for a peer's close frame is not worth more
STABLE_CONNECTION_S = 10.0  # a connection that lasted this long resets the backoff

# websockets >= 15 reads proxy settings from the environment unless told `proxy=None`.
SUPPORTS_PROXY_ARG = "proxy" in inspect.signature(ws_connect.__init__).parameters


# ----------------------------------------------------------------------------------------
# Helpers other modules may reuse


def make_client() -> httpx.AsyncClient:
    """The shared HTTP client for a round: no pool limit, no proxy for services on this host.

    Timeouts are set per request from each service's own `timeout_s`.
    """
    local_hosts = ("127.0.0.1", "localhost", "[::1]", hostname())
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        f"all://{host}": None for host in local_hosts if host
    }
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        mounts=mounts,
        follow_redirects=False,
    )


def redactor_for(service: ServiceConfig, redactor: Redactor | None) -> Redactor:
    """The caller's redactor plus the service's header values (and their longer words).

    Header values are secrets by contract; adding them here means a probe cannot leak one even
    when its caller forgot to pass `Config.secrets`.
    """
    values = set(redactor.secrets if redactor else ())
    for value in service.headers.values():
        values.add(value)
        values.update(word for word in value.split() if len(word) >= 8)
    return Redactor(tuple(sorted((v for v in values if v), key=len, reverse=True)))


def is_local_host(host: str | None) -> bool:
    """True for loopback addresses, localhost and this machine's own name."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == hostname()


def backoff_delay(failures: int, min_s: float, max_s: float) -> float:
    """Exponential backoff with jitter (between half and all of the step), capped at max_s."""
    step = min(max_s, min_s * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)




# ----------------------------------------------------------------------------------------
# Errors in a person's words

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
}


def describe_error(exc: BaseException, timeout_s: float) -> str:
    """Name a transport failure the way a person would: "connection refused", not a traceback."""
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return f"timed out after {seconds_text(timeout_s)} s"
    for cause in _causes(exc):
        words = _cause_words(cause, timeout_s)
        if words:
            return words
    text = strip_control(str(exc)).strip() or "no detail"
    return f"{type(exc).__name__}: {text}"


def _cause_words(cause: BaseException, timeout_s: float) -> str | None:
    if isinstance(cause, ssl.SSLCertVerificationError):
        why = cause.verify_message
        return "TLS: certificate verify failed" + (f" ({why})" if why else "")
    if isinstance(cause, ssl.SSLError):
        return f"TLS: {(cause.reason or str(cause)).lower().replace('_', ' ')}"
    if isinstance(cause, socket.gaierror):
        return "name not resolved"
    if isinstance(cause, (TimeoutError, httpx.TimeoutException)):
        return f"timed out after {seconds_text(timeout_s)} s"
    if isinstance(cause, OSError) and cause.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[cause.errno]
    if isinstance(cause, (httpx.RemoteProtocolError, ws_exc.InvalidMessage, EOFError)):
        return "connection closed without an answer"
    if isinstance(cause, ws_exc.InvalidURI):
        return f"not a WebSocket URL: {cause.uri}"
    if isinstance(cause, ws_exc.InvalidHandshake):
        return f"WebSocket handshake failed: {cause}"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (httpx hides the OSError two levels down)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


# ----------------------------------------------------------------------------------------
# Small formatting helpers


def sample(service: ServiceConfig, red: Redactor, status: str, detail: str,
            **fields: Any) -> ServiceSample:
    """Every sample is built here, so none can skip control stripping, bounds or redaction."""
    text, _ = bounded(detail, DETAIL_LIMIT, red)
    events = fields.pop("events", None)
    if events is not None:
        events = EventCheck(
            expected=tuple(red(name) for name in events.expected),
            seen=tuple(red(name) for name in events.seen),
            missing=tuple(red(name) for name in events.missing),
        )
    return ServiceSample(
        name=service.name,
        kind=service.kind,
        url=red(service.display_url),
        status=status,
        detail=text,
        checked_at=time.time(),
        events=events,
        critical=service.critical,
        **fields,
    )


def bounded(text: str, limit: int, red: Redactor) -> tuple[str, bool]:
    """Strip control codes, redact, then cut to `limit` (redacting first, so no half secret
    survives at the cut)."""
    head = text[: limit * 4]
    clean = red(strip_control(head))
    truncated = len(text) > len(head) or len(clean) > limit
    return (clean[:limit], truncated)


def body_snippet(body: bytes) -> str:
    """The start of a body, on one line, for quoting in a detail."""
    text = body[: SNIPPET_LIMIT * 4].decode("utf-8", errors="replace")
    text = " ".join(strip_control(text).split())
    return text if len(text) <= SNIPPET_LIMIT else text[: SNIPPET_LIMIT - 3] + "..."


def reason_phrase(code: int | None) -> str:
    try:
        return HTTPStatus(code).phrase if code is not None else ""
    except ValueError:
        return ""


def ms_text(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def seconds_text(value: float) -> str:
    """3.0 -> "3", 2.5 -> "2.5", 0.25 -> "0.25": short, and never "3.0000001"."""
    return f"{round(value, 1):g}" if value >= 1 else f"{value:.2g}"


@functools.lru_cache(maxsize=1)
def hostname() -> str:
    return socket.gethostname().lower()
