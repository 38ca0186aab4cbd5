"""The command center against real things: pytest subprocesses and a loopback HTTP service.

These use the real runner and probes through the app's own wiring (autostart), so they prove the
pieces meet: events stream into the panels, the verdict comes from the assembled report, and
quitting mid-phase leaves no process behind.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest
from claimcheck.collectors.config import load_config
from claimcheck.tui.app import ClaimcheckApp
from claimcheck.tui.options import Options
from claimcheck.tui.widgets.failures import FailureList, failure_key
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.matrix import GapMatrix
from claimcheck.tui.widgets.phases import PhaseStrip
from claimcheck.tui.widgets.services import ServicesPanel

from tests.conftest import workers_done, write_project

PYPROJECT = """
[tool.pytest.ini_options]
markers = ["slow: takes a while"]

[tool.claimcheck]
phases = [
    {{ name = "unit", pytest = ["tests/unit", "-q"{unit_extra}] }},
    {{ name = "integration", pytest = ["tests/integration", "-q"] }},
]

[tool.claimcheck.gaps.auth]
title = "Service auth"
match = ["*auth*"]
"""

UNIT_TESTS = '''
import pytest

def test_login_ok():
    assert 1 + 1 == 2

@pytest.mark.parametrize("code", [200, 201])
def test_auth_codes(code):
    assert code in (200, 201)

def test_auth_rejects_bad_token():
    print("\\x1b[2J\\x1b]0;pwned\\x07captured")
    assert 401 == 200, "auth answered 401"
'''

INTEGRATION_TESTS = '''
def test_auth_flow():
    assert True
'''

SLEEPY_TESTS = '''
import time

def test_quick():
    assert True

def test_sleeps_a_minute():
    time.sleep(60)

def test_sleeps_too():
    time.sleep(60)
'''



def project(tmp_path: Path, *, sleepy: bool = False, xdist: bool = False) -> Path:
    extra = ', "-n", "2"' if xdist else ""
    return write_project(tmp_path / "shop", {
        "pyproject.toml": PYPROJECT.format(unit_extra=extra),
        "tests/unit/test_auth.py": SLEEPY_TESTS if sleepy else UNIT_TESTS,
        "tests/integration/test_flow.py": INTEGRATION_TESTS,
    })


async def wait_until(pilot: Any, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.1)


async def test_a_real_run_streams_into_every_panel(tmp_path: Path) -> None:
    root = project(tmp_path)
    config = load_config(root)
    app = ClaimcheckApp(config, Options(project=root), read_git=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.report is not None and not app.run_state.running)
        await workers_done(app)
        await pilot.pause()
        strip = app.query_one(PhaseStrip)
        assert strip.get_cell("unit", "status").plain == "failed"
        assert strip.get_cell("unit", "passed").plain == "3"
        assert strip.get_cell("unit", "failed").plain == "1"
        assert strip.get_cell("integration", "status").plain == "passed"
        key = failure_key("unit", "tests/unit/test_auth.py::test_auth_rejects_bad_token")
        failures = app.query_one(FailureList)
        assert list(failures.keys) == [key]
        assert app.query_one(GapMatrix).get_cell("auth", "unit").plain == "✖ 1/4"
        assert app.query_one(GapMatrix).get_cell("auth", "integration").plain == "✔ 1"
        assert app.query_one(VerdictHeader).verdict == "red" == app.report.verdict
        result = app.evidence.failures[key]
        captured = "".join(text for _, text in result.sections)
        assert "captured" in captured
        app.command_center.open_failure(result)
        await pilot.pause()
        assert "\x1b" not in app.export_screenshot()
        await pilot.press("escape", "q")
    assert app.return_value == 1


def descendants() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("xdist", [False, True], ids=["plain", "xdist"])
async def test_quitting_mid_phase_leaves_no_process_alive(tmp_path: Path, xdist: bool) -> None:
    root = project(tmp_path, sleepy=True, xdist=xdist)
    config = load_config(root)
    app = ClaimcheckApp(config, Options(project=root), read_git=False)
    # An earlier test in this worker may still be ending a process of its own.
    before = {p.pid for p in descendants()}
    seen: list[int] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.evidence.phase("unit").results)  # test_quick finished
        await pilot.pause(0.5)
        seen = [p.pid for p in descendants() if p.pid not in before]
        assert seen, "pytest should be running"
        if xdist:
            assert len(seen) >= 3  # pytest and its two workers
        await pilot.press("q")
    assert app.return_value == 2  # interrupted
    assert [p for p in descendants() if p.pid not in before] == []
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status()
                   != psutil.STATUS_ZOMBIE for pid in seen)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def test_services_are_probed_and_s_probes_now(tmp_path: Path, health_server) -> None:
    port = health_server.server_address[1]
    root = write_project(tmp_path / "svc", {
        "pyproject.toml": f"""
[tool.claimcheck]
phases = [{{ name = "unit", pytest = ["tests"] }}]

[[tool.claimcheck.services]]
name = "api"
url = "http://127.0.0.1:{port}/health"
interval_s = 60

[[tool.claimcheck.services]]
name = "gone"
url = "http://127.0.0.1:1/health"
interval_s = 60
timeout_s = 1
""",
        "tests/test_x.py": "def test_x():\n    pass\n",
    })
    config = load_config(root)
    app = ClaimcheckApp(config, Options(project=root, services_only=True), read_git=False)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(ServicesPanel)
        await wait_until(pilot, lambda: panel.status_of("api") and panel.status_of("gone"),
                         timeout=20)
        assert panel.status_of("api") == "up" and panel.status_of("gone") == "down"
        assert "└" in panel.line_of("gone")  # the detail of what is not up
        first = app.evidence.samples["api"].checked_at
        await pilot.press("s")
        await wait_until(pilot, lambda: app.evidence.samples["api"].checked_at > first, timeout=20)
        await pilot.press("q")
    await asyncio.sleep(0)


async def test_quit_closes_the_event_stream_cleanly_and_ends_every_worker(tmp_path: Path) -> None:
    """`q` waits for the stream's goodbye (close frame) while the loop still runs, so nothing is
    left to close during interpreter teardown - where a dropped socket can hold the exit."""
    from claimcheck.tui.widgets.events import EventStream
    from websockets.asyncio.server import ServerConnection, serve

    codes: list[int | None] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send('{"type": "hello-from-stream"}')
        await ws.wait_closed()
        codes.append(ws.close_code)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        root = write_project(tmp_path / "ws", {
            "pyproject.toml": f"""
[tool.claimcheck]
phases = [{{ name = "unit", pytest = ["tests"] }}]

[[tool.claimcheck.services]]
name = "events"
url = "ws://127.0.0.1:{port}/ws"
stream = true
interval_s = 60
""",
            "tests/test_x.py": "def test_x():\n    pass\n",
        })
        config = load_config(root)
        app = ClaimcheckApp(config, Options(project=root, services_only=True), read_git=False)
        async with app.run_test(size=(120, 40)) as pilot:
            events = app.query_one(EventStream)
            await wait_until(pilot, lambda: any("hello-from-stream" in line.plain
                                                for line in events.kept), timeout=20)
            await pilot.press("q")
            await workers_done(app)
        assert [w for w in app.workers if not w.is_finished] == []
        for _ in range(50):  # the server notices the close on its next turns of the loop
            if codes:
                break
            await asyncio.sleep(0.02)
    assert codes and codes[0] in (1000, 1001)  # a close frame, not a dropped connection (1006)
    assert descendants() == []
