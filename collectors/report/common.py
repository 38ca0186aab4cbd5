"""What every report writer shares: small pure helpers over a `RunReport`."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Callable, Iterable

from claimcheck.collectors.gaps import cell_words
from claimcheck.collectors.models import (
    ClaimCheck,
    Counts,
    Finding,
    GapCell,
    PhaseChanges,
    PhaseRun,
    RunChanges,
    RunReport,
    ServiceSample,
    SubtestCounts,
    TestResult,
)
from claimcheck.collectors.verdict import FAILED_OUTCOMES, executed, moment

SCHEMA = "claimcheck.report/1"
MAX_FAILURES_PER_PHASE = 50
MAX_MESSAGE_CHARS = 300
ALL_FAILURES_HINT = "claimcheck --report --format json lists every one"

Redact = Callable[[str], str]

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


def interruption_text(report: RunReport) -> str:
    """"interrupted at 2026-05-01T10:00:03+00:00, 12.5 s in", or "" for a run nobody stopped."""
    if report.interrupted_at is None:
        return ""
    after = max(0.0, report.interrupted_at - report.started_at)
    return f"interrupted at {moment(report.interrupted_at)}, {duration_text(after)} in"


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
    """A matrix cell in the same words as the command center's (`gaps.cell_words`)."""
    return cell_words(cell)


GAP_LEGEND = (
    "cells: ✖ F/N = F of the N tests that ran failed or errored; ✔ N = N ran, none failed; "
    "'no evidence' = no test of this gap ran in this phase ('(N skip)': its N tests were "
    "skipped). 'no evidence' never counts as green."
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


# Findings that make a gap's row in the matrix say so, with the words it uses.
GAP_NOTE_WORDS = {
    "duplicate-definition": "duplicate definition",
    "deprecated-import": "imports deprecated",
}


def gap_notes(findings: Iterable[Finding]) -> dict[str, list[str]]:
    """gap name -> what its files hold ("duplicate definition: WebSocketManager"), in order."""
    notes: dict[str, list[str]] = {}
    for finding in findings:
        words = GAP_NOTE_WORDS.get(finding.kind)
        if words is None:
            continue
        note = f"{words}: {finding.subject}" if finding.subject else words
        for gap in finding.gaps:
            if note not in notes.setdefault(gap, []):
                notes[gap].append(note)
    return notes


def finding_where(finding: Finding) -> str:
    if not finding.path:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path




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
# Evidence over time: what changed, flaky tests, claims (collectors/changes.py, claims.py)

MAX_CHANGED_LISTED = 10


def broken_claims(report: RunReport) -> list[Finding]:
    return [f for f in report.findings if f.kind == "claim-broken"]


def baseline_text(change: PhaseChanges) -> str:
    base = change.baseline
    if base is None:
        return ""
    when = datetime.fromtimestamp(base.started_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if not base.commit:
        return f"the run of {when} (no git commit)"
    return f"{base.branch or 'detached'} @ {base.short_commit}, {when}"


def change_summary(change: PhaseChanges) -> str:
    """One line per phase: "2 newly failing, 30 disappeared (collected 114, was 144)"."""
    if change.baseline is None:
        return "first run of this phase on this branch: nothing to compare with"
    parts = []
    for name, label in (("newly_failing", "newly failing"), ("newly_passing", "newly passing"),
                        ("still_failing", "still failing"), ("disappeared", "disappeared"),
                        ("new_collection_errors", "new collection errors"),
                        ("gone_collection_errors", "collection errors gone"),
                        ("new_tests", "new tests")):
        count = len(getattr(change, name))
        if count:
            parts.append(f"{count} {label}")
    if change.collected_now != change.collected_before:
        parts.append(f"collected {change.collected_now}, was {change.collected_before}")
    return ", ".join(parts) if parts else f"no change ({change.collected_now} collected)"


def change_lists(change: PhaseChanges) -> list[tuple[str, tuple[str, ...]]]:
    """The node ids (or paths) behind a phase's summary, in the order a reader needs them."""
    return [(label, items) for label, items in (
        ("newly failing", change.newly_failing),
        ("disappeared", change.disappeared),
        ("new collection error", change.new_collection_errors),
        ("newly passing", change.newly_passing),
        ("collection error gone", change.gone_collection_errors),
    ) if items]


def changes_baseline(changes: RunChanges) -> str:
    """"main @ 81c0a1f, 2026-12-01 10:00 UTC": the newest run any phase was compared with."""
    bases = [change for change in changes.phases if change.baseline is not None]
    if not bases:
        return ""
    return baseline_text(max(bases, key=lambda change: change.baseline.started_at))  # type: ignore[union-attr]


def first_run_text(report: RunReport) -> str:
    """When no phase has an earlier run on this branch: one line, not one per phase."""
    changes, provenance = report.changes, report.provenance
    if changes is not None and changes.branch:
        where = f"on {changes.branch}"
    elif provenance is not None and not provenance.commit:
        where = "here (no git commit)"
    else:
        where = "on this detached HEAD"
    return f"first run of these phases {where}: nothing to compare with yet"


def flaky_index(report: RunReport) -> dict[tuple[str, str], tuple[str, ...]]:
    """(phase, nodeid) -> reasons, for marking tests wherever they are listed."""
    if report.changes is None:
        return {}
    return {(t.phase, t.nodeid): t.reasons for t in report.changes.flaky}


def claim_line(check: ClaimCheck) -> str:
    """"auth: broken: claimed 2026-12-01 at 81c0a1f (ev-3f2a9c) by Ada; red since ..."."""
    note = f"; note: {check.note}" if check.note else ""
    return (f"{check.gap}: {check.state}: claimed {check.at[:10]} at {check.commit[:7]} "
            f"({check.evidence}) by {check.by}; {check.detail}{note}")


def sources_text(report: RunReport, limit: int = 5) -> str:
    """"opened from cc.json" or "merged from 3 reports: a.json, b.json, c.json"."""
    sources = report.sources
    if not sources:
        return ""
    if len(sources) == 1:
        return f"opened from {sources[0].label} ({sources[0].format})"
    names = ", ".join(source.label for source in sources[:limit])
    more = f" and {len(sources) - limit} more" if len(sources) > limit else ""
    return f"merged from {len(sources)} reports: {names}{more}"


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
