"""Signals that end claimcheck the way Ctrl+C does, so every path cleans up.

Python's default for SIGTERM and SIGHUP is to die on the spot, skipping `finally` and `atexit`:
a closed SSH session (SIGHUP) or a CI job being cancelled (SIGTERM) would leave pytest running
and the terminal in raw mode. Outside an event loop they are raised as KeyboardInterrupt
(`terminate_as_interrupt`), so they unwind through the same clean-up as Ctrl+C and exit 2.
While `--report` gathers evidence they are taken on its event loop instead
(`delivered_on_loop`): the first stops the run, which is still judged and written; a second
only hurries the clean-up. (SIGKILL cannot be caught: claimcheck's pytest plugin watches for
its owner's death instead; see `collectors/_plugin/claimcheck_stream.py`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Callable, Iterator

ENDING_SIGNALS = ("SIGTERM", "SIGHUP")
INTERRUPTING_SIGNALS = ("SIGINT",) + ENDING_SIGNALS  # Ctrl-C, a cancelled job, a closed terminal


def _install(handler: object, names: tuple[str, ...]) -> dict[int, object]:
    previous: dict[int, object] = {}
    for name in names:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, handler)  # type: ignore[arg-type]
    return previous


def _restore(previous: dict[int, object]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)  # type: ignore[arg-type]


@contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl+C or SIGTERM must not cut a clean-up short and orphan a process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = _install(signal.SIG_IGN, ENDING_SIGNALS + ("SIGINT",))
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt for the duration of the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = _install(interrupt, ENDING_SIGNALS)
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def delivered_on_loop(loop: asyncio.AbstractEventLoop, handler: Callable[[int], None],
                      names: tuple[str, ...] = INTERRUPTING_SIGNALS) -> Iterator[None]:
    """Call `handler(signum)` on `loop` for each of `names` while the block runs.

    Nothing is raised into whatever code the signal lands in, so no clean-up is cut short and
    no half-written report is lost. Afterwards the handlers in place before come back (the
    loop itself would leave SIGTERM and SIGHUP at their deadly default).
    """
    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for name in names:
            number = getattr(signal, name, None)
            if number is None:
                continue
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                handler_before = signal.getsignal(number)
                loop.add_signal_handler(number, handler, number)
                previous[number] = handler_before
    try:
        yield
    finally:
        for number, handler_before in previous.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, TypeError, ValueError):
                loop.remove_signal_handler(number)
                signal.signal(number, handler_before)  # type: ignore[arg-type]
