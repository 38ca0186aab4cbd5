"""`claimcheck --open FILE`: a report made elsewhere, judged here, without running anything.

With `--report` it is printed (or written) in any format, as a live run's report is. Without
`--report` the command center shows it (`tui.opened.run_opened_app`): nothing runs, `q` exits with
the report's exit code. Both read it through `load_opened(options)`: the RunReport, and the
Config whose gaps and secrets it was judged with.

Never imports Textual at import time (the command center is imported only to show the report).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Callable

from claimcheck.collectors.config import Config, ConfigError, load_config
from claimcheck.collectors.models import RunReport
from claimcheck.collectors.readers import ReportFileError, read_report
from claimcheck.collectors.rejudge import judge_opened
from claimcheck.collectors.secrets import strip_control
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options


def load_opened(options: Options) -> tuple[Config, RunReport]:
    """The opened file as a judged RunReport; raises ConfigError or ReportFileError.

    Everything `--open` needs but the drawing, for `--report` and the command center alike.
    """
    assert options.open is not None
    config = load_config(options.project, options.config)
    read = read_report(options.open, label=str(options.open), phase_name=options.as_phase,
                       project_root=config.root)
    report = judge_opened(config, read)
    if read.verdict and read.verdict != report.verdict:
        warn(f"{options.open} recorded the verdict {read.verdict!r}; judged again from the "
             f"evidence it holds, it is {report.verdict!r}")
    return config, report


def run_open(options: Options) -> int:
    ignored = [flag for flag, given in (("--phase", options.phases),
                                        ("--services-only", options.services_only),
                                        ("--force", options.force)) if given]
    if ignored:
        return usage(f"--open reads a finished report; {', '.join(ignored)} "
                     f"{'does' if len(ignored) == 1 else 'do'} not apply to it")
    if not options.report:
        return guarded(lambda: _show_opened(options))
    return guarded(lambda: _print_opened(options))


def _print_opened(options: Options) -> int:
    from claimcheck.tui.headless import write_outputs

    config, report = load_opened(options)
    return write_outputs(report, config, options)


def _show_opened(options: Options) -> int:
    """The command center on the report; a bad file is refused before any screen is drawn."""
    from claimcheck.tui.opened import run_opened_app

    config, report = load_opened(options)
    return run_opened_app(config, report, options)


def guarded(work: Callable[[], int]) -> int:
    """Bad input is one line and exit 4; anything else one line and exit 3, never a traceback."""
    try:
        return work()
    except (ConfigError, ReportFileError) as error:
        return usage(str(error))
    except KeyboardInterrupt:
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: exit 3, not a traceback
        print(f"claimcheck: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("CLAIMCHECK_DEBUG"):
            traceback.print_exc()
        else:
            print("claimcheck: set CLAIMCHECK_DEBUG=1 to see the traceback", file=sys.stderr)
        return ExitCode.INTERNAL


def usage(message: str) -> int:
    print(f"claimcheck: {strip_control(message)}", file=sys.stderr)
    return ExitCode.USAGE


def warn(message: str) -> None:
    print(f"claimcheck: note: {strip_control(message)}", file=sys.stderr)
