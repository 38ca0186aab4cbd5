"""Waiting on real processes: claimcheck started from a test, and the pytest it starts.

Shared by the tests that stop claimcheck from outside (tests/test_signals.py,
tests/test_interruptions.py): each waits, bounded, for what the processes do, never for a
fixed pause.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import psutil

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], what: str, limit: float = 60.0) -> T:
    """The first true value of `predicate`, polled every 50 ms; fails naming `what` after
    `limit` seconds (a bound for a loaded machine, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def runs_pytest(process: psutil.Process) -> bool:
    """`process` is a phase's pytest: `python -m pytest ...`, or a first run's
    (`python -m claimcheck_prestart`, which runs pytest in itself)."""
    command = " ".join(process.cmdline())
    return "pytest" in command or "claimcheck_prestart" in command


def pytest_processes(owner: psutil.Process) -> list[psutil.Process]:
    """The pytest processes `owner` started (they run in sessions of their own, so look by
    parent, not by process group)."""
    found = []
    for child in owner.children(recursive=True):
        try:
            if runs_pytest(child):
                found.append(child)
        except psutil.Error:
            continue
    return found


def all_gone(processes: list[psutil.Process]) -> bool:
    """True when none of `processes` still runs (a zombie waiting for its reaper counts as
    gone)."""
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True
