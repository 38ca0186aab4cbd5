"""What the command center compares a run with (collectors/trend.py): pure rules, and the
baseline read back from a real history database."""

from __future__ import annotations

from pathlib import Path

import pytest
from claimcheck.collectors.config import Config, GapConfig, PhaseConfig
from claimcheck.collectors.history import HistoryStore
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    GapCell,
    PhaseFinished,
    PhaseRun,
    TestResult,
)
from claimcheck.collectors.recording import RunRecorder
from claimcheck.collectors.session import assemble_report
from claimcheck.collectors.trend import (
    Baseline,
    HistoryJudgement,
    cell_change,
    read_baseline,
)

RED_1_OF_3 = GapCell(passed=2, failed=1)
RED_2_OF_3 = GapCell(passed=1, error=2)
GREEN_3 = GapCell(passed=3)
GREEN_2 = GapCell(passed=2)
SKIPPED = GapCell(skipped=2)


@pytest.mark.parametrize(("before", "now", "change"), [
    (GREEN_3, RED_1_OF_3, "worse"),
    (RED_1_OF_3, GREEN_3, "better"),
    (RED_1_OF_3, RED_2_OF_3, "worse"),
    (RED_2_OF_3, RED_1_OF_3, "better"),
    (RED_1_OF_3, GapCell(passed=5, failed=1), None),  # as many failing: no mark
    (GREEN_3, GREEN_2, "worse"),  # a test of the gap stopped running
    (GREEN_2, GREEN_3, None),  # one more test: not a change worth a mark
    (GREEN_3, None, "worse"),  # no evidence now
    (RED_1_OF_3, SKIPPED, "worse"),  # evidence lost is never better
    (None, GREEN_3, "better"),
    (None, RED_1_OF_3, "worse"),
    (SKIPPED, None, None),
    (None, None, None),
])
def test_a_cell_is_worse_or_better_than_its_baseline(before, now, change) -> None:
    assert cell_change(before, now) == change


def config_in(root: Path) -> Config:
    return Config(root=root, source=None, python="python",
                  phases=(PhaseConfig("unit", pytest=()), PhaseConfig("integration", pytest=())),
                  gaps=(GapConfig("auth", "Auth", match=("*auth*",)),))


def run_of(name: str, tests: list[TestResult], errors: tuple[CollectionError, ...] = ()
           ) -> PhaseRun:
    failed = sum(test.outcome == "failed" for test in tests)
    return PhaseRun(name=name, status="failed" if failed or errors else "passed",
                    exit_code=1 if failed else 0, duration_s=0.1,
                    counts=Counts(collected=len(tests), passed=len(tests) - failed,
                                  failed=failed, error=len(errors)),
                    tests=tuple(tests), collection_errors=errors, started_at=1.0)


def record(config: Config, history: Path, runs: list[PhaseRun], started_at: float, *,
           scope: str = "full", phases: list[str] | None = None):
    recorder = RunRecorder(config, history, scope=scope, phases=phases)
    recorder.start(started_at).result()
    for run in runs:
        recorder.on_event(PhaseFinished(run.name, run))
    return recorder.finish(assemble_report(config, runs, [], started_at, now=started_at + 1))


def test_the_baseline_is_the_run_the_recorder_compares_with(tmp_path) -> None:
    config, history = config_in(tmp_path), tmp_path / "history.db"
    broken = CollectionError("tests/test_db.py", "ImportError", "no db", "")
    first = [run_of("unit", [TestResult("tests/test_auth.py::test_a", "failed", "unit"),
                             TestResult("tests/test_auth.py::test_b", "passed", "unit")],
                    (broken,)),
             run_of("integration", [TestResult("tests/it/test_x.py::test_x", "passed",
                                               "integration")])]
    record(config, history, first, 100.0)
    with HistoryStore(history, create=False) as store:
        baseline = read_baseline(store, None, ["unit", "integration", "e2e"], before=200.0)
    assert set(baseline.phases) == {"unit", "integration"}  # e2e never ran: no baseline
    assert baseline.failure_mark("unit", "tests/test_auth.py::test_a") == "still"
    assert baseline.failure_mark("unit", "tests/test_auth.py::test_b") == "new"
    assert baseline.failure_mark("unit", "tests/test_db.py", collection=True) == "still"
    assert baseline.failure_mark("e2e", "tests/e2e/test_y.py::test_y") is None
    assert baseline.cell_change("auth", "unit", GapCell(passed=2)) == "better"
    assert baseline.cell_change("auth", "integration", GapCell(failed=1)) == "worse"
    assert baseline.cell_change("nosuch", "unit", GapCell(failed=1)) is None
    assert Baseline().failure_mark("unit", "x") is None


def test_a_recorder_told_its_phases_stores_only_those(tmp_path) -> None:
    """The command center's rerun of one phase is judged with every phase on screen but is a
    run of that phase alone."""
    config, history = config_in(tmp_path), tmp_path / "history.db"
    unit = run_of("unit", [TestResult("tests/test_auth.py::test_a", "passed", "unit")])
    integration = run_of("integration", [TestResult("tests/it/test_x.py::test_x", "passed",
                                                    "integration")])
    record(config, history, [unit, integration], 100.0)
    judged = record(config, history, [unit, integration], 200.0, scope="partial",
                    phases=["unit"])
    with HistoryStore(history, create=False) as store:
        assert store.phase_statuses(judged.history_id) == {"unit": "passed"}
        # Both phases were still compared: the report on screen holds both.
    assert [change.phase for change in judged.changes.phases] == ["unit", "integration"]


def test_a_judgement_over_time_laid_again_gives_the_same_report(tmp_path) -> None:
    config, history = config_in(tmp_path), tmp_path / "history.db"
    passing = [run_of("unit", [TestResult("tests/test_auth.py::test_a", "passed", "unit"),
                               TestResult("tests/test_auth.py::test_b", "passed", "unit")])]
    record(config, history, passing, 100.0)
    vanished = [run_of("unit", [TestResult("tests/test_auth.py::test_a", "passed", "unit")])]
    judged = record(config, history, vanished, 200.0)
    assert judged.verdict == "red" and judged.findings[0].kind == "tests-disappeared"
    again = HistoryJudgement.of(judged).apply(
        assemble_report(config, vanished, [], 200.0, now=201.0))
    assert again == judged
