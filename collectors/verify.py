"""`claimcheck verify GAP`: run only a gap's tests, everywhere it has tests, and judge strictly.

"I fixed the auth gap" becomes a check anyone can rerun. The selection uses the matrix's own
gap rule (`gaps.test_gap_namer`), never a second one: a collect-only pass per phase lists every
item with its markers (`_plugin/claimcheck_select.py`, list mode), claimcheck decides which
belong to the gap, and the phase then runs with exactly those node ids selected (select mode,
which also skips collecting files without one). Then the gap is verified only on positive
evidence:

* every phase that collects a test of the gap ran at least one of them to a pass (skips and
  xfails are not evidence), with its required services up (else it is blocked);
* no test of the gap failed or errored, and every selected test has a result;
* no file of the gap failed to collect;
* no test of the gap disappeared since the last full run on this branch (from history).

An unknown gap (or a node id no phase collects) is a usage error that lists what is known.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.gaps import node_path, test_gap_namer
from claimcheck.collectors.health import probe_all
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    Finding,
    PhaseEvent,
    PhaseRun,
    Provenance,
    RunReport,
    ServiceSample,
)
from claimcheck.collectors.pytest_run import (
    check_interpreter,
    kill_stragglers,
    run_phase,
    wait_for_stragglers,
)
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import ExitCode

SELECT_PLUGIN = "claimcheck_select"
ENV_LIST_DIR = "CLAIMCHECK_LIST_DIR"
ENV_SELECT_FILE = "CLAIMCHECK_SELECT_FILE"
EVIDENCE_OUTCOMES = frozenset({"passed", "xpassed"})
FAILING = frozenset({"failed", "error"})
UNFINISHED = frozenset({"crashed", "timeout", "interrupted", "blocked"})


class UnknownTarget(Exception):
    """A gap or node id that nothing collects: exit 4, naming what is known."""


@dataclass(frozen=True)
class Target:
    """What verify was asked to prove: gaps, node ids, or both."""

    gaps: tuple[str, ...] = ()
    nodeids: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = list(self.gaps)
        if self.nodeids:
            parts.append(self.nodeids[0] if len(self.nodeids) == 1
                         else f"{len(self.nodeids)} chosen tests")
        return ", ".join(parts)


@dataclass(frozen=True)
class Collected:
    """One phase's collect-only pass."""

    phase: str
    items: tuple[tuple[str, tuple[str, ...]], ...]  # (nodeid, markers), in collection order
    errors: tuple[CollectionError, ...]
    run: PhaseRun


@dataclass(frozen=True)
class Selection:
    phase: str
    nodeids: tuple[str, ...]
    errors: tuple[CollectionError, ...]  # collection errors in the target's files


@dataclass(frozen=True)
class PhaseEvidence:
    """What one phase proved about the target."""

    phase: str
    status: str
    selected: int
    counts: Counts
    failures: tuple[tuple[str, str], ...] = ()  # (nodeid, one-line message)
    missing: tuple[str, ...] = ()  # selected, no result
    collection_errors: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def ran(self) -> int:
        return self.counts.passed + self.counts.xpassed


@dataclass(frozen=True)
class VerifyResult:
    target: Target
    verdict: str  # green, red, no-evidence, interrupted
    exit_code: int
    reasons: tuple[str, ...]
    phases: tuple[PhaseEvidence, ...]
    disappeared: tuple[str, ...]
    baseline: str | None  # "main @ 81c0a1f" of the last full run compared with
    provenance: Provenance
    started_at: float
    duration_s: float
    report: RunReport
    titles: dict[str, str] = field(default_factory=dict)  # gap -> title
    evidence_id: str = ""
    listed_from: tuple[str, ...] = ()  # phases whose tests were listed from a stored run

    @property
    def ok(self) -> bool:
        return self.verdict == "green"


# ----------------------------------------------------------------------------------------
# Pure parts: selection and judgement


def select_targets(config: Config, collected: Sequence[Collected],
                   target: Target) -> tuple[Selection, ...]:
    """Per phase, the node ids of the target and collection errors in its files.

    Raises UnknownTarget for a gap that is neither configured nor has a collected test, and
    for a node id no phase collects (unless its file failed to collect: that is evidence).
    """
    namer = test_gap_namer(config.gaps, [phase.name for phase in config.phases])
    known = {gap.name for gap in config.gaps}
    for entry in collected:
        for nodeid, markers in entry.items:
            known.update(namer(nodeid, markers))
        for error in entry.errors:
            known.update(namer(error.path, ()))
    unknown = [gap for gap in target.gaps if gap not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none (no test was collected)"
        raise UnknownTarget(f"unknown gap {unknown[0]!r}; known gaps: {names}")
    wanted_gaps = set(target.gaps)
    wanted_ids = set(target.nodeids)
    error_files = {node_path(error.path) for entry in collected for error in entry.errors}
    all_ids = {nodeid for entry in collected for nodeid, _ in entry.items}
    for nodeid in target.nodeids:
        if nodeid not in all_ids and node_path(nodeid) not in error_files:
            raise UnknownTarget(f"no phase collects {nodeid!r}; node ids look like "
                                f"{_example(all_ids)}")
    selections = []
    for entry in collected:
        ids = tuple(nodeid for nodeid, markers in entry.items
                    if nodeid in wanted_ids or not wanted_gaps.isdisjoint(namer(nodeid, markers)))
        errors = tuple(error for error in entry.errors
                       if not wanted_gaps.isdisjoint(namer(error.path, ()))
                       or any(node_path(n) == node_path(error.path) for n in wanted_ids))
        if ids or errors:
            selections.append(Selection(phase=entry.phase, nodeids=ids, errors=errors))
    return tuple(selections)


def _example(ids: set[str]) -> str:
    return repr(sorted(ids)[0]) if ids else "tests/test_x.py::test_y (none collected)"


def gap_members(config: Config, tests: Sequence[tuple[str, tuple[str, ...]]],
                target: Target) -> set[str]:
    """The node ids among `tests` (nodeid, markers) that belong to the target."""
    namer = test_gap_namer(config.gaps, [phase.name for phase in config.phases])
    wanted = set(target.gaps)
    return {nodeid for nodeid, markers in tests
            if nodeid in target.nodeids or not wanted.isdisjoint(namer(nodeid, markers))}


def phase_evidence(selection: Selection, run: PhaseRun, collect_run: PhaseRun | None = None
                   ) -> PhaseEvidence:
    wanted = set(selection.nodeids)
    results = [test for test in run.tests if test.nodeid in wanted]
    seen = {test.nodeid for test in results}
    tally = {name: 0 for name in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
    for test in results:
        tally[test.outcome] = tally.get(test.outcome, 0) + 1
    errors = {error.path for error in selection.errors}
    errors.update(error.path for error in run.collection_errors
                  if any(node_path(n) == node_path(error.path) for n in wanted))
    reason = run.reason
    status = run.status
    if collect_run is not None and collect_run.status in UNFINISHED:
        status = collect_run.status
        reason = f"collection did not finish: {collect_run.reason or collect_run.status}"
    return PhaseEvidence(
        phase=selection.phase, status=status, selected=len(wanted),
        counts=Counts(collected=len(wanted), passed=tally["passed"], failed=tally["failed"],
                      error=tally["error"] + len(errors), skipped=tally["skipped"],
                      xfailed=tally["xfailed"], xpassed=tally["xpassed"]),
        failures=tuple((t.nodeid, _first_line(t.message) or t.outcome)
                       for t in results if t.outcome in FAILING),
        missing=tuple(nodeid for nodeid in selection.nodeids if nodeid not in seen),
        collection_errors=tuple(sorted(errors)),
        reason=reason,
    )


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def judge_verify(target: Target, evidence: Sequence[PhaseEvidence],
                 disappeared: Sequence[str], *, interrupted: bool = False,
                 broken_rules: Sequence[Finding] = ()) -> tuple[str, int, list[str]]:
    """The verdict on the target: green only on positive evidence (module docstring).

    `broken_rules`: single-source rules broken in the target gaps' files (a gap whose
    "single source of truth" is defined three times is not fixed, whatever its tests say).
    """
    what = target.describe()
    red: list[str] = [f"single-source rule broken in {', '.join(rule.gaps) or what}: "
                      f"{rule.subject or rule.message}"
                      + (f" is defined in {len(rule.files)} files: {', '.join(rule.files[:3])}"
                         if rule.kind == "duplicate-definition" and rule.files else "")
                      for rule in broken_rules]
    empty: list[str] = []
    for phase in evidence:
        if phase.status == "blocked":
            red.append(f"{phase.phase}: {phase.reason or 'blocked'}")
            continue
        if phase.status in ("crashed", "timeout"):
            red.append(f"{phase.phase}: {phase.status}" +
                       (f" ({phase.reason})" if phase.reason else ""))
        if phase.collection_errors:
            red.append(f"{phase.phase}: {len(phase.collection_errors)} file(s) of {what} failed "
                       f"to collect: {', '.join(phase.collection_errors[:3])}")
        if phase.failures:
            names = ", ".join(nodeid for nodeid, _ in phase.failures[:3])
            more = f" and {len(phase.failures) - 3} more" if len(phase.failures) > 3 else ""
            red.append(f"{phase.phase}: {len(phase.failures)} failing: {names}{more}")
        if phase.missing and phase.status not in ("crashed", "timeout", "interrupted"):
            red.append(f"{phase.phase}: {len(phase.missing)} selected test(s) have no result: "
                       f"{', '.join(phase.missing[:3])}")
        if phase.ran == 0 and not phase.collection_errors:
            skipped = phase.counts.skipped + phase.counts.xfailed
            note = f" ({skipped} skipped or xfailed: not evidence)" if skipped else ""
            empty.append(f"{phase.phase}: no test of {what} passed{note}")
    if disappeared:
        red.append(f"{len(disappeared)} test(s) of {what} disappeared since the last full run: "
                   f"{', '.join(disappeared[:3])}" + (" ..." if len(disappeared) > 3 else ""))
    if interrupted or any(phase.status == "interrupted" for phase in evidence):
        return "interrupted", int(ExitCode.INTERRUPTED), ["interrupted", *red]
    if red:
        return "red", int(ExitCode.RED), red + empty
    if not evidence:
        return "no-evidence", int(ExitCode.NO_EVIDENCE), [f"no phase collects a test of {what}"]
    if empty:
        return "no-evidence", int(ExitCode.NO_EVIDENCE), empty
    return "green", int(ExitCode.GREEN), []


# ----------------------------------------------------------------------------------------
# Running


async def collect_phase(phase: PhaseConfig, config: Config) -> Collected:
    """The phase's collect-only pass: every item (after the project's own selection)."""
    folder = tempfile.mkdtemp(prefix="claimcheck-list-")
    try:
        environ = dict(os.environ)
        environ[ENV_LIST_DIR] = folder
        run = await run_phase(phase, config, None,
                              extra_args=("--collect-only", "-p", SELECT_PLUGIN), env=environ)
        items: list[tuple[str, tuple[str, ...]]] = []
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        entry = json.loads(line)
                        items.append((str(entry["nodeid"]),
                                      tuple(str(m) for m in entry.get("markers") or ())))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Collected(phase=phase.name, items=tuple(dict.fromkeys(items)),
                     errors=run.collection_errors, run=run)


async def run_selected(phase: PhaseConfig, config: Config, nodeids: Sequence[str],
                       on_event: Callable[[PhaseEvent], None] | None = None) -> PhaseRun:
    handle, path = tempfile.mkstemp(prefix="claimcheck-select-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(list(nodeids), file)
        environ = dict(os.environ)
        environ[ENV_SELECT_FILE] = path
        return await run_phase(phase, config, on_event, extra_args=("-p", SELECT_PLUGIN),
                               env=environ)
    finally:
        os.unlink(path)


async def gather_verify(
    config: Config,
    target: Target,
    *,
    on_event: Callable[[PhaseEvent], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    last_full: Callable[[Provenance, Sequence[Collected]], tuple[str | None, list[str]]]
    | None = None,
    stored_listing: Callable[[Provenance, PhaseConfig], Collected | None] | None = None,
) -> VerifyResult:
    """Collect, select, run and judge. `last_full(provenance, collected)` returns the last full
    run's name and the target's tests it had that are not collected in the target now.

    `stored_listing(provenance, phase)` may return what the phase collected in a complete run
    of this very commit on a clean tree (same configuration, same host), which saves the
    collect-only pass; only consulted when this tree is clean too."""
    from claimcheck.collectors.session import assemble_report, provenance_of

    note = on_note or (lambda text: None)
    started_at = time.time()
    provenance = await asyncio.to_thread(provenance_of, config)
    await asyncio.to_thread(check_interpreter, config)
    runs: list[PhaseRun] = []
    evidence: list[PhaseEvidence] = []
    samples: dict[str, ServiceSample] = {}
    interrupted = False
    try:
        collected = []
        listed_from: list[str] = []
        for phase in config.phases:
            known = None
            if stored_listing is not None and provenance.commit and not provenance.dirty:
                known = await asyncio.to_thread(stored_listing, provenance, phase)
            if known is not None:
                listed_from.append(f"{phase.name}: {known.run.reason}")
                collected.append(known)
                continue
            note(f"{phase.name}: collecting")
            collected.append(await collect_phase(phase, config))
        selections = select_targets(config, collected, target)
        by_collect = {entry.phase: entry.run for entry in collected}
        for selection in selections:
            phase = config.phase(selection.phase)
            blocker = await _blocker(config, phase, samples)
            if blocker is not None:
                run = PhaseRun(name=phase.name, status="blocked", exit_code=None, duration_s=0.0,
                               counts=Counts(), reason=f"blocked by {blocker.name}: "
                                                       f"{blocker.detail}",
                               started_at=time.time())
            elif selection.nodeids:
                note(f"{phase.name}: running {len(selection.nodeids)} selected tests")
                run = await run_selected(phase, config, selection.nodeids, on_event)
            else:
                run = PhaseRun(name=phase.name, status="error", exit_code=None, duration_s=0.0,
                               counts=Counts(error=len(selection.errors)),
                               collection_errors=selection.errors, started_at=time.time())
            runs.append(run)
            evidence.append(phase_evidence(selection, run, by_collect.get(phase.name)))
            if run.status == "interrupted":
                interrupted = True
                break
        baseline, disappeared = (None, [])
        if last_full is not None and not interrupted:
            baseline, disappeared = await asyncio.to_thread(last_full, provenance, collected)
    except asyncio.CancelledError:
        interrupted = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        await kill_stragglers()
        selections, disappeared, baseline = (), [], None
        listed_from = []
    broken_rules = await asyncio.to_thread(_broken_rules, config, target, runs)
    verdict, exit_code, reasons = judge_verify(target, evidence, disappeared,
                                               interrupted=interrupted, broken_rules=broken_rules)
    ordered = [samples[s.name] for s in config.services if s.name in samples]
    report = await asyncio.to_thread(assemble_report, config, runs, ordered, started_at,
                                     interrupted=interrupted, provenance=provenance)
    # The run is stored and shown with verify's stricter verdict, never the phases' own.
    report = replace(report, verdict=verdict, exit_code=exit_code)
    titles = {gap.name: gap.title for gap in config.gaps}
    return VerifyResult(
        target=target, verdict=verdict, exit_code=exit_code, reasons=tuple(reasons),
        phases=tuple(evidence), disappeared=tuple(disappeared), baseline=baseline,
        provenance=provenance, started_at=started_at, duration_s=time.time() - started_at,
        report=report, titles=titles, listed_from=tuple(listed_from))


def _broken_rules(config: Config, target: Target, runs: Sequence[PhaseRun]) -> list[Finding]:
    """The single-source rules broken in the files of the gaps verify was asked about."""
    from claimcheck.collectors.source_audit import single_source_violations

    found: dict[tuple[str, str | None], Finding] = {}
    for gap in target.gaps:
        for rule in single_source_violations(config, gap, runs=runs):
            found.setdefault((rule.kind, rule.subject), rule)
    return list(found.values())


async def _blocker(config: Config, phase: PhaseConfig,
                   samples: dict[str, ServiceSample]) -> ServiceSample | None:
    """The first required service of `phase` that is down, probed now."""
    if not phase.requires:
        return None
    services = [config.service(name) for name in phase.requires]
    for sample in await probe_all(services, redactor=Redactor(config.secrets)):
        samples[sample.name] = sample
    for name in phase.requires:
        sample = samples.get(name)
        if sample is not None and sample.status == "down":
            return sample
    return None


async def finish_stragglers() -> None:
    try:
        await wait_for_stragglers()
    except asyncio.CancelledError:
        await kill_stragglers()
