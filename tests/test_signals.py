"""claimcheck ended from outside (a closed SSH session, a cancelled CI job, SIGKILL) leaves no
phase running: real `claimcheck` subprocesses on a project whose test hangs."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.processes import all_gone, pytest_processes, wait_for

HANGING = {
    "tests/test_hang.py": """
        import pathlib
        import time

        def test_quick():
            pass

        def test_hangs():
            pathlib.Path(__file__).with_name("hanging").touch()
            time.sleep(600)
    """,
}


def start(root: Path, *args: str, tty: bool = False) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "claimcheck", "--project", str(root), *args]
    env = {**os.environ, "NO_COLOR": "1"}
    if not tty:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    primary, secondary = pty.openpty()
    os.set_blocking(primary, False)
    process = subprocess.Popen(argv, stdin=secondary, stdout=secondary, stderr=secondary,
                               env={**env, "TERM": "xterm-256color", "COLUMNS": "100",
                                    "LINES": "30"},
                               start_new_session=True)
    os.close(secondary)
    process.pty_primary = primary  # type: ignore[attr-defined]
    return process


def drain(process: subprocess.Popen[bytes]) -> None:
    """Keep the pseudo-terminal's buffer from filling while the app draws."""
    primary = getattr(process, "pty_primary", None)
    if primary is None:
        return
    try:
        while os.read(primary, 65536):
            pass
    except (BlockingIOError, OSError):
        pass


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    primary = getattr(process, "pty_primary", None)
    if primary is not None:
        os.close(primary)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=["SIGTERM", "SIGHUP", "SIGKILL"])
def test_report_ended_by_a_signal_leaves_no_pytest(make_project, signum: int) -> None:
    root = make_project(HANGING)
    process = start(root, "--report")
    try:
        owner = psutil.Process(process.pid)
        wait_for((root / "tests" / "hanging").exists, "the test to hang")
        phase = pytest_processes(owner)
        assert phase
        process.send_signal(signum)
        code = process.wait(timeout=30)
        # SIGKILL: nothing in claimcheck runs; the plugin's owner watch ends the phase.
        wait_for(lambda: all_gone(phase), "the phase to end after claimcheck did", limit=10)
    finally:
        stop(process)
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 2, process.stderr.read().decode() if process.stderr else ""


def test_app_ended_by_sighup_leaves_no_pytest(make_project) -> None:
    """The SSH session closes under the command center: the phase goes with it."""
    root = make_project(HANGING)
    process = start(root, tty=True)
    try:
        owner = psutil.Process(process.pid)
        wait_for(lambda: drain(process) or (root / "tests" / "hanging").exists(),
                 "the test to hang")
        phase = pytest_processes(owner)
        assert phase
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            drain(process)
            time.sleep(0.05)
        assert process.poll() is not None, "claimcheck did not exit on SIGHUP"
        wait_for(lambda: all_gone(phase), "the phase to end", limit=10)
    finally:
        stop(process)


def test_a_forced_exit_still_removes_the_demos_temporary_copy(tmp_path: Path) -> None:
    """The watchdog ends a quit that hangs with os._exit, which skips `finally` and atexit:
    the demo's temporary copy of the sample is removed on that path too."""
    copy = tmp_path / "claimcheck-demo-copy"
    (copy / "tests").mkdir(parents=True)
    (copy / "tests" / "test_x.py").write_text("def test_x(): pass\n", encoding="utf-8")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from claimcheck.tui import signals\n"
        "with signals.removed_even_on_forced_exit(Path(sys.argv[1])):\n"
        "    dog = signals.Watchdog()\n"
        "    dog.start()\n"
        "    dog.arm(0.1)\n"
        "    import time; time.sleep(30)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(copy)], timeout=20)
    assert done.returncode == 2  # interrupted
    assert not copy.exists()
