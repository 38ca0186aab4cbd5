"""Pure helpers of claimcheck's plugin: one test's reports folded into one outcome, crash
messages, collection errors, settings. Loaded beside `claimcheck_stream` inside the project's
pytest, so: the standard library only (reports and configs are duck-typed), no claimcheck.
"""

from __future__ import annotations

import os
import re
from json.encoder import encode_basestring_ascii as _string  # what json.dumps uses
from typing import Any

try:
    from . import claimcheck_protocol as protocol
    from .claimcheck_protocol import Key as K
except ImportError:  # loaded as a top-level module, this folder on sys.path
    import claimcheck_protocol as protocol  # type: ignore[no-redef]
    from claimcheck_protocol import Key as K  # type: ignore[no-redef]

SUBTEST_FAILURES_KEPT = 20  # tracebacks of failing subtests kept per test
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::\s?(.*))?")
# Frames inside these folders are pytest's machinery, not where an exit came from.
_MACHINERY = tuple(
    os.path.dirname(path) + os.sep
    for path in (getattr(__import__("_pytest"), "__file__", None),
                 getattr(__import__("pluggy"), "__file__", None))
    if path
)


class Partial:
    """A test whose reports are still arriving.

    Its fields start as the class's own values, so making one (one per test) sets nothing;
    `subtest_failures` gets a list of its own when its first report arrives."""

    duration = 0.0
    decider: Any = None
    rank = -1
    outcome = "passed"
    # A failed call that a teardown error then outranked: its traceback is kept, because the
    # assertion is usually what the person needs to see first.
    earlier_failure: Any = None
    reruns = 0
    rerun_report: Any = None  # the last failed attempt (pytest-rerunfailures)
    # After a rerun report, the rest of that attempt (its teardown) until the next setup.
    between_attempts = False
    subtests: list[int] | None = None  # [passed, failed, skipped]
    subtest_failures: list[Any] | tuple[()] = ()

    def next_attempt(self, report: Any) -> None:
        """pytest-rerunfailures will run the test again: this attempt only counts as a rerun."""
        self.reruns += 1
        self.rerun_report = report
        self.between_attempts = True
        self.duration += report.duration
        self.decider, self.rank, self.outcome, self.earlier_failure = None, -1, "passed", None
        self.subtests, self.subtest_failures = None, ()

    def add_subtest(self, report: Any) -> None:
        if self.subtests is None:
            self.subtests = [0, 0, 0]
        if report.failed:
            self.subtests[1] += 1
            if not self.subtest_failures:
                self.subtest_failures = [report]
            elif len(self.subtest_failures) < SUBTEST_FAILURES_KEPT:
                self.subtest_failures.append(report)
        elif report.skipped:
            self.subtests[2] += 1
        else:
            self.subtests[0] += 1


# ----------------------------------------------------------------------------------------
# Folding reports into one outcome per test, in pytest's own categories.

# How much a stage's outcome says about the test: a failed setup/teardown beats all.
RANK = {"error": 4, "failed": 3, "skipped": 2, "xfailed": 2, "xpassed": 1, "passed": 1}


def stage_outcome(report: Any, category: str) -> str | None:
    """This report's outcome in claimcheck's words, from pytest's category; None when the
    report says nothing about the test (a passed setup or teardown)."""
    if report.when == "???":
        return "error"  # pytest-xdist: the worker died while this test ran
    if not category:
        if report.failed:
            return "error" if report.when != "call" else "failed"
        return None
    known = protocol.CATEGORY_OUTCOMES.get(category)
    if known is not None:
        return known
    return _outcome(report)  # a plugin's own category: the report's outcome decides


def is_subtest(report: Any) -> bool:
    """A subtest's report (pytest 9's subtests, unittest's subTest, pytest-subtests)."""
    return hasattr(report, "context") and type(report).__name__ in ("SubtestReport",
                                                                   "SubTestReport")


def interruption(excinfo: Any) -> dict[str, Any]:
    """What ended the session early, and where: pytest.exit's message and the caller's line."""
    value = getattr(excinfo, "value", None)
    kind = "exit" if type(value).__name__ == "Exit" else "keyboard-interrupt"
    message = getattr(value, "msg", None)
    if message is None:
        message = str(value) if value is not None and str(value) else None
    path = line = None
    for entry in reversed(list(getattr(excinfo, "traceback", None) or ())):
        where = str(getattr(entry, "path", ""))
        if where and not where.startswith(_MACHINERY):
            path, line = where, entry.lineno + 1
            break
    returncode = getattr(value, "returncode", None)
    return {K.KIND: kind, K.MESSAGE: message, K.RETURNCODE: returncode, K.PATH: path,
            K.LINE: line}


def worker_crash_message(report: Any) -> str:
    node = getattr(report, "node", None)
    worker = getattr(getattr(node, "gateway", None), "id", None)
    name = f"pytest-xdist worker {worker}" if worker else "the pytest-xdist worker"
    return f"the session died while this test ran: {name} crashed"


def _subtest_description(report: Any) -> str:
    context = getattr(report, "context", None)
    parts = []
    msg = getattr(context, "msg", None)
    if msg is not None:
        parts.append(f"[{msg}]")
    kwargs = getattr(context, "kwargs", None)
    if kwargs:
        parts.append("(" + ", ".join(f"{key}={value}" for key, value in kwargs.items()) + ")")
    return " ".join(parts) or "(<subtest>)"


def subtest_message(report: Any, message: str | None) -> str:
    return f"subtest {_subtest_description(report)} failed: {message or 'no message'}"


def subtest_longrepr(report: Any) -> str:
    return f"--- subtest {_subtest_description(report)} ---\n{report.longreprtext}"


def longrepr_of(decider: Any, earlier_failure: Any) -> str:
    """The deciding report's traceback, after the call failure it outranked, if any (pytest
    itself reports that test twice: FAILED for the call, ERROR for the teardown)."""
    text = decider.longreprtext
    if earlier_failure is None:
        return text
    return (f"{earlier_failure.longreprtext}\n\n"
            f"--- the test failed (above), then its {decider.when} errored ---\n\n{text}")


def _outcome(report: Any) -> str:
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    if report.when == "call" and hasattr(report, "wasxfail"):
        return "xpassed"
    return "passed"


def crash_of(report: Any, outcome: str) -> tuple[str | None, str | None, int | None]:
    """One-line message and location of what decided the outcome."""
    longrepr = report.longrepr
    if outcome in ("xfailed", "xpassed"):
        reason = getattr(report, "wasxfail", "") or None
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            return reason, crash.path, crash.lineno
        return reason, None, None
    if outcome == "skipped":
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            path, line, reason = longrepr
            reason = str(reason)
            if reason.startswith("Skipped: "):
                reason = reason[len("Skipped: "):]
            return reason, str(path), line if isinstance(line, int) else None
        return None, None, None
    if outcome in ("failed", "error"):
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            return _first_line(crash.message), crash.path, crash.lineno
        return _first_line(report.longreprtext), None, None
    return None, None, None


_PASSING_LINE = "".join((
    '{"', K.EVENT, '": "', protocol.TEST, '", "', K.NODEID, '": %s, "', K.OUTCOME,
    '": "passed", "', K.DURATION, '": %s, "', K.LINE, '": %s, "', K.MARKERS, '": [%s]}\n'))


def passing_line(nodeid: Any, duration: Any, line: Any, markers: Any) -> bytes | None:
    """The stream line of a test that passed and has nothing more to say (no reruns, no
    subtests, decided by its call), exactly as `json.dumps` writes that `test` event, without
    building the event or the json module's general machinery: it is most of the lines of a
    run. None when a value is not what such a line holds; then `json.dumps` writes it."""
    if type(duration) is not float or duration - duration != 0.0:  # NaN and infinities
        return None
    if line is None:
        line_text = "null"
    elif type(line) is int:
        line_text = str(line)
    else:
        return None
    if type(markers) is not list:
        return None
    try:  # encode_basestring_ascii refuses anything but a str
        text = _PASSING_LINE % (_string(nodeid), repr(duration), line_text,
                                ", ".join(map(_string, markers)))
    except TypeError:
        return None
    return text.encode("ascii")


def markers_from_keywords(report: Any) -> list[str]:
    """Fallback when the report lost its annotation: keywords set to 1 that look like markers."""
    keywords = getattr(report, "keywords", None) or {}
    name = report.nodeid.rsplit("::", 1)[-1]
    return [key for key, value in keywords.items()
            if value == 1 and key != name and key.isidentifier()
            and not key.startswith(("test_", "Test")) and not key.endswith(".py")]


# ----------------------------------------------------------------------------------------
# Collection errors


def collection_error_summary(report: Any) -> tuple[str, str]:
    """The real exception type and a one-line message of a failed collection.

    pytest wraps import problems ("ImportError while importing test module ...") and shows the
    real exception on the last `E   Type: message` line; strict-marker and other `fail()`
    errors carry a crash entry ("Failed: 'x' not found in `markers` configuration option").
    """
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        found = _split_exception(crash.message.splitlines()[0])
        if found:
            return found
    text = report.longreprtext if hasattr(report, "longreprtext") else str(report.longrepr)
    return exception_from_text(text)


def collection_skip_event(report: Any) -> dict[str, Any]:
    """The `test` line of a file skipped as a whole while pytest collected it (a module-level
    `pytest.importorskip` or `pytest.skip(allow_module_level=True)`): pytest's summary counts
    it as one skipped, so it is one skipped result of its own, decided at collection."""
    message, path, line = crash_of(report, "skipped")
    return {K.EVENT: protocol.TEST, K.NODEID: report.nodeid, K.OUTCOME: "skipped",
            K.DURATION: 0.0, K.LINE: line, K.MARKERS: [], K.WHEN: "collect",
            K.MESSAGE: message, K.PATH: path}


def exception_from_text(text: str) -> tuple[str, str]:
    blocks: list[list[str]] = []
    previous_was_e = False
    for line in text.splitlines():
        is_e = line.startswith("E   ")
        if is_e:
            if not previous_was_e:
                blocks.append([])
            blocks[-1].append(line[4:])
        previous_was_e = is_e
    for block in reversed(blocks):
        for line in block:
            if line[:1].isspace():
                continue  # source lines and carets of a SyntaxError, continuation lines
            found = _split_exception(line)
            if found:
                return found
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "Error", ""
    found = _split_exception(lines[-1])
    return found or ("Error", lines[-1])


def _split_exception(line: str) -> tuple[str, str] | None:
    match = _EXCEPTION_LINE.fullmatch(line.strip())
    if not match or match.group(2) is None:
        return None
    name = match.group(1)
    return name.rsplit(".", 1)[-1], match.group(2)


# ----------------------------------------------------------------------------------------
# Settings


def ini_list(config: Any, name: str) -> list[str]:
    try:
        value = config.getini(name)
    except (ValueError, KeyError):
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value or []]


def marker_names(config: Any) -> list[str]:
    names: dict[str, None] = {}
    for line in _ini_list_raw(config, "markers"):
        name = line.split(":", 1)[0].split("(", 1)[0].strip()
        if name:
            names[name] = None
    return list(names)


def _ini_list_raw(config: Any, name: str) -> list[str]:
    try:
        return [str(line) for line in config.getini(name) or []]
    except (ValueError, KeyError):
        return []


def strict_markers(config: Any) -> bool:
    option = config.option
    if getattr(option, "strict_markers", False) or getattr(option, "strict", False):
        return True
    for name in ("strict_markers", "strict"):  # ini options of pytest 9
        try:
            if config.getini(name):
                return True
        except (ValueError, KeyError):
            continue
    return False


# ----------------------------------------------------------------------------------------


# The line pytest-xdist puts first in the text of a report from a worker ("[gw1] linux --
# Python 3.11.7 /usr/bin/python"): where it ran, never what happened.
_WORKER_LINE = re.compile(r"\[gw\d+\] .* -- Python ")


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip() and not _WORKER_LINE.match(line):
            return line
    return None


def bounded(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n... [{omitted} characters omitted by claimcheck] ...\n{text[-half:]}"
