"""What every report writer shares: small pure helpers over a `RunReport`."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Callable, Iterable

from claimcheck.collectors.models import (
    Counts,
    Finding,
    GapCell,
    GapRow,
    PhaseRun,
    RunReport,
    ServiceSample,
    SubtestCounts,
    TestResult,
)
from claimcheck.collectors.verdict import FAILED_OUTCOMES, executed

SCHEMA = "claimcheck.report/1"
MAX_FAILURES_PER_PHASE = 50
MAX_MESSAGE_CHARS = 300
ALL_FAILURES_HINT = "claimcheck --report --format json lists every one"

Redact = Callable[[str], str]
GapsOf = Callable[[str, TestResult], list[str]]

__all__ = ["FAILED_OUTCOMES", "executed"]


def identity(text: str) -> str:
    return text


def iso_time(ts: float) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


def total_counts(runs: Iterable[PhaseRun]) -> Counts:
    fields = ("collected", "passed", "failed", "error", "skipped", "xfailed", "xpassed",
              "deselected")
    sums = dict.fromkeys(fields, 0)
    for run in runs:
        for name in fields:
            sums[name] += getattr(run.counts, name)
    return Counts(**sums)


def one_line(text: str | None, limit: int = MAX_MESSAGE_CHARS) -> str:
    """First non-blank line, bounded: a crash message must never take over a report."""
    if not text:
        return ""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def duration_text(seconds: float) -> str:
    if seconds >= 60:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def failures_of(run: PhaseRun) -> list[TestResult]:
    """Failed tests first, then errors, each in the order they finished."""
    failed = [t for t in run.tests if t.outcome == "failed"]
    return failed + [t for t in run.tests if t.outcome == "error"]


def phase_note(run: PhaseRun) -> str:
    if run.reason:
        return run.reason
    if run.status == "no-tests" or (run.status not in ("pending", "running") and not executed(run)):
        return "no test ran" + (f" ({run.counts.skipped} skipped)" if run.counts.skipped else "")
    if run.status in ("timeout", "crashed", "blocked", "error", "interrupted"):
        return run.status
    return ""


def gap_phase_names(report: RunReport) -> list[str]:
    """Columns of the gap matrix: the phases in run order, then any a gap row adds."""
    names = [run.name for run in report.phases]
    for row in report.gaps:
        names.extend(name for name in row.cells if name not in names)
    return names


def gap_cell_text(cell: GapCell | None) -> str:
    """A matrix cell that can never be mistaken for green when nothing ran.

    `3/12`: 3 of the 12 tests that ran failed or errored. `ok 12`: 12 ran, none failed.
    `no evidence`: the gap has tests here but every one was skipped. `—`: no test at all.
    """
    if cell is None or cell.total == 0:
        return "—"
    if not cell.ran:
        return "no evidence"
    bad = cell.failed + cell.error
    return f"{bad}/{cell.ran}" if bad else f"ok {cell.ran}"


GAP_LEGEND = (
    "cells: F/N = F of the N tests that ran failed or errored; ok N = N ran, none failed; "
    "'no evidence' = only skipped tests; '—' = no test of this gap in this phase. "
    "Neither of the last two counts as green."
)


def listener_text(sample: ServiceSample) -> str:
    listener = sample.listener
    if listener is None:
        return ""
    if listener.pid is None:
        return f"port {listener.port} in use, owner unknown"
    return f"pid {listener.pid} ({listener.name or '?'})"


def service_detail(sample: ServiceSample) -> str:
    parts = [sample.detail] if sample.detail else []
    missing = sample.events.missing if sample.events is not None else ()
    if missing and not all(name in sample.detail for name in missing):
        parts.append("missing events: " + ", ".join(missing))
    listener = listener_text(sample)
    if listener:
        parts.append(f"listener: {listener}")
    return "; ".join(parts)


def findings_by_kind(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.kind].append(finding)
    return dict(groups)


def finding_where(finding: Finding) -> str:
    if not finding.path:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path



def title_adds_words(row: GapRow) -> bool:
    """"Api" beside "api", or "Toml file" beside "toml_file", only repeats the name."""
    simplified = re.sub(r"[\s_-]+", "", row.title or "").lower()
    return bool(row.title) and simplified != re.sub(r"[\s_-]+", "", row.name).lower()



# (header, Counts field, always shown). The others get a column only when some phase has any,
# so the table fits 100 columns and `collected` never silently includes tests that did not run.
COUNT_COLUMNS = (
    ("collected", "collected", True), ("desel.", "deselected", False),
    ("pass", "passed", True), ("fail", "failed", True), ("error", "error", True),
    ("skip", "skipped", True), ("xfail", "xfailed", False), ("xpass", "xpassed", False),
)


def count_columns(report: RunReport) -> list[tuple[str, str]]:
    return [(header, field) for header, field, always in COUNT_COLUMNS
            if always or any(getattr(run.counts, field) for run in report.phases)]


def files_not_named(finding: Finding) -> list[str]:
    """The finding's files that neither its location nor its message already names."""
    return [f for f in finding.files if f != finding.path and f not in finding.message]



def provenance_text(report: RunReport) -> str:
    """"main @ 1a2b3c4d5 (dirty) on build-7": which code and machine, for a report's meta line."""
    source = report.provenance
    if source is None:
        return ""
    parts = []
    if source.short_commit:
        where = source.branch or "detached"
        parts.append(f"{where} @ {source.short_commit}" + (" (dirty)" if source.dirty else ""))
    if source.host:
        parts.append(f"on {source.host}")
    return " ".join(parts)


# ----------------------------------------------------------------------------------------
# The engine's extra figures: subtests, reruns, pytest's own collection-error count


def rerun_text(test: TestResult) -> str:
    """"flaky, rerun 2": a test that needed reruns, in every view the same words."""
    if not test.reruns:
        return ""
    return f"flaky, rerun {test.reruns}" if test.outcome == "passed" else f"rerun {test.reruns}"


def flaky_of(run: PhaseRun) -> list[TestResult]:
    """Tests that failed and then passed on a rerun (pytest-rerunfailures)."""
    return [test for test in run.tests if test.reruns and test.outcome == "passed"]


def subtests_text(counts: SubtestCounts) -> str:
    return f"{counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped"


def engine_notes(run: PhaseRun) -> list[str]:
    """Figures beside the per-test counts: each test is counted once, and these say what that
    one count holds (subtests, reruns) or where pytest's own figure differs from it."""
    notes: list[str] = []
    subtests = run.subtests
    if subtests.total:
        notes.append(f"subtests: {subtests_text(subtests)} (each test counted once above)")
    flaky = flaky_of(run)
    if flaky:
        noun = "test" if len(flaky) == 1 else "tests"
        notes.append(f"flaky: {len(flaky)} {noun} passed only on a rerun")
    pytest_count = run.pytest_collection_errors
    if pytest_count is not None:
        notes.append(f"collection errors: {len(run.collection_errors)}, one per file (pytest "
                     f"counts {pytest_count}: under xdist once per worker that hit it)")
    return notes
