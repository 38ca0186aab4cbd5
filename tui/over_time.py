"""The command center's memory across runs: each plan recorded, judged over time, and marked.

A plan of phases the command center runs (`r`, `R`, `f`, the first one) is a run in the
history, recorded by the same `collectors.recording.RunRecorder` `--report` uses:

    start_plan -> RunRecorder.start()             (the run's row, on the recorder's thread)
    phase_finished(run) -> RunRecorder.on_event   (each phase stored as it ends; a `--lf`
                                                   rerun's phase as merged, the run on screen)
    end_plan(runs) ... judge(report, runs)        (the first judgement of exactly those runs,
                                                   on the screen's judge thread, records it:
                                                   RunRecorder.finish -> changes, flaky,
                                                   claims, the verdict they imply)

Every later judgement of the same evidence (a service changing state) gets the same judgement
over time laid on it (`trend.HistoryJudgement.apply`), so the header, the findings and the
report never drop a broken claim. A plan replaced by another, or stopped by a quit, is recorded
as interrupted (`finish_unended`). The baseline the live marks compare with is read once the
run's row exists (`read_baseline`, excluding this run).

Textual-free: the app calls the main-thread methods and runs the blocking ones on threads.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.models import PhaseFinished, PhaseRun, RunReport
from claimcheck.collectors.recording import RunRecorder
from claimcheck.collectors.trend import Baseline, HistoryJudgement, read_baseline


@dataclass(eq=False)
class Recording:
    """One plan's run in the history."""

    recorder: RunRecorder
    phases: frozenset[str]
    started_at: float
    started: Future[Any]
    final: dict[str, PhaseRun] | None = None  # the plan's runs when it ended
    judged: RunReport | None = None
    judgement: HistoryJudgement | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: bool = False

    @property
    def ended(self) -> bool:
        return self.final is not None

    def matches(self, runs: Sequence[PhaseRun]) -> bool:
        """`runs` are exactly the evidence this plan ended with (the same objects)."""
        if self.final is None:
            return False
        mine = {run.name: run for run in runs if run.name in self.phases}
        return mine.keys() == self.final.keys() and all(
            run is self.final[name] for name, run in mine.items())

    def finish(self, report: RunReport) -> RunReport | None:
        """Blocking: record and judge over time once; None when it was done already."""
        with self.lock:
            if self.finished:
                return None
            self.finished = True
            judged = self.recorder.finish(report)
            self.judged, self.judgement = judged, HistoryJudgement.of(judged)
            return judged


class OverTime:
    """Records the command center's runs and keeps what they are compared with."""

    def __init__(self, config: Config, history: Path | None, *,
                 warn: Callable[[str], None] | None = None,
                 opened: RunReport | None = None) -> None:
        self.config = config
        self.history = history
        self.warn = warn or (lambda text: None)
        self.opened = opened  # --open: a finished report, nothing recorded
        self.baseline = Baseline()
        self._recording: Recording | None = None
        self._last: Recording | None = None  # the newest recording that was judged

    @property
    def enabled(self) -> bool:
        """Runs are recorded (not a report opened from a file)."""
        return self.opened is None

    @property
    def recording(self) -> Recording | None:
        return self._recording

    @property
    def judged(self) -> RunReport | None:
        """The newest report judged over time: what the claims banner shows."""
        if self.opened is not None:
            return self.opened
        last = self._last
        return last.judged if last is not None else None

    @property
    def judged_is_old(self) -> bool:
        """`judged` is an earlier run's: the plan on screen has not been judged over time yet."""
        return self.opened is None and self._last is not None and (
            self._last is not self._recording)

    # ------------------------------------------------------------------ main thread

    def start_plan(self, phases: Sequence[str], scope: str, started_at: float) -> Recording | None:
        """Begin recording a plan; returns the recording it replaces if that one never
        finished (the caller records it as interrupted, off the event loop)."""
        if not self.enabled:
            return None
        previous = self._recording
        recorder = RunRecorder(self.config, self.history, scope=scope, warn=self.warn,
                               phases=phases)
        self._recording = Recording(recorder, frozenset(phases), started_at,
                                    recorder.start(started_at))
        self.baseline = Baseline()
        return previous if previous is not None and not previous.finished else None

    def phase_finished(self, run: PhaseRun | None) -> None:
        """A phase of the current plan ended; `run` as the live model holds it (merged)."""
        recording = self._recording
        if run is not None and recording is not None and run.name in recording.phases:
            recording.recorder.on_event(PhaseFinished(run.name, run))

    def end_plan(self, runs: Sequence[PhaseRun]) -> None:
        """The plan ended with `runs`: the first judgement of exactly these records it."""
        recording = self._recording
        if recording is not None and recording.final is None:
            recording.final = {run.name: run for run in runs if run.name in recording.phases}

    # ------------------------------------------------------------------ threads

    def judge(self, report: RunReport, runs: Sequence[PhaseRun]) -> RunReport:
        """The report judged over time (blocking: may record the run). Any thread."""
        recording = self._recording
        if recording is None or not recording.matches(runs):
            return report
        judged = recording.finish(report)
        if judged is None:  # recorded by another judgement (it waited for that one)
            assert recording.judgement is not None
            judged = recording.judgement.apply(report)
        self._last = recording
        return judged

    def finish_unended(self, recording: Recording, report: RunReport) -> None:
        """Record a plan that never ended (replaced, or the app quit) with `report`."""
        if recording.finish(report) is not None and recording is self._recording:
            self._last = recording

    def read_baseline(self, recording: Recording) -> Baseline:
        """Blocking: each planned phase's baseline, once the run's own row exists."""
        if self.history is None:
            return Baseline()
        recording.started.result()
        run_id = recording.recorder.run_id
        if run_id is None or not self.history.exists():
            return Baseline()
        # Imported here, on the reading thread: sqlite3 and the store are not needed for the
        # command center's first frame.
        import sqlite3

        from claimcheck.collectors.history import HistoryError, HistoryStore
        from claimcheck.collectors.session import provenance_of

        provenance = provenance_of(self.config)
        try:
            with HistoryStore(self.history, create=False) as store:
                return read_baseline(store, provenance.branch, sorted(recording.phases),
                                     before=recording.started_at, exclude=run_id)
        except (HistoryError, sqlite3.Error, OSError):
            return Baseline()  # the recorder says what is wrong with the history, once


class Marks:
    """What the matrix and the failure list mark, worked out once per judgement.

    From the report on screen once it was judged over time (its `changes` and `flaky`, the
    same facts every report format prints); before that, while results arrive, from the
    baseline the recorder will compare with. Gap notes (duplicate definitions, deprecated
    imports in a gap's files) come from the report's findings (`report.common.gap_notes`).
    """

    def __init__(self, over_time: OverTime | None) -> None:
        self.over_time = over_time
        self._report: RunReport | None = None
        self._judged: dict[tuple[str, str], str] = {}
        self._flaky: frozenset[tuple[str, str]] = frozenset()
        self._notes: dict[str, list[str]] = {}

    def update(self, report: RunReport | None) -> None:
        from claimcheck.collectors.report.common import gap_notes
        from claimcheck.collectors.trend import judged_marks

        if report is self._report:
            return
        self._report = report
        changes = report.changes if report is not None else None
        self._judged = dict(judged_marks(changes))
        self._flaky = changes.flaky_ids() if changes is not None else frozenset()
        self._notes = gap_notes(report.findings) if report is not None else {}

    @property
    def _baseline(self) -> Baseline:
        return self.over_time.baseline if self.over_time is not None else Baseline()

    def failure(self, phase: str, nodeid: str, collection: bool = False) -> tuple[str, ...]:
        """("new",), ("still",), with "flaky" after it when the report says so; () unknown."""
        report = self._report
        if report is not None and report.changes is not None:
            mark = self._judged.get((phase, nodeid))
            if mark is None and collection and any(
                    change.phase == phase and change.baseline is not None
                    for change in report.changes.phases):
                mark = "still"  # a collection error that is not new
        else:
            mark = self._baseline.failure_mark(phase, nodeid, collection=collection)
        marks = (mark,) if mark else ()
        if (phase, nodeid) in self._flaky:
            marks += ("flaky",)
        return marks

    def cells(self, gap: str, cells: dict[str, Any], finished: frozenset[str]) -> dict[str, str]:
        """phase -> "worse" / "better" for the gap's cells in phases that finished."""
        baseline = self._baseline
        marks = {}
        for phase in finished:
            change = baseline.cell_change(gap, phase, cells.get(phase))
            if change:
                marks[phase] = change
        return marks

    def notes(self, gap: str) -> tuple[str, ...]:
        return tuple(self._notes.get(gap, ()))

    @property
    def all_notes(self) -> dict[str, list[str]]:
        return self._notes
