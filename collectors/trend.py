"""What a run is compared with while it is on screen: marks over time, pure where possible.

The report says what changed once a run is judged (`RunReport.changes`, from
`recording.judge_with_history`). The command center also marks it while results arrive, and
in cells the report has no field for, so it compares with the same baseline `changes.py` uses:
per phase, that phase's last run on this branch with complete results
(`HistoryStore.baseline_phase`), read once when a plan starts (`read_baseline`).

* A failure is `new` (it did not fail in the baseline) or `still` failing; a collection error
  alike by its file. Once the run is judged, the report's `changes` decide (`judged_marks`),
  with `flaky` from its flaky list; both say the same unless another claimcheck recorded a run
  in between.
* A matrix cell got `worse` or `better` than the same cell of the phase's baseline run
  (`cell_change`): a cell that turned red, went from red to no evidence, lost tests, or holds
  more failures is worse; one that turned green, or holds fewer failures, is better.
* The judgement over time (changes, claims and their findings) is kept from the run's recording
  and laid again over every later judgement of the same evidence (`HistoryJudgement.apply`), so
  a service changing state after the run never drops a broken claim from the verdict.

Never imports Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Mapping, Sequence

from claimcheck.collectors.changes import outcome_class
from claimcheck.collectors.gaps import cell_status
from claimcheck.collectors.models import (
    ClaimCheck,
    Finding,
    GapCell,
    GapRow,
    RunChanges,
    RunRef,
    RunReport,
)

if TYPE_CHECKING:
    from claimcheck.collectors.history import HistoryStore

CellChange = Literal["worse", "better"]
FailureMark = Literal["new", "still"]
# Findings only the history and the claims ledger make (recording.HISTORY_FINDINGS).
OVER_TIME_KINDS = frozenset({"tests-disappeared", "claim-broken", "claim-stale"})


@dataclass(frozen=True)
class PhaseBaseline:
    """One phase's baseline run: what failed there and what each gap's cell said."""

    ref: RunRef
    failing: frozenset[str]  # node ids that failed or errored
    collection_errors: frozenset[str]  # paths
    cells: Mapping[str, GapCell]  # gap -> cell in this phase (absent: no test of it ran)
    gaps: frozenset[str]  # the gaps that run had a row for


@dataclass(frozen=True)
class Baseline:
    """Per phase, the run this one is compared with; empty without history."""

    phases: Mapping[str, PhaseBaseline] = field(default_factory=dict)

    def failure_mark(self, phase: str, nodeid: str, *, collection: bool = False
                     ) -> FailureMark | None:
        """`new` or `still` for a failing test (or a file that failed to collect), None when
        the phase has no baseline (its first run on this branch)."""
        base = self.phases.get(phase)
        if base is None:
            return None
        known = base.collection_errors if collection else base.failing
        return "still" if nodeid in known else "new"

    def cell_change(self, gap: str, phase: str, now: GapCell | None) -> CellChange | None:
        base = self.phases.get(phase)
        if base is None or gap not in base.gaps:
            return None
        return cell_change(base.cells.get(gap), now)


def read_baseline(store: HistoryStore, branch: str | None, phases: Sequence[str], *,
                  before: float, exclude: int | None = None) -> Baseline:
    """Each phase's baseline run, as `recording.RunRecorder` will compare with it."""
    found: dict[str, PhaseBaseline] = {}
    rows_of: dict[int, list[GapRow]] = {}  # several phases often share one baseline run
    for phase in phases:
        stored = store.baseline_phase(branch, phase, before=before, exclude=exclude)
        if stored is None:
            continue
        run_id = stored.ref.run_id
        if run_id not in rows_of:
            rows_of[run_id] = store.gap_rows_of(run_id)
        rows = rows_of[run_id]
        found[phase] = PhaseBaseline(
            ref=stored.ref,
            failing=frozenset(nodeid for nodeid, outcome in stored.outcomes.items()
                              if outcome_class(outcome) == "fail"),
            collection_errors=stored.collection_errors,
            cells={row.name: row.cells[phase] for row in rows if phase in row.cells},
            gaps=frozenset(row.name for row in rows))
    return Baseline(found)


_RANK = {"green": 0, "no-evidence": 1, "red": 2}


def cell_change(before: GapCell | None, now: GapCell | None) -> CellChange | None:
    """How a matrix cell moved since its baseline: worse, better, or None (no change worth a
    mark). Losing evidence is never better: red or green to no evidence is worse, and so is a
    green cell where fewer tests ran (the tests that vanished are the incident's story)."""
    was, status = cell_status(before), cell_status(now)
    before_cell, now_cell = before or GapCell(), now or GapCell()
    if was == status:
        if status == "red":
            then, bad = before_cell.failed + before_cell.error, now_cell.failed + now_cell.error
            return "worse" if bad > then else "better" if bad < then else None
        if status == "green" and now_cell.ran < before_cell.ran:
            return "worse"
        return None
    if status == "no-evidence" or _RANK[status] > _RANK[was]:
        return "worse"
    return "better"


def judged_marks(changes: RunChanges | None) -> dict[tuple[str, str], FailureMark]:
    """(phase, node id or collection-error path) -> new / still, as the report's changes say."""
    marks: dict[tuple[str, str], FailureMark] = {}
    if changes is None:
        return marks
    for phase in changes.phases:
        if phase.baseline is None:
            continue
        for nodeid in phase.still_failing:
            marks[(phase.phase, nodeid)] = "still"
        for nodeid in phase.newly_failing:
            marks[(phase.phase, nodeid)] = "new"
        for path in phase.new_collection_errors:
            marks[(phase.phase, path)] = "new"
    return marks


@dataclass(frozen=True)
class HistoryJudgement:
    """What a run's recording added to its report, to lay over later judgements of the same
    evidence (`changes.judge_over_time` is pure: the same inputs give the same report)."""

    changes: RunChanges | None
    claims: tuple[ClaimCheck, ...]
    findings: tuple[Finding, ...]  # tests-disappeared, claim-broken, claim-stale
    history_id: int | None

    @classmethod
    def of(cls, judged: RunReport) -> HistoryJudgement:
        return cls(changes=judged.changes, claims=judged.claims,
                   findings=tuple(f for f in judged.findings if f.kind in OVER_TIME_KINDS),
                   history_id=judged.history_id)

    def apply(self, report: RunReport) -> RunReport:
        from claimcheck.collectors.changes import judge_over_time

        judged = judge_over_time(report, self.changes, self.claims, self.findings)
        return replace(judged, history_id=self.history_id)

    def flaky(self) -> frozenset[tuple[str, str]]:
        return self.changes.flaky_ids() if self.changes is not None else frozenset()

