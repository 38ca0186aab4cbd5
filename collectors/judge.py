"""Findings: what is wrong with a phase's evidence itself, and what to do about it.

A red test is honest evidence; these are the ways evidence lies or goes missing: a runner that
exits 0 over failures (false-green), a phase where nothing executed (no-tests), files that never
got collected because an import broke (import-error, grouped by the missing name so one broken
rename shows as one finding listing every file it took down), markers that are not registered
(unregistered-marker: a warning today, a whole-file collection error under --strict-markers),
and deprecations that will break the suite later (deprecation).

Deliberately left to `collectors.discovery`: pytest's ``PytestCollectionWarning: cannot collect
test class 'TestX' because it has a __init__ constructor``. The static audit reports the same
class with the same wording whether or not the phase ran, and even when warnings are disabled
(``-p no:warnings``), so judging the warning here too would show every such class twice.

Everything here is pure: a `PhaseRun` in, a list of `Finding` out, in a stable order.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import signal
from collections import Counter
from pathlib import PurePosixPath
from typing import Callable, Iterable, Sequence

from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    Finding,
    PhaseRun,
    PytestSession,
    PytestSettings,
    WarningRecord,
)

IMPORT_ERROR_TYPES = frozenset({"ImportError", "ModuleNotFoundError"})
DEPRECATION_CATEGORIES = frozenset({"DeprecationWarning", "PendingDeprecationWarning"})
# pytest's own deprecations (PytestDeprecationWarning, PytestRemovedIn9Warning) subclass
# DeprecationWarning and break suites on the next major release just the same.
_PYTEST_DEPRECATION = re.compile(r"^Pytest(?:\w*Deprecation|RemovedIn\d+)Warning$")

# Statuses that already say, in their own words, why the evidence is missing.
_OWN_STATUS = frozenset({"pending", "running", "timeout", "crashed", "interrupted", "blocked"})
# For false-green, a crash is exactly the case to catch (the wrapper swallowed it); the others
# mean claimcheck stopped the phase or never started it, so the exit code is not the runner's.
_NOT_THE_RUNNERS_EXIT = frozenset({"pending", "running", "timeout", "interrupted", "blocked"})

_PYTEST_EXIT_MEANING = {
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}

_E_LINE = re.compile(r"^E\s+(?P<type>[\w.]+): (?P<message>.*)$", re.MULTILINE)
_MODULE_FRAME = re.compile(r"^(?P<path>\S[^\n]*?):(?P<line>\d+): in <module>$", re.MULTILINE)
_TRAILING_LOCATION = re.compile(r" \((?:unknown location|[^()]*\.py[cw]?|[^()]*[/\\][^()]*)\)$")
_STRICT_MARKER = re.compile(r"'(?P<name>[^']+)' not found in `markers` configuration option")
_UNKNOWN_MARK = re.compile(r"Unknown pytest\.mark\.(?P<name>[\w.]+) - is this a typo\?")
_CANNOT_IMPORT = re.compile(
    r"^cannot import name '(?P<name>[^']+)' from (?:partially initialized module )?"
    r"'(?P<module>[^']+)'"
)
_CIRCULAR = "partially initialized module"
_NO_MODULE = re.compile(r"^No module named '(?P<module>[^']+)'")

_FILES_SHOWN = 5


# ----------------------------------------------------------------------------------------
# Small shared helpers


def relative_path(path: str | None, settings: PytestSettings | None) -> str | None:
    """Paths in findings are relative to the rootdir, like pytest's node ids, when possible."""
    if not path:
        return path
    posix = path.replace("\\", "/")
    if settings is not None and settings.rootdir and posix.startswith("/"):
        root = settings.rootdir.replace("\\", "/").rstrip("/") + "/"
        if posix.startswith(root):
            return posix[len(root):]
    return posix


def list_files(files: Sequence[str], limit: int = _FILES_SHOWN) -> str:
    """'a, b, c and 4 more': a finding's message stays one readable sentence."""
    shown = ", ".join(files[:limit])
    rest = len(files) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def _its(count: int) -> str:
    return "its" if count == 1 else "their"


def inifile_name(settings: PytestSettings | None) -> str | None:
    """The config file's path as a person would type it (relative to the rootdir)."""
    if settings is None or not settings.inifile:
        return None
    return relative_path(settings.inifile, settings)


def marker_registration(marker: str, settings: PytestSettings | None) -> str:
    """Where and how to register `marker`, in the syntax of the file pytest actually read."""
    entry = f"{marker}: describe what it marks"
    inifile = inifile_name(settings)
    if inifile is None:
        return (
            "pytest found no config file; create pytest.ini with a [pytest] section containing "
            f"'markers =' and the line '    {entry}' (or add it to pyproject.toml under "
            f'[tool.pytest.ini_options] as markers = ["{entry}"])'
        )
    name = PurePosixPath(inifile).name
    if name == "pyproject.toml":
        return f'register it in {inifile} under [tool.pytest.ini_options]: markers = ["{entry}"]'
    if name.endswith(".toml"):  # pytest.toml / .pytest.toml (pytest 9) use [pytest]
        return f'register it in {inifile} under [pytest]: markers = ["{entry}"]'
    section = "[tool:pytest]" if name == "setup.cfg" else "[pytest]"
    return (f"register it in {inifile} under {section}: a 'markers =' line followed by the "
            f"indented line '    {entry}'")


def command_text(argv: Sequence[str], limit: int = 120) -> str:
    """The command as a person reads it: an absolute program path shortened to its name
    (`/root/.venv/bin/python` -> `python`), so the part that matters fits the line."""
    if not argv:
        return "the phase command"
    program = argv[0]
    if os.path.isabs(program):
        program = os.path.basename(program) or program
    text = shlex.join([program, *argv[1:]])
    return f"`{text if len(text) <= limit else text[: limit - 3] + '...'}`"


def executed(run: PhaseRun) -> int:
    """Tests that actually ran their body to an outcome; skips and deselections did not."""
    counts = run.counts
    return counts.passed + counts.failed + counts.error + counts.xfailed + counts.xpassed


# ----------------------------------------------------------------------------------------
# false-green


def _what_really_happened(run: PhaseRun) -> list[str]:
    """The facts that contradict an exit code of 0; empty when there are none."""
    facts: list[str] = []
    counts = run.counts
    if not run.sessions:
        facts.append("no pytest session was observed at all")
    if counts.failed:
        facts.append(f"{plural(counts.failed, 'test')} failed")
    test_errors = max(counts.error - len(run.collection_errors), 0)
    if test_errors:
        facts.append(f"{plural(test_errors, 'test')} errored")
    if run.collection_errors:
        facts.append(f"{plural(len(run.collection_errors), 'file')} could not be collected")
    if run.sessions and executed(run) == 0 and not counts.skipped and not facts:
        facts.append("no test ran")
    for session in run.sessions:
        if session.exit_status is None:
            facts.append(f"the pytest session (pid {session.pid}) never finished")
        elif session.exit_status != 0 and not facts:
            meaning = _PYTEST_EXIT_MEANING.get(session.exit_status, "a failure")
            facts.append(f"pytest itself exited {session.exit_status} ({meaning})")
    return facts


def false_green(run: PhaseRun) -> Finding | None:
    """The runner reported success while the evidence says otherwise."""
    if run.exit_code != 0 or run.status in _NOT_THE_RUNNERS_EXIT:
        return None
    facts = _what_really_happened(run)
    if not facts:
        return None
    return Finding(
        kind="false-green",
        phase=run.name,
        path=None,
        line=None,
        message=(
            f"{command_text(run.argv)} exited 0, but {'; '.join(facts)}. Anything that reads "
            "that exit code (CI, a script, a person) will believe this phase passed. Make the "
            "runner exit with pytest's status: sys.exit(pytest.main([...])), or "
            "subprocess.run([...], check=True) for a pytest subprocess."
        ),
    )


# ----------------------------------------------------------------------------------------
# no-tests


def _pytest_args(argv: Sequence[str]) -> Sequence[str]:
    """The part of argv pytest reads: after `-m pytest` / a pytest executable, when present."""
    start = 0
    for index, arg in enumerate(argv):
        name = arg.replace("\\", "/").rsplit("/", 1)[-1]
        if name in ("pytest", "py.test", "pytest.exe"):
            start = index + 1
    return argv[start:]


def _option_values(argv: Sequence[str], options: tuple[str, ...]) -> list[str]:
    """`-m 'not slow'` as typed: the selection options that could have deselected everything."""
    values: list[str] = []
    args = _pytest_args(argv)
    for index, arg in enumerate(args):
        for option in options:
            if arg == option and index + 1 < len(args):
                values.append(f"{option} {shlex.quote(args[index + 1])}")
            elif arg.startswith(option + "="):
                values.append(arg)
    return values


def _nothing_collected(run: PhaseRun) -> str:
    settings = run.settings
    if settings is None:
        return (
            "pytest collected nothing. Check the path arguments and that the test files are "
            "named as pytest's python_files expects (test_*.py or *_test.py by default)."
        )
    where = list(settings.args) or list(settings.testpaths) or [settings.rootdir]
    files = ", ".join(settings.python_files)
    inifile = inifile_name(settings) or "pytest's defaults"
    text = (
        f"pytest collected nothing from {', '.join(where)}. Check that the path is right and "
        f"that test files match python_files = {files} ({inifile})"
    )
    if settings.testpaths and not settings.args:
        searched = ", ".join(settings.testpaths)
        text += f"; with no path arguments pytest searched testpaths = {searched}"
    return text + "."


def no_tests(run: PhaseRun) -> Finding | None:
    """Nothing executed, and the phase's status does not already say why."""
    if run.status in _OWN_STATUS or executed(run) or run.collection_errors or run.counts.error:
        return None
    counts = run.counts
    if not run.sessions:
        reason = (
            f"no pytest session was observed: {command_text(run.argv)} exited "
            f"{run.exit_code} without claimcheck seeing pytest start. Check that the command "
            "really runs pytest on this project and passes the environment through "
            "(claimcheck's plugin is loaded via PYTHONPATH and -p)."
        )
    elif counts.skipped:
        reasons = Counter(test.message or "no reason given" for test in run.tests
                          if test.outcome == "skipped")
        common = ""
        if reasons:
            text, times = reasons.most_common(1)[0]
            common = f" Most common reason ({times} of {counts.skipped}): {text}."
        reason = (
            f"all {plural(counts.skipped, 'test')} were skipped, so none produced evidence."
            f"{common} Provide what the skip conditions wait for (a service, an env var, a "
            "package) or run the phase where it exists."
        )
    elif counts.deselected or any(session.deselected for session in run.sessions):
        deselected = counts.deselected or sum(session.deselected for session in run.sessions)
        expressions = _option_values(run.argv, ("-k", "-m", "--deselect"))
        shown = f" ({', '.join(expressions)})" if expressions else ""
        reason = (
            f"all {plural(deselected, 'collected test')} were deselected{shown}. Check the "
            "-k / -m expression against the test names and markers you meant."
        )
    else:
        reason = _nothing_collected(run)
    return Finding(kind="no-tests", phase=run.name, path=None, line=None,
                   message=f"No test executed in this phase: {reason}")


# ----------------------------------------------------------------------------------------
# import-error


def _last_e_line(longrepr: str) -> tuple[str, str] | None:
    matches = list(_E_LINE.finditer(longrepr or ""))
    if not matches:
        return None
    return matches[-1].group("type"), matches[-1].group("message").strip()


def is_import_error(error: CollectionError) -> bool:
    if error.error_type in IMPORT_ERROR_TYPES:
        return True
    last = _last_e_line(error.longrepr)
    if last is not None and last[0] in IMPORT_ERROR_TYPES:
        return True
    return error.longrepr.startswith("ImportError while importing test module")


def import_key(error: CollectionError) -> str:
    """What is missing, without the location: one key per broken name or module."""
    last = _last_e_line(error.longrepr)
    text = last[1] if last is not None and last[0] in IMPORT_ERROR_TYPES else error.message
    text = text.strip().splitlines()[0] if text.strip() else error.error_type
    text = re.sub(r"^(?:ImportError|ModuleNotFoundError):\s*", "", text)
    return _TRAILING_LOCATION.sub("", text)


def import_line(error: CollectionError) -> int | None:
    """The line of the test file's own import that led to the failure, from the traceback."""
    path = error.path.split("::", 1)[0].replace("\\", "/")
    found: int | None = None
    for match in _MODULE_FRAME.finditer(error.longrepr or ""):
        frame = match.group("path").replace("\\", "/")
        if frame == path or frame.endswith("/" + path) or path.endswith("/" + frame):
            found = int(match.group("line"))
    return found


def _import_fix(key: str) -> str:
    cannot = _CANNOT_IMPORT.match(key)
    if cannot and _CIRCULAR in key:
        return (f"This is a circular import around '{cannot.group('module')}': move the shared "
                "code into a module both sides import, or import inside the function.")
    if cannot:
        return (f"Restore '{cannot.group('name')}' in {cannot.group('module')}, or update these "
                "imports to whatever replaced it.")
    missing = _NO_MODULE.match(key)
    if missing:
        return (f"Restore or rename the module '{missing.group('module')}', fix the import "
                "path, or install the package that provides it in the interpreter the phase "
                "uses (and check rootdir / pythonpath).")
    return "Fix the import or restore the name."


def import_errors(run: PhaseRun) -> list[Finding]:
    """One finding per missing name/module, listing every file it kept from being collected."""
    groups: dict[str, list[CollectionError]] = {}
    for error in run.collection_errors:
        if is_import_error(error):
            groups.setdefault(import_key(error), []).append(error)
    findings: list[Finding] = []
    for key, errors in groups.items():
        files = tuple(dict.fromkeys(error.path for error in errors))
        first = errors[0]
        findings.append(
            Finding(
                kind="import-error",
                phase=run.name,
                path=first.path,
                line=import_line(first),
                message=(
                    f"{key} — {plural(len(files), 'test file')} cannot be collected, so none "
                    f"of {_its(len(files))} tests ran: {list_files(files)}. {_import_fix(key)}"
                ),
                files=files,
                count=len(files),
            )
        )
    findings.sort(key=lambda finding: (-finding.count, finding.message))
    return findings


# ----------------------------------------------------------------------------------------
# unregistered-marker


def _marker_uses(run: PhaseRun) -> dict[str, list[tuple[str, int | None, bool]]]:
    """marker -> [(file, line, turned into a collection error)] in the order seen."""
    uses: dict[str, list[tuple[str, int | None, bool]]] = {}
    for error in run.collection_errors:
        match = _STRICT_MARKER.search(error.message) or _STRICT_MARKER.search(error.longrepr)
        if match:
            uses.setdefault(match.group("name"), []).append((error.path, None, True))
    for warning in run.warnings:
        match = _UNKNOWN_MARK.search(warning.message)
        if match is None:
            continue
        path = relative_path(warning.path, run.settings) or _nodeid_file(warning.nodeid)
        uses.setdefault(match.group("name"), []).append((path or "?", warning.line, False))
    return uses


def _nodeid_file(nodeid: str | None) -> str | None:
    return nodeid.split("::", 1)[0] if nodeid else None


def _typo_hint(marker: str, settings: PytestSettings | None) -> str:
    if settings is None or not settings.markers:
        return ""
    close = difflib.get_close_matches(marker, settings.markers, n=1, cutoff=0.75)
    if not close:
        return ""
    return f" If it is a typo of the registered '{close[0]}', fix the spelling instead."


MarkerLine = Callable[[str, str], "int | None"]  # (file, marker) -> first line using it


def unregistered_markers(run: PhaseRun, marker_line: MarkerLine | None = None) -> list[Finding]:
    """`marker_line` finds the line of a marker pytest named without one (a strict-markers
    collection error has none); the caller brings it, as reading files is not the judge's."""
    findings: list[Finding] = []
    strict = bool(run.settings and run.settings.strict_markers)
    for marker, uses in _marker_uses(run).items():
        files = tuple(sorted({path for path, _, _ in uses}))
        broken = sorted({path for path, _, errored in uses if errored})
        located = next(((path, line) for path, line, _ in uses if line is not None), None)
        path, line = located if located is not None else (uses[0][0], None)
        if line is None and marker_line is not None:
            line = marker_line(path, marker)
        where = f"{path}:{line}" if line is not None else path
        if broken:
            effect = (
                f"Under --strict-markers it turned {plural(len(broken), 'whole file')} into a "
                f"collection error, so none of {_its(len(broken))} tests ran: "
                f"{list_files(broken)}."
            )
        elif strict:
            effect = "Under --strict-markers it turns the whole file into a collection error."
        else:
            effect = ("Today it is only a PytestUnknownMarkWarning; under --strict-markers it "
                      "turns the whole file into a collection error and none of its tests run.")
        fix = marker_registration(marker, run.settings) + "." + _typo_hint(marker, run.settings)
        findings.append(
            Finding(
                kind="unregistered-marker",
                phase=run.name,
                path=path,
                line=line,
                message=(
                    f"Marker '{marker}' is used ({where}) but not registered. {effect} To fix, "
                    f"{fix}"
                ),
                files=files,
                count=len(files),
            )
        )
    return findings


# ----------------------------------------------------------------------------------------
# deprecation


def is_deprecation(warning: WarningRecord) -> bool:
    return (warning.category in DEPRECATION_CATEGORIES
            or bool(_PYTEST_DEPRECATION.match(warning.category)))


def deprecations(run: PhaseRun) -> list[Finding]:
    """Grouped by category and message: one deprecated call hit by 300 tests is one finding."""
    groups: dict[tuple[str, str], list[WarningRecord]] = {}
    for warning in run.warnings:
        if is_deprecation(warning):
            groups.setdefault((warning.category, warning.message), []).append(warning)
    findings: list[Finding] = []
    for (category, text), records in groups.items():
        paths = [relative_path(record.path, run.settings) or _nodeid_file(record.nodeid)
                 for record in records]
        files = tuple(sorted({path for path in paths if path}))
        first_path = paths[0]
        first_line = records[0].line
        summary = text.strip().splitlines()[0].rstrip(".") if text.strip() else "(no message)"
        findings.append(
            Finding(
                kind="deprecation",
                phase=run.name,
                path=first_path,
                line=first_line,
                message=(
                    f"{category} raised {plural(len(records), 'time')}"
                    f"{' in ' + list_files(files) if files else ''}: {summary}. Move to the "
                    "replacement it names before the old API is removed (or -W error makes "
                    "these tests fail)."
                ),
                files=files,
                count=len(records),
            )
        )
    findings.sort(key=lambda finding: (-finding.count, finding.message))
    return findings


# ----------------------------------------------------------------------------------------


def phase_findings(run: PhaseRun, marker_line: MarkerLine | None = None) -> list[Finding]:
    """Every finding for one phase, most fundamental first."""
    findings: list[Finding] = []
    for single in (false_green(run), no_tests(run)):
        if single is not None:
            findings.append(single)
    findings += stopped_findings(run)
    findings += import_errors(run)
    findings += unregistered_markers(run, marker_line)
    findings += deprecations(run)
    return findings


def merge_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Drop findings that repeat an earlier one except for the phase.

    Two phases over overlapping paths see the same uncollected class or the same deprecation;
    the earliest phase keeps it (its name stays a real phase, so filters keep working).
    """
    seen: set[tuple[object, ...]] = set()
    merged: list[Finding] = []
    for finding in findings:
        key = (finding.kind, finding.path, finding.line, finding.message, finding.files,
               finding.count)
        if key in seen:
            continue
        seen.add(key)
        merged.append(finding)
    return merged


# ----------------------------------------------------------------------------------------
# A phase's status (moved here from the runner: judging is the judge's)


def judge_status(
    counts: Counts,
    *,
    collection_errors: int,
    sessions: Sequence[PytestSession],
    exit_code: int | None,
    timed_out_after: float | None = None,
    cancelled: bool = False,
    interrupted_by: str | None = None,
) -> tuple[str, str | None]:
    """The phase status and the reason behind it; the most serious explanation wins.

    A phase is never `passed` unless some test executed: a green without evidence is exactly
    what claimcheck exists to catch. Nor when pytest.exit() or a KeyboardInterrupt ended a
    session early (`interrupted_by` says where), whatever the exit status it chose.
    """
    if cancelled:
        return "interrupted", "cancelled before the phase finished"
    if timed_out_after is not None:
        return "timeout", f"timed out after {_seconds(timed_out_after)} s"
    if exit_code is not None and exit_code < 0:
        return "crashed", f"killed by {_signal_name(-exit_code)}"
    if interrupted_by is not None:
        # Before the sessions' own statuses: pytest-xdist answers a worker's pytest.exit()
        # with an INTERNALERROR (exit status 3) that is only its echo.
        return "interrupted", f"ended early by {interrupted_by}"
    unfinished = [session for session in sessions if session.exit_status is None]
    if unfinished:
        pids = ", ".join(str(session.pid) for session in unfinished)
        return "crashed", f"pytest session (pid {pids}) started but never finished"
    if any(session.exit_status == 3 for session in sessions):
        return "crashed", "pytest internal error (exit status 3)"
    if not sessions and exit_code not in (0, None):
        return "crashed", f"command exited with {exit_code} before any pytest session started"
    test_errors = counts.error - collection_errors
    if counts.failed or test_errors > 0:
        return "failed", None
    if collection_errors:
        noun = "error" if collection_errors == 1 else "errors"
        return "error", f"{collection_errors} collection {noun}"
    if any(session.exit_status == 2 for session in sessions):
        return "interrupted", "pytest was interrupted (exit status 2)"
    if not sessions:
        return "no-tests", "no pytest session observed"
    if counts.collected == 0:
        return "no-tests", "nothing collected"
    if counts.deselected >= counts.collected:
        return "no-tests", f"all {counts.collected} collected tests deselected"
    executed = counts.passed + counts.xfailed + counts.xpassed
    if executed == 0:
        if counts.skipped:
            return "no-tests", f"all {counts.skipped} tests skipped"
        return "no-tests", "no test executed"
    bad_sessions = [s.exit_status for s in sessions if s.exit_status not in (0, 5, None)]
    if bad_sessions:
        return "failed", (f"pytest exited with {bad_sessions[0]} although no test failed "
                          "(a plugin such as --cov-fail-under, or a usage error)")
    if exit_code not in (0, None):
        return "failed", f"command exited with {exit_code} although no test failed"
    return "passed", None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# ----------------------------------------------------------------------------------------
# crashed-test, interrupted-session: the evidence stops short of the end


def crashed_tests(run: PhaseRun) -> list[Finding]:
    """One finding per test a dead (or timed-out) session was running: the likely culprit."""
    findings: list[Finding] = []
    for test in run.tests:
        if not test.crashed:
            continue
        path = test.nodeid.split("::", 1)[0] or None
        never = _never_ran(run)
        rest = (f" {plural(never, 'other collected test')} never ran." if never else "")
        findings.append(Finding(
            kind="crashed-test", phase=run.name, path=path, line=test.line,
            message=(f"{test.nodeid}: {test.message}. pytest never reported a result for it, "
                     f"so claimcheck counts it as an error.{rest} Run it alone "
                     f"(pytest {shlex.quote(test.nodeid)}) to see what ends the process."),
        ))
    return findings


def _never_ran(run: PhaseRun) -> int:
    """Collected tests that produced no result (deselected ones were never meant to run)."""
    counts = run.counts
    done = counts.done - len(run.collection_errors)
    return max(counts.collected - counts.deselected - done, 0)


def interrupted_session(run: PhaseRun) -> Finding | None:
    """pytest.exit() or a KeyboardInterrupt inside pytest: whatever the exit status said, the
    session stopped before its tests did, and the tests after that point are no evidence."""
    stop = run.interruption
    if stop is None:
        return None
    never = _never_ran(run)
    unfinished = (f" It stopped during {list_files(list(stop.unfinished), 3)}."
                  if stop.unfinished else "")
    exit_status = (" pytest exited 0, which alone would read as success."
                   if stop.kind == "exit" and stop.returncode == 0 else "")
    return Finding(
        kind="interrupted-session", phase=run.name, path=stop.path, line=stop.line,
        message=(f"The pytest session was ended early by {stop.origin}: "
                 f"{plural(never, 'collected test')} never ran.{unfinished}{exit_status} "
                 "Remove the exit (or the interrupt) so the whole suite runs; claimcheck "
                 "counts this phase as interrupted."),
    )


def stopped_findings(run: PhaseRun) -> list[Finding]:
    """The findings of a phase whose evidence stops short: the interruption, then the tests
    its session died in."""
    single = interrupted_session(run)
    return ([single] if single is not None else []) + crashed_tests(run)
