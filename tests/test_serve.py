"""`claimcheck serve` as a real subprocess: a real page over HTTP, a real WebSocket to the app."""

from __future__ import annotations

import asyncio
import os
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
from claimcheck.tui.serve import exposure_warning, public_url, serve_command
from websockets.asyncio.client import connect

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


def _serve(tmp_path: Path, *args: str):
    """`claimcheck serve ARGS` on a free port; yields (process, port, log); always ends it."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w+b")
    process = subprocess.Popen(
        [sys.executable, "-m", "claimcheck", "serve", "--port", str(port), *args],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            assert process.poll() is None, _log_text(log)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
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


def _log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-3000:]


def test_page_is_served_on_loopback_and_points_at_its_websocket(served, project):
    process, port, log = served

    response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)

    assert response.status_code == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in response.text
    assert f"claimcheck: {project.name}" in response.text
    assert f"http://127.0.0.1:{port}" in _log_text(log)


async def test_websocket_runs_claimcheck_and_terminate_leaves_nothing_behind(served, project):
    process, port, log = served
    server = psutil.Process(process.pid)

    async with connect(f"ws://127.0.0.1:{port}/ws?width=100&height=30",
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

    async with connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40",
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


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_get_no_warning(host):
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "build-box.internal"])
def test_other_hosts_are_warned_about(host):
    warning = exposure_warning(host)
    assert warning is not None and host in warning and "Anyone who can reach" in warning


def test_public_url_brackets_ipv6_and_names_a_reachable_address_for_wildcards():
    assert public_url("::1", 8000) == "http://[::1]:8000"
    assert public_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"


def test_non_loopback_host_prints_the_warning_before_serving(tmp_path):
    """Through the CLI, with a port it cannot use so it never actually binds anything."""
    result = subprocess.run(
        [sys.executable, "-m", "claimcheck", "serve", "--host", "0.0.0.0", "--port", "0",
         "--project", str(tmp_path)],
        capture_output=True, text=True, timeout=STARTUP_LIMIT_S, check=False,
    )
    assert result.returncode == 4
    assert "WARNING: binding to 0.0.0.0 (not loopback)" in result.stderr
    assert "--port: expected 1-65535" in result.stderr
