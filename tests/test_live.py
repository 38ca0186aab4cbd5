"""The live model: one fold per event, the counts every view reads, merges, the failure index
and gap membership. Pure: no Textual, no subprocess."""

from __future__ import annotations

from dataclasses import replace

import pytest
from claimcheck.collectors.config import GapConfig
from claimcheck.collectors.live import (
    LiveEvidence,
    counts_of,
    failure_key,
    failures_first,
    merge_runs,
)
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    ServiceSample,
    StreamEvent,
    TestFinished,
    TestResult,
    TestsCollected,
    WarningRecord,
    WarningRecorded,
)

GAPS = (GapConfig("auth", "Auth", match=("*auth*",)),
        GapConfig("ws", "WebSocket", match=("*ws*",), markers=("websocket",)))
ERROR = CollectionError("tests/test_auth_import.py", "ImportError", "cannot import name 'x'")


def result(nodeid: str, outcome: str = "passed", phase: str = "unit", **kw: object) -> TestResult:
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase, **kw)  # type: ignore[arg-type]


def evidence(**kw: object) -> LiveEvidence:
    return LiveEvidence(["unit", "e2e"], GAPS, clock=lambda: 100.0, **kw)  # type: ignore[arg-type]


def run_of(name: str, tests: list[TestResult], status: str = "failed", errors: int = 0,
           **kw: object) -> PhaseRun:
    return PhaseRun(name, status, 1, 1.0, counts_of(tests, errors), tests=tuple(tests),
                    **kw)  # type: ignore[arg-type]


def test_a_streaming_phase_counts_every_outcome_and_its_columns_add_up() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(TestsCollected("unit", 7, deselected=1))
    live.fold(CollectionErrored("unit", ERROR))
    for nodeid, outcome in [("a::t1", "passed"), ("a::t2", "failed"), ("a::t3", "xfailed"),
                            ("a::t4", "xpassed"), ("a::t5", "skipped")]:
        live.fold(TestFinished("unit", result(nodeid, outcome)))
    unit = live.phase("unit")
    counts = unit.counts
    assert (counts.passed, counts.failed, counts.error, counts.skipped, counts.xfailed,
            counts.xpassed) == (1, 1, 1, 1, 1, 1)
    # A file that could not be collected is one outcome (pytest's summary: "1 error"), so the
    # progress and the columns agree: 5 tests and 1 collection error done, of 6 + 1.
    assert unit.done == counts.passed + counts.failed + counts.error + counts.skipped \
        + counts.xfailed + counts.xpassed == 6
    assert unit.total == 7
    assert live.running == frozenset({"unit"})


def test_the_runner_counts_win_once_the_phase_has_finished() -> None:
    live = evidence()
    tests = [result("a::t1"), result("a::t2", "failed")]
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(TestFinished("unit", tests[0]))
    final = replace(run_of("unit", tests), counts=Counts(collected=5, passed=1, failed=1,
                                                         deselected=3))
    change = live.fold(PhaseFinished("unit", final))
    unit = live.phase("unit")
    assert unit.counts == final.counts and unit.status == "failed"
    assert change.finished == [final] and change.judgement_due
    assert [r.nodeid for r in change.failed] == ["a::t2"]  # what streaming missed
    assert unit.collected == 2 and live.runs() == [final]


def test_the_failure_index_follows_reruns_and_keeps_collection_errors() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(CollectionErrored("unit", ERROR))
    live.fold(TestFinished("unit", result("a::flaky", "failed")))
    assert list(live.failures) == [failure_key("unit", ERROR.path), failure_key("unit", "a::flaky")]
    assert live.failures[failure_key("unit", ERROR.path)].when == "collect"
    change = live.fold(TestFinished("unit", result("a::flaky", "passed")))
    assert change.cleared == [failure_key("unit", "a::flaky")] and change.passed["unit"] == 1
    assert list(live.failures) == [failure_key("unit", ERROR.path)]


def test_gap_membership_is_the_matrix_own_and_remembered() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    marked = result("tests/test_auth.py::test_socket", markers=("websocket",))
    live.fold(TestFinished("unit", marked))
    live.fold(CollectionErrored("unit", ERROR))
    assert live.gaps_of(marked) == ("auth", "ws")
    assert live.gaps_of(live.failures[failure_key("unit", ERROR.path)]) == ("auth",)
    assert live.matrix.cell("ws", "unit").passed == 1
    assert live.gaps_of(result("tests/test_other.py::test_x")) == ("unassigned",)  # never seen


def test_a_partial_rerun_is_laid_over_the_previous_run_by_nodeid() -> None:
    live = evidence()
    first = [result("a::ok"), result("a::flaky", "failed"), result("a::broken", "failed")]
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(PhaseFinished("unit", run_of("unit", first)))
    plan = live.plan(["unit"], merge=True)
    assert plan.phases == {"unit"} and live.phase("unit").note == "queued"
    live.fold(PhaseStarted("unit", (), 20.0))
    assert live.phase("unit").note == "rerunning what failed (--lf)"
    assert live.runs()[0].counts.failed == 2  # judged meanwhile by the run it is laid over
    live.fold(TestsCollected("unit", 2))  # the --lf subset does not shrink the total
    rerun = [result("a::flaky"), result("a::broken", "failed")]
    for test in rerun:
        live.fold(TestFinished("unit", test))
    live.fold(PhaseFinished("unit", run_of("unit", rerun)))
    merged = live.phase("unit").run
    assert merged is not None and merged.status == "failed"
    assert [t.outcome for t in merged.tests] == ["passed", "passed", "failed"]
    assert (merged.counts.passed, merged.counts.failed, merged.counts.collected) == (2, 1, 3)
    assert list(live.failures) == [failure_key("unit", "a::broken")]


def test_a_fresh_rerun_forgets_the_phase_and_its_failures() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(TestFinished("unit", result("tests/test_auth.py::t", "failed")))
    live.fold(PhaseFinished("unit", run_of("unit", [result("tests/test_auth.py::t", "failed")])))
    change = live.plan(["unit"])
    assert change.cleared == [failure_key("unit", "tests/test_auth.py::t")] and change.all_gaps
    assert live.failures == {} and live.matrix.cell("auth", "unit").total == 0
    assert live.phase("unit").run is None and live.phase("unit").status == "pending"


def test_a_plan_that_replaces_a_running_one_marks_it_stopped() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    live.plan(["e2e"])
    assert live.phase("unit").status == "interrupted"
    assert live.phase("unit").note == "stopped for a rerun"


def test_an_interrupted_phase_keeps_everything_it_streamed_failures_first() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    streamed = [result(f"a::ok{i}") for i in range(3)] + [result("a::bad", "failed")]
    for test in streamed:
        live.fold(TestFinished("unit", test))
    # The runner's own record was cut short: it knows of one result only.
    live.fold(PhaseFinished("unit", run_of("unit", streamed[:1], status="interrupted")))
    run = live.runs()[0]
    assert run.status == "interrupted"
    assert [t.nodeid for t in run.tests] == ["a::bad", "a::ok0", "a::ok1", "a::ok2"]
    assert (run.counts.passed, run.counts.failed) == (3, 1)


def test_a_phase_still_running_when_the_run_stops_is_judged_interrupted() -> None:
    live = evidence()
    live.fold(PhaseStarted("unit", (), 10.0))
    live.fold(TestFinished("unit", result("a::ok")))
    live.fold(TestFinished("unit", result("a::bad", "failed")))
    assert live.runs() == []
    (run,) = live.runs(unfinished=True)
    assert run.status == "interrupted" and run.duration_s == 90.0
    assert [t.nodeid for t in run.tests] == ["a::bad", "a::ok"]


def test_a_blocked_phase_names_the_required_service_that_was_down() -> None:
    live = evidence(requires={"e2e": ("auth",)})
    live.fold(ServiceSample("auth", "http", "http://a", "down", "refused", 1.0))
    blocked = PhaseRun("e2e", "blocked", None, 0.0, Counts(), reason="blocked by auth: refused")
    live.fold(PhaseStarted("e2e", (), 1.0))
    live.fold(PhaseFinished("e2e", blocked))
    assert live.phase("e2e").blocker == "auth"
    assert live.phase("e2e").note == "blocked by auth: refused"


def test_service_changes_and_stream_frames_are_reported_not_judged_twice() -> None:
    live = evidence()
    up = ServiceSample("auth", "http", "http://a", "up", "200", 1.0)
    first = live.fold(up)
    again = live.fold(replace(up, checked_at=2.0))
    assert first.judgement_due and not again.judgement_due
    frame = StreamEvent(1.0, "events", "recv", "x", "{}")
    assert live.fold(frame).frames == [frame]
    assert not live.fold(WarningRecorded("unit", WarningRecord("DeprecationWarning", "old")))


def test_what_is_not_evidence_is_refused() -> None:
    with pytest.raises(TypeError):
        evidence().fold(object())


def test_failures_first_keeps_each_group_in_order() -> None:
    tests = [result("a"), result("b", "error"), result("c", "failed"), result("d", "skipped")]
    assert [t.nodeid for t in failures_first(tests)] == ["b", "c", "a", "d"]


def test_merge_runs_keeps_the_status_of_a_rerun_that_did_not_complete() -> None:
    old = PhaseRun("unit", "failed", 1, 2.0, Counts(collected=3), tests=(
        result("a::ok"), result("a::flaky", "failed"), result("a::broken", "failed")))
    new = PhaseRun("unit", "failed", 1, 0.5, Counts(collected=2), tests=(
        result("a::flaky"), result("a::broken", "failed")))
    merged = merge_runs(old, new)
    assert merged.duration_s == 2.5 and merged.counts.collected == 3
    assert merge_runs(old, replace(new, status="interrupted")).status == "interrupted"
    assert merge_runs(None, new) is new
