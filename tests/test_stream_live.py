"""A live reader of the stream sees each result as soon as pytest reports it.

The plugin writes each test's line to the stream file in one `write` when the test's last report
is logged (nothing is held back in the process), so a reader that opens the file while the next
test runs finds every earlier result in it, and `.running` names the test running now. Each test
here holds a real pytest subprocess inside a test that waits on a barrier (a file this test
creates), reads the files while pytest is blocked, then lets it go: no timed assertion, only
what the files hold at a moment when the plugin cannot write anything more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from claimcheck.collectors._plugin import claimcheck_protocol as protocol
from claimcheck.collectors.pytest_run import PLUGIN_DIR

from tests.conftest import write_project

BARRIER_WAIT_S = 120  # how long a step may take on a loaded machine before the test gives up

BLOCKING = textwrap.dedent("""
    import os, time

    def wait_for(path):
        deadline = time.monotonic() + {wait}
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)

    def test_blocks():
        open(os.environ["BARRIER_DIR"] + "/waiting", "w").close()
        wait_for(os.environ["BARRIER_DIR"] + "/release")
""")


def _start(root: Path, stream: Path, barrier: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.update({protocol.ENV_DIR: str(stream), "PYTHONPATH": str(PLUGIN_DIR),
                "BARRIER_DIR": str(barrier)})
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", protocol.PLUGIN_NAME, "-q", "-p", "no:randomly",
         "-p", "no:cacheprovider", *args],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + BARRIER_WAIT_S
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"pytest exited {proc.returncode} before {path.name}: "
                                 + proc.stdout.read().decode(errors="replace")[-2000:])
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path.name} never appeared")
        time.sleep(0.01)


def _events(stream: Path) -> list[dict]:
    files = sorted(stream.glob("*" + protocol.STREAM_SUFFIX))
    assert len(files) == 1, files
    with open(files[0], "rb", buffering=0) as handle:  # up to the part reserved, unwritten
        written = protocol.read_appended(handle)
    return [json.loads(line) for line in written.decode("utf-8").splitlines()]


def _tests(events: list[dict]) -> dict[str, str]:
    return {event["nodeid"]: event["outcome"] for event in events
            if event["event"] == protocol.TEST}


@pytest.fixture
def blocked_run(tmp_path: Path):
    """Run a project whose last test blocks; yield (stream dir, barrier dir, process) while
    pytest is blocked in that test, release it and reap it afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    barrier = tmp_path / "barrier"
    stream = tmp_path / "stream"

    def run(files: dict[str, str], *args: str) -> tuple[Path, subprocess.Popen[bytes]]:
        barrier.mkdir()
        stream.mkdir()
        root = write_project(tmp_path / "proj", files)
        proc = _start(root, stream, barrier, *args)
        started.append(proc)
        _wait_for(barrier / "waiting", proc)
        return stream, proc

    yield run
    (barrier / "release").touch()
    for proc in started:
        try:
            proc.wait(timeout=BARRIER_WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def test_each_result_is_in_the_stream_before_the_next_test_starts(blocked_run) -> None:
    """A passing test, a failing one and an erroring one are on disk, with the session's
    start and its collection, while pytest sits in the next test; `.running` names it."""
    stream, proc = blocked_run({
        "tests/test_live.py": textwrap.dedent("""
            import pytest

            @pytest.fixture
            def broken():
                raise RuntimeError("setup fails")

            def test_passes():
                assert True

            def test_fails():
                assert 1 == 2

            def test_errors(broken):
                pass
        """) + BLOCKING.format(wait=BARRIER_WAIT_S),
    })
    events = _events(stream)
    kinds = [event["event"] for event in events]
    assert kinds[0] == protocol.SESSION_START
    assert protocol.COLLECTION_FINISH in kinds
    assert protocol.SESSION_FINISH not in kinds
    assert _tests(events) == {"tests/test_live.py::test_passes": "passed",
                              "tests/test_live.py::test_fails": "failed",
                              "tests/test_live.py::test_errors": "error"}
    running = sorted(stream.glob("*" + protocol.RUNNING_SUFFIX))
    assert len(running) == 1
    pending, now = protocol.read_running(str(running[0]))
    assert (pending, now) == ([], ["tests/test_live.py::test_blocks"])
    assert proc.poll() is None  # still blocked: nothing above came from the session's end


def test_a_passing_result_is_not_held_back_behind_a_slow_test(blocked_run) -> None:
    """Only passing tests before the blocked one: no failure or session event to push them
    out, still every line is there (what a buffer flushed at failures only would hold)."""
    stream, proc = blocked_run({
        "tests/test_green.py": "".join(f"def test_{n}():\n    assert {n} == {n}\n\n"
                                       for n in range(50))
        + BLOCKING.format(wait=BARRIER_WAIT_S),
    })
    tests = _tests(_events(stream))
    assert tests == {f"tests/test_green.py::test_{n}": "passed" for n in range(50)}
    assert proc.poll() is None


def test_the_stream_after_release_holds_every_result_once(blocked_run, tmp_path: Path) -> None:
    """Writing at once loses and repeats nothing: after the blocked test ends, each test has
    exactly one line and the session its finish."""
    stream, proc = blocked_run({
        "tests/test_once.py": "def test_a():\n    pass\n\ndef test_b():\n    assert 0\n"
        + BLOCKING.format(wait=BARRIER_WAIT_S),
    })
    (tmp_path / "barrier" / "release").touch()
    assert proc.wait(timeout=BARRIER_WAIT_S) == 1
    events = _events(stream)
    nodeids = [event["nodeid"] for event in events if event["event"] == protocol.TEST]
    assert sorted(nodeids) == sorted(set(nodeids)) and len(nodeids) == 3
    assert _tests(events)["tests/test_once.py::test_blocks"] == "passed"
    assert events[-1]["event"] == protocol.SESSION_FINISH
