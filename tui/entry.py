"""The `claimcheck` console script and `python -m claimcheck`: the first phase started from the
command this invocation started last time (`collectors/remembered_start.py`), then the command
line (`tui/cli.py`), whose imports take longer than that pytest's own start-up waits for."""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Start what this invocation remembers, then parse and dispatch as always."""
    open_standard_streams()
    try:
        os.getcwd()
    except OSError as error:  # everything claimcheck does starts from the current folder
        print(f"claimcheck: the current folder cannot be read ({error.strerror}): change to "
              "one that exists", file=sys.stderr)
        raise SystemExit(4) from None  # ExitCode.USAGE, without importing it
    from claimcheck.collectors.remembered_start import start_remembered

    start_remembered(sys.argv[1:])
    from claimcheck.tui.cli import run as run_command_line

    run_command_line()


def open_standard_streams() -> None:
    """Descriptors 0, 1 and 2 open, on /dev/null where whoever started claimcheck closed them
    (`claimcheck --report --output F >&-`, a daemon's job), before claimcheck makes a pipe: a
    pipe given one of those numbers would be taken for a phase's stdin, stdout or stderr when
    its process is spawned (the held pytest's gate was, and that phase read as crashed). Python
    leaves `sys.stdin`, `sys.stdout` or `sys.stderr` None for a descriptor closed at its start:
    each is then that descriptor, as if /dev/null had been given."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            os.set_inheritable(opened, True)  # as a standard descriptor is
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))  # noqa: SIM115 - for the process
