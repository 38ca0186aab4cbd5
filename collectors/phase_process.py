"""Ending a phase's process tree and collecting what it leaves: shared by the runner and the
straggler reaper, both of which must never leave a pytest behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import psutil
from claimcheck.collectors import procs

KILL_GRACE_S = 2.0  # SIGTERM first, SIGKILL for what is still alive after this
PIPE_GRACE_S = 1.0  # after exit, how long an orphan holding our stdout may keep it open


async def kill_phase_tree(pid: int) -> None:
    """`end_phase_tree` on a worker thread."""
    await asyncio.to_thread(end_phase_tree, pid)


def end_phase_tree(pid: int) -> None:
    """End the phase's process tree, then its process group, where orphans are still found."""
    procs.kill_tree(pid, KILL_GRACE_S)
    _kill_group(pid, KILL_GRACE_S)


def _kill_group(pgid: int, timeout: float) -> None:
    """SIGKILL every process left in the group and wait until each has really died.

    `kill_tree` only sees processes that were still descendants when it looked; a grandchild
    whose parent exited is re-parented away but stays in the group (start_new_session made the
    leader's pid the group id). A signalled process may still be waiting for a CPU when kill()
    returns, so "timed out" would otherwise be reported while the tree still runs.
    """
    members: list[psutil.Process] = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while members and time.monotonic() < deadline:
        members = [proc for proc in members if _alive(proc)]
        if members:
            time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def settle(waiter: asyncio.Future[Any], drainer: asyncio.Future[Any]) -> None:
    """Reap the process and finish reading its output, without waiting on orphans forever."""
    try:
        await asyncio.wait_for(asyncio.shield(waiter), timeout=KILL_GRACE_S * 2)
    except asyncio.TimeoutError:
        waiter.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(drainer), timeout=PIPE_GRACE_S)
    except asyncio.TimeoutError:
        drainer.cancel()  # a grandchild still holds the pipe; its output is not the phase's
