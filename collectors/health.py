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
import time
from collections.abc import Sequence
from dataclasses import replace

import httpx
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import ServiceSample
from claimcheck.collectors.ports import listener_table, redacted_listener
from claimcheck.collectors.probe_http import probe_http
from claimcheck.collectors.probe_shared import (
    CLOSE_TIMEOUT_S,
    STABLE_CONNECTION_S,
    Connect,
    OnFrame,
    backoff_delay,
    describe_error,
    is_local_host,
    make_client,
    ms_text,
    redactor_for,
    sample,
    seconds_text,
)
from claimcheck.collectors.probe_ws import probe_websocket, state_event, stream_once
from claimcheck.collectors.secrets import Redactor
from websockets.asyncio.client import connect as ws_connect

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
                return await probe_websocket(service, connect or ws_connect, on_frame, red)
            if service.kind == "tcp":
                return await probe_tcp(service, red)
            if client is not None:
                return await probe_http(service, client, red)
            async with make_client() as own_client:
                return await probe_http(service, own_client, red)
    except TimeoutError:
        return sample(service, red, "down", f"timed out after {seconds_text(budget)} s")


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
    table_task = asyncio.ensure_future(listener_table()) if local else None
    if client is None:
        async with make_client() as own_client:
            samples = await _probe_each(services, own_client, connect, on_frame, redactor)
    else:
        samples = await _probe_each(services, client, connect, on_frame, redactor)
    table = await table_task if table_task is not None else None
    if table is None:
        return samples
    return [
        replace(sample, listener=redacted_listener(table.get(service.port), redactor))
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
        lasted_s, reason = await stream_once(service, on_event, connect, red)
        on_event(state_event(service, "disconnected", f"disconnected: {reason}", red))
        failures = 1 if lasted_s >= STABLE_CONNECTION_S else failures + 1
        delay = backoff_delay(failures, min_backoff_s, max_backoff_s)
        on_event(state_event(service, "reconnecting", f"reconnecting in {delay:.1f} s", red))
        await asyncio.sleep(delay)


# ----------------------------------------------------------------------------------------
# TCP


async def probe_tcp(service: ServiceConfig, red: Redactor) -> ServiceSample:
    host, port = service.host, service.port
    started = time.perf_counter()
    try:
        async with asyncio.timeout(service.timeout_s):
            _, writer = await asyncio.open_connection(host, port)
    except Exception as exc:
        return sample(service, red, "down", describe_error(exc, service.timeout_s))
    latency_ms = (time.perf_counter() - started) * 1000
    writer.close()
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await writer.wait_closed()
    except Exception:  # the connect succeeded; that is what was asked
        pass
    detail = f"TCP connect in {ms_text(latency_ms)}"
    if service.max_latency_ms is not None and latency_ms > service.max_latency_ms:
        return sample(service, red, "degraded",
                       f"{detail}: slower than {service.max_latency_ms:g} ms",
                       latency_ms=latency_ms)
    return sample(service, red, "up", detail, latency_ms=latency_ms)


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
            return sample(service, red, "down", f"probe failed: {type(exc).__name__}: {exc}")

    return list(await asyncio.gather(*(guarded(service) for service in services)))
