"""Service health: HTTP, WebSocket and TCP probes, WebSocket event streams, port ownership.

The incident behind claimcheck had an auth service answering 200 while the backend refused
connections, a WebSocket handshake rejected with 403, a service configured on the wrong port
and five expected events that silently never arrived. Every probe here ends in a
`ServiceSample` whose `detail` names such a cause in a person's words, the way a failing test
names its assertion.

Decisions:

- `down` means the service gave no usable answer: nothing listening, a timeout, an unresolved
  name, a TLS failure, or a WebSocket handshake the server rejected (a 403 on the handshake means
  the coordinated path does not work at all, so it is `down`, not `degraded`, even though an
  HTTP server answered). `degraded` means it answered but a condition failed: the status, the
  latency, the body, the JSON, or some of the expected events (including none of them).
- Transports are parameters (`client`, `connect`) so tests and the TUI exercise one code path.
- Everything that came from the network is stripped of control codes and bounded in length,
  and every string in a sample passes a redactor that always knows the service's own header
  values, even when the caller passed none.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import inspect
import ipaddress
import json
import os
import random
import socket
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from http import HTTPStatus
from typing import Any

import httpx
import websockets.exceptions as ws_exc
from claimcheck.collectors import procs
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import (
    EventCheck,
    Finding,
    Listener,
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
_SUPPORTS_PROXY_ARG = "proxy" in inspect.signature(ws_connect.__init__).parameters


# ----------------------------------------------------------------------------------------
# Public API


async def probe_service(
    service: ServiceConfig,
    *,
    client: httpx.AsyncClient | None = None,
    connect: Connect | None = None,
    on_frame: OnFrame | None = None,
    redactor: Redactor | None = None,
) -> ServiceSample:
    """Probe one service once; never raises for anything the network does.

    The whole probe is also held to an outer budget, so a transport that ignores its own timeout
    still cannot stall a round.
    """
    red = redactor_for(service, redactor)
    budget = service.timeout_s * 2 + CLOSE_TIMEOUT_S + 1.0
    if service.kind == "websocket" and service.expect_events:
        budget += service.within_s
    try:
        async with asyncio.timeout(budget):
            if service.kind == "websocket":
                return await _probe_websocket(service, connect or ws_connect, on_frame, red)
            if service.kind == "tcp":
                return await _probe_tcp(service, red)
            if client is not None:
                return await _probe_http(service, client, red)
            async with make_client() as own_client:
                return await _probe_http(service, own_client, red)
    except TimeoutError:
        return _sample(service, red, "down", f"timed out after {_seconds(budget)} s")


async def probe_all(
    services: Sequence[ServiceConfig],
    *,
    client: httpx.AsyncClient | None = None,
    connect: Connect | None = None,
    on_frame: OnFrame | None = None,
    redactor: Redactor | None = None,
) -> list[ServiceSample]:
    """Probe every service concurrently, in the order given, and note who owns local ports.

    Each probe is bounded by its own timeout and isolated from the others' failures. The psutil
    scan is blocking, so it runs once per round in a thread, alongside the probes.
    """
    if not services:
        return []
    local = any(is_local_host(service.host) for service in services)
    table_task = asyncio.ensure_future(_listener_table()) if local else None
    if client is None:
        async with make_client() as own_client:
            samples = await _probe_each(services, own_client, connect, on_frame, redactor)
    else:
        samples = await _probe_each(services, client, connect, on_frame, redactor)
    table = await table_task if table_task is not None else None
    if table is None:
        return samples
    return [
        replace(sample, listener=_redacted_listener(table.get(service.port), redactor))
        if is_local_host(service.host) and service.port is not None
        else sample
        for service, sample in zip(services, samples)
    ]


async def stream_events(
    service: ServiceConfig,
    on_event: OnFrame,
    *,
    connect: Connect | None = None,
    redactor: Redactor | None = None,
    max_backoff_s: float = 30.0,
    min_backoff_s: float = 0.5,
) -> None:
    """Follow a service's event stream until cancelled, reconnecting with backoff and jitter.

    Every frame becomes one StreamEvent handed to `on_event` as it arrives; nothing is kept
    here, so memory stays flat whatever the frame rate (the consumer decides what to keep).
    Connection changes arrive as "state" events: connected, disconnected (with the reason),
    reconnecting in N s. An exception raised by `on_event` is the consumer's bug and propagates.
    """
    red = redactor_for(service, redactor)
    connect = connect or ws_connect
    failures = 0
    while True:
        lasted_s, reason = await _stream_once(service, on_event, connect, red)
        on_event(_state_event(service, "disconnected", f"disconnected: {reason}", red))
        failures = 1 if lasted_s >= STABLE_CONNECTION_S else failures + 1
        delay = backoff_delay(failures, min_backoff_s, max_backoff_s)
        on_event(_state_event(service, "reconnecting", f"reconnecting in {delay:.1f} s", red))
        await asyncio.sleep(delay)


def port_findings(
    services: Iterable[ServiceConfig],
    samples: Iterable[ServiceSample],
    listener_table: Mapping[int, Listener] | None = None,
    *,
    redactor: Redactor | None = None,
) -> list[Finding]:
    """Port-mismatch findings: nothing on the configured port, the service's process elsewhere.

    Without `listener_table` this scans the machine's sockets with psutil, which blocks: call it
    from a thread in an event loop.
    """
    by_name = {sample.name: sample for sample in samples}
    candidates = [
        service
        for service in services
        if is_local_host(service.host)
        and service.port is not None
        and service.name in by_name
        and by_name[service.name].status == "down"
    ]
    if not candidates:
        return []
    table = procs.listeners() if listener_table is None else listener_table
    findings = []
    for service in candidates:
        if service.port in table:
            continue
        elsewhere = _lookalike_listeners(service, table)
        if elsewhere:
            findings.append(_port_mismatch(service, elsewhere, redactor))
    return findings


# ----------------------------------------------------------------------------------------
# Helpers other modules may reuse


def make_client() -> httpx.AsyncClient:
    """The shared HTTP client for a round: no pool limit, no proxy for services on this host.

    Timeouts are set per request from each service's own `timeout_s`.
    """
    local_hosts = ("127.0.0.1", "localhost", "[::1]", _hostname())
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
        return host == _hostname()


def backoff_delay(failures: int, min_s: float, max_s: float) -> float:
    """Exponential backoff with jitter (between half and all of the step), capped at max_s."""
    step = min(max_s, min_s * 2 ** max(0, failures - 1))
    return step * random.uniform(0.5, 1.0)


def frame_event(service: ServiceConfig, frame: str | bytes, red: Redactor,
                direction: str = "recv") -> StreamEvent:
    """One frame as a StreamEvent: JSON objects name their event type; nothing is dropped."""
    now = time.time()
    if isinstance(frame, (bytes, bytearray, memoryview)):
        data = bytes(frame)
        preview = data[:BINARY_PREVIEW].hex(" ")
        more = " ..." if len(data) > BINARY_PREVIEW else ""
        return StreamEvent(now, service.name, direction, None,
                           f"<binary, {len(data)} bytes> {preview}{more}", is_binary=True,
                           truncated=len(data) > BINARY_PREVIEW)
    event_type, is_json = _event_type(frame, service.event_key)
    payload, truncated = _bounded(frame, PAYLOAD_LIMIT, red)
    if event_type is not None:
        event_type, _ = _bounded(event_type, NAME_LIMIT, red)
    return StreamEvent(now, service.name, direction, event_type, payload, is_json=is_json,
                       truncated=truncated)


# ----------------------------------------------------------------------------------------
# HTTP


async def _probe_http(service: ServiceConfig, client: httpx.AsyncClient,
                      red: Redactor) -> ServiceSample:
    timeout = service.timeout_s
    started = time.perf_counter()
    status_code: int | None = None
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", service.url, headers=dict(service.headers),
                                     timeout=timeout) as response:
                status_code = response.status_code
                body = await _read_bounded(response, BODY_LIMIT)
                reason = response.reason_phrase
    except Exception as exc:  # every transport failure becomes a sample, never an exception
        return _sample(service, red, "down", describe_error(exc, timeout), http_status=status_code)
    latency_ms = (time.perf_counter() - started) * 1000
    problems = _http_problems(service, status_code, body, latency_ms)
    head = f"HTTP {status_code} {reason or _reason(status_code)}".rstrip()
    if problems:
        detail = f"{head}, {_ms(latency_ms)}: " + "; ".join(problems)
        return _sample(service, red, "degraded", detail, http_status=status_code,
                       latency_ms=latency_ms)
    return _sample(service, red, "up", f"{head}, {_ms(latency_ms)}", http_status=status_code,
                   latency_ms=latency_ms)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """Read at most `limit` bytes: a health endpoint that streams forever must not fill memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _http_problems(service: ServiceConfig, status: int, body: bytes,
                   latency_ms: float) -> list[str]:
    problems = []
    expected = service.expect_status
    if (status not in expected) if expected else not 200 <= status < 300:
        wanted = ", ".join(map(str, expected)) if expected else "2xx"
        snippet = _snippet(body)
        problems.append(f"expected {wanted}" + (f"; body: {snippet}" if snippet else ""))
    if service.max_latency_ms is not None and latency_ms > service.max_latency_ms:
        problems.append(f"slower than {service.max_latency_ms:g} ms")
    text = body.decode("utf-8", errors="replace")
    if service.body_contains is not None and service.body_contains not in text:
        problems.append(f"body does not contain {service.body_contains!r}")
    if service.expect_json:
        problems.extend(json_mismatches(text, service.expect_json))
    return problems


def json_mismatches(text: str, expected: Mapping[str, Any]) -> list[str]:
    """What in a JSON body differs from `expect_json` (dotted paths and nested tables)."""
    try:
        body = json.loads(text)
    except ValueError:
        return ["body is not JSON"]
    problems = []
    for path, want in _flatten(expected):
        found, got = _lookup(body, path)
        name = ".".join(path)
        if not found:
            problems.append(f"{name} is missing, expected {_json_text(want)}")
        elif not _same(got, want):
            problems.append(f"{name} is {_json_text(got)}, expected {_json_text(want)}")
    return problems


def _flatten(expected: Mapping[str, Any],
             prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """{"checks": {"db": "up"}} and {"checks.db": "up"} both mean body.checks.db == "up"."""
    for key, value in expected.items():
        path = prefix + tuple(str(key).split("."))
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _lookup(value: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """Walk `path` into parsed JSON; a key containing dots literally is matched too."""
    if not path:
        return True, value
    if isinstance(value, dict):
        for cut in range(len(path), 0, -1):
            key = ".".join(path[:cut])
            if key in value:
                found, got = _lookup(value[key], path[cut:])
                if found:
                    return True, got
        return False, None
    if isinstance(value, list) and path[0].isdigit() and int(path[0]) < len(value):
        return _lookup(value[int(path[0])], path[1:])
    return False, None


def _same(got: Any, want: Any) -> bool:
    """JSON equality where true is not 1 (Python would say it is)."""
    if isinstance(got, bool) or isinstance(want, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    return bool(got == want)


def _json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# ----------------------------------------------------------------------------------------
# WebSocket


async def _probe_websocket(service: ServiceConfig, connect: Connect, on_frame: OnFrame | None,
                           red: Redactor) -> ServiceSample:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(service.timeout_s):
            ws = await connect(service.url, **_connect_kwargs(service, connect))
    except Exception as exc:
        return _handshake_failure(service, exc, red)
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        return await _after_handshake(service, ws, on_frame, red, latency_ms)
    finally:
        await _close_quietly(ws)


async def _after_handshake(service: ServiceConfig, ws: Any, on_frame: OnFrame | None,
                           red: Redactor, latency_ms: float) -> ServiceSample:
    head = f"WebSocket connected, {_ms(latency_ms)}"
    subprotocol = getattr(ws, "subprotocol", None)
    if service.subprotocols and subprotocol is None:
        return _sample(service, red, "degraded",
                       f"{head}; server chose none of the subprotocols "
                       f"{', '.join(service.subprotocols)}", latency_ms=latency_ms)
    waited_from = time.perf_counter()
    try:
        if service.send is not None:
            await ws.send(service.send)
    except (OSError, ws_exc.WebSocketException) as exc:
        reason = (_close_reason(exc) if isinstance(exc, ws_exc.ConnectionClosed)
                  else describe_error(exc, service.timeout_s))
        return _sample(service, red, "degraded", f"{head}, but sending failed: {reason}",
                       latency_ms=latency_ms)
    if not service.expect_events:
        return _sample(service, red, "up", head, latency_ms=latency_ms)
    seen, ended = await _collect_events(service, ws, on_frame, red)
    waited_s = time.perf_counter() - waited_from
    return _events_sample(service, red, latency_ms, seen, ended, waited_s)


async def _collect_events(service: ServiceConfig, ws: Any, on_frame: OnFrame | None,
                          red: Redactor) -> tuple[list[str], str | None]:
    """Receive frames until every expected event was seen, `within_s` passed, or the close.

    Returns the event types seen in order (duplicates kept up to what is expected, so an event
    expected twice must arrive twice) and why waiting stopped early, if it did.
    """
    wanted = Counter(service.expect_events)
    seen: list[str] = []
    counts: Counter[str] = Counter()
    try:
        async with asyncio.timeout(service.within_s):
            while any(counts[name] < wanted[name] for name in wanted):
                event = frame_event(service, await ws.recv(), red)
                if on_frame is not None:
                    on_frame(event)
                name = event.event_type
                if name is None:
                    continue
                counts[name] += 1
                if counts[name] <= max(1, wanted[name]) and len(seen) < SEEN_LIMIT:
                    seen.append(name)
    except TimeoutError:
        return seen, None
    except ws_exc.ConnectionClosed as exc:
        return seen, _close_reason(exc)
    return seen, None


def _events_sample(service: ServiceConfig, red: Redactor, latency_ms: float, seen: list[str],
                   ended: str | None, waited_s: float) -> ServiceSample:
    missing = list((Counter(service.expect_events) - Counter(seen)).elements())
    missing_ordered = _in_expected_order(service.expect_events, missing)
    check = EventCheck(expected=tuple(service.expect_events), seen=tuple(seen),
                       missing=tuple(missing_ordered))
    total = len(service.expect_events)
    got = total - len(missing_ordered)
    if not missing_ordered:
        detail = (f"{got} of {total} expected events in {_seconds(waited_s)} s, "
                  f"handshake {_ms(latency_ms)}")
        return _sample(service, red, "up", detail, latency_ms=latency_ms, events=check)
    detail = (f"{got} of {total} expected events within {_seconds(service.within_s)} s; "
              f"missing {', '.join(missing_ordered)}")
    unexpected = [name for name in dict.fromkeys(seen) if name not in service.expect_events]
    if unexpected:
        detail += f"; also got {', '.join(unexpected[:5])}"
    if ended:
        detail += f"; {ended}"
    return _sample(service, red, "degraded", detail, latency_ms=latency_ms, events=check)


def _in_expected_order(expected: Sequence[str], missing: list[str]) -> list[str]:
    remaining = Counter(missing)
    ordered = []
    for name in expected:
        if remaining[name] > 0:
            ordered.append(name)
            remaining[name] -= 1
    return ordered


def _handshake_failure(service: ServiceConfig, exc: BaseException,
                       red: Redactor) -> ServiceSample:
    """A rejected or failed handshake is `down`: the coordinated path does not work at all."""
    if isinstance(exc, ws_exc.InvalidStatus):
        response = exc.response
        code = response.status_code
        head = f"HTTP {code} {response.reason_phrase or _reason(code)}".rstrip()
        snippet = _snippet(response.body or b"")
        detail = f"{head}: {snippet}" if snippet else f"{head} on the WebSocket handshake"
        return _sample(service, red, "down", detail, http_status=code)
    return _sample(service, red, "down", describe_error(exc, service.timeout_s))


def _connect_kwargs(service: ServiceConfig, connect: Connect) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "additional_headers": dict(service.headers) or None,
        "subprotocols": list(service.subprotocols) or None,
        "open_timeout": service.timeout_s,
        "close_timeout": CLOSE_TIMEOUT_S,
        "max_size": WS_MAX_FRAME,
    }
    if connect is ws_connect and _SUPPORTS_PROXY_ARG and is_local_host(service.host):
        kwargs["proxy"] = None  # a proxy from the environment must never see loopback traffic
    return kwargs


async def _close_quietly(ws: Any) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S + 0.5):
            await ws.close()
    except Exception:  # the verdict is already made; a messy close changes nothing
        pass


async def _stream_once(service: ServiceConfig, on_event: OnFrame, connect: Connect,
                       red: Redactor) -> tuple[float, str]:
    """One connection's life: returns how long it lasted and why it ended."""
    try:
        async with asyncio.timeout(service.timeout_s):
            ws = await connect(service.url, **_connect_kwargs(service, connect))
    except Exception as exc:
        return 0.0, _handshake_failure(service, exc, red).detail
    opened = time.monotonic()
    try:
        subprotocol = getattr(ws, "subprotocol", None)
        note = f"connected to {service.display_url}" + (f" ({subprotocol})" if subprotocol else "")
        on_event(_state_event(service, "connected", note, red))
        if service.send is not None:
            await ws.send(service.send)
            on_event(frame_event(service, service.send, red, direction="send"))
        async for message in ws:
            on_event(frame_event(service, message, red))
        return time.monotonic() - opened, "closed by server"
    except ws_exc.ConnectionClosed as exc:
        return time.monotonic() - opened, _close_reason(exc)
    except (OSError, ws_exc.WebSocketException) as exc:
        return time.monotonic() - opened, describe_error(exc, service.timeout_s)
    finally:
        await _close_quietly(ws)


def _state_event(service: ServiceConfig, state: str, note: str, red: Redactor) -> StreamEvent:
    """A connection change; its event_type is the state name so a consumer can filter on it."""
    payload, _ = _bounded(note, PAYLOAD_LIMIT, red)
    return StreamEvent(time.time(), service.name, "state", state, payload)


def _close_reason(exc: ws_exc.ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "connection lost without a close frame"
    reason = " ".join(strip_control(frame.reason).split())[:SNIPPET_LIMIT]
    return f"closed by server: code {int(frame.code)}" + (f" ({reason})" if reason else "")


def _event_type(text: str, key: str) -> tuple[str | None, bool]:
    """The frame's event name from `key` when the frame is a JSON object."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None, False
    try:
        value = json.loads(text)
    except ValueError:
        return None, False
    if isinstance(value, dict):
        name = value.get(key)
        if isinstance(name, (str, int, float)) and not isinstance(name, bool):
            return str(name), True
    return None, True


# ----------------------------------------------------------------------------------------
# TCP


async def _probe_tcp(service: ServiceConfig, red: Redactor) -> ServiceSample:
    host, port = service.host, service.port
    started = time.perf_counter()
    try:
        async with asyncio.timeout(service.timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except Exception as exc:
        return _sample(service, red, "down", describe_error(exc, service.timeout_s))
    latency_ms = (time.perf_counter() - started) * 1000
    writer.close()
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await writer.wait_closed()
    except Exception:  # the connect succeeded; that is what was asked
        pass
    detail = f"TCP connect in {_ms(latency_ms)}"
    if service.max_latency_ms is not None and latency_ms > service.max_latency_ms:
        return _sample(service, red, "degraded",
                       f"{detail}: slower than {service.max_latency_ms:g} ms",
                       latency_ms=latency_ms)
    return _sample(service, red, "up", detail, latency_ms=latency_ms)


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
        return f"timed out after {_seconds(timeout_s)} s"
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
        return f"timed out after {_seconds(timeout_s)} s"
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
# Round plumbing


async def _probe_each(services: Sequence[ServiceConfig], client: httpx.AsyncClient,
                      connect: Connect | None, on_frame: OnFrame | None,
                      redactor: Redactor | None) -> list[ServiceSample]:
    async def guarded(service: ServiceConfig) -> ServiceSample:
        try:
            return await probe_service(service, client=client, connect=connect,
                                       on_frame=on_frame, redactor=redactor)
        except Exception as exc:  # one broken probe must not sink the round
            red = redactor_for(service, redactor)
            return _sample(service, red, "down", f"probe failed: {type(exc).__name__}: {exc}")

    return list(await asyncio.gather(*(guarded(service) for service in services)))


async def _listener_table() -> dict[int, Listener] | None:
    try:
        return await asyncio.to_thread(procs.listeners)
    except Exception:  # ownership is a nicety; a psutil failure must not cost the round
        return None


def _redacted_listener(listener: Listener | None, redactor: Redactor | None) -> Listener | None:
    """Command lines can carry tokens (--api-key=...): they pass the redactor like all text."""
    if listener is None or redactor is None:
        return listener
    return replace(listener, cmdline=tuple(redactor(strip_control(arg)) for arg in
                                           listener.cmdline))


def _lookalike_listeners(service: ServiceConfig, table: Mapping[int, Listener]) -> list[Listener]:
    """Listeners, other than ourselves, whose process name or command line names the service."""
    needles = {service.name.lower()} | ({service.process.lower()} if service.process else set())
    found = []
    for port, listener in sorted(table.items()):
        if listener.pid is None or listener.pid == os.getpid() or port == service.port:
            continue
        haystack = " ".join((listener.name or "", *listener.cmdline)).lower()
        if any(needle in haystack for needle in needles):
            found.append(listener)
    return found


def _port_mismatch(service: ServiceConfig, elsewhere: list[Listener],
                   redactor: Redactor | None) -> Finding:
    first = elsewhere[0]
    owners = "; ".join(
        f"process {listener.pid} ({_process_label(listener)}) listens on {listener.port}"
        for listener in elsewhere[:3]
    )
    message = (
        f"{service.name} is configured on port {service.port} but nothing listens there; "
        f"{owners}. Point the url at :{first.port} or start {service.name} on {service.port}."
    )
    message = strip_control(message)
    if redactor is not None:
        message = redactor(message)
    return Finding(kind="port-mismatch", phase=None, path=None, line=None, message=message,
                   count=len(elsewhere))


def _process_label(listener: Listener) -> str:
    if listener.cmdline:
        # Absolute paths shortened to their file name: "python auth_service.py", not a tmp path.
        argv = [os.path.basename(arg) if os.path.isabs(arg) else arg
                for arg in listener.cmdline]
        text = " ".join(argv)
    else:
        text = listener.name or "unknown"
    return text if len(text) <= 80 else text[:77] + "..."


# ----------------------------------------------------------------------------------------
# Small formatting helpers


def _sample(service: ServiceConfig, red: Redactor, status: str, detail: str,
            **fields: Any) -> ServiceSample:
    """Every sample is built here, so none can skip control stripping, bounds or redaction."""
    text, _ = _bounded(detail, DETAIL_LIMIT, red)
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


def _bounded(text: str, limit: int, red: Redactor) -> tuple[str, bool]:
    """Strip control codes, redact, then cut to `limit` (redacting first, so no half secret
    survives at the cut)."""
    head = text[: limit * 4]
    clean = red(strip_control(head))
    truncated = len(text) > len(head) or len(clean) > limit
    return (clean[:limit], truncated)


def _snippet(body: bytes) -> str:
    """The start of a body, on one line, for quoting in a detail."""
    text = body[: SNIPPET_LIMIT * 4].decode("utf-8", errors="replace")
    text = " ".join(strip_control(text).split())
    return text if len(text) <= SNIPPET_LIMIT else text[: SNIPPET_LIMIT - 3] + "..."


def _reason(code: int | None) -> str:
    try:
        return HTTPStatus(code).phrase if code is not None else ""
    except ValueError:
        return ""


def _ms(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def _seconds(value: float) -> str:
    """3.0 -> "3", 2.5 -> "2.5", 0.25 -> "0.25": short, and never "3.0000001"."""
    return f"{round(value, 1):g}" if value >= 1 else f"{value:.2g}"


@functools.lru_cache(maxsize=1)
def _hostname() -> str:
    return socket.gethostname().lower()

