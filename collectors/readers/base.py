"""What every report reader shares: the record it returns, its one error, typed field access.

A reader turns a file written elsewhere (by claimcheck, pytest-json-report or a JUnit writer)
into the same model objects a live run produces, so the judge that decides a live run's verdict
decides an opened or merged one too. Readers judge nothing themselves, beyond what pytest's own
exit status says about a phase (`judge_status`, as for a live phase).
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from claimcheck.collectors.models import (
    OUTCOMES,
    CollectionError,
    Counts,
    Finding,
    PhaseRun,
    Provenance,
    PytestSession,
    ReportSource,
    ServiceSample,
    TestResult,
    WarningRecord,
)

DEFAULT_PHASE = "tests"  # the phase name of a file that names none (claimcheck's own default)


class ReportFileError(Exception):
    """A file that cannot be read as a report; the message is one line naming the file."""


@dataclass(frozen=True)
class ReadReport:
    """One report file, read: the evidence it holds and what it said about it at the time."""

    source: ReportSource
    project: str
    started_at: float
    duration_s: float
    phases: tuple[PhaseRun, ...]
    services: tuple[ServiceSample, ...] = ()
    provenance: Provenance | None = None
    findings: tuple[Finding, ...] = ()  # as recorded (claimcheck's JSON only)
    verdict: str | None = None  # as recorded (claimcheck's JSON only)
    # False for JUnit: it lists the tests that ran, never what was collected or deselected.
    knows_collection: bool = True


# ----------------------------------------------------------------------------------------
# Typed access: a wrong value names the file, the key path and what was expected.


class Fields:
    """Reads keys of one JSON object; `where` is its path in the document ("phases[2]")."""

    def __init__(self, label: str, data: Any, where: str) -> None:
        if type(data) is not dict:  # parsed JSON: a dict (an ABC check costs 10x as much)
            raise ReportFileError(f"{label}: {where}: expected an object, got {describe(data)}")
        self.label = label
        self.data = data
        self.where = where

    def fail(self, key: str, expected: str, value: Any) -> ReportFileError:
        return ReportFileError(f"{self.label}: {self.where}.{key}: expected {expected}, "
                               f"got {describe(value)}")

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data:
            if required:
                raise ReportFileError(f"{self.label}: {self.where}: key '{key}' is missing")
            return None
        return self.data[key]

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self._get(key, required)
        if value is None and not required:
            return default
        if not isinstance(value, str):
            raise self.fail(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, "a string or null", value)
        return value

    def number(self, key: str, *, required: bool = True, default: float = 0.0) -> float:
        value = self._get(key, required)
        if value is None and not required:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "a number", value)
        return float(value)

    def integer(self, key: str, *, required: bool = True, default: int = 0) -> int:
        value = self._get(key, required)
        if value is None and not required:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer", value)
        return value

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(key, "an integer or null", value)
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def items(self, key: str, *, required: bool = True) -> list[Any]:
        value = self._get(key, required)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "a list", value)
        return value

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        values = self.items(key, required=required)
        if all(type(value) is str for value in values):
            return tuple(values)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.fail(f"{key}[{index}]", "a string", value)
        return tuple(values)

    def child(self, key: str, *, required: bool = True) -> Fields | None:
        value = self._get(key, required)
        if value is None and not required:
            return None
        return Fields(self.label, value, f"{self.where}.{key}")

    def children(self, key: str, *, required: bool = True) -> list[Fields]:
        return [Fields(self.label, value, f"{self.where}.{key}[{index}]")
                for index, value in enumerate(self.items(key, required=required))]

    def outcome(self, key: str) -> str:
        value = self.text(key)
        if value not in OUTCOMES:
            raise self.fail(key, "one of " + ", ".join(OUTCOMES), value)
        return value


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return repr(shown)
    if isinstance(value, (int, float)):
        return repr(value)
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def iso_to_epoch(label: str, where: str, value: Any) -> float:
    """An ISO-8601 time as epoch seconds; null (unknown) is 0, as claimcheck writes it."""
    if value is None or value == "":
        return 0.0
    if not isinstance(value, str):
        raise ReportFileError(f"{label}: {where}: expected an ISO-8601 time, got {describe(value)}")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise ReportFileError(f"{label}: {where}: expected an ISO-8601 time, "
                              f"got {describe(value)}") from None


# ----------------------------------------------------------------------------------------
# Building a phase from tests, the way the live runner does


def tally(tests: Iterable[TestResult], collection_errors: int, *, collected: int,
          deselected: int) -> Counts:
    """Counts from the tests themselves; `collected` and `deselected` as the file says."""
    outcomes = collections.Counter(test.outcome for test in tests)
    return Counts(
        collected=collected, passed=outcomes["passed"], failed=outcomes["failed"],
        error=outcomes["error"] + collection_errors, skipped=outcomes["skipped"],
        xfailed=outcomes["xfailed"], xpassed=outcomes["xpassed"], deselected=deselected,
    )


def foreign_phase(
    name: str,
    tests: Sequence[TestResult],
    errors: Sequence[CollectionError],
    *,
    collected: int,
    deselected: int,
    exit_status: int | None,
    duration_s: float,
    started_at: float,
    warnings: Sequence[WarningRecord] = (),
    deselected_ids: Sequence[str] = (),
) -> PhaseRun:
    """A phase from a pytest-json-report or JUnit file: one pytest session, judged as live.

    `exit_status` is pytest's own where the file records it; `None` means the file cannot say
    (JUnit), and then the status is what pytest would have exited with for these outcomes.
    """
    from claimcheck.collectors.judge import judge_status

    counts = tally(tests, len(errors), collected=collected, deselected=deselected)
    status_code = exit_status if exit_status is not None else implied_exit_status(counts)
    session = PytestSession(pid=0, exit_status=status_code, collected=collected,
                            deselected=deselected)
    status, reason = judge_status(counts, collection_errors=len(errors), sessions=(session,),
                                  exit_code=exit_status)
    return PhaseRun(
        name=name, status=status, exit_code=exit_status, duration_s=duration_s, counts=counts,
        tests=tuple(tests), collection_errors=tuple(errors), warnings=tuple(warnings),
        sessions=(session,), reason=reason, started_at=started_at,
        deselected_ids=tuple(deselected_ids),
    )


def implied_exit_status(counts: Counts) -> int:
    """What pytest exits with for these counts (1 failures, 5 nothing collected, else 0)."""
    if counts.failed or counts.error:
        return 1
    if counts.done == 0:
        return 5
    return 0


_EXCEPTION_LINE = re.compile(r"^E\s+(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$",
                             re.MULTILINE)


def collection_error(path: str, longrepr: str) -> CollectionError:
    """A collection error from pytest's text: the last `E   Type: message` line names it."""
    found = list(_EXCEPTION_LINE.finditer(longrepr))
    if found:
        last = found[-1]
        return CollectionError(path=path, error_type=last["type"].rsplit(".", 1)[-1],
                               message=last["message"] or "", longrepr=longrepr)
    first = next((line.strip() for line in longrepr.splitlines() if line.strip()), "")
    return CollectionError(path=path, error_type="Error", message=first, longrepr=longrepr)


def first_line(text: Any) -> str | None:
    if not text:
        return None
    for line in str(text).splitlines():
        if line.strip():
            return line
    return None


def relative_to(path: str | None, root: str) -> str | None:
    """`path` relative to the project root it was recorded under, when it lies inside it."""
    if not path:
        return None
    prefix = root.rstrip("/\\") + "/" if root else ""
    if prefix and path.startswith(prefix):
        return path[len(prefix):]
    return path
