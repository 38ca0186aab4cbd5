"""Interrupted, killed, closed: nothing lost, nothing hung (issue 11, items 1-4).

Real `claimcheck` subprocesses on a project whose last test hangs, stopped from outside the way
people and CI stop it: SIGTERM (a cancelled job), SIGINT, Ctrl-C typed in a terminal, two
SIGTERMs in a row, the terminal closing under the command center (a closed tmux window, a
dropped SSH session: the pseudo-terminal goes away), and `q`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from tests.processes import all_gone, pytest_processes, wait_for

PASSES = 20
HANGING = {
    "tests/test_a.py": f"""
        import pathlib
        import time

        import pytest

        def test_fails():
            assert 1 == 2, "broken on purpose"

        @pytest.mark.parametrize("i", range({PASSES}))
        def test_passes(i):
            pass

        def test_hangs():
            pathlib.Path(__file__).with_name("hanging").touch()
            time.sleep(600)
    """,
}
FAILED_ID = "tests/test_a.py::test_fails"

# Started through this, claimcheck runs in a session of its own whose controlling terminal is
# the pseudo-terminal: typed Ctrl-C reaches it as SIGINT, and closing the terminal hangs it up.
IN_TERMINAL = """
import os, sys
os.setsid()
tty = os.open(sys.argv[1], os.O_RDWR)  # a session leader's first terminal becomes its own
for fd in (0, 1, 2):
    os.dup2(tty, fd)
os.execv(sys.executable, [sys.executable, "-m", "claimcheck", *sys.argv[2:]])
"""


def environment() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "100",
            "LINES": "30"}


class Terminal:
    """A pseudo-terminal with claimcheck in it; its output is read and thrown away."""

    def __init__(self, root: Path, *args: str) -> None:
        import pty

        self.primary, secondary = pty.openpty()
        os.set_blocking(self.primary, False)
        self.process = subprocess.Popen(
            [sys.executable, "-c", IN_TERMINAL, os.ttyname(secondary), "--project", str(root),
             *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=environment())
        os.close(secondary)
        self.output = b""

    def drain(self) -> None:
        if self.primary < 0:
            return
        try:
            while chunk := os.read(self.primary, 65536):
                self.output += chunk[-4096:]
        except (BlockingIOError, OSError):
            pass

    def type(self, keys: bytes) -> None:
        os.write(self.primary, keys)

    def close(self) -> None:
        """The terminal goes away, as when tmux kills the window or SSH drops."""
        if self.primary >= 0:
            os.close(self.primary)
            self.primary = -1

    def wait(self, limit: float = 30.0) -> int | None:
        deadline = time.monotonic() + limit
        while self.process.poll() is None and time.monotonic() < deadline:
            self.drain()
            time.sleep(0.05)
        return self.process.poll()

    def end(self) -> None:
        if self.process.poll() is None:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                child.kill()
            self.process.kill()
            self.process.wait()
        self.close()


def report_files(root: Path) -> dict[str, Path]:
    return {fmt: root / f"report.{fmt}" for fmt in ("json", "text", "markdown", "junit")}


def report_args(root: Path) -> list[str]:
    files = report_files(root)
    return ["--report", "--format", "json", "--output", str(files["json"]),
            *(arg for fmt in ("text", "markdown", "junit")
              for arg in ("--write", f"{fmt}={files[fmt]}"))]


def assert_the_interrupted_phase_is_everywhere(root: Path) -> None:
    """Every format keeps the running phase, interrupted, with every streamed result."""
    files = report_files(root)
    data = json.loads(files["json"].read_text(encoding="utf-8"))
    assert data["verdict"] == "interrupted" and data["exit_code"] == 2
    assert data["interrupted_at"] is not None
    assert data["reasons"][0].startswith("interrupted during tests at 20")
    (phase,) = data["phases"]
    assert phase["status"] == "interrupted"
    ids = [test["nodeid"] for test in phase["tests"]]
    assert ids[0] == FAILED_ID  # failures first
    assert len(ids) == 1 + PASSES and phase["counts"]["passed"] == PASSES
    assert phase["counts"]["failed"] == 1

    text = files["text"].read_text(encoding="utf-8")
    assert "INTERRUPTED" in text and f"FAILED {FAILED_ID}" in text
    assert "why: interrupted during tests at 20" in text
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert "interrupted during tests at 20" in markdown and FAILED_ID in markdown
    suite = ET.parse(files["junit"]).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "tests"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["test_fails"].find("failure") is not None
    assert len([name for name in cases if name.startswith("test_passes")]) == PASSES
    stopped = cases["phase interrupted"].find("error")
    assert stopped is not None and "interrupted at 20" in (stopped.get("message") or "")


def start_report(root: Path) -> subprocess.Popen[bytes]:
    """`claimcheck --report` writing every format, in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "claimcheck", "--project", str(root), *report_args(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment(),
        start_new_session=True)


def hanging_phase(root: Path, process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Once the last test hangs: the pytest processes `process` started."""
    wait_for((root / "tests" / "hanging").exists, "the test to hang")
    return pytest_processes(psutil.Process(process.pid))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_report_keeps_the_running_phase(make_project, signum: int) -> None:
    root = make_project(HANGING)
    process = start_report(root)
    try:
        phases = hanging_phase(root, process)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
        wait_for(lambda: all_gone(phases), "the phase to end", limit=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = stderr.decode()
    assert process.returncode == 2, text
    assert "Traceback" not in text and "claimcheck: interrupted at 20" in text
    assert_the_interrupted_phase_is_everywhere(root)


def test_two_sigterms_in_a_row_still_write_the_report(make_project) -> None:
    root = make_project(HANGING)
    process = start_report(root)
    try:
        phases = hanging_phase(root, process)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        wait_for(lambda: all_gone(phases), "the phase to end", limit=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 2 and "Traceback" not in stderr.decode(), stderr.decode()
    assert_the_interrupted_phase_is_everywhere(root)


def test_ctrl_c_typed_in_the_terminal_keeps_the_running_phase(make_project) -> None:
    root = make_project(HANGING)
    terminal = Terminal(root, *report_args(root))
    try:
        wait_for(lambda: terminal.drain() or (root / "tests" / "hanging").exists(),
                 "the test to hang")
        phases = pytest_processes(psutil.Process(terminal.process.pid))
        terminal.type(b"\x03")  # the terminal sends SIGINT to the foreground process group
        code = terminal.wait(limit=60)
        wait_for(lambda: all_gone(phases), "the phase to end", limit=10)
    finally:
        terminal.end()
    assert code == 2, terminal.output[-2000:]
    assert_the_interrupted_phase_is_everywhere(root)


# ----------------------------------------------------------------------------------------
# The command center


def start_command_center(root: Path) -> tuple[Terminal, list[psutil.Process]]:
    terminal = Terminal(root)
    wait_for(lambda: terminal.drain() or (root / "tests" / "hanging").exists(),
             "the test to hang")
    return terminal, pytest_processes(psutil.Process(terminal.process.pid))


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGHUP", "q"])
def test_the_command_center_stopped_mid_run_exits_2(make_project, how: str) -> None:
    root = make_project(HANGING)
    terminal, phases = start_command_center(root)
    try:
        if how == "q":
            terminal.type(b"q")
        else:
            terminal.process.send_signal(getattr(signal, how))
        code = terminal.wait(limit=60)
        wait_for(lambda: all_gone(phases), "the phase to end", limit=10)
    finally:
        terminal.end()
    assert code == 2


def test_closing_the_terminal_ends_the_command_center(make_project) -> None:
    """The pseudo-terminal goes away mid-phase: claimcheck must not outlive it, blocked on
    writes to a terminal that is gone; it exits 2 and leaves nothing running."""
    root = make_project(HANGING)
    terminal, phases = start_command_center(root)
    owner = psutil.Process(terminal.process.pid)
    try:
        terminal.close()
        code = terminal.wait(limit=30)
        assert code is not None, "claimcheck stayed alive after its terminal was closed"
        wait_for(lambda: all_gone(phases), "the phase to end", limit=10)
    finally:
        terminal.end()
    assert code == 2
    assert not owner.is_running() or owner.status() == psutil.STATUS_ZOMBIE
