"""What changed between runs, vanished tests and each flaky rule, through a real history file."""

from __future__ import annotations

from pathlib import Path

from claimcheck.collectors.changes import compare_phase, flips, judge_over_time
from claimcheck.collectors.history import HistoryStore
from claimcheck.collectors.models import Finding, RunRef
from claimcheck.collectors.report import render
from history_helpers import config_at, phase, record, report

T0 = 1_800_000_000.0
A, B, C = "tests/unit/test_auth.py::test_a", "tests/unit/test_auth.py::test_b", \
    "tests/unit/test_db.py::test_c"


def store_at(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "h.db")


def test_compare_phase_sorts_every_kind_of_change() -> None:
    ref = RunRef(run_id=1, started_at=T0, commit="c" * 40, branch="main")
    now = phase("unit", {A: "failed", B: "passed", "t.py::new": "failed", C: "failed"},
                errors=("tests/unit/test_new_err.py",))
    change = compare_phase(now, ref, before={A: "passed", B: "failed", C: "failed",
                                             "t.py::gone": "passed"},
                           collected_before=4, errors_before=("tests/unit/test_old_err.py",))
    assert change.newly_failing == (A, "t.py::new")
    assert change.newly_passing == (B,)
    assert change.still_failing == (C,)
    assert change.disappeared == ("t.py::gone",)
    assert change.new_tests == ("t.py::new",)
    assert change.new_collection_errors == ("tests/unit/test_new_err.py",)
    assert change.gone_collection_errors == ("tests/unit/test_old_err.py",)


def test_a_test_deselected_now_has_not_disappeared() -> None:
    """A `-k` shard (or `-m`) leaves tests out on purpose: they are still collected, so running
    the other shard after this one must not read as tests vanishing."""
    from dataclasses import replace

    ref = RunRef(run_id=1, started_at=T0, commit="c" * 40, branch="main")
    shard = replace(phase("unit", {A: "passed"}), deselected_ids=(B,))
    change = compare_phase(shard, ref, before={A: "passed", B: "passed", C: "passed"},
                           collected_before=3)
    assert change.disappeared == (C,)


def test_an_unfinished_phase_never_shows_tests_as_gone() -> None:
    ref = RunRef(run_id=1, started_at=T0)
    crashed = phase("unit", {A: "passed"}, status="crashed")
    assert compare_phase(crashed, ref, before={A: "passed", B: "passed"}).disappeared == ()


def test_fewer_collected_tests_make_a_green_run_red(tmp_path: Path) -> None:
    """144 collected where 144 were, then 114: the second run must not look green."""
    config = config_at(tmp_path)
    full = {f"tests/unit/test_{n // 30}.py::test_{n}": "passed" for n in range(144)}
    fewer = dict(list(full.items())[:114])
    with store_at(tmp_path) as store:
        first = record(store, config, report(config, phase("unit", full), started_at=T0))
        assert first.verdict == "green"
        second = record(store, config, report(config, phase("unit", fewer), started_at=T0 + 1))
        third = record(store, config, report(config, phase("unit", fewer), started_at=T0 + 2))
    assert second.verdict == "red" and second.exit_code == 1
    finding = second.findings[0]
    assert finding.kind == "tests-disappeared" and finding.count == 30
    assert "collected 114, was 144" in finding.message
    # test_3.py holds 90..119 (114..119 gone), test_4.py 120..143 (all gone): most first
    assert "tests/unit/test_4.py (24), tests/unit/test_3.py (6)" in finding.message
    assert finding.files == ("tests/unit/test_4.py", "tests/unit/test_3.py")
    text = render(second, "text")
    assert "unit: 30 tests disappeared" in text.splitlines()[2]  # a reason for the verdict
    # the next run compares with the smaller suite: a deliberate removal is red once
    assert third.verdict == "green"


def test_a_collected_count_drop_alone_is_reported(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with store_at(tmp_path) as store:
        record(store, config, report(config, phase("unit", {A: "passed"}, collected=40),
                                     started_at=T0))
        judged = record(store, config, report(config, phase("unit", {A: "passed"}, collected=10),
                                              started_at=T0 + 1))
    (finding,) = [f for f in judged.findings if f.kind == "tests-disappeared"]
    assert "collected 10, was 40" in finding.message and judged.verdict == "red"


def test_flaky_pass_on_rerun() -> None:
    from claimcheck.collectors.changes import flaky_tests

    (flaky,) = flaky_tests([phase("unit", {A: "passed", B: "passed"}, reruns={A: 2})])
    assert (flaky.phase, flaky.nodeid) == ("unit", A)
    assert flaky.reasons == ("passed after failing 2 times (rerun)",)


def test_flaky_both_outcomes_on_one_clean_commit(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with store_at(tmp_path) as store:
        record(store, config, report(config, phase("unit", {A: "passed", B: "passed"}),
                                     started_at=T0, commit="c" * 40))
        judged = record(store, config, report(config, phase("unit", {A: "failed", B: "passed"}),
                                              started_at=T0 + 1, commit="c" * 40))
    assert judged.changes is not None
    (flaky,) = judged.changes.flaky
    assert flaky.nodeid == A and flaky.reasons == (f"passed and failed at {'c' * 9}",)
    assert judged.verdict == "red"  # flaky is a mark, never an excuse


def test_different_commits_or_a_dirty_tree_are_not_one_commit(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with store_at(tmp_path) as store:
        record(store, config, report(config, phase("unit", {A: "passed"}), started_at=T0,
                                     commit="c" * 40))
        other = record(store, config, report(config, phase("unit", {A: "failed"}),
                                             started_at=T0 + 1, commit="d" * 40))
        dirty = record(store, config, report(config, phase("unit", {A: "passed"}),
                                             started_at=T0 + 2, commit="d" * 40, dirty=True))
    assert other.changes is not None and other.changes.flaky == ()
    assert dirty.changes is not None and dirty.changes.flaky == ()


def test_flaky_three_flips_in_the_last_ten_runs(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    sequence = ["passed", "failed", "failed", "passed", "skipped", "failed"]  # 3 flips
    judged = None
    with store_at(tmp_path) as store:
        for index, outcome in enumerate(sequence):
            judged = record(store, config, report(
                config, phase("unit", {A: outcome, B: "passed"}), started_at=T0 + index,
                commit=f"{index:040d}"))
            if index == len(sequence) - 2:
                assert judged.changes is not None and judged.changes.flaky == ()  # 2 flips
    assert judged is not None and judged.changes is not None
    (flaky,) = judged.changes.flaky
    assert flaky.nodeid == A and flaky.reasons == ("3 flips in the last 6 runs",)
    assert render(judged, "json").count('"flaky": true') == 1


def test_flips_ignore_what_says_nothing() -> None:
    assert flips(["pass", None, "fail", None, "fail", "pass"]) == 2
    assert flips([]) == 0


def test_flips_older_than_ten_runs_do_not_count(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    outcomes = ["passed", "failed", "passed", "failed"] + ["passed"] * 8
    judged = None
    with store_at(tmp_path) as store:
        for index, outcome in enumerate(outcomes):
            judged = record(store, config, report(config, phase("unit", {A: outcome}),
                                                  started_at=T0 + index,
                                                  commit=f"{index:040d}"))
    assert judged is not None and judged.changes is not None and judged.changes.flaky == ()


def test_broken_claims_come_first_and_turn_the_verdict_red() -> None:
    config = config_at(Path("/p"))
    base = report(config, phase("unit", {A: "passed"}), started_at=T0)
    broken = Finding(kind="claim-broken", phase=None, path="claims.toml", line=None,
                     message="auth: claimed fixed ...")
    gone = Finding(kind="tests-disappeared", phase="unit", path=None, line=None, message="x",
                   count=3)
    judged = judge_over_time(base, None, (), [gone, broken])
    assert [f.kind for f in judged.findings] == ["claim-broken", "tests-disappeared"]
    assert (judged.verdict, judged.exit_code) == ("red", 1)
    interrupted = judge_over_time(
        report(config, phase("unit", {A: "passed"}, status="interrupted"), started_at=T0),
        None, (), [broken])
    assert interrupted.verdict == "interrupted"


def test_what_changed_leads_every_report(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with store_at(tmp_path) as store:
        record(store, config, report(config, phase("unit", {A: "passed", B: "failed"}),
                                     started_at=T0))
        judged = record(store, config, report(config, phase("unit", {A: "failed", B: "passed"}),
                                              started_at=T0 + 1))
    text = render(judged, "text")
    assert text.index("What changed since main @ aaaaaaaaa") < text.index("Phases")
    assert f"newly failing: {A}" in text and f"newly passing: {B}" in text
    markdown = render(judged, "markdown")
    assert markdown.index("### What changed") < markdown.index("### Phases")
    import json

    document = json.loads(render(judged, "json"))
    (change,) = document["changes"]["phases"]
    assert change["newly_failing"] == [A] and change["newly_passing"] == [B]
    assert change["baseline"]["commit"] == "a" * 40


def test_a_phase_dropped_from_the_configuration_takes_its_tests_with_it(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with store_at(tmp_path) as store:
        record(store, config, report(config, phase("unit", {A: "passed"}),
                                     phase("integration", {B: "passed", C: "skipped"}),
                                     started_at=T0))
        partial = record(store, config, report(config, phase("unit", {A: "passed"}),
                                               started_at=T0 + 1), scope="partial")
        judged = record(store, config, report(config, phase("unit", {A: "passed"}),
                                              started_at=T0 + 2))
    assert partial.verdict == "green"  # --phase unit: integration was not asked for
    (finding,) = judged.findings
    assert finding.kind == "tests-disappeared" and finding.phase == "integration"
    assert finding.count == 2 and "phase integration ran 2 tests in the last full run" in \
        finding.message
    assert judged.verdict == "red"


def test_a_first_run_says_where_it_is_first(tmp_path: Path) -> None:
    """On a branch, on a detached HEAD, or outside git: the first run's line says which."""
    config = config_at(tmp_path)
    cases = {("main", "a" * 40): "first run of these phases on main:",
             (None, "b" * 40): "first run of these phases on this detached HEAD:",
             (None, None): "first run of these phases here (no git commit):"}
    for (branch, commit), words in cases.items():
        with store_at(tmp_path / f"{branch}-{commit}") as store:
            judged = record(store, config, report(config, phase("unit", {A: "passed"}),
                                                  started_at=T0, branch=branch, commit=commit))
        for form in ("text", "markdown"):
            assert words in render(judged, form)
    with store_at(tmp_path / "outside") as store:
        for started_at in (T0, T0 + 60):
            judged = record(store, config, report(config, phase("unit", {A: "passed"}),
                                                  started_at=started_at, branch=None,
                                                  commit=None))
    assert "What changed since the run of " in render(judged, "text")
    assert "(no git commit)" in render(judged, "text")
