"""The command center in a real terminal: how soon its first frame, and a result, are on screen.

    python bench/tui_first_screen.py [--runs 5]

Each run starts `claimcheck --no-history` (the command center, no `--report`) in a
pseudo-terminal (120x40, NO_COLOR) on a two-test project whose second test waits on a file, and
reads what the app writes to the terminal:

- first frame: from launching the process until the header (the project's name) has been
  written to the terminal;
- first result: from the moment pytest reported the first test (the project's conftest writes
  `time.time()` in `pytest_runtest_logreport` for its teardown, in the pytest process) until
  the screen shows it (`+1 passed` in the events panel or `1/2` in the phases panel). A pytest
  that reports before the first frame (one started from a remembered command starts early)
  waits for that frame, so this grows as pytest gets earlier; hence also:
- first result from launch: from launching the process until the screen shows that result.

Both clocks are the wall clock of one host. Then the file is created, the run ends, `q` quits.
Nothing of claimcheck is patched; the terminal's bytes are the evidence.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

NAME = "firstscreenbench"
WAIT_S = 120  # a step slower than this on a loaded machine is a failure, not a figure
TESTS = """\
import os, time

def test_first():
    pass

def test_waits():
    deadline = time.monotonic() + 120
    while not os.path.exists(os.environ["BENCH_RELEASE"]) and time.monotonic() < deadline:
        time.sleep(0.01)
"""
CONFTEST = """\
import os, time

def pytest_runtest_logreport(report):
    if report.when == "teardown" and report.nodeid.endswith("::test_first"):
        with open(os.environ["BENCH_REPORTED"], "w") as handle:
            handle.write(repr(time.time()))

def pytest_unconfigure(config):
    open(os.environ["BENCH_RELEASE"] + ".done", "w").close()
"""
ESCAPE = re.compile(rb"\x1b\[[0-9;?>$]*[a-zA-Z]|\x1b\][^\x07]*\x07")
RESULT_SHOWN = re.compile(rb"\+1 passed|\b1/2\b")


@dataclass
class Seen:
    first_frame_s: float
    first_result_s: float
    result_shown_s: float  # from launch: where a pytest started earlier shows


def make_project(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_first.py").write_text(TESTS, encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (root / "pyproject.toml").write_text(f'[project]\nname = "{NAME}"\nversion = "0"\n',
                                         encoding="utf-8")


def _drain(fd: int) -> None:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            os.read(fd, 65536)
        except OSError:
            time.sleep(0.05)


def one_run(root: Path, scratch: Path, env: dict[str, str]) -> Seen:
    release, reported = scratch / "release", scratch / "reported"
    finished = scratch / "release.done"  # the conftest: pytest is ending
    for path in (release, reported, finished):
        path.unlink(missing_ok=True)
    primary, secondary = pty.openpty()
    run_env = {**env, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "120",
               "LINES": "40", "BENCH_RELEASE": str(release), "BENCH_REPORTED": str(reported)}
    launched = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "claimcheck", "--project", str(root),
                             "--no-history"], stdin=secondary, stdout=secondary,
                            stderr=secondary, env=run_env, start_new_session=True, cwd=root)
    os.close(secondary)
    shown = b""
    frame_at = result_at = None
    deadline = time.monotonic() + WAIT_S
    try:
        while result_at is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the command center never showed a result (exit "
                                 f"{proc.poll()}): {ESCAPE.sub(b'', shown)[-1500:]!r}")
            ready, _, _ = select.select([primary], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(primary, 65536)
            except OSError:
                continue
            now = time.time()
            shown += data
            text = ESCAPE.sub(b"", shown[-65536:])
            if frame_at is None and NAME.encode() in text:
                frame_at = now
            if frame_at is not None and RESULT_SHOWN.search(text):
                result_at = now
        release.touch()
        done_by = time.monotonic() + WAIT_S
        while not finished.exists() and time.monotonic() < done_by and proc.poll() is None:
            _drain(primary)
        time.sleep(0.5)  # the phase judged
        os.write(primary, b"q")
        quit_by = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < quit_by:
            _drain(primary)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(primary)
    reported_at = float(reported.read_text(encoding="ascii"))
    return Seen(first_frame_s=frame_at - launched, first_result_s=result_at - reported_at,
                result_shown_s=result_at - launched)


def measure(runs: int, work: Path | None = None, remember: bool = True) -> dict[str, float]:
    """Medians over `runs` (one discarded warm-up run first, which leaves the remembered start
    the others use; with `remember` False, claimcheck's remembered starts are off)."""
    folder = work or Path(tempfile.mkdtemp(prefix="claimcheck-first-screen-"))
    root = folder / NAME
    if root.exists():
        shutil.rmtree(root)
    make_project(root)
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["CLAIMCHECK_START_CACHE"] = str(folder / "starts") if remember else "off"
    one_run(root, folder, env)
    seen = []
    loads = []
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        seen.append(one_run(root, folder, env))
    loads.append(os.getloadavg()[0])
    return {
        "runs": runs,
        "first_frame_s": statistics.median(s.first_frame_s for s in seen),
        "first_frame_max_s": max(s.first_frame_s for s in seen),
        "first_result_s": statistics.median(s.first_result_s for s in seen),
        "first_result_max_s": max(s.first_result_s for s in seen),
        "result_shown_s": statistics.median(s.result_shown_s for s in seen),
        "load_min": min(loads), "load_max": max(loads),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--nothing-remembered", action="store_true",
                        help="with claimcheck's remembered starts off (a first run)")
    args = parser.parse_args()
    figures = measure(args.runs, remember=not args.nothing_remembered)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"command center, {args.runs} runs (median, max), load "
              f"{figures['load_min']:.1f}-{figures['load_max']:.1f}")
        print(f"  launch -> first frame: {figures['first_frame_s']:.2f} s, "
              f"{figures['first_frame_max_s']:.2f} s (goal < 0.5 s)")
        print(f"  pytest reported -> on screen: {figures['first_result_s'] * 1000:.0f} ms, "
              f"{figures['first_result_max_s'] * 1000:.0f} ms (goal < 300 ms)")
        print(f"  launch -> first result on screen: {figures['result_shown_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
