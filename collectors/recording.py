"""A run, remembered and judged over time: history writes, what changed, flaky, claims.

`RunRecorder` is the one hook a run needs (`--report` now, the TUI later): `start()` before
the phases, `on_event` for every phase event (each finished phase is stored at once, so a
claimcheck killed mid-run keeps it), and `finish(report)` after the report is assembled, which
returns the report with `changes`, `claims`, their findings and the verdict they imply.

Every database call happens on one worker thread that owns the connection, so storing a
20,000-test phase never stalls the event loop streaming the next phase. History is an aid, not
a precondition: should the database fail (locked past the timeout, disk full, written by a
newer claimcheck), the run goes on and its report is still written, with one warning; the
claims ledger is judged either way.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.secrets import Redactor

from claimcheck import __version__

if TYPE_CHECKING:
    from claimcheck.collectors.history import HistoryStore
    from claimcheck.collectors.models import (
        Finding,
        PhaseRun,
        Provenance,
        RunChanges,
        RunReport,
    )

# Importing this module costs nothing a run does not need before its first phase starts: the
# history (sqlite3), the comparisons and the claims ledger are imported on the recorder's own
# thread, when it starts.

FLIP_RUNS = 9  # earlier runs looked at for flips; with this one, the last ten


class RunRecorder:
    """Stores one run in the history as it happens and judges it over time when it ends."""

    def __init__(self, config: Config, history: Path | None, *, scope: str = "full",
                 warn: Callable[[str], None] | None = None,
                 provenance: Callable[[], Provenance] | None = None,
                 phases: Collection[str] | None = None) -> None:
        self.config = config
        self.history = history
        self.scope = scope
        # The phases this run ran, when its report shows more: the command center's rerun of
        # one phase is judged with every phase on screen, but only what ran is stored as this
        # run's. None: every phase of the report.
        self.phases = None if phases is None else frozenset(phases)
        self.warn = warn or (lambda message: None)
        self.redact = Redactor(config.secrets)
        self.store: HistoryStore | None = None
        self.run_id: int | None = None
        self.stored: list[str] = []
        self._failed = history is None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cc-history")
        self._started_at = time.time()
        self._provenance = provenance
        self._started = False
        self._finished_type: type | None = None

    # -- the hook ------------------------------------------------------------------------

    def start(self, started_at: float | None = None) -> Future[Any]:
        """Open the history and write the run's row; returns at once (the work is threaded).

        Called before the phases, or left to the first event, which comes once the first
        phase's pytest has been spawned: then opening the database neither delays that spawn
        nor waits until the run ends. The run's start is when the recorder was made, unless
        `started_at` says otherwise."""
        if started_at:
            self._started_at = started_at
        self._started = True
        return self._submit(self._begin)

    def on_event(self, event: object) -> None:
        if not self._started:
            self.start()
        if self._finished_type is None:
            from claimcheck.collectors.models import PhaseFinished

            self._finished_type = PhaseFinished
        if isinstance(event, self._finished_type) and (
                self.phases is None or event.run.name in self.phases):  # type: ignore[attr-defined]
            self._submit(self._store_phase, event.run)  # type: ignore[attr-defined]

    def finish(self, report: RunReport) -> RunReport:
        """Blocking: the judged report, stored. Call from a thread when on an event loop."""
        if not self._started:
            self.start()
        try:
            return self._executor.submit(self._finish, report).result()
        finally:
            self._executor.shutdown(wait=True)

    def close(self) -> None:
        """Close the database without judging (the run failed before it had a report)."""
        try:
            self._executor.submit(self._close_store).result()
        except RuntimeError:
            pass  # finish() already closed it
        self._executor.shutdown(wait=True)

    def _close_store(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- on the worker thread ----------------------------------------------------------

    def _submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        try:
            return self._executor.submit(self._guarded, function, *args)
        except RuntimeError:  # shut down: a late event after finish
            done: Future[Any] = Future()
            done.set_result(None)
            return done

    def _guarded(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._failed:
            return None
        import sqlite3

        from claimcheck.collectors.history import HistoryError

        try:
            return function(*args)
        except (HistoryError, sqlite3.Error, OSError) as error:
            self._give_up(error)
            return None

    def _give_up(self, error: BaseException) -> None:
        import sqlite3

        self._failed = True
        where = self.history
        self.warn(f"history not recorded ({where}): {error}")
        if self.store is not None:
            try:
                self.store.close()
            except sqlite3.Error:
                pass
            self.store = None

    def _begin(self) -> None:
        # What judges the run over time at its end, imported now, while the phase runs.
        from claimcheck.collectors import changes, claims  # noqa: F401
        from claimcheck.collectors.history import HistoryStore

        provenance = self._provenance
        if provenance is None:
            from claimcheck.collectors.session import provenance_once

            provenance = self._provenance = provenance_once(self.config)
        assert self.history is not None
        self.store = HistoryStore(self.history, warn=self.warn)
        self.run_id = self.store.begin_run(
            project=self.redact(str(self.config.root)), started_at=self._started_at,
            provenance=provenance(), scope=self.scope, tool_version=__version__)

    def _store_phase(self, run: PhaseRun) -> None:
        if self.store is None or self.run_id is None:
            return
        self.store.store_phase(self.run_id, run, self.redact)
        self.stored.append(run.name)

    def _finish(self, report: RunReport) -> RunReport:
        import sqlite3

        from claimcheck.collectors.history import HistoryError

        store = self.store if not self._failed else None
        try:
            judged = judge_with_history(report, self.config, store, self.run_id, self.scope)
        except (sqlite3.Error, HistoryError) as error:
            self._give_up(error)
            judged = judge_with_history(report, self.config, None, None, self.scope)
        if self.store is not None and self.run_id is not None and not self._failed:
            # finish_run stores every phase of the report not stored yet: those this run did
            # not run are passed as if stored, so they are not.
            skipped = [] if self.phases is None else [
                run.name for run in judged.phases if run.name not in self.phases]
            try:
                self.store.finish_run(self.run_id, judged, self.redact,
                                      [*self.stored, *skipped])
                judged = _with_id(judged, self.run_id)
            except (sqlite3.Error, OSError) as error:
                self._give_up(error)
        if self.store is not None:
            self.store.close()
            self.store = None
        return judged


def _with_id(report: RunReport, run_id: int) -> RunReport:
    from dataclasses import replace

    return replace(report, history_id=run_id)


# ----------------------------------------------------------------------------------------


def judge_with_history(report: RunReport, config: Config, store: HistoryStore | None,
                       run_id: int | None, scope: str = "full", *,
                       check_claims: bool = True) -> RunReport:
    """`report` with what changed (when `store` is given and the run is comparable), its flaky
    tests, and every open claim judged; the verdict follows (collectors/changes.py).

    `check_claims=False` for a report imported from elsewhere: the ledger in this checkout is
    about this checkout's code."""
    from claimcheck.collectors.changes import judge_over_time
    from claimcheck.collectors.claims import (
        ClaimsError,
        claim_findings,
        judge_claims,
        load_claims,
        red_streak_start,
    )
    from claimcheck.collectors.history import COMPARABLE_SCOPES
    from claimcheck.collectors.models import Finding

    findings: list[Finding] = []
    changes = None
    provenance = report.provenance
    branch = provenance.branch if provenance else None
    if store is not None and scope in COMPARABLE_SCOPES:
        changes = _changes(report, store, run_id, findings)
        if scope == "full":
            findings.extend(_phases_gone(report, store, run_id))
    claims: tuple = ()
    if scope in COMPARABLE_SCOPES and check_claims:
        try:
            ledger = load_claims(config.root)
        except ClaimsError as error:
            ledger = []
            findings.append(Finding(kind="claim-broken", phase=None, path="claims.toml",
                                    line=None, message=f"{error}; no claim could be checked"))
        if ledger:
            def red_since(gap: str) -> str | None:
                current = provenance.short_commit if provenance else None
                if store is None:
                    return current
                earlier = store.gap_statuses(gap, branch, before=report.started_at,
                                             exclude=run_id)
                return red_streak_start(current, [(ref.commit, status)
                                                  for ref, status in earlier])

            configured = [gap.name for gap in config.gaps] if config.gaps else None
            claims = judge_claims(ledger, report, configured_gaps=configured,
                                  red_since=red_since)
            findings.extend(claim_findings(claims))
    return judge_over_time(report, changes, claims, findings)


def _phases_gone(report: RunReport, store: HistoryStore, run_id: int | None) -> list[Finding]:
    """A phase the last full run had, with tests, that this full run does not have at all: its
    tests vanished with it (a phase renamed or dropped from the configuration)."""
    from claimcheck.collectors.models import Finding

    branch = report.provenance.branch if report.provenance else None
    last = store.last_full_phases(branch, before=report.started_at, exclude=run_id)
    if last is None:
        return []
    ref, counts = last
    present = {run.name for run in report.phases}
    findings = []
    for name, count in counts.items():
        if name in present or not count:
            continue
        findings.append(Finding(
            kind="tests-disappeared", phase=name, path=None, line=None, count=count,
            message=(f"phase {name} ran {count} tests in the last full run "
                     f"({ref.branch or 'detached'} @ {ref.short_commit}) and is not in this "
                     "one: renamed or removed from the configuration; if on purpose, the next "
                     "run compares with this one")))
    return findings


def _changes(report: RunReport, store: HistoryStore, run_id: int | None,
             findings: list[Finding]) -> RunChanges:
    from claimcheck.collectors.changes import (
        compare_phase,
        disappeared_finding,
        flaky_tests,
        outcome_class,
    )
    from claimcheck.collectors.models import RunChanges

    provenance = report.provenance
    branch = provenance.branch if provenance else None
    phases = []
    same_commit: dict[str, dict[str, set[str]]] = {}
    sequences: dict[str, dict[str, list[str | None]]] = {}
    for run in report.phases:
        if run.status == "blocked":
            continue
        base = store.baseline_phase(branch, run.name, before=report.started_at, exclude=run_id)
        change = compare_phase(
            run, base.ref if base else None, before=base.outcomes if base else None,
            collected_before=base.collected if base else 0,
            errors_before=base.collection_errors if base else ())
        phases.append(change)
        finding = disappeared_finding(change, run, run.deselected_ids)
        if finding is not None:
            findings.append(finding)
        now = {test.nodeid: test.outcome for test in run.tests}
        failing_now = {nodeid for nodeid, outcome in now.items() if outcome_class(outcome)
                       == "fail"}
        if provenance is not None and provenance.commit:
            refs = store.clean_runs_at(provenance.commit, run.name, exclude=run_id)
            ids = [ref.run_id for ref in refs]
            candidates = failing_now | store.failing_ids(ids, run.name)
            if candidates and (ids or not provenance.dirty):
                seen: dict[str, set[str]] = {}
                for outcomes in store.outcomes_of(ids, run.name, candidates).values():
                    for nodeid, outcome in outcomes.items():
                        kind = outcome_class(outcome)
                        if kind:
                            seen.setdefault(nodeid, set()).add(kind)
                if not provenance.dirty:
                    for nodeid in candidates:
                        kind = outcome_class(now.get(nodeid))
                        if kind:
                            seen.setdefault(nodeid, set()).add(kind)
                same_commit[run.name] = seen
        refs = store.recent_phase_runs(branch, run.name, before=report.started_at,
                                       exclude=run_id, limit=FLIP_RUNS)
        ids = [ref.run_id for ref in reversed(refs)]  # oldest first
        candidates = failing_now | store.failing_ids(ids, run.name)
        if ids and candidates:
            by_run = store.outcomes_of(ids, run.name, candidates)
            sequences[run.name] = {
                nodeid: [outcome_class(by_run[i].get(nodeid)) for i in ids]
                + [outcome_class(now.get(nodeid))]
                for nodeid in candidates
            }
    flaky = flaky_tests(report.phases, same_commit=same_commit, sequences=sequences,
                        commit=provenance.commit if provenance else None)
    return RunChanges(branch=branch, phases=tuple(phases), flaky=flaky)


def history_location(root: Path, explicit: Path | None, disabled: bool) -> Path | None:
    """Where this run's history goes: `--history PATH`, none with `--no-history`, else the
    project's `.claimcheck/history.db`."""
    from claimcheck.collectors.history_schema import default_history_path

    if disabled:
        return None
    if explicit is not None:
        return Path(explicit)
    return default_history_path(root)


def run_scope(phases: Sequence[str] | None, services_only: bool) -> str:
    """"full" when every phase runs: only such runs are what verify calls the last full run."""
    if services_only:
        return "services"
    return "partial" if phases else "full"


def fan_out(*sinks: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """One event callback calling each given one in order (None when none is given)."""
    live = [sink for sink in sinks if sink is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0]

    def emit(event: Any) -> None:
        for sink in live:
            sink(event)

    return emit


HISTORY_FINDINGS = frozenset({"tests-disappeared", "claim-broken", "claim-stale"})


def import_report(store: HistoryStore, config: Config, report: RunReport, *, source: str,
                  digest: str) -> RunReport:
    """Store a report made elsewhere (scope `import`), compared with this history's runs.

    Findings the other machine drew from its own history are dropped and drawn again from
    this one, so one vanished test is never reported twice.
    """
    from dataclasses import replace

    redact = Redactor(config.secrets)
    report = replace(report, findings=tuple(f for f in report.findings
                                            if f.kind not in HISTORY_FINDINGS))
    run_id = store.begin_run(project=report.project, started_at=report.started_at,
                             provenance=report.provenance, scope="import",
                             tool_version=report.tool_version, source=source,
                             source_digest=digest, pid=0)
    for run in report.phases:
        store.store_phase(run_id, run, redact)
    judged = judge_with_history(report, config, store, run_id, "import", check_claims=False)
    store.finish_run(run_id, judged, redact, [run.name for run in report.phases])
    return replace(judged, history_id=run_id)
