"""Service probes and event streams against real servers on 127.0.0.1 (ephemeral ports).

The servers are other people's code where possible: `python -m http.server`, aiohttp.web and
websockets' own server. Nothing here mocks httpx or websockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import aiohttp.web
import httpx
import pytest
import trustme
from claimcheck.collectors import probe_shared
from claimcheck.collectors.config import Config, ServiceConfig, parse_config
from claimcheck.collectors.health import probe_all, probe_service, stream_events
from claimcheck.collectors.models import Listener, ServiceSample, StreamEvent
from claimcheck.collectors.ports import port_findings
from claimcheck.collectors.probe_http import json_mismatches
from claimcheck.collectors.probe_ws import frame_event
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import service_problem
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

EVENTS = ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
TOKEN = "tok-3f9a7c1d5e8b"


def make_config(environ: dict[str, str] | None = None, **table: Any) -> Config:
    """A one-service Config built the way users build it: through parse_config."""
    table.setdefault("name", "svc")
    return parse_config({"services": [table]}, root=Path.cwd(), source=Path("claimcheck.toml"),
                        prefix="", environ=environ or {})


def make_service(**table: Any) -> ServiceConfig:
    return make_config(**table).services[0]


def everything(sample: ServiceSample) -> str:
    """Every field of a sample as text, to prove a secret appears in none of them."""
    return repr(astuple(sample))


# ----------------------------------------------------------------------------------------
# Servers


async def _health(request: aiohttp.web.Request) -> aiohttp.web.Response:
    return aiohttp.web.json_response(
        {"status": "ok", "checks": {"db": "up", "cache": "up"}, "live": True})


async def _db_down(request: aiohttp.web.Request) -> aiohttp.web.Response:
    return aiohttp.web.json_response({"status": "ok", "checks": {"db": "down"}})


async def _refused_backend(request: aiohttp.web.Request) -> aiohttp.web.Response:
    return aiohttp.web.Response(status=503, text="backend: \x1b[31mconnection refused\x1b[0m")


async def _slow(request: aiohttp.web.Request) -> aiohttp.web.Response:
    await asyncio.sleep(0.3)
    return aiohttp.web.Response(text="ok")


async def _echo_auth(request: aiohttp.web.Request) -> aiohttp.web.Response:
    auth = request.headers.get("Authorization", "")
    return aiohttp.web.Response(status=403, text=f"E2E bypass key required; you sent {auth}")


def _aiohttp_app() -> aiohttp.web.Application:
    app = aiohttp.web.Application()
    app.router.add_get("/health", _health)
    app.router.add_get("/db-down", _db_down)
    app.router.add_get("/fail", _refused_backend)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/echo-auth", _echo_auth)
    return app


async def _start_aiohttp(ssl_context: ssl.SSLContext | None = None) -> tuple[Any, int]:
    runner = aiohttp.web.AppRunner(_aiohttp_app())
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


@pytest.fixture
async def web() -> AsyncIterator[str]:
    """Base URL of an aiohttp app on an ephemeral loopback port, served in this process."""
    runner, port = await _start_aiohttp()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """`python -m http.server` in a subprocess, serving a folder with a readiness file."""
    (tmp_path / "ready.txt").write_text("status: ready\n")
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
         "--directory", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        port = int(line.split(" port ")[1].split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused, and nobody else can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts TCP connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def _ws_handler(ws: ServerConnection) -> None:
    path = ws.request.path  # type: ignore[union-attr]
    if path == "/events/all":
        for name in EVENTS:
            await ws.send(json.dumps({"type": name, "seq": EVENTS.index(name)}))
        await ws.wait_closed()
    elif path == "/events/partial":
        for name in EVENTS[:3]:
            await ws.send(json.dumps({"type": name}))
        await ws.wait_closed()  # then silence, as in the incident
    elif path == "/events/after-subscribe":
        if await ws.recv() == "subscribe":
            for name in EVENTS:
                await ws.send(json.dumps({"kind": name}))
        await ws.wait_closed()
    elif path == "/frames":
        await ws.send("plain text, not JSON")
        await ws.send(b"\x00\x01\x02binary\xff")
        await ws.send(json.dumps({"type": "agent_started"}))
        await ws.send("{broken json")
        await ws.wait_closed()
    elif path == "/drop":
        await ws.send(json.dumps({"type": "agent_started"}))
        await ws.close(1011, "backend gone")
    else:
        await ws.wait_closed()


def _ws_process_request(ws: ServerConnection, request: Request) -> Response | None:
    """The incident's gate: the handshake needs an E2E key; one route echoes Authorization."""
    if request.path.startswith("/guarded") and "X-E2E-Key" not in request.headers:
        text = "E2E bypass key required"
        if request.path == "/guarded-echo":
            text += f" (Authorization: {request.headers.get('Authorization', '')})"
        return ws.respond(403, text + "\n")
    return None


@pytest.fixture
async def ws_base() -> AsyncIterator[str]:
    async with serve(_ws_handler, "127.0.0.1", 0, process_request=_ws_process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


# ----------------------------------------------------------------------------------------
# HTTP: up


async def test_http_up_with_dotted_and_nested_json(web: str) -> None:
    service = make_service(url=f"{web}/health", body_contains='"status"',
                           expect_json={"checks.db": "up", "checks": {"cache": "up"},
                                        "live": True})
    sample = await probe_service(service)
    assert sample.status == "up", sample.detail
    assert sample.http_status == 200
    assert sample.detail.startswith("HTTP 200 OK, ")
    assert sample.detail.endswith(" ms")
    assert sample.latency_ms is not None and sample.latency_ms >= 0
    assert sample.url == service.display_url
    assert sample.kind == "http" and sample.critical is True


async def test_http_up_against_python_http_server(http_server: str) -> None:
    service = make_service(url=f"{http_server}/ready.txt", body_contains="ready")
    sample = await probe_service(service)
    assert sample.status == "up", sample.detail
    assert sample.http_status == 200


async def test_http_missing_file_on_http_server_is_degraded(http_server: str) -> None:
    sample = await probe_service(make_service(url=f"{http_server}/nope.txt"))
    assert sample.status == "degraded"
    assert sample.http_status == 404
    assert sample.detail.startswith("HTTP 404 File not found")
    assert "expected 2xx" in sample.detail


# ----------------------------------------------------------------------------------------
# HTTP: degraded


async def test_wrong_status_is_degraded_and_quotes_clean_body(web: str) -> None:
    sample = await probe_service(make_service(url=f"{web}/fail"))
    assert sample.status == "degraded"
    assert sample.http_status == 503
    assert "HTTP 503 Service Unavailable" in sample.detail
    assert ("expected 2xx; body: backend: \\x1b[31mconnection refused\\x1b[0m"
            in sample.detail)
    assert "\x1b" not in sample.detail


async def test_expect_status_accepts_listed_codes(web: str) -> None:
    sample = await probe_service(make_service(url=f"{web}/fail", expect_status=[503]))
    assert sample.status == "up", sample.detail


async def test_expect_status_rejects_2xx_not_listed(web: str) -> None:
    sample = await probe_service(make_service(url=f"{web}/health", expect_status=[204]))
    assert sample.status == "degraded"
    assert "expected 204" in sample.detail


async def test_slow_answer_is_degraded(web: str) -> None:
    sample = await probe_service(make_service(url=f"{web}/slow", max_latency_ms=50))
    assert sample.status == "degraded"
    assert "slower than 50 ms" in sample.detail
    assert sample.latency_ms is not None and sample.latency_ms > 50


async def test_json_mismatch_is_degraded_and_named(web: str) -> None:
    service = make_service(url=f"{web}/db-down",
                           expect_json={"checks.db": "up", "checks.queue": "up"})
    sample = await probe_service(service)
    assert sample.status == "degraded"
    assert 'checks.db is "down", expected "up"' in sample.detail
    assert 'checks.queue is missing, expected "up"' in sample.detail


async def test_body_contains_missing_is_degraded(web: str) -> None:
    sample = await probe_service(make_service(url=f"{web}/health", body_contains="ready"))
    assert sample.status == "degraded"
    assert "body does not contain 'ready'" in sample.detail


def test_json_mismatches_edge_cases() -> None:
    assert json_mismatches("<html>", {"a": 1}) == ["body is not JSON"]
    assert json_mismatches('{"a": 1}', {"a": True}) == ["a is 1, expected true"]
    assert json_mismatches('{"items": [{"id": 7}]}', {"items.0.id": 7}) == []
    assert json_mismatches('{"a.b": 2}', {"a.b": 2}) == []
    assert json_mismatches('{"a": {"b": 2}}', {"a": {"b": 3}}) == ["a.b is 2, expected 3"]


# ----------------------------------------------------------------------------------------
# Down


async def test_no_listener_is_connection_refused(refused_port: int) -> None:
    sample = await probe_service(make_service(url=f"http://127.0.0.1:{refused_port}/health"))
    assert sample.status == "down"
    assert sample.detail == "connection refused"
    assert sample.http_status is None


@pytest.mark.parametrize("scheme", ["http", "ws"])
async def test_silent_server_times_out(silent_port: int, scheme: str) -> None:
    service = make_service(url=f"{scheme}://127.0.0.1:{silent_port}/health", timeout_s=0.5)
    sample = await probe_service(service)
    assert sample.status == "down"
    assert sample.detail == "timed out after 0.5 s"


async def test_unresolvable_name() -> None:
    sample = await probe_service(make_service(url="http://claimcheck-probe.invalid/health",
                                              timeout_s=5))
    assert sample.status == "down"
    assert sample.detail == "name not resolved"


def _self_signed_context() -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a CA the client does not trust."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_tls_verify_failure() -> None:
    runner, port = await _start_aiohttp(_self_signed_context())
    try:
        sample = await probe_service(make_service(url=f"https://127.0.0.1:{port}/health"))
    finally:
        await runner.cleanup()
    assert sample.status == "down"
    assert sample.detail.startswith("TLS: certificate verify failed")


# ----------------------------------------------------------------------------------------
# WebSocket


async def test_ws_all_events_is_up(ws_base: str) -> None:
    frames: list[StreamEvent] = []
    service = make_service(url=f"{ws_base}/events/all", expect_events=EVENTS, within_s=5)
    sample = await probe_service(service, on_frame=frames.append)
    assert sample.status == "up", sample.detail
    assert sample.detail.startswith("5 of 5 expected events in ")
    assert sample.events is not None
    assert sample.events.missing == ()
    assert sample.events.seen == tuple(EVENTS)
    assert [frame.event_type for frame in frames] == EVENTS
    assert all(frame.is_json and frame.direction == "recv" for frame in frames)


async def test_ws_partial_events_then_silence_is_degraded(ws_base: str) -> None:
    service = make_service(url=f"{ws_base}/events/partial", expect_events=EVENTS, within_s=0.5)
    sample = await probe_service(service)
    assert sample.status == "degraded"
    assert sample.detail == ("3 of 5 expected events within 0.5 s; "
                             "missing tool_completed, agent_completed")
    assert sample.events is not None
    assert sample.events.expected == tuple(EVENTS)
    assert sample.events.seen == tuple(EVENTS[:3])
    assert sample.events.missing == ("tool_completed", "agent_completed")


async def test_ws_no_events_at_all_is_degraded_not_silent(ws_base: str) -> None:
    service = make_service(url=f"{ws_base}/quiet", expect_events=EVENTS, within_s=0.3)
    sample = await probe_service(service)
    assert sample.status == "degraded"
    assert sample.detail.startswith("0 of 5 expected events within 0.3 s; missing agent_started")


async def test_ws_send_and_custom_event_key(ws_base: str) -> None:
    service = make_service(url=f"{ws_base}/events/after-subscribe", send="subscribe",
                           event_key="kind", expect_events=EVENTS, within_s=5)
    sample = await probe_service(service)
    assert sample.status == "up", sample.detail


async def test_ws_server_closing_early_is_named(ws_base: str) -> None:
    service = make_service(url=f"{ws_base}/drop", expect_events=EVENTS[:2], within_s=5)
    sample = await probe_service(service)
    assert sample.status == "degraded"
    assert sample.detail == ("1 of 2 expected events within 5 s; missing agent_thinking; "
                             "closed by server: code 1011 (backend gone)")


async def test_ws_handshake_rejected_is_down_with_body(ws_base: str) -> None:
    sample = await probe_service(make_service(url=f"{ws_base}/guarded", expect_events=EVENTS))
    assert sample.status == "down"
    assert sample.http_status == 403
    assert sample.detail == "HTTP 403 Forbidden: E2E bypass key required"
    assert sample.events is None


async def test_ws_handshake_with_key_passes(ws_base: str) -> None:
    service = make_service(url=f"{ws_base}/guarded", headers={"X-E2E-Key": "k-123456789"})
    sample = await probe_service(service)
    assert sample.status == "up", sample.detail
    assert sample.detail.startswith("WebSocket connected, ")


@pytest.mark.parametrize("pass_redactor", [True, False])
async def test_secret_header_never_appears_even_when_echoed(ws_base: str, web: str,
                                                            pass_redactor: bool) -> None:
    environ = {"E2E_TOKEN": TOKEN}
    ws_config = make_config(environ, url=f"{ws_base}/guarded-echo",
                            headers={"Authorization": "Bearer ${E2E_TOKEN}"})
    http_config = make_config(environ, url=f"{web}/echo-auth",
                              headers={"Authorization": "Bearer ${E2E_TOKEN}"})
    assert TOKEN in ws_config.secrets
    redactor = Redactor(ws_config.secrets) if pass_redactor else None
    samples = await probe_all([ws_config.services[0], http_config.services[0]],
                              redactor=redactor)
    assert [sample.status for sample in samples] == ["down", "degraded"]
    for sample in samples:
        assert "E2E bypass key required" in sample.detail
        assert "***" in sample.detail  # the server did echo it, and it was masked
        assert TOKEN not in everything(sample)


async def test_non_json_and_binary_frames_are_kept(ws_base: str) -> None:
    frames: list[StreamEvent] = []
    service = make_service(url=f"{ws_base}/frames", expect_events=["agent_started"], within_s=5)
    sample = await probe_service(service, on_frame=frames.append)
    assert sample.status == "up", sample.detail
    text, binary, event = frames[:3]
    assert (text.payload, text.is_json, text.is_binary) == ("plain text, not JSON", False, False)
    assert binary.is_binary and not binary.is_json
    assert binary.payload.startswith("<binary, 10 bytes> 00 01 02")
    assert event.event_type == "agent_started" and event.is_json


def test_frame_event_bounds_strips_and_redacts() -> None:
    service = make_service(url="ws://127.0.0.1:1/x")
    red = Redactor(("s3cret-value",))
    big = json.dumps({"type": "\x1b[2Jboom", "data": "x" * 10_000, "key": "s3cret-value"})
    event = frame_event(service, big, red)
    assert event.truncated and len(event.payload) == probe_shared.PAYLOAD_LIMIT
    assert event.event_type == "\\x1b[2Jboom"  # shown, never acted on
    tail = frame_event(service, "y" * 3000 + "s3cret-value", red)
    assert "s3cret" not in tail.payload
    small = frame_event(service, '{"type": "a"}', red)
    assert not small.truncated and small.payload == '{"type": "a"}'
    blob = frame_event(service, bytes(100), red)
    assert blob.is_binary and blob.truncated and "100 bytes" in blob.payload


# ----------------------------------------------------------------------------------------
# TCP


async def test_tcp_up_and_down(silent_port: int, refused_port: int) -> None:
    up = await probe_service(make_service(url=f"tcp://127.0.0.1:{silent_port}"))
    down = await probe_service(make_service(url=f"tcp://127.0.0.1:{refused_port}"))
    assert (up.status, up.kind) == ("up", "tcp")
    assert up.detail.startswith("TCP connect in ")
    assert (down.status, down.detail) == ("down", "connection refused")


# ----------------------------------------------------------------------------------------
# Rounds, verdicts, streams, ports


async def test_probe_all_keeps_order_and_fills_local_listeners(
        web: str, ws_base: str, silent_port: int, refused_port: int) -> None:
    services = [
        make_service(name="api", url=f"{web}/health"),
        make_service(name="hang", url=f"http://127.0.0.1:{silent_port}/", timeout_s=0.5),
        make_service(name="events", url=f"{ws_base}/events/all", expect_events=EVENTS),
        make_service(name="gone", url=f"tcp://127.0.0.1:{refused_port}", critical=False),
    ]
    samples = await probe_all(services)
    assert [sample.name for sample in samples] == ["api", "hang", "events", "gone"]
    assert [sample.status for sample in samples] == ["up", "down", "up", "down"]
    api, hang, events, gone = samples
    assert api.listener is not None and api.listener.pid == os.getpid()
    assert events.listener is not None and events.listener.pid == os.getpid()
    assert gone.listener is None
    assert gone.critical is False


async def test_probe_all_with_a_given_client(web: str) -> None:
    async with httpx.AsyncClient() as client:
        samples = await probe_all([make_service(url=f"{web}/health")], client=client)
    assert samples[0].status == "up"


def _sample(status: str, critical: bool = True) -> ServiceSample:
    return ServiceSample(name="s", kind="http", url="u", status=status, detail="",
                         checked_at=0.0, critical=critical)


def test_only_a_critical_service_that_is_not_up_is_a_problem() -> None:
    assert service_problem(_sample("up")) is None
    assert service_problem(_sample("down", critical=False)) is None
    assert service_problem(_sample("degraded")) == "service s degraded"
    assert service_problem(_sample("down")) == "service s down"


async def test_stream_events_reconnects_after_server_drop(ws_base: str) -> None:
    events: list[StreamEvent] = []
    connected_twice = asyncio.Event()

    def on_event(event: StreamEvent) -> None:
        events.append(event)
        if sum(e.event_type == "connected" for e in events if e.direction == "state") >= 2:
            connected_twice.set()

    service = make_service(url=f"{ws_base}/drop", stream=True)
    task = asyncio.create_task(stream_events(service, on_event, min_backoff_s=0.05,
                                             max_backoff_s=0.2))
    try:
        await asyncio.wait_for(connected_twice.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    kinds = [(e.direction, e.event_type) for e in events]
    assert kinds[:5] == [("state", "connected"), ("recv", "agent_started"),
                         ("state", "disconnected"), ("state", "reconnecting"),
                         ("state", "connected")]
    assert events[2].payload == "disconnected: closed by server: code 1011 (backend gone)"
    assert events[3].payload.startswith("reconnecting in ")


async def test_stream_events_keeps_text_and_binary_and_reports_refusal(
        ws_base: str, refused_port: int) -> None:
    events: list[StreamEvent] = []
    got_four = asyncio.Event()

    def on_event(event: StreamEvent) -> None:
        events.append(event)
        if sum(e.direction == "recv" for e in events) >= 4:
            got_four.set()

    task = asyncio.create_task(stream_events(make_service(url=f"{ws_base}/frames", stream=True),
                                             on_event))
    try:
        await asyncio.wait_for(got_four.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    received = [e for e in events if e.direction == "recv"]
    assert [(e.is_json, e.is_binary) for e in received] == [
        (False, False), (False, True), (True, False), (False, False)]
    assert received[3].payload == "{broken json"

    refused: list[StreamEvent] = []
    service = make_service(url=f"ws://127.0.0.1:{refused_port}/", stream=True)
    task = asyncio.create_task(stream_events(service, refused.append, min_backoff_s=0.05))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert refused[0].payload == "disconnected: connection refused"
    assert refused[1].payload.startswith("reconnecting in ")


def test_backoff_grows_with_jitter_and_caps() -> None:
    for failures, step in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 30.0)]:
        delays = [probe_shared.backoff_delay(failures, 0.5, 30.0) for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len(set(delays)) > 1


def test_is_local_host() -> None:
    assert probe_shared.is_local_host("127.0.0.1")
    assert probe_shared.is_local_host("127.3.2.1")
    assert probe_shared.is_local_host("::1")
    assert probe_shared.is_local_host("localhost")
    assert probe_shared.is_local_host(socket.gethostname())
    assert not probe_shared.is_local_host("example.com")
    assert not probe_shared.is_local_host("10.0.0.1")
    assert not probe_shared.is_local_host(None)


UNIQUE = uuid.uuid4().hex[:8]  # other tests (the demo) run processes named "auth" meanwhile


@pytest.fixture
def auth_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A process whose command line names `auth<unique>_service.py`, on an ephemeral port."""
    script = tmp_path / f"auth{UNIQUE}_service.py"
    script.write_text(
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield proc, port
    finally:
        proc.kill()
        proc.wait(5)


async def test_port_mismatch_names_both_ports_and_the_process(
        auth_process: tuple[subprocess.Popen[str], int], refused_port: int) -> None:
    proc, real_port = auth_process
    auth = make_service(name=f"auth{UNIQUE}", url=f"http://127.0.0.1:{refused_port}/health")
    login = make_service(name=f"login{UNIQUE}", url=f"http://localhost:{refused_port}/",
                         process=f"AUTH{UNIQUE}_SERVICE")
    billing = make_service(name=f"billing{UNIQUE}", url=f"http://127.0.0.1:{refused_port}/")
    samples = await probe_all([auth, login, billing])
    assert [s.status for s in samples] == ["down", "down", "down"]
    findings = await asyncio.to_thread(port_findings, [auth, login, billing], samples)
    assert [f.kind for f in findings] == ["port-mismatch", "port-mismatch"]
    message = findings[0].message
    assert message == (
        f"auth{UNIQUE} is configured on port {refused_port} but nothing listens there; "
        f"process {proc.pid} ({Path(sys.executable).name} auth{UNIQUE}_service.py) listens on "
        f"{real_port}. Point the url at :{real_port} or start auth{UNIQUE} on {refused_port}.")
    assert findings[0].phase is None
    assert f"process {proc.pid}" in findings[1].message


def test_port_findings_ignores_up_services_and_remote_hosts() -> None:
    service = make_service(name="python", url="http://127.0.0.1:9/")
    remote = make_service(name="python", url="http://203.0.113.7:9/")
    down = ServiceSample(name="python", kind="http", url="", status="down", detail="",
                         checked_at=0.0)
    up = ServiceSample(name="python", kind="http", url="", status="up", detail="",
                       checked_at=0.0)
    table = {1234: Listener(port=1234, pid=99999, name="python", cmdline=("python",))}
    assert port_findings([service], [up], table) == []
    assert port_findings([remote], [down], table) == []
    assert len(port_findings([service], [down], table)) == 1
    occupied = {**table, 9: Listener(port=9, pid=None, name=None)}
    assert port_findings([service], [down], occupied) == []


def test_health_module_does_not_import_textual() -> None:
    code = "import sys, claimcheck.collectors.health; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
