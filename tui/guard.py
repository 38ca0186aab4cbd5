"""The last line of defence of a command that reads files: bad input is one line and exit 4,
Ctrl-C exit 2, anything else one line and exit 3 (the traceback only with CLAIMCHECK_DEBUG=1),
never a traceback. Never imports Textual."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Callable, TypeVar

from claimcheck.collectors.config import ConfigError
from claimcheck.collectors.readers import ReportFileError
from claimcheck.collectors.secrets import strip_control
from claimcheck.collectors.verdict import ExitCode

T = TypeVar("T")

# What a command reading a config and reports refuses as bad input (exit 4).
INPUT_ERRORS: tuple[type[Exception], ...] = (ConfigError, ReportFileError)


def guarded(work: Callable[[], T], usage_errors: tuple[type[Exception], ...] = INPUT_ERRORS
            ) -> T | int:
    """`work()`, or the exit code of what stopped it: `usage_errors` are the user's to fix."""
    try:
        return work()
    except usage_errors as error:
        return usage(str(error))
    except KeyboardInterrupt:
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: exit 3, not a traceback
        return internal_error(error)


def usage(message: str) -> int:
    print(f"claimcheck: {strip_control(message)}", file=sys.stderr)
    return ExitCode.USAGE


def internal_error(error: BaseException) -> int:
    """One line naming the error, and how to see the traceback; exit 3."""
    print(f"claimcheck: internal error: {type(error).__name__}: {error}", file=sys.stderr)
    if os.environ.get("CLAIMCHECK_DEBUG"):
        traceback.print_exc()
    else:
        print("claimcheck: set CLAIMCHECK_DEBUG=1 to see the traceback", file=sys.stderr)
    return ExitCode.INTERNAL
