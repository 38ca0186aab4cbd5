"""Signals that end claimcheck the way Ctrl+C does, so every path cleans up.

Python's default for SIGTERM and SIGHUP is to die on the spot, skipping `finally` and `atexit`:
a closed SSH session (SIGHUP) or a CI job being cancelled (SIGTERM) would leave pytest running
and the terminal in raw mode. Outside an event loop they are raised as KeyboardInterrupt
(`terminate_as_interrupt`), so they unwind through the same clean-up as Ctrl+C and exit 2.
While `--report` gathers evidence they are taken on its event loop instead
(`delivered_on_loop`): the first stops the run, which is still judged and written; a second
only hurries the clean-up. (SIGKILL cannot be caught: claimcheck's pytest plugin watches for
its owner's death instead; see `collectors/_plugin/claimcheck_stream.py`.) A signalled quit of
the command center that does not finish in time is ended by the `Watchdog`, which kills what
claimcheck started and exits 2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import asyncio


QUIT_DEADLINE_S = 15.0  # a quit asked for by a signal ends by force after this long...
HANGUP_DEADLINE_S = 3.0  # ...and after this long when the terminal itself is gone (SIGHUP)
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


def ignore_ending_signals() -> None:
    """From here to the exit, SIGINT, SIGTERM and SIGHUP are ignored: the run is over, its
    reports are written and its exit code decided; dying by a signal now would only lose that
    code. (Never from a thread other than the main one.)"""
    if threading.current_thread() is threading.main_thread():
        _install(signal.SIG_IGN, ENDING_SIGNALS + ("SIGINT",))


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


# A signalled quit that hangs: the watchdog ends the process whatever the event loop is doing.


def kill_what_we_started(timeout: float = 2.0) -> None:
    """Belt and braces: end anything still alive that claimcheck started (pytest, workers...).
    (psutil is imported here, not with the module: `--report` loads this before the spawn.)"""
    from claimcheck.collectors.procs import kill_descendants

    kill_descendants(timeout=timeout)


_REMOVED_EVEN_ON_FORCED_EXIT: list[Path] = []  # os._exit skips `finally` and atexit


@contextmanager
def removed_even_on_forced_exit(folder: Path) -> Iterator[Path]:
    """`folder` (a temporary copy) is removed when the block ends, and also when the watchdog
    ends the process by force (a closed terminal: `tmux kill-session`, a dropped SSH link).
    (shutil is imported here, so that the forced exit imports nothing: `--report` loads this
    module before the first pytest is spawned.)"""
    import shutil  # noqa: F401 - for `_exit_now`

    _REMOVED_EVEN_ON_FORCED_EXIT.append(folder)
    try:
        yield folder
    finally:
        with contextlib.suppress(ValueError):
            _REMOVED_EVEN_ON_FORCED_EXIT.remove(folder)


def _exit_now() -> None:
    """The last resort of a signalled quit that did not finish: nothing left running, no
    temporary copy left behind, exit 2."""
    kill_what_we_started(timeout=1.0)
    import shutil  # loaded already when there is a folder to remove

    for folder in tuple(_REMOVED_EVEN_ON_FORCED_EXIT):
        shutil.rmtree(folder, ignore_errors=True)
    from claimcheck.collectors.verdict import ExitCode

    os._exit(ExitCode.INTERRUPTED)


class Watchdog:
    """Ends the process a while after it is armed, whatever the event loop is doing.

    Started before it is needed, so arming it from a signal handler only sets an event.
    """

    def __init__(self, on_expiry: Callable[[], None] = _exit_now) -> None:
        self._armed = threading.Event()
        self._deadline_s = QUIT_DEADLINE_S
        self._on_expiry = on_expiry
        self._thread = threading.Thread(target=self._watch, name="claimcheck-watchdog",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def arm(self, deadline_s: float) -> None:
        if not self._armed.is_set():
            self._deadline_s = deadline_s
            self._armed.set()

    def _watch(self) -> None:
        self._armed.wait()
        time.sleep(self._deadline_s)
        self._on_expiry()
