"""The phase's output pipe rests after a short read, and nothing written meanwhile is lost.

`pytest -q` flushes a dot per test; reading each as it came woke claimcheck once per test. The
tail now leaves the pipe unwatched for a while after a read that emptied it; `catch_up`
takes what waits there when a phase's result is built, and the process's exit ends the rest.
A real child process writes, and waits on files this test creates, so each step is observed
at a moment when the child cannot write anything more; the rest is made 60 s long, so only
`catch_up` or the exit can bring the second line in.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from claimcheck.collectors import pytest_run
from claimcheck.collectors.pytest_run import _OutputTail, _watch

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


async def _start(tail: _OutputTail, *args: str):
    """A child running `python *args`, its stdout read into `tail` as a phase's is; its
    waiter, and the drainer that ends with the pipe."""
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE)
    proc = await _watch(process, tail)
    waiter = asyncio.ensure_future(proc.wait())
    waiter.add_done_callback(lambda _: tail.process_exited())
    return process, waiter, asyncio.ensure_future(tail.drained())


async def _until(condition, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.01)


def test_what_waits_in_the_resting_pipe_is_taken_by_catch_up_and_the_exit_ends_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_run, "OUTPUT_REST_S", 60.0)

    async def scenario() -> None:
        tail = _OutputTail()
        proc, waiter, drainer = await _start(tail, "-c", CHILD, str(tmp_path))
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
            if proc.poll() is None:
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
        tail = _OutputTail(limit=5000)
        _, waiter, drainer = await _start(tail, "-c", script)
        await asyncio.wait_for(drainer, WAIT_S)
        await waiter
        return tail.text().splitlines()

    lines = asyncio.run(scenario())
    assert lines == [f"line {i} " + "x" * (i % 300) for i in range(3000)]


FLOOD = """
import os, sys, time
folder = sys.argv[1]
for number in range(20_000):
    sys.stdout.write(f"line {number} " + "x" * 40 + "\\n")
sys.stdout.flush()
open(folder + "/flooded", "w").close()
while not os.path.exists(folder + "/go"):
    time.sleep(0.01)
for number in range(20_000, 20_500):  # 26 KB: the pipe holds it, nobody need read it
    sys.stdout.write(f"line {number} " + "x" * 40 + "\\n")
sys.stdout.flush()
open(folder + "/written", "w").close()
time.sleep(60)
"""


def test_catch_up_takes_everything_written_so_far_resting_or_not(tmp_path: Path) -> None:
    """A phase settled by its session's end is built while its process may still be
    writing, and its pipe need not be resting then (a flood fills the pipe, so no read is
    short): what waits there must still be taken (the last lines of a flood were once
    missing). Here the loop is blocked while the child writes, so the transport cannot read
    what `catch_up` must."""

    async def scenario() -> None:
        tail = _OutputTail(limit=5)
        proc, waiter, drainer = await _start(tail, "-c", FLOOD, str(tmp_path))
        try:
            await _until((tmp_path / "flooded").exists, "the flood written")
            await _until(lambda: tail.text().startswith("line 19995 "), "the flood read")
            tail.process_exited()  # no rest from here on: the pipe is watched
            (tmp_path / "go").touch()
            deadline = time.monotonic() + WAIT_S
            while not (tmp_path / "written").exists():  # the loop does not turn meanwhile
                assert time.monotonic() < deadline, "never: the last lines written"
                time.sleep(0.01)
            assert tail.text().startswith("line 19995 ")
            tail.catch_up()
            assert tail.text().splitlines()[-1] == "line 20499 " + "x" * 40
        finally:
            proc.kill()
            await asyncio.wait_for(waiter, WAIT_S)
            await asyncio.wait_for(drainer, WAIT_S)

    asyncio.run(scenario())


def test_a_drainer_given_up_on_closes_the_pipe(tmp_path: Path) -> None:
    """A grandchild may hold the pipe open after the phase exits: cancelling the drainer
    closes claimcheck's end, so the loop no longer watches it."""

    async def scenario() -> None:
        tail = _OutputTail()
        proc, waiter, drainer = await _start(tail, "-c", "import time; time.sleep(60)")
        try:
            await asyncio.sleep(0.05)
            drainer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await drainer
            await asyncio.sleep(0)  # the transport's connection_lost runs soon after close
            assert tail._fd is None
            tail.catch_up()  # nothing to read and no error
        finally:
            proc.kill()
            await asyncio.wait_for(waiter, WAIT_S)

    asyncio.run(scenario())
