"""`claimcheck serve` as a real subprocess: a real page over HTTP, a real WebSocket to the app."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from claimcheck.tui.options import Options
from claimcheck.tui.serve import (
    exposure_warning,
    host_allowed,
    origin_allowed,
    public_url,
    serve_command,
)
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

STARTUP_LIMIT_S = 60.0  # a hang guard, not a speed check


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    return any(conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
               for conn in psutil.net_connections(kind="tcp"))


@pytest.fixture
def project(make_project) -> Path:
    return make_project({
        "pyproject.toml": '[tool.claimcheck]\n[[tool.claimcheck.phases]]\nname = "unit"\n'
                          'pytest = ["tests"]\n',
        "tests/test_one.py": "def test_one():\n    assert True\n",
    })


@pytest.fixture
def served(project, tmp_path):
    yield from _serve(tmp_path, "--project", str(project))


@pytest.fixture
def served_demo(tmp_path):
    yield from _serve(tmp_path, "--demo")


def _serve(tmp_path: Path, *args: str, argv_for=None):
    """`claimcheck serve ARGS` (or `argv_for(port)`) on a free port; yields (process, port, log)
    once it answers, the token it printed in `process.token`; always ends it."""
    port = free_port()
    log = _child_log(tmp_path / f"serve-{port}.log")
    process = subprocess.Popen(
        argv_for(port) if argv_for else
        [sys.executable, "-m", "claimcheck", "serve", "--port", str(port), *args],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            assert process.poll() is None, _log_text(log)
            text = _log_text(log)
            match = re.search(r"/\?token=([A-Za-z0-9_-]+)", text)
            process.token = match.group(1) if match else ""  # type: ignore[attr-defined]
            # claimcheck's own server prints its banner once it listens, and may answer a
            # moment before the banner is in the log: wait for both.
            banner = argv_for is not None or "open http://" in text
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/?token={process.token}",
                                   timeout=2).status_code
                if status == 200 and banner:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve never answered: " + _log_text(log)
            time.sleep(0.1)
        yield process, port, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _child_log(path: Path):
    """A file for a child's output that this test reads while the child writes it. Appending:
    the child's descriptor shares the file's offset with ours, and with plain writing a line
    written just after `_log_text`'s seek(0) went over the first lines (the address with the
    token, seen once in a full run of the suite)."""
    return path.open("a+b")


def _log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-3000:]


def test_page_is_served_on_loopback_and_points_at_its_websocket(served, project):
    process, port, log = served

    response = httpx.get(f"http://127.0.0.1:{port}/?token={process.token}", timeout=5)

    assert response.status_code == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in response.text
    assert f"claimcheck: {project.name}" in response.text
    assert f"open http://127.0.0.1:{port}/?token={process.token} in a browser" in _log_text(log)
    assert len(process.token) >= 40
    assert '"GET /" 200' in _log_text(log)  # requests are logged, without the token
    assert _log_text(log).count(process.token) == 1  # only in the address printed at start


async def test_websocket_runs_claimcheck_and_terminate_leaves_nothing_behind(served, project):
    process, port, log = served
    server = psutil.Process(process.pid)

    async with connect(f"ws://127.0.0.1:{port}/ws?token={process.token}&width=100&height=30",
                       open_timeout=STARTUP_LIMIT_S) as websocket:
        # The first frame is terminal output from the claimcheck the server started for us.
        frame = await asyncio.wait_for(websocket.recv(), STARTUP_LIMIT_S)
        assert isinstance(frame, bytes) and frame, _log_text(log)
        children = server.children(recursive=True)
        cmdlines = [" ".join(child.cmdline()) for child in children]
        assert any("claimcheck --project" in line and str(project) in line for line in cmdlines), \
            cmdlines

        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, STARTUP_LIMIT_S)

    assert exit_code == 0, _log_text(log)
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [proc.pid for proc in alive]
    assert not listening(port)


async def test_served_demo_starts_its_services_and_stops_them_with_the_server(served_demo):
    process, port, log = served_demo
    server = psutil.Process(process.pid)
    seen: dict[int, psutil.Process] = {}

    def demo_services_running() -> bool:
        for child in server.children(recursive=True):
            seen.setdefault(child.pid, child)
        return any("claimcheck.tui.demo_services auth" in " ".join(_cmdline(child))
                   for child in seen.values())

    async with connect(f"ws://127.0.0.1:{port}/ws?token={process.token}&width=120&height=40",
                       open_timeout=STARTUP_LIMIT_S) as websocket:
        frame = await asyncio.wait_for(websocket.recv(), STARTUP_LIMIT_S)
        assert isinstance(frame, bytes) and frame, _log_text(log)
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not demo_services_running():
            assert time.monotonic() < deadline, _log_text(log)
            await asyncio.sleep(0.1)
        assert any("claimcheck demo" in " ".join(_cmdline(child)) for child in seen.values())

        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, STARTUP_LIMIT_S)

    assert exit_code == 0, _log_text(log)
    gone, alive = psutil.wait_procs(list(seen.values()), timeout=10)
    assert alive == [], [proc.pid for proc in alive]
    assert not listening(port)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def test_serve_command_runs_this_interpreter_with_the_project_and_phases(tmp_path):
    options = Options(project=tmp_path / "my proj", config=tmp_path / "cc.toml",
                      phases=["unit", "e2e"])
    argv = shlex.split(serve_command(options))
    assert argv == [sys.executable, "-m", "claimcheck", "--project", str(tmp_path / "my proj"),
                    "--config", str(tmp_path / "cc.toml"), "--phase", "unit", "--phase", "e2e"]
    assert shlex.split(serve_command(Options(), demo=True))[-1] == "demo"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2",
                                  "127.1"])
def test_loopback_hosts_get_no_warning(host):
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "build-box.internal"])
def test_other_hosts_are_warned_about(host):
    warning = exposure_warning(host, 8123)
    assert warning is not None and host in warning and "Anyone who can reach" in warning
    assert "ssh -L 8123:127.0.0.1:8123 host" in warning  # the port actually served


def test_public_url_brackets_ipv6_and_names_a_reachable_address_for_wildcards():
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert public_url("[::1]", 8000) == "http://[::1]:8000"
    assert public_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"
    assert public_url("127.1", 8123) == "http://127.0.0.1:8123"


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1:8000", True), ("localhost:8000", True), ("[::1]:8000", True),
    ("10.1.2.3", True), ("app.localhost:8000", True), ("build-box:8000", True),
    ("evil.example", False), ("evil.example:8000", False), ("127.0.0.1.evil.example", False),
    ("", False), (None, False),
])
def test_host_header_must_be_an_address_or_a_known_name(host, allowed):
    assert host_allowed(host, frozenset({"build-box"})) is allowed


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "127.0.0.1:8000", True),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("http://localhost:8000", "localhost:8000", True),
    ("http://[::1]:8000", "[::1]:8000", True),
    ("http://localhost", "localhost:80", True),
    ("http://evil.example", "127.0.0.1:8000", False),
    ("http://127.0.0.1:9999", "127.0.0.1:8000", False),
    ("http://localhost:8000", "127.0.0.1:8000", False),
    ("null", "127.0.0.1:8000", False),
    ("file://", "127.0.0.1:8000", False),
])
def test_origin_must_be_the_page_itself(origin, host, allowed):
    assert origin_allowed(origin, host) is allowed


# ----------------------------------------------------------------------------------------
# A foreign page, a rebound name, no token: refused (real HTTP and WebSocket clients)


def session_children(process: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(process.pid).children(recursive=True)


async def test_a_websocket_from_a_foreign_origin_is_refused(served):
    process, port, log = served
    with pytest.raises(InvalidStatus) as caught:
        async with connect(f"ws://127.0.0.1:{port}/ws?token={process.token}",
                           origin="http://evil.example", open_timeout=STARTUP_LIMIT_S):
            pass
    assert caught.value.response.status_code == 403
    assert session_children(process) == []  # no session was started for it


async def test_a_page_reached_through_a_rebound_name_is_refused(served):
    process, port, log = served
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://127.0.0.1:{port}/?token={process.token}",
                                headers={"Host": f"evil.example:{port}"})
    assert page.status_code == 400 and "Host" in page.text
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert _handshake(sock, f"evil.example:{port}", f"/ws?token={process.token}") == 400
    assert session_children(process) == []


async def test_without_the_token_nothing_but_static_files_is_served(served):
    process, port, log = served
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/")).status_code == 403
        assert (await client.get(f"{base}/?token=wrong")).status_code == 403
        assert (await client.get(f"{base}/static/js/textual.js")).status_code == 200
    for url in (f"ws://127.0.0.1:{port}/ws", f"ws://127.0.0.1:{port}/ws?token=wrong"):
        with pytest.raises(InvalidStatus) as caught:
            async with connect(url, open_timeout=STARTUP_LIMIT_S):
                pass
        assert caught.value.response.status_code == 403
    assert session_children(process) == []


async def test_the_page_hands_its_websocket_the_token_as_a_same_site_cookie(served):
    """What a browser does: open the printed URL, then the page's WebSocket, same origin, with
    the cookie the page set (the page's script appends ?width= to a URL it cannot change)."""
    process, port, log = served
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://127.0.0.1:{port}/?token={process.token}")
    cookie = page.headers["set-cookie"]
    assert f"claimcheck-serve-{port}={process.token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert page.headers["referrer-policy"] == "no-referrer"
    async with connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24",
                       origin=f"http://127.0.0.1:{port}",
                       additional_headers={"Cookie": f"claimcheck-serve-{port}={process.token}"},
                       open_timeout=STARTUP_LIMIT_S) as websocket:
        frame = await asyncio.wait_for(websocket.recv(), STARTUP_LIMIT_S)
        assert isinstance(frame, bytes) and frame, _log_text(log)


def test_no_token_serves_without_one(project, tmp_path):
    for process, port, log in _serve(tmp_path, "--project", str(project), "--no-token"):
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        assert f"open http://127.0.0.1:{port}/ in a browser" in _log_text(log)


async def test_sessions_beyond_the_cap_are_refused(project, tmp_path):
    for process, port, log in _serve(tmp_path, "--project", str(project), "--max-sessions", "1"):
        url = f"ws://127.0.0.1:{port}/ws?token={process.token}"
        async with connect(url, open_timeout=STARTUP_LIMIT_S) as first:
            await asyncio.wait_for(first.recv(), STARTUP_LIMIT_S)
            with pytest.raises(InvalidStatus) as caught:
                async with connect(url, open_timeout=STARTUP_LIMIT_S):
                    pass
            assert caught.value.response.status_code == 503
            assert b"--max-sessions" in caught.value.response.body


# ----------------------------------------------------------------------------------------
# A session whose browser has gone is ended


STUBBORN = "import sys, time; print('__GANGLION__', flush=True); time.sleep(600)  # stubborn"


def _stubborn_server(port: int) -> list[str]:
    """The real server around a stand-in session that never quits when asked (as a claimcheck
    blocked writing to a pipe nobody reads does): only the server can end it."""
    code = (
        "from claimcheck.tui.serve import Guard, _server_class, listen, resolve\n"
        f"sockets = listen(resolve('127.0.0.1', {port}))\n"
        "guard = Guard(token=None, names=frozenset(), cookie='c')\n"
        f"_server_class()({shlex.join([sys.executable, '-c', STUBBORN])!r}, sockets=sockets, "
        f"guard=guard, title='t', public_url='http://127.0.0.1:{port}').serve()\n"
    )
    return [sys.executable, "-c", code]


def _stubborn_sessions(process: subprocess.Popen) -> list[psutil.Process]:
    return [child for child in session_children(process)
            if "# stubborn" in " ".join(_cmdline(child)) and child.name() != "sh"]


def _wait_until(predicate, what: str, log) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: " + _log_text(log)
        time.sleep(0.1)


def test_a_session_whose_browser_closed_is_ended(tmp_path):
    for process, port, log in _serve(tmp_path, argv_for=_stubborn_server):
        sock = socket.create_connection(("127.0.0.1", port))
        assert _handshake(sock, f"127.0.0.1:{port}") == 101
        _wait_until(lambda: _stubborn_sessions(process), "no session started", log)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # the tab is gone: a reset, no close frame
        _wait_until(lambda: not _stubborn_sessions(process), "session outlived its browser", log)
        assert process.poll() is None  # the server itself serves on


def test_a_session_whose_browser_went_silent_is_ended(tmp_path):
    """A laptop closed, a network gone: the connection stays open, nothing answers the ping."""
    for process, port, log in _serve(tmp_path, argv_for=_stubborn_server):
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            assert _handshake(sock, f"127.0.0.1:{port}") == 101  # then never read nor answer
            _wait_until(lambda: _stubborn_sessions(process), "no session started", log)
            _wait_until(lambda: not _stubborn_sessions(process), "session outlived its browser",
                        log)
        finally:
            sock.close()


def _handshake(sock: socket.socket, host: str, path: str = "/ws") -> int:
    """A WebSocket handshake by hand (a client that can then go silent); the HTTP status."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    status = b""
    while not status.endswith(b"\r\n"):
        status += sock.recv(1)
    return int(status.split()[1])


# ----------------------------------------------------------------------------------------
# Where it listens (item 19)


def _serve_once(tmp_path: Path, *args: str, wait_s: float = 0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "claimcheck", "serve", "--project", str(tmp_path), *args],
        capture_output=True, text=True, timeout=STARTUP_LIMIT_S, check=False,
    )


def test_a_busy_port_is_an_error_without_a_banner(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _serve_once(tmp_path, "--port", str(port))
    assert result.returncode == 4
    assert result.stdout == ""  # no "open http://..." for a server that never served
    assert result.stderr.splitlines() == [
        f"claimcheck serve: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_an_invalid_port_or_cap_is_a_usage_error(tmp_path):
    result = _serve_once(tmp_path, "--port", "0")
    assert result.returncode == 4 and "--port: expected 1-65535" in result.stderr
    result = _serve_once(tmp_path, "--max-sessions", "0")
    assert result.returncode == 4 and "--max-sessions: expected 1 or more" in result.stderr


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_bracketed_ipv6_host_is_served(project, tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "claimcheck", "serve", "--project", str(project),
            "--host", "[::1]", "--port", str(port)]
    log = _child_log(tmp_path / "v6.log")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait_until(lambda: "token=" in _log_text(log), "never served", log)
        token = re.search(r"token=([A-Za-z0-9_-]+)", _log_text(log)).group(1)
        assert f"open http://[::1]:{port}/?token={token}" in _log_text(log)
        assert "WARNING" not in _log_text(log)
        page = httpx.get(f"http://[::1]:{port}/?token={token}", timeout=5)
        assert page.status_code == 200
        assert f'data-session-websocket-url="ws://[::1]:{port}/ws"' in page.text
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


def test_127_1_is_loopback_and_a_wildcard_warns_naming_its_port(project, tmp_path):
    for process, port, log in _serve(tmp_path, "--project", str(project), "--host", "127.1"):
        assert "WARNING" not in _log_text(log)
        assert f"open http://127.0.0.1:{port}/?token=" in _log_text(log)
    for process, port, log in _serve(tmp_path, "--project", str(project), "--host", "0.0.0.0"):
        text = _log_text(log)
        assert "WARNING: binding to 0.0.0.0 (not loopback)" in text
        assert f"ssh -L {port}:127.0.0.1:{port} host" in text
        assert text.index("WARNING") < text.index("open http://")
