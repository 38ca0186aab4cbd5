"""The sample services behind `claimcheck demo`, all on 127.0.0.1 with ephemeral ports.

They reproduce the incident's service picture:

- `auth`: an HTTP health endpoint that answers 200. It runs as its own subprocess
  (`python -m claimcheck.tui.demo_services auth`) so its command line says "auth" and claimcheck can tell
  whose port it is when the backend looks for auth on the wrong one.
- `backend` and the port where the backend *expects* auth: free ports where nothing listens.
- `e2e-gateway`: a WebSocket that refuses any handshake without `X-E2E-Bypass-Key` with
  403 "E2E bypass key required".
- `agent-events`: a WebSocket that wants `Authorization: Bearer <token>` and streams the golden
  path with `tool_completed` and `agent_completed` missing, one run every few seconds.

The WebSocket servers run on an event loop in a daemon thread of the demo process, so they die
with it whatever happens; the auth subprocess also exits when its stdin closes, which covers a
demo that was killed with SIGKILL and never got to run its cleanup.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from claimcheck.collectors.procs import kill_tree
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

HOST = "127.0.0.1"
GOLDEN_PATH = ("agent_started", "agent_thinking", "tool_executing", "tool_completed",
               "agent_completed")
# What the sample backend really emits: tools start but never complete, runs never finish.
EMITTED = ("agent_started", "agent_thinking", "tool_executing")
# A believable pace: one (broken) agent run every 5 s, its events a moment apart, and one
# "still waiting" beat in between - under one frame a second, so the event panel shows test,
# phase and service news alongside the frames instead of scrolling them away.
RUN_INTERVAL_S = 5.0
EVENT_GAP_S = 0.15  # between a run's events; all three land well within a 1 s probe window
WAITING_AFTER_S = 2.0  # the heartbeat that shows the run never completes
READY_PREFIX = "READY "
_START_TIMEOUT_S = 15.0

# The servers' own log lines (rejected handshakes, dropped clients) would land on the TUI's
# terminal through logging's last-resort handler; the demo shows them as evidence instead.
_LOG = logging.getLogger("claimcheck.demo_services")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False


def free_port() -> int:
    """A port nothing listens on right now: the kernel's pick, released at once.

    Used for the services that must refuse connections. Another program could take the port in
    the meantime, which would only make the demo's "down" service look up.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _another_free_port(taken: set[int]) -> int:
    while (port := free_port()) in taken:
        pass
    return port


# ----------------------------------------------------------------------------------------
# auth: a subprocess


class _AuthHandler(BaseHTTPRequestHandler):
    server_version = "demo-auth/2.3"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        if self.path.split("?", 1)[0] == "/health":
            body = json.dumps({"status": "ok", "service": "auth", "version": "2.3.0"}).encode()
            self.send_response(HTTPStatus.OK)
        else:
            body = json.dumps({"detail": "not found"}).encode()
            self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request logging: the demo's terminal belongs to the TUI."""


def serve_auth(port: int = 0) -> int:
    """Run the auth service until stdin closes (the demo ended, however it ended)."""
    server = ThreadingHTTPServer((HOST, port), _AuthHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-auth", daemon=True)
    thread.start()
    print(f"{READY_PREFIX}{server.server_address[1]}", flush=True)
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


def start_auth_process() -> tuple[subprocess.Popen[bytes], int]:
    """Start the auth subprocess and wait for the port it bound."""
    process = subprocess.Popen(
        [sys.executable, "-m", "claimcheck.tui.demo_services", "auth"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode("utf-8", "replace").strip()
    if not line.startswith(READY_PREFIX):
        kill_tree(process.pid, timeout=2.0)
        raise RuntimeError(f"the demo auth service did not start (said {line!r})")
    process.stdout.close()
    return process, int(line[len(READY_PREFIX):])



# ----------------------------------------------------------------------------------------
# WebSockets: a thread with its own event loop


def _forbidden(connection: ServerConnection, text: str) -> Response:
    return connection.respond(HTTPStatus.FORBIDDEN, text + "\n")


def _gateway_check(token: str):
    """process_request for the e2e gateway: no bypass key, no handshake."""

    def check(connection: ServerConnection, request: Request) -> Response | None:
        key = request.headers.get("X-E2E-Bypass-Key", "")
        if not key or not hmac.compare_digest(key, token):
            return _forbidden(connection, "E2E bypass key required")
        return None

    return check


def _events_check(token: str):
    """process_request for agent events: a bearer token, as the frontend sends it."""

    def check(connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != "/ws/agent":
            return connection.respond(HTTPStatus.NOT_FOUND, "no such stream\n")
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            return _forbidden(connection, "bearer token required")
        return None

    return check


async def _gateway_handler(connection: ServerConnection) -> None:
    try:
        await connection.send(json.dumps({"type": "connected", "gateway": "e2e"}))
        await connection.wait_closed()
    except ConnectionClosed:
        pass


async def _events_handler(connection: ServerConnection) -> None:
    """The golden path as the broken backend emits it, one run every `RUN_INTERVAL_S`."""
    try:
        await _emit_events(connection)
    except ConnectionClosed:
        pass


async def _pause(connection: ServerConnection, seconds: float) -> None:
    """Sleep between events, but wake as soon as the client has gone: closing the server
    waits for every handler, and a handler asleep for seconds held the demo's exit."""
    try:
        await asyncio.wait_for(connection.wait_closed(), seconds)
    except asyncio.TimeoutError:
        return
    raise ConnectionClosed(None, None)


async def _emit_events(connection: ServerConnection) -> None:
    run = 0
    while True:
        run += 1
        run_id = f"run-{run:04d}"
        for seq, event_type in enumerate(EMITTED):
            if seq:
                await _pause(connection, EVENT_GAP_S)
            payload: dict[str, Any] = {"type": event_type, "run_id": run_id, "seq": seq}
            if event_type == "tool_executing":
                payload["tool"] = "search"
            await connection.send(json.dumps(payload))
        spent = EVENT_GAP_S * (len(EMITTED) - 1)
        await _pause(connection, WAITING_AFTER_S - spent)
        await connection.send(json.dumps({"type": "agent_thinking", "run_id": run_id,
                                          "seq": len(EMITTED), "waiting_on": "search"}))
        await _pause(connection, RUN_INTERVAL_S - WAITING_AFTER_S)


@dataclass
class _SocketServers:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    servers: list[Server] = field(default_factory=list)

    def stop(self) -> None:
        if not self.loop.is_running():
            return

        async def close() -> None:
            for server in self.servers:
                server.close()
            for server in self.servers:
                await server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=5)
        except Exception:  # noqa: BLE001 - closing best-effort; the thread is a daemon anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _start_socket_servers(token: str) -> tuple[_SocketServers, int, int]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    thread = threading.Thread(target=_run_loop, args=(loop, started), name="demo-websockets",
                              daemon=True)
    thread.start()
    started.wait()
    holder = _SocketServers(loop=loop, thread=thread)

    async def open_servers() -> tuple[int, int]:
        # Compression off: frames stay readable in a packet capture, and the demo is loopback.
        gateway = await serve(_gateway_handler, HOST, 0, process_request=_gateway_check(token),
                              compression=None, server_header="demo-gateway/2.3", logger=_LOG)
        holder.servers.append(gateway)
        events = await serve(_events_handler, HOST, 0, process_request=_events_check(token),
                             compression=None, server_header="demo-events/2.3", logger=_LOG)
        holder.servers.append(events)
        return _bound_port(gateway), _bound_port(events)

    try:
        gateway_port, events_port = asyncio.run_coroutine_threadsafe(
            open_servers(), loop).result(timeout=_START_TIMEOUT_S)
    except BaseException:
        holder.stop()
        raise
    return holder, gateway_port, events_port


def _run_loop(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _bound_port(server: Server) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


# ----------------------------------------------------------------------------------------


@dataclass
class DemoServices:
    """The running sample services; `stop()` is idempotent and safe from any exit path."""

    token: str
    identity_port: int  # where auth really listens
    identity_expected_port: int  # where the backend looks for auth: nothing there
    backend_port: int  # the backend that never came up
    gateway_port: int
    events_port: int
    auth_process: subprocess.Popen[bytes] | None = None
    _sockets: _SocketServers | None = None
    _stopped: bool = False

    def env(self) -> dict[str, str]:
        """The variables the shipped pyproject.toml refers to as ${VAR}."""
        return {
            "DEMO_IDENTITY_PORT": str(self.identity_port),
            "DEMO_IDENTITY_EXPECTED_PORT": str(self.identity_expected_port),
            "DEMO_BACKEND_PORT": str(self.backend_port),
            "DEMO_GATEWAY_PORT": str(self.gateway_port),
            "DEMO_EVENTS_PORT": str(self.events_port),
            "DEMO_E2E_TOKEN": self.token,
        }

    @property
    def listening_ports(self) -> tuple[int, ...]:
        return (self.identity_port, self.gateway_port, self.events_port)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.auth_process is not None:
            if self.auth_process.stdin is not None:
                try:
                    self.auth_process.stdin.close()
                except OSError:
                    pass
            kill_tree(self.auth_process.pid, timeout=3.0)
            try:
                self.auth_process.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                pass
        if self._sockets is not None:
            self._sockets.stop()


def start_services(token: str) -> DemoServices:
    """Start every sample service; on any failure, stop what already started and re-raise."""
    auth_process: subprocess.Popen[bytes] | None = None
    sockets: _SocketServers | None = None
    try:
        auth_process, identity_port = start_auth_process()
        sockets, gateway_port, events_port = _start_socket_servers(token)
    except BaseException:
        if auth_process is not None:
            kill_tree(auth_process.pid, timeout=2.0)
        if sockets is not None:
            sockets.stop()
        raise
    taken = {identity_port, gateway_port, events_port}
    identity_expected_port = _another_free_port(taken)
    backend_port = _another_free_port(taken | {identity_expected_port})
    return DemoServices(
        token=token,
        identity_port=identity_port,
        identity_expected_port=identity_expected_port,
        backend_port=backend_port,
        gateway_port=gateway_port,
        events_port=events_port,
        auth_process=auth_process,
        _sockets=sockets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claimcheck.tui.demo_services",
                                     description="claimcheck demo sample services")
    parser.add_argument("service", choices=["auth"])
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    args = parser.parse_args(argv)
    return serve_auth(args.port)


if __name__ == "__main__":
    sys.exit(main())
