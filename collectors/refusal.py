"""pytest refused to run a phase: its usage error (exit 4), or an initial conftest.py it
could not import.

pytest decides what its arguments mean; claimcheck never second-guesses them. When pytest
rejects them (an unknown option, a path that does not exist, an unknown marker in `-m`) it
prints `ERROR: ...` and may never start a session, so the phase's output tail is where its
message is. The phase's status is then `error` with pytest's words as the reason, a
`usage-error` finding says where to look, and claimcheck exits 4: the config is to blame. An
initial conftest that does not import also ends in exit 4, but the code is to blame: it is an
import error (see `collectors.judge`), and the run is red, not a usage error.

Pure: the sessions, the exit code and the output tail in; a `Refusal` or a `Finding` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from claimcheck.collectors.models import (
    CollectionError,
    Finding,
    PhaseRun,
    PytestSession,
    PytestSettings,
)
from claimcheck.collectors.wording import (
    MODULE_FRAME,
    command_text,
    inifile_name,
    last_e_line,
    relative_path,
)

USAGE_EXIT = 4  # pytest's ExitCode.USAGE_ERROR
_ERROR_LINE = re.compile(r"^ERROR: ", re.MULTILINE)
_ARGPARSE_ERROR = re.compile(r"^\S[^\n]*?: error: (?P<text>.+)$", re.MULTILINE)
_CONFTEST_IMPORT = re.compile(r"^ImportError while loading conftest '(?P<path>[^'\n]+)'\.$",
                              re.MULTILINE)
UNKNOWN_M_EXPRESSION = re.compile(r"Unknown marker\(s\) in '-m' expression: (?P<names>[^.\n]+)")
# claimcheck stopped the phase or never started it: its output is not pytest's last word.
_CLAIMCHECK_STOPPED = frozenset({"pending", "running", "timeout", "interrupted", "blocked"})



@dataclass(frozen=True)
class Refusal:
    """pytest stopped before running anything, in its own words.

    `usage`: pytest rejected its arguments or configuration (an unknown option, a path that
    does not exist, an unknown marker in -m): the config is to blame. `conftest`: an initial
    conftest.py did not import: the code is to blame. pytest prints both on its output and may
    never start a session, so the phase's output tail is where the message is.
    """

    kind: str  # "usage" or "conftest"
    message: str  # pytest's own message, one line
    path: str | None = None  # the conftest that failed to import
    longrepr: str = ""  # the traceback pytest printed for it


def usage_message(output_tail: str) -> str | None:
    """The last `ERROR: ...` block pytest printed for a UsageError, as one line."""
    starts = list(_ERROR_LINE.finditer(output_tail or ""))
    if not starts:
        return None
    block = output_tail[starts[-1].end():].split("\n\n", 1)[0]
    if block.startswith("usage:"):  # argparse: "usage: ..." then "prog: error: <what>"
        found = _ARGPARSE_ERROR.search(block)
        return found.group("text").strip() if found else None
    lines = [line.strip() for line in block.splitlines()
             if line.strip() and not line.startswith((" ", "\t"))]
    return " ".join(lines) or None


def _conftest_refusal(output_tail: str) -> Refusal | None:
    found = list(_CONFTEST_IMPORT.finditer(output_tail or ""))
    if not found:
        return None
    block = output_tail[found[-1].start():].split("\n\n", 1)[0]
    last = last_e_line(block)
    message = f"{last[0]}: {last[1]}" if last else block.splitlines()[0]
    return Refusal("conftest", message, found[-1].group("path"), block)


def pytest_refusal(sessions: Sequence[PytestSession], exit_code: int | None,
                   output_tail: str) -> Refusal | None:
    """How pytest refused to run the phase, when it ended in its usage error (exit 4).

    A session that reported exit status 4 is pytest's word for it; without any session, an exit
    code of 4 counts only together with pytest's own message in the output, since a project's
    runner may exit 4 for reasons of its own.
    """
    by_session = any(session.exit_status == USAGE_EXIT for session in sessions)
    if not by_session and (sessions or exit_code != USAGE_EXIT):
        return None
    conftest = _conftest_refusal(output_tail) if not sessions else None
    if conftest is not None:
        return conftest
    message = usage_message(output_tail)
    if message is None and not by_session:
        return None
    return Refusal("usage", message or "pytest exited with status 4 (usage error)")


def refusal_of(run: PhaseRun) -> Refusal | None:
    return pytest_refusal(run.sessions, run.exit_code, run.output_tail)


def refusal_reason(refusal: Refusal, settings: PytestSettings | None = None) -> str:
    """The phase's status reason: short, in pytest's words."""
    if refusal.kind == "conftest":
        return f"{_conftest_path(refusal, settings)} could not be imported: {refusal.message}"
    return f"pytest usage error: {refusal.message}"


def config_to_blame(run: PhaseRun) -> bool:
    """pytest refused the phase's arguments or configuration: claimcheck exits 4 for it."""
    if run.status != "error":
        return False
    refusal = refusal_of(run)
    return refusal is not None and refusal.kind == "usage"


# Options that plugins add, for the advice when pytest does not recognise one.
_PLUGIN_OPTIONS = (
    (("-n", "--numprocesses", "--dist", "--maxprocesses"), "pytest-xdist"),
    (("--reruns", "--reruns-delay", "--only-rerun"), "pytest-rerunfailures"),
    (("--cov",), "pytest-cov"),
    (("--timeout",), "pytest-timeout"),
    (("--hypothesis",), "hypothesis"),
    (("--benchmark",), "pytest-benchmark"),
    (("--json-report",), "pytest-json-report"),
    (("--html", "--self-contained-html"), "pytest-html"),
    (("--asyncio-mode",), "pytest-asyncio"),
    (("--randomly",), "pytest-randomly"),
)


def _plugin_for(option: str) -> str | None:
    for prefixes, plugin in _PLUGIN_OPTIONS:
        if any(option == prefix or (prefix.startswith("--") and option.startswith(prefix))
               for prefix in prefixes):
            return plugin
    return None


def _usage_inifile(output_tail: str, settings: PytestSettings | None) -> str | None:
    """The config file pytest read: from the session, else from pytest's usage text (argparse
    errors end with an `  inifile: PATH` line)."""
    if settings is not None and settings.inifile:
        return inifile_name(settings)
    found = re.findall(r"^  inifile: (.+)$", output_tail or "", re.MULTILINE)
    root = re.findall(r"^  rootdir: (.+)$", output_tail or "", re.MULTILINE)
    if not found or found[-1].strip() == "None":
        return None
    path = found[-1].strip()
    return relative_path(path, PytestSettings(rootdir=root[-1].strip())) if root else path


def _usage_advice(message: str, where: str, inifile: str | None) -> str:
    addopts = f" and in addopts ({inifile})" if inifile else ""
    unrecognized = re.match(r"unrecognized arguments: (?P<args>.+)", message)
    if unrecognized:
        options = [arg for arg in unrecognized.group("args").split() if arg.startswith("-")]
        plugins = sorted({plugin for plugin in map(_plugin_for, options) if plugin})
        text = (f"Check the spelling in {where}{addopts}. An option a plugin adds needs that "
                "plugin installed in the interpreter the phase runs")
        if plugins:
            text += f" ({', '.join(options)}: {', '.join(plugins)})"
        return text + "."
    if message.startswith("file or directory not found:"):
        return f"Fix the path in {where}{addopts}."
    if message.startswith("not found:"):
        return f"Fix the node id in {where}{addopts}: the file has no such test."
    return f"Check {where}{addopts}."


def usage_error(run: PhaseRun, command: Sequence[str] | None = None) -> Finding | None:
    """pytest refused the phase's arguments or config: its own message, and where to look.

    An unknown marker in -m is left to the unregistered-marker finding, which says how to
    register it.
    """
    refusal = refusal_of(run)
    if refusal is None or refusal.kind != "usage" or run.status in _CLAIMCHECK_STOPPED:
        return None
    if UNKNOWN_M_EXPRESSION.search(refusal.message):
        return None
    where = f"the phase's arguments ({command_text(command or run.argv)})"
    inifile = _usage_inifile(run.output_tail, run.settings)
    return Finding(
        kind="usage-error",
        phase=run.name,
        path=None,
        line=None,
        message=(f"pytest refused to run this phase (usage error, exit status 4): "
                 f"{refusal.message}. {_usage_advice(refusal.message, where, inifile)}"),
    )


def conftest_import_error(run: PhaseRun) -> CollectionError | None:
    """An initial conftest that did not import, as the collection error pytest never reported:
    no session started, so no test of the phase ran."""
    refusal = refusal_of(run)
    if refusal is None or refusal.kind != "conftest":
        return None
    last = last_e_line(refusal.longrepr)
    error_type, message = last if last else ("ImportError", refusal.message)
    return CollectionError(_conftest_path(refusal, run.settings), error_type, message,
                           refusal.longrepr)


def _conftest_path(refusal: Refusal, settings: PytestSettings | None) -> str:
    """pytest names the conftest by its absolute path; its traceback frame, relative to where
    pytest ran (the project root), is how a person finds it."""
    absolute = (refusal.path or "conftest.py").replace("\\", "/")
    for match in MODULE_FRAME.finditer(refusal.longrepr):
        frame = match.group("path").replace("\\", "/")
        if absolute.endswith("/" + frame.lstrip("./")):
            return frame
    return relative_path(absolute, settings) or absolute
