"""Merging shard reports: pure logic over hand-built shards, each finding and each count rule.

End to end (real shards made by claimcheck and pytest, merged by the CLI) lives in
tests/test_shards_cli.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import pytest
from claimcheck.collectors.config import Config
from claimcheck.collectors.merge import merge_reports, split_group
from claimcheck.collectors.models import (
    Counts,
    Finding,
    Provenance,
    ReportSource,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.readers import ReadReport, read_report
from claimcheck.collectors.readers.base import foreign_phase
from claimcheck.collectors.rejudge import judge_opened
from claimcheck.collectors.report.json_report import render_json

UNIVERSE = ["tests/a/test_a.py::test_1", "tests/a/test_a.py::test_2",
            "tests/b/test_b.py::test_1", "tests/b/test_b.py::test_2",
            "tests/c/test_c.py::test_1", "tests/c/test_c.py::test_2"]
SHARDS = {"one.json": UNIVERSE[0:2], "two.json": UNIVERSE[2:4], "three.json": UNIVERSE[4:6]}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(root=tmp_path, source=None, python=sys.executable, phases=(), gaps=())


def shard(label: str, outcomes: dict[str, str], *, universe: Sequence[str] | None = None,
          name_deselected: bool = True, phase: str = "unit", commit: str | None = "a" * 40,
          digest: str = "d" * 64, host: str = "", argv: Sequence[str] = (),
          knows_collection: bool = True, findings: Sequence[Finding] = (),
          status: str | None = None, reason: str | None = None,
          services: Sequence[ServiceSample] = ()) -> ReadReport:
    """A shard that ran `outcomes` out of `universe` (all it collected; the rest deselected)."""
    collected = list(universe if universe is not None else outcomes)
    tests = [TestResult(nodeid=nodeid, outcome=outcome, phase=phase)
             for nodeid, outcome in outcomes.items()]
    left = [nodeid for nodeid in collected if nodeid not in outcomes]
    run = foreign_phase(phase, tests, [], collected=len(collected), deselected=len(left),
                        exit_status=None, duration_s=1.0, started_at=1000.0,
                        deselected_ids=left if name_deselected else ())
    run = replace(run, argv=tuple(argv))
    if status is not None:
        run = replace(run, status=status, reason=reason)
    provenance = Provenance(commit=commit, branch="main", host=host or label, config_digest=digest)
    return ReadReport(source=ReportSource(label=label, path=label, format="claimcheck"),
                      project="/proj", started_at=1000.0, duration_s=1.0, phases=(run,),
                      services=tuple(services), provenance=provenance, findings=tuple(findings),
                      knows_collection=knows_collection)


def k_shards(*labels: str, **kwargs) -> list[ReadReport]:
    """-k style shards: every shard collected the whole universe and ran its own part."""
    return [shard(label, dict.fromkeys(SHARDS[label], "passed"), universe=UNIVERSE, **kwargs)
            for label in labels]


def kinds(report: RunReport) -> list[str]:
    return [finding.kind for finding in report.findings]


def only(report: RunReport, kind: str) -> Finding:
    found = [finding for finding in report.findings if finding.kind == kind]
    assert len(found) == 1, report.findings
    return found[0]


def test_disjoint_shards_count_as_one_run_and_say_nothing_more(config):
    report = merge_reports(config, k_shards("one.json", "two.json", "three.json"))
    (run,) = report.phases
    assert run.counts == Counts(collected=6, passed=6)
    assert [t.nodeid for t in run.tests] == UNIVERSE
    assert (run.status, report.verdict, report.exit_code) == ("passed", "green", 0)
    assert report.findings == ()
    assert run.deselected_ids == ()
    assert [source.label for source in report.sources] == ["one.json", "two.json", "three.json"]


def test_a_dropped_shard_is_missing_by_name_when_shards_name_what_they_left(config):
    report = merge_reports(config, k_shards("one.json", "three.json"))
    (run,) = report.phases
    assert run.counts == Counts(collected=6, passed=4, deselected=2)
    assert run.deselected_ids == tuple(SHARDS["two.json"])
    missing = only(report, "shard-missing")
    assert missing.count == 2 and missing.phase == "unit"
    assert missing.files == ("tests/b/test_b.py",)
    assert "tests/b/test_b.py::test_1" in missing.message
    assert "shard-unverified" not in kinds(report)
    assert report.verdict == "green"  # the tests that ran passed; the finding says what did not


def test_a_dropped_shard_is_still_counted_when_shards_do_not_name_what_they_left(config):
    report = merge_reports(config, k_shards("one.json", "three.json", name_deselected=False))
    (run,) = report.phases
    assert run.counts == Counts(collected=6, passed=4, deselected=2)
    missing = only(report, "shard-missing")
    assert missing.count == 2 and missing.files == ()
    assert "without naming" in missing.message
    unverified = only(report, "shard-unverified")
    assert "one.json (deselected 4 without naming them)" in unverified.message


def test_complete_shards_that_do_not_name_their_deselections_are_unverified_only(config):
    report = merge_reports(config, k_shards("one.json", "two.json", "three.json",
                                            name_deselected=False))
    assert report.phases[0].counts == Counts(collected=6, passed=6)
    assert kinds(report) == ["shard-unverified"]


def test_folder_shards_add_up_and_a_missing_folder_needs_expect(config):
    folders = {label: shard(label, dict.fromkeys(tests, "passed"))
               for label, tests in SHARDS.items()}
    whole = merge_reports(config, list(folders.values()))
    assert whole.phases[0].counts == Counts(collected=6, passed=6)
    assert whole.findings == ()
    partial = [folders["one.json"], folders["three.json"]]
    assert merge_reports(config, partial).findings == ()  # nothing in them names tests/b
    expected = merge_reports(config, partial, expect=3)
    missing = only(expected, "shard-missing")
    assert missing.count == 1 and missing.phase is None
    assert "expected 3 shard reports, got 2" in missing.message


def test_a_shard_given_twice_is_an_overlap_counted_once(config):
    reads = k_shards("one.json", "two.json", "three.json")
    again = replace(reads[1], source=replace(reads[1].source, label="two.json #2"))
    report = merge_reports(config, [*reads, again])
    (run,) = report.phases
    assert run.counts == Counts(collected=6, passed=6)
    overlap = only(report, "shard-overlap")
    assert overlap.count == 2 and overlap.files == ("tests/b/test_b.py",)
    assert "two.json, two.json #2" in overlap.message
    assert "Every copy had the same outcome" in overlap.message


def test_a_test_that_differs_between_shards_counts_as_its_worst_and_is_named(config):
    first = shard("ci-1.json", {UNIVERSE[0]: "passed", UNIVERSE[1]: "skipped"})
    second = shard("ci-2.json", {UNIVERSE[0]: "failed", UNIVERSE[1]: "passed"})
    report = merge_reports(config, [first, second])
    (run,) = report.phases
    assert {t.nodeid: t.outcome for t in run.tests} == {UNIVERSE[0]: "failed",
                                                        UNIVERSE[1]: "passed"}
    assert run.counts == Counts(collected=2, passed=1, failed=1)
    assert (report.verdict, report.exit_code) == ("red", 1)
    overlap = only(report, "shard-overlap")
    assert f"{UNIVERSE[0]}: passed in ci-1.json, failed in ci-2.json" in overlap.message
    assert f"{UNIVERSE[1]}: skipped in ci-1.json, passed in ci-2.json" in overlap.message


def test_shards_of_different_commits_and_configs_are_named_not_mixed_silently(config):
    reads = [shard("one.json", {UNIVERSE[0]: "passed"}, commit="1" * 40),
             shard("two.json", {UNIVERSE[1]: "passed"}, commit="2" * 40, digest="e" * 64),
             shard("three.json", {UNIVERSE[2]: "passed"}, commit=None)]
    report = merge_reports(config, reads)
    mismatch = only(report, "shard-mismatch")
    assert mismatch.message.startswith("The shards ran different commits: one.json at "
                                       "111111111; two.json at 222222222")
    assert "different configurations: one.json, three.json at config ddddddddd; two.json at " \
           "config eeeeeeeee" in mismatch.message
    assert "Commit unknown for three.json" in mismatch.message
    assert report.findings[0].kind == "shard-mismatch"
    assert report.provenance is not None and report.provenance.commit is None
    assert report.provenance.config_digest == ""


def test_shards_of_one_commit_share_its_provenance_and_list_their_hosts(config):
    report = merge_reports(config, k_shards("one.json", "two.json", "three.json"))
    assert report.provenance == Provenance(commit="a" * 40, branch="main",
                                           host="one.json, two.json, three.json",
                                           config_digest="d" * 64)


def test_pytest_split_groups_that_no_report_ran(config):
    reads = [shard(label, dict.fromkeys(SHARDS[label], "passed"), universe=UNIVERSE,
                   argv=("python", "-m", "pytest", "--splits", "3", f"--group={group}"))
             for label, group in (("one.json", 1), ("three.json", 3))]
    report = merge_reports(config, reads)
    split = [f for f in report.findings if f.kind == "shard-missing" and "split this phase" in
             f.message]
    assert len(split) == 1 and "no report ran group 2" in split[0].message


@pytest.mark.parametrize(("argv", "expected"), [
    (("--splits", "4", "--group", "2"), ("pytest-split", 4, 2)),
    (("--splits=4", "--group=1"), ("pytest-split", 4, 1)),
    (("--num-shards", "3", "--shard-id", "0"), ("pytest-shard", 3, 0)),
    (("-k", "alpha"), None),
])
def test_split_group_from_arguments(argv, expected):
    assert split_group(argv) == expected


def test_a_shard_that_did_not_finish_decides_the_phase(config):
    reads = k_shards("one.json", "two.json")
    slow = replace(reads[1], phases=(replace(reads[1].phases[0], status="timeout",
                                             reason="timed out after 900 s"),))
    report = merge_reports(config, [reads[0], slow])
    (run,) = report.phases
    assert (run.status, run.reason) == ("timeout", "two.json: timed out after 900 s")
    assert report.verdict == "red"


def test_phases_are_the_union_of_the_shards_phases(config):
    unit = shard("one.json", {UNIVERSE[0]: "passed"})
    both = shard("two.json", {UNIVERSE[1]: "passed"})
    e2e = shard("two.json", {"tests/e2e/test_x.py::test_flow": "passed"}, phase="e2e")
    both = replace(both, phases=both.phases + e2e.phases)
    report = merge_reports(config, [unit, both])
    assert [(run.name, run.counts.passed) for run in report.phases] == [("unit", 2), ("e2e", 1)]


def test_recorded_findings_survive_unless_they_were_about_one_shards_part(config):
    lying = Finding(kind="false-green", phase="unit", path=None, line=None,
                    message="scripts/run.py exited 0, but 1 test failed.")
    empty = Finding(kind="no-tests", phase="unit", path=None, line=None,
                    message="No test executed in this phase: all 6 collected tests were "
                            "deselected")
    deprecation = Finding(kind="deprecation", phase="unit", path="tests/a/test_a.py", line=3,
                          message="datetime.utcnow() is deprecated")
    reads = k_shards("one.json", "two.json", "three.json")
    reads[0] = replace(reads[0], findings=(lying, deprecation))
    reads[1] = replace(reads[1], findings=(empty, deprecation))
    report = merge_reports(config, reads)
    assert kinds(report) == ["false-green", "deprecation"]
    carried = only(report, "false-green")
    assert carried.message.startswith("in one.json: scripts/run.py exited 0")
    assert "no-tests" not in kinds(report)


def test_a_service_down_for_one_shard_is_down(config):
    def sample(status: str) -> ServiceSample:
        return ServiceSample(name="api", kind="http", url="http://127.0.0.1:1", status=status,
                             detail=status, checked_at=1.0)

    reads = k_shards("one.json", "two.json", "three.json")
    reads[0] = replace(reads[0], services=(sample("up"),))
    reads[2] = replace(reads[2], services=(sample("down"),))
    report = merge_reports(config, reads)
    assert [s.status for s in report.services] == ["down"]
    assert report.verdict == "red"


def test_a_junit_shard_cannot_say_what_ran_nowhere(config):
    reads = k_shards("one.json", "two.json")
    junit = shard("three.xml", dict.fromkeys(SHARDS["three.json"], "passed"),
                  knows_collection=False)
    junit = replace(junit, source=replace(junit.source, format="junit"))
    report = merge_reports(config, [*reads, junit])
    assert report.phases[0].counts == Counts(collected=6, passed=6)
    assert "three.xml (JUnit lists only the tests that ran)" in \
        only(report, "shard-unverified").message


def test_a_merged_report_is_a_claimcheck_report_that_reads_back_the_same(config, tmp_path):
    report = merge_reports(config, k_shards("one.json", "three.json"))
    path = tmp_path / "merged.json"
    path.write_text(render_json(report))
    read = read_report(path)
    assert read.source.format == "claimcheck"
    assert read.provenance == report.provenance
    (run,) = read.phases
    assert run.counts == report.phases[0].counts
    assert run.deselected_ids == report.phases[0].deselected_ids
    reopened = judge_opened(config, read)
    assert (reopened.verdict, reopened.exit_code) == (report.verdict, report.exit_code)
    assert kinds(reopened) == kinds(report)
