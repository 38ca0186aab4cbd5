"""Building RunReports for history tests without running pytest (the store and the rules are
what these tests exercise; tests/test_verify.py and test_history_cli.py run real pytest)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Mapping

from claimcheck.collectors.config import Config, GapConfig
from claimcheck.collectors.gaps import gap_matrix
from claimcheck.collectors.history import HistoryStore
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    PhaseRun,
    Provenance,
    RunReport,
    TestResult,
)
from claimcheck.collectors.recording import judge_with_history
from claimcheck.collectors.verdict import verdict_and_exit

HOST = socket.gethostname()


def config_at(root: Path, gaps: tuple[GapConfig, ...] = ()) -> Config:
    return Config(root=root, source=None, python=sys.executable, phases=(), gaps=gaps)


def phase(name: str, outcomes: Mapping[str, str], *, status: str | None = None,
          collected: int | None = None, errors: tuple[str, ...] = (),
          reruns: Mapping[str, int] | None = None,
          markers: Mapping[str, tuple[str, ...]] | None = None) -> PhaseRun:
    tests = tuple(
        TestResult(nodeid=nodeid, outcome=outcome, phase=name, duration_s=0.01,
                   message="assert 1 == 2" if outcome == "failed" else None,
                   reruns=(reruns or {}).get(nodeid, 0), markers=(markers or {}).get(nodeid, ()))
        for nodeid, outcome in outcomes.items())
    tally = {key: sum(1 for o in outcomes.values() if o == key)
             for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")}
    counts = Counts(collected=len(outcomes) if collected is None else collected,
                    passed=tally["passed"], failed=tally["failed"],
                    error=tally["error"] + len(errors), skipped=tally["skipped"],
                    xfailed=tally["xfailed"], xpassed=tally["xpassed"])
    if status is None:
        status = "failed" if tally["failed"] or tally["error"] else (
            "error" if errors else "passed" if outcomes else "no-tests")
    return PhaseRun(name=name, status=status, exit_code=0, duration_s=0.1, counts=counts,
                    tests=tests, collection_errors=tuple(
                        CollectionError(path=p, error_type="ImportError", message="boom")
                        for p in errors))


def report(config: Config, *phases: PhaseRun, started_at: float, commit: str | None = "a" * 40,
           branch: str | None = "main", dirty: bool = False) -> RunReport:
    verdict, code = verdict_and_exit(phases, ())
    return RunReport(project=str(config.root), started_at=started_at, duration_s=1.0,
                     phases=phases, gaps=gap_matrix(phases, config.gaps), findings=(),
                     services=(), verdict=verdict, exit_code=code, tool_version="test",
                     provenance=Provenance(commit=commit, branch=branch, dirty=dirty, host=HOST,
                                           config_digest="d"))


def record(store: HistoryStore, config: Config, run: RunReport, scope: str = "full") -> RunReport:
    """Store `run` the way a real run is stored, and return it judged over time."""
    run_id = store.begin_run(project=run.project, started_at=run.started_at,
                             provenance=run.provenance, scope=scope)
    for phase_run in run.phases:
        store.store_phase(run_id, phase_run, lambda text: text)
    judged = judge_with_history(run, config, store, run_id, scope)
    store.finish_run(run_id, judged, lambda text: text, [p.name for p in run.phases])
    return judged
