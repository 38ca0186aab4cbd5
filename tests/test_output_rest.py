"""The phase's output pipe rests after a short read, and nothing written meanwhile is lost.

`pytest -q` flushes a dot per test; reading each as it came woke claimcheck once per test. The
drainer now leaves the pipe unwatched for a while after a read that emptied it; `catch_up`
takes what waits there when a phase's result is built, and the process's exit ends the rest.
A real child process writes, and waits on files this test creates, so each step is observed
at a moment when the child cannot write anything more; the rest is made 60 s long, so only
`catch_up` or the exit can bring the second line in.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from claimcheck.collectors import pytest_run
from claimcheck.collectors.pytest_run import _OutputTail

WAIT_S = 60.0

CHILD = """
import os, sys, time
def wait_for(path):
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
folder = sys.argv[1]
sys.stdout.write("first\\n"); sys.stdout.flush()
wait_for(folder + "/go")
sys.stdout.write("second\\n"); sys.stdout.flush()
open(folder + "/written", "w").close()
wait_for(folder + "/end")
sys.stdout.write("last\\n"); sys.stdout.flush()
"""


async def _until(condition, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.01)


def test_what_waits_in_the_resting_pipe_is_taken_by_catch_up_and_the_exit_ends_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_run, "OUTPUT_REST_S", 60.0)

    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, str(tmp_path), stdout=asyncio.subprocess.PIPE)
        waiter = asyncio.ensure_future(proc.wait())
        tail = _OutputTail()
        drainer = asyncio.ensure_future(tail.drain(proc.stdout, exited=lambda: proc.returncode is not None))
        try:
            await _until(lambda: "first" in tail.text(), "the first line read")
            (tmp_path / "go").touch()
            await _until((tmp_path / "written").exists, "the second line written")
            await asyncio.sleep(0.2)  # the loop turns: a watched pipe would be read now
            assert tail.text() == "first"  # resting: the line waits in the pipe
            tail.catch_up()
            assert tail.text() == "first\nsecond"
            (tmp_path / "end").touch()
            # The exit ends the 60 s rest: the drainer reads the last line and the EOF.
            await asyncio.wait_for(drainer, WAIT_S)
            assert tail.text() == "first\nsecond\nlast"
        finally:
            if proc.returncode is None:
                proc.kill()
            await waiter
            drainer.cancel()

    asyncio.run(scenario())


def test_a_long_output_is_read_whole_and_in_order(tmp_path: Path) -> None:
    """Full reads follow each other without a rest; short ones rest; no byte is lost or
    reordered across rests and full reads."""
    script = ("import sys\nfor i in range(3000):\n"
              "    sys.stdout.write(f'line {i} ' + 'x' * (i % 300) + '\\n')\n"
              "    if i % 100 == 0: sys.stdout.flush()\n")

    async def scenario() -> list[str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script,
                                                    stdout=asyncio.subprocess.PIPE)
        waiter = asyncio.ensure_future(proc.wait())
        tail = _OutputTail(limit=5000)
        await asyncio.wait_for(tail.drain(proc.stdout, exited=lambda: proc.returncode is not None), WAIT_S)
        await waiter
        return tail.text().splitlines()

    lines = asyncio.run(scenario())
    assert lines == [f"line {i} " + "x" * (i % 300) for i in range(3000)]
