"""The end of a pytest process claimcheck runs: its heap left to the kernel, not to CPython's
last garbage collections.

A phase is over when its process exits: its exit status is the phase's, so claimcheck waits for
it. After pytest's last word, CPython clears every module and collects garbage over the whole
heap more than once, pytest's session graph included (items, reports, fixtures, the modules it
imported): about 30 ms after one test and 0.1 to 0.2 s after 3,000 on this project's VM, which
bare pytest pays too and which changes nothing a test did.

So the process's last exit function (registered when the plugin is imported, and exit
functions run last-registered first, so it runs after every one a conftest, a plugin or a
test registers later) flushes every file still open for writing and freezes the heap
(`gc.freeze()`): CPython then leaves the objects that exist at that moment out of its
collections. The rest of the exit is as always: the threads were joined and the exit functions
ran before this one, a module's globals are cleared and what only they held is freed by
reference count (a file closed, a `__del__` run), and the exit status is the process's own.
Only what sits in a reference cycle is not collected, its memory given back by the kernel (a
file in one was flushed first; a `__del__` there does not run, as CPython does not promise
it). pytest's own collections at unconfigure (pytest 8.4 and later look for unraisable
exceptions there) run before this and are untouched.

It acts only in a session claimcheck runs (`arm()` from the plugin's `pytest_configure`),
never in a process forked from it, and never with CLAIMCHECK_FAST_EXIT=off. Standard library
only.
"""

from __future__ import annotations

import atexit
import gc
import os

try:
    from _io import _IOBase  # io.IOBase's C base: a plain type check, not an ABC's
except ImportError:  # an interpreter without it
    from io import IOBase as _IOBase  # type: ignore[assignment]

ENV_FAST_EXIT = "CLAIMCHECK_FAST_EXIT"  # "off": CPython's collections at exit as always

_armed_pid: int | None = None  # the process that armed it (a fork's child did not)


def arm() -> None:
    """From now on, this process ends without CPython's last collections (unless switched
    off)."""
    global _armed_pid
    if os.environ.get(ENV_FAST_EXIT, "").strip().lower() != "off":
        _armed_pid = os.getpid()


def _leave_heap_to_kernel() -> None:
    if _armed_pid is None or _armed_pid != os.getpid():
        return
    flush_open_files()
    gc.freeze()


def flush_open_files() -> None:
    """Flush every file object still open for writing (the standard streams too, as CPython
    does at exit); a file that cannot be flushed is left as it is."""
    for stream in filter(_IOBase.__instancecheck__, gc.get_objects()):
        try:
            if not stream.closed and stream.writable():
                stream.flush()
        except Exception:  # noqa: BLE001 - a broken file must not change how the process ends
            pass


atexit.register(_leave_heap_to_kernel)
