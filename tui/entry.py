"""The `claimcheck` console script and `python -m claimcheck`: the first phase started from the
command this invocation started last time (`collectors/remembered_start.py`), then the command
line (`tui/cli.py`), whose imports take longer than that pytest's own start-up waits for."""

from __future__ import annotations

import sys


def run() -> None:
    """Start what this invocation remembers, then parse and dispatch as always."""
    from claimcheck.collectors.remembered_start import start_remembered

    start_remembered(sys.argv[1:])
    from claimcheck.tui.cli import run as run_command_line

    run_command_line()
