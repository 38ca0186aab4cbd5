"""Stragglers: pytest processes whose session is over but whose teardown is not.

A `pytest` phase is over, as far as evidence goes, when its session's `session_finish` line
arrives. Its process may need seconds more to tear down (pytest 8.4 runs `gc.collect()` five
times at unconfigure, then the interpreter frees the heap, without its last collections:
`_plugin/claimcheck_exit.py`), so the runner builds the PhaseRun at once and hands the process
here, to be reaped in the background. Whoever runs
phases awaits `wait_for_stragglers()` (or `kill_stragglers()`) before it exits, so no pytest
outlives claimcheck.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
from dataclasses import dataclass
from typing import Any, Sequence

import psutil
from claimcheck.collectors.phase_process import kill_phase_tree, settle

# How long a pytest phase's process may go on tearing down after its session finished (it may be
# writing coverage data, say) before its tree is killed.
STRAGGLER_GRACE_S = 30.0
# Niceness added to a straggler's process tree once the next phase's pytest has started: its
# teardown then yields the CPU to the phase that runs now. A straggler of the last phase keeps
# its priority, since claimcheck exits when it does: lowered, it would lose the CPU to every
# other process on a busy machine and make the whole run later. 0: never lower it.
STRAGGLER_NICENESS = 10


@dataclass(eq=False)
class Straggler:
    """A phase's pytest process, still tearing down after its PhaseRun was returned."""

    phase: str
    pid: int
    session_exit: int  # what the PhaseRun says
    returncode: int | None = None  # the process's own exit, once reaped
    killed: bool = False  # outlived STRAGGLER_GRACE_S, or cancelled: its tree was killed

    @property
    def contradicts_session(self) -> bool:
        """The process ended otherwise than its session said (a crash during teardown)."""
        return self.killed or (self.returncode is not None
                               and self.returncode != self.session_exit)


@dataclass(eq=False)
class _Reaper:
    """One straggler's record, its process's futures, and the task that waits for its exit."""

    record: Straggler
    handle: psutil.Process | None  # knows the start time, so a recycled pid is never signalled
    waiter: asyncio.Future[Any]
    drainer: asyncio.Future[Any]
    task: asyncio.Task[None] | None = None
    ended: bool = False
    lowered: bool = False

    async def reap(self) -> None:
        """Wait for the exit (the drainer keeps reading, so a full pipe never blocks pytest);
        kill the tree if it outlives the grace."""
        try:
            await asyncio.wait({self.waiter}, timeout=STRAGGLER_GRACE_S)
        except asyncio.CancelledError:
            await self.end()
            raise
        await self.end()

    async def end(self) -> None:
        """Kill whatever is still running, then collect the exit status and the last output."""
        if self.ended:
            return
        self.ended = True
        if not self.waiter.done():
            self.record.killed = True
            await kill_phase_tree(self.record.pid)
        await settle(self.waiter, self.drainer)
        if self.waiter.done() and not self.waiter.cancelled():
            self.record.returncode = self.waiter.result()


_reapers: list[_Reaper] = []


def adopt_straggler(phase: str, session_exit: int, pid: int,
                     waiter: asyncio.Future[Any], drainer: asyncio.Future[Any]) -> None:
    """Reap the phase's process `pid` in the background; `waiter` resolves with its exit
    status, `drainer` when its output is read to the end."""
    try:
        handle: psutil.Process | None = psutil.Process(pid)
    except psutil.Error:
        handle = None
    reaper = _Reaper(Straggler(phase=phase, pid=pid, session_exit=session_exit), handle,
                     waiter, drainer)
    reaper.task = asyncio.ensure_future(reaper.reap())
    _reapers.append(reaper)
    reaper.task.add_done_callback(lambda _: _forget(reaper))


def yield_to_next_phase() -> None:
    """A new phase's pytest has started: lower the priority of every straggler still tearing
    down, so the phase that runs now gets the CPU first."""
    if not STRAGGLER_NICENESS:
        return
    for reaper in _reapers:
        if reaper.handle is not None and not reaper.lowered and not reaper.ended:
            reaper.lowered = True
            _lower_priority(reaper.handle, STRAGGLER_NICENESS)


def _lower_priority(handle: psutil.Process, niceness: int) -> None:
    try:
        tree = [handle, *handle.children(recursive=True)]
    except psutil.Error:
        return
    for proc in tree:
        with contextlib.suppress(psutil.Error, OSError):
            proc.nice(min(19, proc.nice() + niceness))


def _forget(reaper: _Reaper) -> None:
    if reaper in _reapers:
        _reapers.remove(reaper)


def _current_reapers() -> list[_Reaper]:
    loop = asyncio.get_running_loop()
    return [reaper for reaper in _reapers
            if reaper.task is not None and reaper.task.get_loop() is loop]


async def wait_for_stragglers(timeout: float | None = None) -> list[Straggler]:
    """Wait until every straggler started on this event loop has exited; how each one ended.

    Each is killed once it outlives STRAGGLER_GRACE_S anyway; `timeout` kills what is still
    running sooner. Cancelling this kills them all (Ctrl-C while waiting), then re-raises.
    """
    current = _current_reapers()
    if not current:
        return []
    try:
        _, pending = await asyncio.wait([reaper.task for reaper in current], timeout=timeout)
    except asyncio.CancelledError:
        await _end_all(current)
        raise
    if pending:
        await _end_all([reaper for reaper in current if reaper.task in pending])
    return [reaper.record for reaper in current]


async def kill_stragglers() -> None:
    """Kill the process tree of every straggler on this event loop and wait until they are gone."""
    await _end_all(_current_reapers())


async def _end_all(reapers: Sequence[_Reaper]) -> None:
    """Stop the reapers and end their processes here: a task cancelled before its first step
    never runs its own clean-up."""
    for reaper in reapers:
        assert reaper.task is not None
        reaper.task.cancel()
    await asyncio.gather(*(reaper.task for reaper in reapers if reaper.task is not None),
                         return_exceptions=True)
    await asyncio.gather(*(reaper.end() for reaper in reapers))
    for reaper in reapers:
        _forget(reaper)


@atexit.register
def _kill_leftover_stragglers() -> None:
    """Last resort at interpreter exit: an event loop closed without reaping its stragglers
    (an app that exits without awaiting them) must not leave pytest processes behind."""
    for reaper in list(_reapers):
        if reaper.handle is None or not reaper.handle.is_running():
            continue
        with contextlib.suppress(OSError):
            os.killpg(reaper.record.pid, signal.SIGKILL)  # start_new_session: pgid == pid
    _reapers.clear()


