"""WebSocket probes and event streams: the handshake, expected events, frames."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import websockets.exceptions as ws_exc
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import (
    EventCheck,
    ServiceSample,
    StreamEvent,
)
from claimcheck.collectors.probe_shared import (
    BINARY_PREVIEW,
    CLOSE_TIMEOUT_S,
    NAME_LIMIT,
    PAYLOAD_LIMIT,
    SEEN_LIMIT,
    SNIPPET_LIMIT,
    SUPPORTS_PROXY_ARG,
    WS_MAX_FRAME,
    Connect,
    OnFrame,
    body_snippet,
    bounded,
    describe_error,
    is_local_host,
    ms_text,
    reason_phrase,
    sample,
    seconds_text,
)
from claimcheck.collectors.secrets import Redactor, strip_control
from websockets.asyncio.client import connect as ws_connect


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
    event_type, is_json = event_type_of(frame, service.event_key)
    payload, truncated = bounded(frame, PAYLOAD_LIMIT, red)
    if event_type is not None:
        event_type, _ = bounded(event_type, NAME_LIMIT, red)
    return StreamEvent(now, service.name, direction, event_type, payload, is_json=is_json,
                       truncated=truncated)


# ----------------------------------------------------------------------------------------
# WebSocket


async def probe_websocket(service: ServiceConfig, connect: Connect, on_frame: OnFrame | None,
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
    head = f"WebSocket connected, {ms_text(latency_ms)}"
    subprotocol = getattr(ws, "subprotocol", None)
    if service.subprotocols and subprotocol is None:
        return sample(service, red, "degraded",
                       f"{head}; server chose none of the subprotocols "
                       f"{', '.join(service.subprotocols)}", latency_ms=latency_ms)
    waited_from = time.perf_counter()
    try:
        if service.send is not None:
            await ws.send(service.send)
    except (OSError, ws_exc.WebSocketException) as exc:
        reason = (_close_reason(exc) if isinstance(exc, ws_exc.ConnectionClosed)
                  else describe_error(exc, service.timeout_s))
        return sample(service, red, "degraded", f"{head}, but sending failed: {reason}",
                       latency_ms=latency_ms)
    if not service.expect_events:
        return sample(service, red, "up", head, latency_ms=latency_ms)
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
        detail = (f"{got} of {total} expected events in {seconds_text(waited_s)} s, "
                  f"handshake {ms_text(latency_ms)}")
        return sample(service, red, "up", detail, latency_ms=latency_ms, events=check)
    detail = (f"{got} of {total} expected events within {seconds_text(service.within_s)} s; "
              f"missing {', '.join(missing_ordered)}")
    unexpected = [name for name in dict.fromkeys(seen) if name not in service.expect_events]
    if unexpected:
        detail += f"; also got {', '.join(unexpected[:5])}"
    if ended:
        detail += f"; {ended}"
    return sample(service, red, "degraded", detail, latency_ms=latency_ms, events=check)


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
        head = f"HTTP {code} {response.reason_phrase or reason_phrase(code)}".rstrip()
        snippet = body_snippet(response.body or b"")
        detail = f"{head}: {snippet}" if snippet else f"{head} on the WebSocket handshake"
        return sample(service, red, "down", detail, http_status=code)
    return sample(service, red, "down", describe_error(exc, service.timeout_s))


def _connect_kwargs(service: ServiceConfig, connect: Connect) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "additional_headers": dict(service.headers) or None,
        "subprotocols": list(service.subprotocols) or None,
        "open_timeout": service.timeout_s,
        "close_timeout": CLOSE_TIMEOUT_S,
        "max_size": WS_MAX_FRAME,
    }
    if connect is ws_connect and SUPPORTS_PROXY_ARG and is_local_host(service.host):
        kwargs["proxy"] = None  # a proxy from the environment must never see loopback traffic
    return kwargs


async def _close_quietly(ws: Any) -> None:
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S + 0.5):
            await ws.close()
    except Exception:  # the verdict is already made; a messy close changes nothing
        pass


async def stream_once(service: ServiceConfig, on_event: OnFrame, connect: Connect,
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
        on_event(state_event(service, "connected", note, red))
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


def state_event(service: ServiceConfig, state: str, note: str, red: Redactor) -> StreamEvent:
    """A connection change; its event_type is the state name so a consumer can filter on it."""
    payload, _ = bounded(note, PAYLOAD_LIMIT, red)
    return StreamEvent(time.time(), service.name, "state", state, payload)


def _close_reason(exc: ws_exc.ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "connection lost without a close frame"
    reason = " ".join(strip_control(frame.reason).split())[:SNIPPET_LIMIT]
    return f"closed by server: code {int(frame.code)}" + (f" ({reason})" if reason else "")


def event_type_of(text: str, key: str) -> tuple[str | None, bool]:
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
