"""`claimcheck demo` as a real subprocess: the incident it shows, and nothing it leaves behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from claimcheck.tui.demo import SAMPLE, copy_sample
from claimcheck.tui.demo_services import start_services

from tests.processes import wait_for

pytestmark = pytest.mark.slow

RUN_LIMIT_S = 240.0  # hang guard for a loaded machine, not a speed check
TOKEN = "demo-token-that-must-never-be-printed-7f3a"


class Watcher:
    """Samples the demo's process tree until it exits, so the test knows everything it started."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {}
        self.cmdlines: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                children = self.root.children(recursive=True)
            except psutil.NoSuchProcess:
                return
            except psutil.Error:  # a child vanishing mid-walk on a busy machine: look again
                time.sleep(0.02)
                continue
            for child in children:
                self.seen.setdefault(child.pid, child)
                try:
                    # Read again each time: right after fork, before exec, a child still
                    # shows its parent's command line. A zombie's reads empty: the last
                    # command line it had is kept.
                    line = " ".join(child.cmdline())
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    line = ""
                if line or child.pid not in self.cmdlines:
                    self.cmdlines[child.pid] = line
            time.sleep(0.02)

    def saw(self, fragment: str) -> bool:
        return any(fragment in line for line in list(self.cmdlines.values()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def alive(self) -> list[str]:
        """Processes the demo started that still run (a zombie has already exited)."""
        left = []
        for pid, proc in self.seen.items():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{pid}: {self.cmdlines.get(pid, '')}")
            except psutil.NoSuchProcess:
                pass
        return left


def listening_ports() -> set[int]:
    return {conn.laddr.port for conn in psutil.net_connections(kind="tcp")
            if conn.status == psutil.CONN_LISTEN and conn.laddr}


def watched_exit(process: subprocess.Popen[bytes]) -> tuple[int, Watcher]:
    """The demo's exit code, and what it started while it ran."""
    watcher = Watcher(process.pid)
    try:
        return process.wait(timeout=RUN_LIMIT_S), watcher
    finally:
        watcher.stop()


@pytest.fixture
def start_demo(tmp_path):
    """Start `claimcheck demo ARGS...` with a known token; always ends it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env_extra: dict[str, str] | None = None,
              ) -> tuple[subprocess.Popen[bytes], Path, Path]:
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        env = {**os.environ, "DEMO_E2E_TOKEN": TOKEN, "NO_COLOR": "1", **(env_extra or {})}
        process = subprocess.Popen(
            [sys.executable, "-m", "claimcheck", "demo", *args],
            stdout=out.open("wb"), stderr=err.open("wb"), stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        started.append(process)
        return process, out, err

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


def test_demo_report_shows_the_incident_and_leaves_nothing_running(start_demo):
    process, out, err = start_demo("--report", "--format", "json")
    exit_code, watcher = watched_exit(process)
    stdout, stderr = out.read_text(), err.read_text()

    assert exit_code == 1, stderr
    report = json.loads(stdout)
    assert report["verdict"] == "red" and report["exit_code"] == 1

    phases = by_name(report["phases"])
    assert phases["unit"]["status"] == "failed"
    assert phases["unit"]["counts"]["failed"] >= 1 and phases["unit"]["counts"]["passed"] >= 1
    assert phases["integration"]["status"] in ("failed", "error")
    assert phases["staging"]["status"] == "failed"
    assert phases["staging"]["exit_code"] == 0  # the team's runner swallowed pytest's status
    # Its second session ("-m smoke") selects none of the 4 tests the first one ran.
    assert (phases["staging"]["counts"]["collected"], phases["staging"]["counts"]["deselected"]) \
        == (8, 4)
    assert phases["e2e"]["status"] == "blocked" and "backend" in phases["e2e"]["reason"]

    findings: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        findings.setdefault(finding["kind"], []).append(finding)
    imports = " ".join(f["message"] for f in findings["import-error"])
    assert "cannot import name 'create_auth_handler'" in imports
    assert "No module named 'app.factories.agent_factory'" in imports
    assert [f["phase"] for f in findings["false-green"]] == ["staging"]
    assert any("CriticalWebSocketTests" in f["message"] for f in findings["uncollected-tests"])
    assert any("scalability" in f["message"] for f in findings["unregistered-marker"])
    assert findings["deprecation"]
    # The incident's "single sources of truth" and the deprecated layer still in use.
    duplicates = {f["subject"]: f["files"] for f in findings["duplicate-definition"]}
    assert duplicates == {
        "WebSocketManager": ["app/websocket_manager.py", "app/legacy/websocket.py",
                             "app/services/websocket_manager.py"],
        "MessageRouter": ["app/routers/message_router.py", "app/services/message_router.py"]}
    (legacy,) = findings["deprecated-import"]
    assert legacy["subject"] == "app.legacy"
    assert legacy["files"] == ["app/routers/v2_agents.py", "app/services/notifications.py"]
    assert "At runtime it was raised" in legacy["message"]
    assert not any("app.legacy" in f["message"] for f in findings["deprecation"])
    notes = {gap["name"]: gap["notes"] for gap in report["gaps"]}
    assert notes["websocket-interface"] == ["duplicate definition: WebSocketManager"]
    blocked = [edge for edge in report["map"]["edges"] if edge["kind"] == "blocked-by"]
    assert [(edge["source"], edge["target"]) for edge in blocked] == [("phase_3", "service_1")]

    services = by_name(report["services"])
    auth_port = urlsplit(services["auth"]["url"]).port
    expected_port = urlsplit(services["auth-backend"]["url"]).port
    assert services["auth"]["status"] == "up" and services["auth"]["http_status"] == 200
    assert services["backend"]["status"] == "down"
    assert services["auth-backend"]["status"] == "down"
    assert services["e2e-gateway"]["http_status"] == 403
    assert "E2E bypass key required" in services["e2e-gateway"]["detail"]
    events = services["agent-events"]["events"]
    assert events["seen"][:3] == ["agent_started", "agent_thinking", "tool_executing"]
    assert events["missing"] == ["tool_completed", "agent_completed"]
    mismatch = " ".join(f["message"] for f in findings["port-mismatch"])
    assert f"auth-backend is configured on port {expected_port}" in mismatch
    assert f"listens on {auth_port}" in mismatch

    assert {gap["name"] for gap in report["gaps"]} >= {
        "factory-conflicts", "router-fragmentation", "websocket-interface", "service-auth"}

    # The bearer token configured as ${DEMO_E2E_TOKEN} is used, never shown.
    assert TOKEN not in stdout and TOKEN not in stderr

    # Everything the demo started is gone: the auth subprocess, pytest, the team's runner.
    assert watcher.saw("claimcheck.tui.demo_services auth") and watcher.saw("pytest")
    assert watcher.alive() == []
    ports = {urlsplit(service["url"]).port for service in report["services"]}
    assert not ports & listening_ports()
    assert not Path(report["project"]).exists()


def test_sigterm_mid_run_ends_the_demo_and_everything_it_started(start_demo, tmp_path):
    # Every pytest session of the demo sleeps at its start (a plugin passed the way a user's
    # PYTEST_ADDOPTS would be), so the SIGTERM below surely lands mid-phase.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "slow_session.py").write_text(
        "import time\n\ndef pytest_sessionstart(session):\n    time.sleep(60)\n")
    process, out, err = start_demo("--report", "--format", "json", env_extra={
        "PYTHONPATH": str(plugins), "PYTEST_ADDOPTS": "-p slow_session"})
    watcher = Watcher(process.pid)
    try:
        # Mid-run: services are up and a phase's pytest is running.
        wait_for(lambda: watcher.saw("claimcheck.tui.demo_services auth") and watcher.saw("pytest")
                 or process.poll() is not None, "a pytest phase to start", limit=RUN_LIMIT_S)
        assert process.poll() is None, err.read_text()
        service_ports = {conn.laddr.port for pid in list(watcher.seen) + [process.pid]
                         for conn in _inet(pid) if conn.status == psutil.CONN_LISTEN}
        assert service_ports

        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=RUN_LIMIT_S)
    finally:
        watcher.stop()

    stderr = err.read_text()
    assert exit_code == 2, stderr
    assert watcher.alive() == []
    assert not service_ports & listening_ports()
    match = re.search(r"sample project (\S+);", stderr)
    assert match, stderr
    assert not Path(match.group(1)).exists()  # the temporary copy went with it
    assert TOKEN not in out.read_text() + stderr


def _inet(pid: int) -> list:
    try:
        return psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def test_sample_services_stop_cleanly_in_process():
    services = start_services("unit-token")
    auth = psutil.Process(services.auth_process.pid)
    try:
        assert set(services.listening_ports) <= listening_ports()
        assert "auth" in " ".join(auth.cmdline())
        assert services.identity_expected_port not in listening_ports()
        assert services.backend_port not in listening_ports()
    finally:
        services.stop()
        services.stop()  # idempotent: atexit may call it again
    assert not auth.is_running() or auth.status() == psutil.STATUS_ZOMBIE
    assert not set(services.listening_ports) & listening_ports()


def test_sample_copy_is_complete_and_leaves_the_package_untouched(tmp_path):
    project = copy_sample(tmp_path)
    shipped = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    copied = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert copied == shipped
    assert "scripts/run_tests.py" in copied and "pyproject.toml" in copied


def test_the_screenshot_script_still_imports() -> None:
    """`screenshots/make_screenshots.py` runs only by hand (it needs rsvg-convert): at least
    its imports of the demo's internals must keep up with them."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "screenshots" / "make_screenshots.py"
    spec = importlib.util.spec_from_file_location("make_screenshots", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.main)


def test_an_unknown_phase_is_refused_before_anything_starts(start_demo):
    process, out, err = start_demo("--phase", "nosuch", "--report")
    exit_code, watcher = watched_exit(process)
    stderr = err.read_text()
    assert exit_code == 4
    assert "--phase 'nosuch': no such phase in the demo; expected one of unit, integration" \
        in stderr
    assert "sample project" not in stderr  # no banner: nothing was started
    assert not watcher.saw("demo_services")
