"""What changed since the last run, which tests vanished, which are flaky: pure rules.

Each phase is compared with the same phase's last run on the same branch whose results were
complete (`history.baseline_phase`): newly failing, newly passing, still failing, new and gone
collection errors, new tests, and **tests that disappeared**: a test that had a result in the
baseline and has none now (removed, renamed, no longer collected, deselected), or a collected
count that dropped. A suite that collects 114 tests where it collected 144 must not look
green, so disappearance is a `tests-disappeared` finding and makes the run red (the next run
compares with this one, so a deliberate removal costs one red run, and says so).

A test is **flaky** when
  * it passed only on a rerun (`TestResult.reruns`, pytest-rerunfailures), or
  * it both passed and failed on one commit, in runs on a clean tree (a dirty tree is other
    code), or
  * its outcome flipped between passing and failing three or more times in the last ten runs
    of its phase on this branch.
Skips and xfails are neither; an error counts as failing. Flaky is a mark, never an excuse: a
flaky test that failed still makes the run red.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from typing import Iterable, Mapping, Sequence

from claimcheck.collectors.gaps import node_path
from claimcheck.collectors.models import (
    RED_FINDING_KINDS,
    ClaimCheck,
    Finding,
    FlakyTest,
    PhaseChanges,
    PhaseRun,
    RunChanges,
    RunRef,
    RunReport,
)
from claimcheck.collectors.verdict import ExitCode

FAILING = frozenset({"failed", "error"})
PASSING = frozenset({"passed", "xpassed"})
# Statuses whose results are complete: only such a phase can show a test as gone.
COMPLETE_STATUSES = frozenset({"passed", "failed", "error", "no-tests"})
FLIP_WINDOW = 10
FLIPS_FOR_FLAKY = 3
FILES_NAMED = 5


def outcome_class(outcome: str | None) -> str | None:
    """"pass", "fail", or None for what says nothing about flakiness (skip, xfail, absent)."""
    if outcome in PASSING:
        return "pass"
    if outcome in FAILING:
        return "fail"
    return None


def compare_phase(run: PhaseRun, baseline_ref: RunRef | None, *,
                  before: Mapping[str, str] | None, collected_before: int = 0,
                  errors_before: Iterable[str] = ()) -> PhaseChanges:
    """`run` against its baseline's outcomes (`before`: nodeid -> outcome, None: no baseline)."""
    if before is None or baseline_ref is None:
        return PhaseChanges(phase=run.name, baseline=None, collected_now=run.counts.collected)
    now: dict[str, str] = {}
    for test in run.tests:
        now[test.nodeid] = test.outcome
    newly_failing, newly_passing, still_failing, new_tests = [], [], [], []
    for nodeid, outcome in now.items():
        previous = before.get(nodeid)
        if previous is None:
            new_tests.append(nodeid)
        if outcome in FAILING:
            (still_failing if previous in FAILING else newly_failing).append(nodeid)
        elif outcome in PASSING and previous in FAILING:
            newly_passing.append(nodeid)
    complete = run.status in COMPLETE_STATUSES
    # A test this run collected and deselected (-k, -m, a shard's selection) did not vanish:
    # it was left out on purpose, and the collected count still holds it.
    chosen_out = set(run.deselected_ids)
    disappeared = ([nodeid for nodeid in before if nodeid not in now and nodeid not in chosen_out]
                   if complete else [])
    errors_now = {error.path for error in run.collection_errors}
    errors_then = set(errors_before)
    return PhaseChanges(
        phase=run.name,
        baseline=baseline_ref,
        collected_before=collected_before,
        collected_now=run.counts.collected,
        newly_failing=tuple(newly_failing),
        newly_passing=tuple(newly_passing),
        still_failing=tuple(still_failing),
        new_collection_errors=tuple(sorted(errors_now - errors_then)),
        gone_collection_errors=tuple(sorted(errors_then - errors_now)),
        disappeared=tuple(disappeared),
        new_tests=tuple(new_tests),
    )


def collected_dropped(change: PhaseChanges, run: PhaseRun) -> bool:
    return (change.baseline is not None and run.status in COMPLETE_STATUSES
            and change.collected_now < change.collected_before)


def disappeared_finding(change: PhaseChanges, run: PhaseRun,
                        deselected: Iterable[str] = ()) -> Finding | None:
    """`tests-disappeared` for a phase that lost tests or collected fewer, else None."""
    dropped = collected_dropped(change, run)
    if not change.disappeared and not dropped:
        return None
    assert change.baseline is not None
    by_file = Counter(node_path(nodeid) for nodeid in change.disappeared)
    files = tuple(name for name, _ in by_file.most_common())
    where = ", ".join(f"{name} ({count})" for name, count in by_file.most_common(FILES_NAMED))
    if len(by_file) > FILES_NAMED:
        where += f" and {len(by_file) - FILES_NAMED} more files"
    base = change.baseline
    when = _date(base.started_at)
    then = f"the previous run ({base.branch or 'detached'} @ {base.short_commit}, {when})"
    parts = []
    if change.disappeared:
        count = len(change.disappeared)
        now_deselected = len(set(change.disappeared) & set(deselected))
        noun = "test" if count == 1 else "tests"
        parts.append(f"{count} {noun} that ran in {then} have no result now: {where}")
        if now_deselected:
            parts.append(f"{now_deselected} of them are deselected now")
    if dropped:
        text = f"collected {change.collected_now}, was {change.collected_before}"
        parts.append(text if change.disappeared else f"{text} in {then}")
    parts.append("if they were removed on purpose, the next run compares with this one")
    return Finding(kind="tests-disappeared", phase=run.name, path=files[0] if files else None,
                   line=None, message="; ".join(parts), files=files,
                   count=len(change.disappeared) or change.collected_before - change.collected_now)


def flips(classes: Sequence[str | None]) -> int:
    """How often a sequence of pass/fail outcomes changes, ignoring what says nothing."""
    seen = [c for c in classes if c is not None]
    return sum(1 for a, b in zip(seen, seen[1:]) if a != b)


def flaky_tests(
    runs: Sequence[PhaseRun],
    *,
    same_commit: Mapping[str, Mapping[str, set[str]]] | None = None,
    sequences: Mapping[str, Mapping[str, Sequence[str | None]]] | None = None,
    commit: str | None = None,
) -> tuple[FlakyTest, ...]:
    """Every flaky test of this run, each with every rule it meets.

    `same_commit[phase][nodeid]`: outcome classes seen at this commit on a clean tree (this run
    included when it is clean). `sequences[phase][nodeid]`: outcome classes in the last runs of
    the phase on this branch, oldest first, this run last.
    """
    reasons: dict[tuple[str, str], list[str]] = {}

    def add(phase: str, nodeid: str, reason: str) -> None:
        reasons.setdefault((phase, nodeid), []).append(reason)

    for run in runs:
        for test in run.tests:
            if test.reruns and test.outcome in PASSING:
                times = "once" if test.reruns == 1 else f"{test.reruns} times"
                add(run.name, test.nodeid, f"passed after failing {times} (rerun)")
    short = commit[:9] if commit else "this commit"
    for phase, tests in (same_commit or {}).items():
        for nodeid, classes in tests.items():
            if {"pass", "fail"} <= set(classes):
                add(phase, nodeid, f"passed and failed at {short}")
    for phase, tests in (sequences or {}).items():
        for nodeid, sequence in tests.items():
            window = list(sequence)[-FLIP_WINDOW:]
            count = flips(window)
            if count >= FLIPS_FOR_FLAKY:
                add(phase, nodeid, f"{count} flips in the last {len(window)} runs")
    order = {(run.name, test.nodeid): index for run in runs
             for index, test in enumerate(run.tests)}
    keys = sorted(reasons, key=lambda key: (key[0], order.get(key, 1 << 30), key[1]))
    return tuple(FlakyTest(phase=phase, nodeid=nodeid, reasons=tuple(reasons[(phase, nodeid)]))
                 for phase, nodeid in keys)


def history_reasons(findings: Iterable[Finding]) -> list[str]:
    """The verdict's "why" lines contributed by findings that are red by themselves."""
    why = []
    for finding in findings:
        if finding.kind == "claim-broken":
            why.append(f"claim broken: {finding.message}")
        elif finding.kind == "tests-disappeared":
            noun = "test" if finding.count == 1 else "tests"
            why.append(f"{finding.phase}: {finding.count} {noun} disappeared")
    return why


def judge_over_time(report: RunReport, changes: RunChanges | None,
                    claims: Sequence[ClaimCheck], findings: Sequence[Finding]) -> RunReport:
    """The report with what history and the claims ledger add: findings and the verdict.

    Broken claims come first among the findings, then vanished tests, then the run's own. Either
    of the first two turns any verdict but `interrupted` red: nothing else outranks them, and an
    interrupted run is reported as such rather than as a finished failure.
    """
    broken = [f for f in findings if f.kind == "claim-broken"]
    gone = [f for f in findings if f.kind == "tests-disappeared"]
    rest = [f for f in findings if f.kind not in ("claim-broken", "tests-disappeared")]
    ordered = (*broken, *gone, *report.findings, *rest)
    verdict, exit_code = report.verdict, report.exit_code
    if verdict != "interrupted" and any(f.kind in RED_FINDING_KINDS for f in ordered):
        verdict, exit_code = "red", int(ExitCode.RED)
    reasons = (*history_reasons(ordered), *report.reasons)
    return replace(report, findings=tuple(ordered), verdict=verdict, exit_code=exit_code,
                   changes=changes, claims=tuple(claims), reasons=tuple(reasons))


def change_totals(changes: RunChanges | None) -> dict[str, int]:
    """Counts over every phase, for one-line summaries."""
    totals = dict.fromkeys(("newly_failing", "newly_passing", "still_failing",
                            "new_collection_errors", "gone_collection_errors", "disappeared",
                            "new_tests"), 0)
    if changes is None:
        return totals
    for change in changes.phases:
        for name in totals:
            totals[name] += len(getattr(change, name))
    return totals


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
