"""Signals that end claimcheck the way Ctrl+C does, so every path cleans up.

Python's default for SIGTERM and SIGHUP is to die on the spot, skipping `finally` and `atexit`:
a closed SSH session (SIGHUP) or a CI job being cancelled (SIGTERM) would leave pytest running
and the terminal in raw mode. Raised as KeyboardInterrupt instead, they unwind through the same
clean-up as Ctrl+C and exit 2. (SIGKILL cannot be caught: claimcheck's pytest plugin watches
for its owner's death instead; see `collectors/_plugin/claimcheck_stream.py`.)
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

ENDING_SIGNALS = ("SIGTERM", "SIGHUP")


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
