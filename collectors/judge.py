"""Findings: what is wrong with a phase's evidence itself, and what to do about it.

A red test is honest evidence; these are the ways evidence lies or goes missing: a runner that
exits 0 over failures (false-green), a phase where nothing executed (no-tests), files that never
got collected because an import broke (import-error, in `collectors.import_errors`), markers
that are not registered (unregistered-marker, in `collectors.markers`: a warning today, a
whole-file collection error under --strict-markers), and deprecations that will break the suite
later (deprecation). `phase_findings` gathers them all, most fundamental first.

Deliberately left to `collectors.discovery`: pytest's ``PytestCollectionWarning: cannot collect
test class 'TestX' because it has a __init__ constructor``. The static audit reports the same
class with the same wording whether or not the phase ran, and even when warnings are disabled
(``-p no:warnings``), so judging the warning here too would show every such class twice.

Everything here is pure: a `PhaseRun` in, a list of `Finding` out, in a stable order.
"""

from __future__ import annotations

import re
import shlex
import signal
from collections import Counter
from typing import Sequence

from claimcheck.collectors.import_errors import import_errors
from claimcheck.collectors.markers import MarkerLine, unregistered_markers
from claimcheck.collectors.models import (
    Counts,
    Finding,
    PhaseRun,
    PytestSession,
    WarningRecord,
)
from claimcheck.collectors.pytest_config import ConfigStyleReader
from claimcheck.collectors.refusal import (
    pytest_refusal,
    refusal_of,
    refusal_reason,
    usage_error,
    usage_message,
)
from claimcheck.collectors.wording import (
    command_text,
    list_files,
    nodeid_file,
    plural,
    relative_path,
    setting_text,
)

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


# ----------------------------------------------------------------------------------------


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
        refused = usage_message(run.output_tail)
        facts.append(f"pytest refused to run ({refused})" if refused
                     else "no pytest session was observed at all")
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


def false_green(run: PhaseRun, command: Sequence[str] | None = None) -> Finding | None:
    """The runner reported success while the evidence says otherwise."""
    if run.exit_code != 0 or run.status in _NOT_THE_RUNNERS_EXIT:
        return None
    facts = _what_really_happened(run)
    if not facts:
        return None
    shown = command or run.argv
    if _runs_pytest_itself(shown):
        fix = ("pytest itself returned 0: look in the phase's arguments and addopts for what "
               "changes that (--collect-only lists tests without running them; "
               "--suppress-tests-failed-exit-code of pytest-custom_exit_code hides failures; a "
               "conftest may set session.exitstatus).")
    else:
        fix = ("Make the runner exit with pytest's status: sys.exit(pytest.main([...])), or "
               "subprocess.run([...], check=True) for a pytest subprocess.")
    return Finding(
        kind="false-green",
        phase=run.name,
        path=None,
        line=None,
        message=(
            f"{command_text(shown)} exited 0, but {'; '.join(facts)}. Anything that reads that "
            f"exit code (CI, a script, a person) will believe this phase passed. {fix}"
        ),
    )


def _runs_pytest_itself(argv: Sequence[str]) -> bool:
    """`pytest ...` or `python -m pytest ...`: no runner in between to blame for the exit."""
    if not argv:
        return False
    program = argv[0].replace("\\", "/").rsplit("/", 1)[-1]
    return program in ("pytest", "py.test") or tuple(argv[1:3]) == ("-m", "pytest")


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


_LISTING_OPTIONS = ("--collect-only", "--co", "--setup-plan", "--setup-only", "--fixtures",
                    "--fixtures-per-test", "--markers")


def _collected_but_none_ran(run: PhaseRun, collected: int) -> str:
    listing = [arg for arg in _pytest_args(run.argv) if arg in _LISTING_OPTIONS]
    text = f"pytest collected {plural(collected, 'test')} but ran none"
    if listing:
        return (f"{text}: the phase's arguments include {listing[0]}, which makes pytest list "
                "what it would run instead of running it. Drop it from this phase.")
    return (f"{text}. Something stopped the session between collection and the first test; "
            "the phase's output says what.")


def _nothing_collected(run: PhaseRun) -> str:
    settings = run.settings
    collected = run.counts.collected or sum(session.collected for session in run.sessions)
    if collected:
        return _collected_but_none_ran(run, collected)
    if settings is None:
        return (
            "pytest collected nothing. Check the path arguments and that the test files are "
            "named as pytest's python_files expects (test_*.py or *_test.py by default)."
        )
    where = list(settings.args) or list(settings.testpaths) or [settings.rootdir]
    text = (
        f"pytest collected nothing from {', '.join(where)}. Check that the path is right and "
        f"that test files match {setting_text(settings, 'python_files')}"
    )
    if settings.testpaths and not settings.args:
        searched = ", ".join(settings.testpaths)
        text += f"; with no path arguments pytest searched testpaths = {searched}"
    return text + "."


def no_tests(run: PhaseRun) -> Finding | None:
    """Nothing executed, and the phase's status does not already say why."""
    if (run.status in _OWN_STATUS or executed(run) or run.collection_errors or run.counts.error
            or refusal_of(run) is not None):
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
# deprecation


def is_deprecation(warning: WarningRecord) -> bool:
    return (warning.category in DEPRECATION_CATEGORIES
            or bool(_PYTEST_DEPRECATION.match(warning.category)))


# Words with which a deprecation message names what to use instead ("use of" is no such word).
_NAMES_REPLACEMENT = re.compile(
    r"\b(?:use(?!\s+of\b)|using|instead|replaced\s+(?:by|with)|replacement|"
    r"in\s+favou?r\s+of|migrate\s+to|switch\s+to|renamed\s+to|moved\s+to|prefer)\b",
    re.IGNORECASE)
_URL = re.compile(r"https?://[^\s)>\]'\"]+")


def _deprecation_advice(text: str) -> str:
    """What to do, without claiming the message says more than it does."""
    when = "before the old API is removed (or -W error makes these tests fail)."
    if _NAMES_REPLACEMENT.search(text):
        return f"Move to the replacement it names {when}"
    url = _URL.search(text)
    if url:
        return f"It names no replacement; follow {url.group(0).rstrip('.,;')} {when}"
    return ("It names no replacement: look up what replaces it in the changelog or "
            f"documentation of the library that raised it, and move to that {when}")


def deprecations(run: PhaseRun) -> list[Finding]:
    """Grouped by category and message: one deprecated call hit by 300 tests is one finding."""
    groups: dict[tuple[str, str], list[WarningRecord]] = {}
    for warning in run.warnings:
        if is_deprecation(warning):
            groups.setdefault((warning.category, warning.message), []).append(warning)
    findings: list[Finding] = []
    for (category, text), records in groups.items():
        paths = [relative_path(record.path, run.settings) or nodeid_file(record.nodeid)
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
                    f"{' in ' + list_files(files) if files else ''}: {summary}. "
                    f"{_deprecation_advice(text)}"
                ),
                files=files,
                count=len(records),
            )
        )
    findings.sort(key=lambda finding: (-finding.count, finding.message))
    return findings


# ----------------------------------------------------------------------------------------


def phase_findings(run: PhaseRun, marker_line: MarkerLine | None = None, *,
                   command: Sequence[str] | None = None,
                   config_style: ConfigStyleReader | None = None) -> list[Finding]:
    """Every finding for one phase, most fundamental first.

    The caller brings what only files can tell: `marker_line` (the line of a marker pytest
    named without one) and `config_style` (the table of the inifile pytest read, for advice in
    its syntax). `command` is the phase's command as configured (for a `pytest` phase, `pytest`
    and its arguments), which findings quote instead of the argv claimcheck built around it.
    """
    findings: list[Finding] = []
    for single in (usage_error(run, command), false_green(run, command), no_tests(run)):
        if single is not None:
            findings.append(single)
    findings += stopped_findings(run)
    findings += import_errors(run)
    findings += unregistered_markers(run, marker_line, config_style, command)
    findings += deprecations(run)
    return findings


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
    output_tail: str = "",
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
    refusal = pytest_refusal(sessions, exit_code, output_tail)
    if refusal is not None:  # pytest's usage error (exit 4): in its own words
        return "error", refusal_reason(refusal)
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
    """Collected tests that produced no result (deselected ones were never meant to run).

    A broken file and a file skipped as a whole at collection are results, not among pytest's
    collected items."""
    counts = run.counts
    skipped_files = sum(1 for test in run.tests if test.when == "collect")
    done = counts.done - len(run.collection_errors) - skipped_files
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
