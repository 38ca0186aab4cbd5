"""The live model: what the evidence says so far, folded in one event at a time. No Textual.

Everything a run reports - phase events from the runner, service samples from the probes -
goes through `LiveEvidence.fold(event) -> Change`, and everything that shows a run in progress
reads this one object: the command center's panels, `--report`'s progress line on stderr, and
the report assembled when the run ends (or is interrupted). So a phase's counts, its failures
and the gaps a test counts in are each worked out once, and no two views can disagree:

* per phase: its status, the latest result per node id, its collection errors, the tally of
  outcomes while it streams and the runner's own `Counts` once it has finished;
* merges of partial reruns: `f` reruns what failed (`--lf`) and lays the new results over the
  previous run by node id (`merge_runs`); `R` or `r` start a phase from an empty column;
* the failure index: every failed or errored test and every collection error, in arrival order,
  keyed by phase and node id (`failure_key`), so a test that passes on a rerun leaves it;
* gap membership: a test is classified into its gaps once, when it arrives (`MatrixBuilder`),
  and the answer is remembered for the matrix, the gap filter and the failure detail;
* the latest sample of every service, and which service blocked a phase.

`Change` says what a fold touched, so a view redraws only that, and batches of folds merge into
one `Change` per frame.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence

from claimcheck.collectors.config import Config, GapConfig
from claimcheck.collectors.gaps import MatrixBuilder, gaps_for_path, gaps_for_test
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    PhaseStatus,
    ServiceSample,
    StreamEvent,
    TestFinished,
    TestResult,
    TestsCollected,
    WarningRecorded,
)
from claimcheck.collectors.verdict import FAILED_OUTCOMES

RUNNING: PhaseStatus = "running"
_SEPARATOR = "\x1f"  # cannot appear in a phase name or a node id printed by pytest
PASSING_OUTCOMES = frozenset({"passed", "xfailed", "xpassed"})


def failure_key(phase: str, nodeid: str) -> str:
    """The failure index's stable key: a rerun replaces the entry of the same test and phase."""
    return f"{phase}{_SEPARATOR}{nodeid}"


def split_key(key: str) -> tuple[str, str]:
    phase, _, nodeid = key.partition(_SEPARATOR)
    return phase, nodeid


def failure_of(phase: str, error: CollectionError) -> TestResult:
    """A collection error listed like an errored test: it hides every test in its file."""
    return TestResult(nodeid=error.path, outcome="error", phase=phase,
                      message=f"{error.error_type}: {error.message}", path=error.path,
                      longrepr=error.longrepr or error.message, when="collect")


def counts_of(tests: Iterable[TestResult], errors: int, collected: int = 0) -> Counts:
    """Counts as the report names them, tallied from results; `error` adds collection errors."""
    tally = Counter(test.outcome for test in tests)
    done = sum(tally.values())
    return Counts(collected=max(collected, done), passed=tally["passed"], failed=tally["failed"],
                  error=tally["error"] + errors, skipped=tally["skipped"],
                  xfailed=tally["xfailed"], xpassed=tally["xpassed"])


def selected(counts: Counts) -> int:
    """Tests a phase meant to run: collected minus deselected, over all its sessions."""
    return max(0, counts.collected - counts.deselected)


def failures_first(tests: Iterable[TestResult]) -> tuple[TestResult, ...]:
    """Failed and errored tests first, each group in the order it finished."""
    tests = tuple(tests)
    return (tuple(t for t in tests if t.outcome in FAILED_OUTCOMES)
            + tuple(t for t in tests if t.outcome not in FAILED_OUTCOMES))


def merge_runs(previous: PhaseRun | None, rerun: PhaseRun) -> PhaseRun:
    """A `--lf` rerun's results laid over the previous run, by node id.

    The rerun re-collected everything, so its collection errors replace the old ones; a rerun
    that did not complete (interrupted, crashed, timed out) keeps its own status.
    """
    if previous is None:
        return rerun
    tests = {test.nodeid: test for test in previous.tests}
    tests.update((test.nodeid, test) for test in rerun.tests)
    merged = tuple(tests.values())
    counts = counts_of(merged, len(rerun.collection_errors), selected(previous.counts))
    status = rerun.status
    if status in ("passed", "failed", "no-tests"):
        status = "failed" if counts.failed or counts.error else ("passed" if merged else status)
    return replace(rerun, status=status, tests=merged, counts=counts,
                   duration_s=previous.duration_s + rerun.duration_s,
                   warnings=rerun.warnings or previous.warnings,
                   settings=rerun.settings or previous.settings)


@dataclass
class PhaseLive:
    """What is known about one phase while it runs and after."""

    name: str
    status: PhaseStatus = "pending"
    collected: int = 0  # selected: collected minus deselected, summed over sessions
    outcomes: Counter[str] = field(default_factory=Counter)
    results: dict[str, TestResult] = field(default_factory=dict)  # node id -> latest result
    errors: dict[str, CollectionError] = field(default_factory=dict)  # path -> error
    started_at: float | None = None
    duration_s: float | None = None
    note: str = ""  # "queued", "rerunning what failed (--lf)", the run's reason
    blocker: str = ""  # the required service that was down, for a blocked phase
    run: PhaseRun | None = None  # this attempt's final run (merged over `previous` after `f`)
    previous: PhaseRun | None = None  # the run a `--lf` rerun is laid over
    merging: bool = False

    def forget(self) -> None:
        """A fresh run of the phase starts from nothing."""
        self.status, self.collected, self.note, self.blocker = "pending", 0, "", ""
        self.outcomes.clear()
        self.results.clear()
        self.errors.clear()
        self.started_at = self.duration_s = None
        self.run = self.previous = None
        self.merging = False

    @property
    def counts(self) -> Counts:
        """The runner's counts once the phase has finished, the tally of results until then."""
        if self.run is not None:
            return self.run.counts
        outcomes = self.outcomes
        done = sum(outcomes.values())
        return Counts(collected=max(self.collected, done), passed=outcomes["passed"],
                      failed=outcomes["failed"], error=outcomes["error"] + len(self.errors),
                      skipped=outcomes["skipped"], xfailed=outcomes["xfailed"],
                      xpassed=outcomes["xpassed"])

    @property
    def done(self) -> int:
        """Outcomes so far: tests that finished, and files that could not be collected (pytest
        counts each as an error in its own summary), so the columns add up to it."""
        return self.counts.done

    @property
    def total(self) -> int:
        """What the phase will have done: the selected tests plus its collection errors."""
        return max(self.collected + len(self.errors), self.done)

    @property
    def bad(self) -> int:
        counts = self.counts
        return counts.failed + counts.error

    def snapshot(self, now: float) -> PhaseRun:
        """The phase as evidence if it ends now: interrupted, with every result it streamed."""
        tests = failures_first(self.results.values())
        errors = tuple(self.errors.values())
        started = self.started_at or now
        return PhaseRun(name=self.name, status="interrupted", exit_code=None,
                        duration_s=max(0.0, now - started),
                        counts=counts_of(tests, len(errors), self.collected), tests=tests,
                        collection_errors=errors, reason="interrupted before the phase finished",
                        started_at=started)


@dataclass
class Change:
    """What one or more folds touched, for a view to redraw just that."""

    phases: set[str] = field(default_factory=set)  # phase rows to redraw
    gaps: set[str] = field(default_factory=set)  # matrix rows whose cells changed
    all_gaps: bool = False  # a column changed as a whole (a phase started, ended, was reset)
    started: list[str] = field(default_factory=list)
    finished: list[PhaseRun] = field(default_factory=list)
    failed: list[TestResult] = field(default_factory=list)  # failures that arrived, in order
    cleared: list[str] = field(default_factory=list)  # failure keys that no longer fail
    collection_errors: list[tuple[str, CollectionError]] = field(default_factory=list)
    passed: Counter[str] = field(default_factory=Counter)  # phase -> passes that arrived
    skipped: Counter[str] = field(default_factory=Counter)  # phase -> skips that arrived
    samples: list[tuple[ServiceSample | None, ServiceSample]] = field(default_factory=list)
    frames: list[StreamEvent] = field(default_factory=list)  # stream traffic, for the log only

    def update(self, other: Change) -> None:
        """Fold `other` (which happened after this) into this change."""
        self.phases |= other.phases
        self.gaps |= other.gaps
        self.all_gaps = self.all_gaps or other.all_gaps
        self.started += other.started
        self.finished += other.finished
        self.failed += other.failed
        self.cleared += other.cleared
        self.collection_errors += other.collection_errors
        self.passed.update(other.passed)
        self.skipped.update(other.skipped)
        self.samples += other.samples
        self.frames += other.frames

    @property
    def judgement_due(self) -> bool:
        """A phase ended or a service changed state: findings and the verdict may differ."""
        return bool(self.finished) or any(
            previous is None or previous.status != sample.status
            for previous, sample in self.samples)

    def __bool__(self) -> bool:
        return bool(self.phases or self.gaps or self.all_gaps or self.started or self.finished
                    or self.failed or self.cleared or self.samples or self.frames)


class LiveEvidence:
    """Per-phase state, counts, merges, the failure index and gap membership of one run."""

    def __init__(self, phase_names: Sequence[str], gaps: Sequence[GapConfig] = (), *,
                 requires: Mapping[str, Sequence[str]] | None = None,
                 services: Sequence[str] = (), clock: Callable[[], float] = time.time) -> None:
        self.phase_names = tuple(phase_names)
        self.gap_config = tuple(gaps)
        self.requires = {name: tuple(names) for name, names in (requires or {}).items()}
        self.service_names = tuple(services)
        self.clock = clock
        self.phases: dict[str, PhaseLive] = {name: PhaseLive(name) for name in self.phase_names}
        self.samples: dict[str, ServiceSample] = {}
        self.failures: dict[str, TestResult] = {}  # failure key -> result, in arrival order
        self.matrix = MatrixBuilder(gaps, self.phase_names)

    @classmethod
    def for_config(cls, config: Config, clock: Callable[[], float] = time.time) -> LiveEvidence:
        return cls([phase.name for phase in config.phases], config.gaps,
                   requires={phase.name: phase.requires for phase in config.phases},
                   services=[service.name for service in config.services], clock=clock)

    # ------------------------------------------------------------------ reading

    def phase(self, name: str) -> PhaseLive:
        """The phase's live state; a phase the configuration does not name is added."""
        live = self.phases.get(name)
        if live is None:
            live = self.phases[name] = PhaseLive(name)
        return live

    @property
    def running(self) -> frozenset[str]:
        return frozenset(name for name, live in self.phases.items() if live.status == RUNNING)

    def gaps_of(self, result: TestResult) -> tuple[str, ...]:
        """The gaps a test (or collection error) counts in, as the matrix counted it."""
        collect = result.when == "collect"
        known = self.matrix.gaps_of(result.phase, result.nodeid, collection_error=collect)
        if known:
            return known
        if collect:
            return gaps_for_path(result.nodeid, self.gap_config, self.phase_names)
        return gaps_for_test(result, self.gap_config, self.phase_names)

    def runs(self, *, unfinished: bool = False) -> list[PhaseRun]:
        """The evidence to judge, in configured order: each phase's final run.

        A phase still being rerun with `--lf` counts with its previous run. With `unfinished`,
        a phase still running counts too, as interrupted with what it streamed (the run is
        being stopped and its runner could not say so itself).
        """
        runs: list[PhaseRun] = []
        now = self.clock()
        for live in self.phases.values():
            if live.run is not None:
                runs.append(live.run)
            elif unfinished and live.status == RUNNING:
                runs.append(live.snapshot(now))
            elif live.previous is not None:
                runs.append(live.previous)
        return runs

    def service_samples(self) -> list[ServiceSample]:
        """The latest sample of each service, configured services first, in their order."""
        order = {name: index for index, name in enumerate(self.service_names)}
        return sorted(self.samples.values(),
                      key=lambda sample: order.get(sample.name, len(order)))

    # ------------------------------------------------------------------ planning

    def plan(self, names: Sequence[str], *, merge: bool = False) -> Change:
        """A new plan of phases replaces whatever runs (its late events are someone else's to
        drop). A merged plan (`--lf`) keeps each phase's results to lay the rerun over."""
        change = Change(all_gaps=True)
        for live in self.phases.values():
            if live.status == RUNNING:
                live.status, live.note, live.merging = "interrupted", "stopped for a rerun", False
                live.duration_s = (self.clock() - live.started_at) if live.started_at else None
                change.phases.add(live.name)
        for name in names:
            live = self.phase(name)
            live.merging = merge and live.run is not None
            if not live.merging:
                self._forget(live, change)
            live.status, live.note = "pending", "queued"
            change.phases.add(name)
        return change

    def _forget(self, live: PhaseLive, change: Change) -> None:
        live.forget()
        self.matrix.reset_phase(live.name)
        stale = [key for key in self.failures if split_key(key)[0] == live.name]
        for key in stale:
            del self.failures[key]
        change.cleared += stale
        change.all_gaps = True

    # ------------------------------------------------------------------ folding

    def fold(self, event: object, change: Change | None = None) -> Change:
        """Take in one event; what changed, added to `change` when given (a frame's worth of
        folds then costs one `Change`). Raises TypeError for what is not evidence."""
        if change is None:
            change = Change()
        if isinstance(event, TestFinished):
            self._add_result(event.phase, event.result, change)
        elif isinstance(event, StreamEvent):
            change.frames.append(event)
        elif isinstance(event, ServiceSample):
            change.samples.append((self.samples.get(event.name), event))
            self.samples[event.name] = event
        elif isinstance(event, PhaseStarted):
            self._started(event, change)
        elif isinstance(event, TestsCollected):
            live = self.phase(event.phase)
            # The --lf session collects a subset; the phase keeps its full total.
            if not (live.merging and live.collected):
                # pytest counts deselected items in "collected"; they never run, so progress
                # is done / selected (a runner's second session deselecting all adds nothing).
                live.collected += max(0, event.count - event.deselected)
                change.phases.add(event.phase)
        elif isinstance(event, CollectionErrored):
            self._add_error(event.phase, event.error, change)
        elif isinstance(event, PhaseFinished):
            self._finished(event.run, change)
        elif not isinstance(event, WarningRecorded):  # warnings are judged from the final run
            raise TypeError(f"claimcheck cannot take {type(event).__name__} as evidence")
        return change

    def fold_all(self, events: Iterable[object]) -> Change:
        change = Change()
        for event in events:
            self.fold(event, change)
        return change

    def _started(self, event: PhaseStarted, change: Change) -> None:
        live = self.phase(event.phase)
        if live.merging:
            live.previous, live.run = live.run or live.previous, None
        else:
            self._forget(live, change)
        live.status, live.started_at, live.duration_s = RUNNING, event.started_at, None
        live.note = "rerunning what failed (--lf)" if live.merging else ""
        change.phases.add(event.phase)
        change.started.append(event.phase)
        change.all_gaps = True

    def _add_result(self, phase: str, result: TestResult, change: Change, *,
                    quiet: bool = False) -> None:
        live = self.phase(phase)
        old = live.results.get(result.nodeid)
        if old == result:
            return
        if old is not None:
            live.outcomes[old.outcome] -= 1
        live.outcomes[result.outcome] += 1
        live.results[result.nodeid] = result
        change.phases.add(phase)
        change.gaps.update(self.matrix.add_result(phase, result))
        key = failure_key(phase, result.nodeid)
        if result.outcome in FAILED_OUTCOMES:
            self.failures[key] = result
            change.failed.append(result)
        elif key in self.failures:
            del self.failures[key]
            change.cleared.append(key)
        if quiet:
            return
        if result.outcome == "skipped":
            change.skipped[phase] += 1
        elif result.outcome not in FAILED_OUTCOMES:
            change.passed[phase] += 1

    def _add_error(self, phase: str, error: CollectionError, change: Change) -> None:
        live = self.phase(phase)
        live.errors[error.path] = error
        change.phases.add(phase)
        change.gaps.update(self.matrix.add_collection_error(phase, error))
        failure = failure_of(phase, error)
        self.failures[failure_key(phase, error.path)] = failure
        change.failed.append(failure)
        change.collection_errors.append((phase, error))

    def _finished(self, run: PhaseRun, change: Change) -> None:
        live = self.phase(run.name)
        if live.merging:
            run = merge_runs(live.previous, run)
        if run.status == "interrupted":
            run = self._with_everything_streamed(live, run)
        # The final run is authoritative: apply what streaming missed or got otherwise.
        for test in run.tests:
            if live.results.get(test.nodeid) != test:
                self._add_result(run.name, test, change, quiet=True)
        for error in run.collection_errors:
            if error.path not in live.errors:
                self._add_error(run.name, error, change)
        live.run, live.previous, live.merging = run, None, False
        live.status = run.status
        live.duration_s = run.duration_s
        live.collected = selected(run.counts) or live.collected
        live.note = run.reason or ""
        live.blocker = self._blocker(run) if run.status == "blocked" else ""
        change.phases.add(run.name)
        change.finished.append(run)
        change.all_gaps = True

    def _with_everything_streamed(self, live: PhaseLive, run: PhaseRun) -> PhaseRun:
        """An interrupted run keeps every result that streamed in, failures first."""
        tests = {test.nodeid: test for test in live.results.values()}
        tests.update((test.nodeid, test) for test in run.tests)
        errors = {error.path: error for error in live.errors.values()}
        errors.update((error.path, error) for error in run.collection_errors)
        ordered = failures_first(tests.values())
        counts = run.counts
        if len(ordered) != len(run.tests) or len(errors) != len(run.collection_errors):
            counts = replace(counts_of(ordered, len(errors), counts.collected),
                             deselected=counts.deselected)
        return replace(run, tests=ordered, collection_errors=tuple(errors.values()),
                       counts=counts)

    def _blocker(self, run: PhaseRun) -> str:
        """The required service that was down when the phase was due."""
        for name in self.requires.get(run.name, ()):
            sample = self.samples.get(name)
            if sample is not None and sample.status == "down":
                return name
        return ""
