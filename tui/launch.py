"""`claimcheck` (the command center): the config read and the first phase started before
Textual is imported.

Textual and the app take a few hundred milliseconds to import and draw a first frame; the first
phase's pytest, spawned first (`phase_command.start_first_ahead`), starts meanwhile, and the app
takes it over once its first frame is drawn.
"""

from __future__ import annotations

import gc
import sys

from claimcheck.collectors.config import ConfigError, load_config, select_phases
from claimcheck.collectors.phase_command import (
    EnvironmentProblem,
    abandon_started,
    check_interpreter,
    start_first_ahead,
)
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options


def run_command_center(options: Options) -> int:
    """Load the config, check the interpreter, start the first phase, run the command center."""
    try:
        config = load_config(options.project, options.config)
        phases = select_phases(config, options.phases or None)
        if phases and not options.services_only:
            check_interpreter(config)
    except (ConfigError, EnvironmentProblem) as exc:
        print(f"claimcheck: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    start_first_ahead(config, options.phases, options.services_only)
    # Importing Textual and the app makes few cycles but many objects, which the collector would
    # scan again and again: a full collection of them took 22 to 37 ms inside the first frame.
    # Frozen, they are not scanned until the screen thaws what a running plan froze (its tick).
    gc.disable()
    try:
        from claimcheck.tui.app import ClaimcheckApp, run_to_exit

        app = ClaimcheckApp(config, options, handle_signals=True)
        gc.freeze()
        gc.enable()
        return run_to_exit(app)
    finally:
        gc.enable()
        abandon_started()  # the app never took it over (stopped before it mounted)
