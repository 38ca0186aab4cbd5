"""The engine's figures end to end: `claimcheck --report` on a real project, every format.

Subtests, reruns, the test that killed a session, pytest.exit(returncode=0) and pytest's own
collection-error figure under xdist, run by the real command line under the newest pytest
(an engine environment, through `tool.claimcheck.python`), read back from JSON, text,
Markdown and JUnit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_project
from tests.json_report_oracle import oracle_outcome

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engine_report(engine_envs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
                  ) -> dict[str, Any]:
    env = engine_envs.get("newest") or engine_envs["this"]
    if not (env.has("subtests") and env.has("pytest-rerunfailures")
            and env.has("pytest-xdist")):
        pytest.skip(f"pytest {env.pytest_version} here lacks subtests, reruns or xdist")
    tmp = tmp_path_factory.mktemp("engine-report")
    root = tmp / "proj"
    write_project(root, {
        "pyproject.toml": f"""
            [tool.pytest.ini_options]
            addopts = "-p no:randomly -p no:cacheprovider"
            markers = ["crash: the crashing part"]

            [tool.claimcheck]
            python = {json.dumps(env.python)}

            [tool.claimcheck.gaps]
            sub = {{ title = "Subtests", match = ["*test_sub*"] }}
            crash = {{ title = "Crashes", match = ["*test_dies*"] }}

            [[tool.claimcheck.phases]]
            name = "unit"
            pytest = ["tests/unit", "--reruns=1", "-n", "2"]

            [[tool.claimcheck.phases]]
            name = "exit"
            pytest = ["tests/exit"]

            [[tool.claimcheck.phases]]
            name = "crash"
            pytest = ["tests/crash"]
        """,
        "tests/unit/test_sub.py": """
            def test_subtests(subtests):
                for number in range(3):
                    with subtests.test(i=number):
                        assert number != 2, "two is too many"
        """,
        "tests/unit/test_flaky.py": f"""
            from pathlib import Path
            MARK = Path({str(tmp)!r}) / "attempts"

            def test_flaky():
                MARK.mkdir(exist_ok=True)
                attempts = len(list(MARK.iterdir()))
                (MARK / str(attempts)).write_text("x")
                assert attempts >= 1, "first attempt fails"
        """,
        "tests/unit/test_broken.py": """
            import os
            raise ImportError("no backend in " + os.environ.get("PYTEST_XDIST_WORKER", "main"))
        """,
        "tests/crash/test_dies.py": """
            import os

            def test_before():
                pass

            def test_dies():
                os._exit(3)
        """,
        "tests/exit/conftest.py": """
            import pytest

            def pytest_runtest_teardown(item):
                pytest.exit("enough", returncode=0)
        """,
        "tests/exit/test_three.py": """
            def test_one():
                pass

            def test_two():
                pass

            def test_three():
                pass
        """,
    })
    outputs = {fmt: tmp / f"report.{fmt}" for fmt in ("text", "markdown", "junit",
                                                        "json-report")}
    env_vars = {key: value for key, value in os.environ.items()
                if not key.startswith(("PYTEST_", "CLAIMCHECK_"))}
    env_vars["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "claimcheck", "--report", "--format", "json", "--project",
         str(root), *(arg for fmt, path in outputs.items()
                      for arg in ("--write", f"{fmt}={path}"))],
        capture_output=True, text=True, env=env_vars, cwd=REPO, timeout=600, check=False)
    return {"exit": done.returncode, "stderr": done.stderr, "json": json.loads(done.stdout),
            **{fmt: path.read_text(encoding="utf-8") for fmt, path in outputs.items()}}


def phase_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(phase for phase in report["json"]["phases"] if phase["name"] == name)


def test_a_run_ended_by_pytest_exit_is_interrupted_whatever_its_exit_status(engine_report):
    assert engine_report["exit"] == 2, engine_report["stderr"]
    # the phase after it still ran: a pytest.exit() is that phase's evidence, not a Ctrl-C
    assert [phase["name"] for phase in engine_report["json"]["phases"]] == ["unit", "exit",
                                                                            "crash"]
    exited = phase_of(engine_report, "exit")
    assert exited["status"] == "interrupted"
    assert exited["interruption"]["message"] == "enough"
    assert exited["interruption"]["returncode"] == 0
    assert (exited["interruption"]["path"], exited["interruption"]["line"]) == (
        "tests/exit/conftest.py", 4)
    findings = [f for f in engine_report["json"]["findings"]
                if f["kind"] == "interrupted-session"]
    assert len(findings) == 1 and "2 collected tests never ran" in findings[0]["message"]
    assert "tests/exit/conftest.py:4" in findings[0]["message"]


def test_subtests_are_a_figure_of_their_own(engine_report):
    unit = phase_of(engine_report, "unit")
    (subtest,) = [t for t in unit["tests"] if t["nodeid"].endswith("test_subtests")]
    assert subtest["outcome"] == "failed"
    assert subtest["subtests"] == {"passed": 2, "failed": 1, "skipped": 0}
    assert unit["subtests"] == {"passed": 2, "failed": 1, "skipped": 0}
    assert engine_report["json"]["totals"]["subtests"] == {"passed": 2, "failed": 1,
                                                           "skipped": 0}
    assert "unit: subtests: 2 passed, 1 failed, 0 skipped" in engine_report["text"]
    assert "subtests: 2 passed, 1 failed, 0 skipped" in engine_report["markdown"]


def test_a_rerun_test_counts_once_and_reads_flaky_everywhere(engine_report):
    unit = phase_of(engine_report, "unit")
    (flaky,) = [t for t in unit["tests"] if t["nodeid"].endswith("test_flaky")]
    assert (flaky["outcome"], flaky["reruns"], flaky["flaky"]) == ("passed", 1, True)
    assert unit["flaky"] == 1 and unit["counts"]["passed"] == 1
    assert "FLAKY  tests/unit/test_flaky.py::test_flaky [unit] (flaky, rerun 1)" in \
        engine_report["text"]
    assert "first failed: AssertionError: first attempt fails" in engine_report["text"]
    assert "FLAKY `tests/unit/test_flaky.py::test_flaky`" in engine_report["markdown"]
    junit = ET.fromstring(engine_report["junit"])
    case = next(c for c in junit.iter("testcase") if c.get("name") == "test_flaky")
    assert case.find("flakyFailure") is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties == {"reruns": "1", "flaky": "true"}


def test_the_test_that_killed_the_session_is_named_and_its_gap_is_red(engine_report):
    crash = phase_of(engine_report, "crash")
    assert crash["status"] == "crashed"
    dies = next(t for t in crash["tests"] if t["nodeid"].endswith("test_dies"))
    assert dies["outcome"] == "error" and dies["crashed"] is True
    assert dies["message"] == ("the session died while this test ran: the process exited "
                               "with 3 before the test finished")
    gap = next(g for g in engine_report["json"]["gaps"] if g["name"] == "crash")
    assert gap["status"] == "red" and gap["cells"]["crash"]["error"] == 1
    findings = [f for f in engine_report["json"]["findings"] if f["kind"] == "crashed-test"]
    assert [f["message"].split(": ", 1)[0] for f in findings] == [
        "tests/crash/test_dies.py::test_dies"]
    assert "ERROR  tests/crash/test_dies.py::test_dies - the session died" in \
        engine_report["text"]


def test_json_report_on_request_is_written_from_the_one_record(engine_report):
    """`--write json-report=PATH`: pytest-json-report's document for CI tools, made from the
    stream (no second record in the phase), reading back to the same outcomes."""
    document = json.loads(engine_report["json-report"])
    ours = {(phase["name"], test["nodeid"]): test["outcome"]
            for phase in engine_report["json"]["phases"] for test in phase["tests"]}
    theirs = {(test["metadata"]["claimcheck_phase"], test["nodeid"]): oracle_outcome(test)
              for test in document["tests"]}
    assert theirs == ours
    totals = engine_report["json"]["totals"]
    assert document["summary"]["total"] == len(ours)
    assert document["summary"]["passed"] == totals["passed"]
    assert document["summary"]["collected"] == totals["collected"]
    assert document["exitcode"] == 2
    assert [c["nodeid"] for c in document["collectors"]] == ["tests/unit/test_broken.py"]
    flaky = next(t for t in document["tests"] if t["nodeid"].endswith("test_flaky"))
    assert flaky["metadata"]["reruns"] == 1
    dies = next(t for t in document["tests"] if t["nodeid"].endswith("test_dies"))
    assert dies["call"]["outcome"] == "failed" and "session died" in dies["call"]["longrepr"]


def test_pytests_own_collection_error_figure_shows_where_it_differs(engine_report):
    unit = phase_of(engine_report, "unit")
    assert len(unit["collection_errors"]) == 1
    assert unit["pytest_collection_errors"] == 2
    note = "collection errors: 1, one per file (pytest counts 2: under xdist once per worker"
    assert note in engine_report["text"] and note in engine_report["markdown"]
    assert phase_of(engine_report, "crash")["pytest_collection_errors"] is None


async def test_the_failure_detail_shows_reruns_and_subtests() -> None:
    from claimcheck.collectors.models import SubtestCounts, TestResult
    from claimcheck.tui.widgets.detail import FailureDetailScreen
    from textual.app import App
    from textual.widgets import Static

    result = TestResult(nodeid="tests/test_sub.py::test_each", outcome="failed", phase="unit",
                        message="subtest (i=2) failed: AssertionError", reruns=2,
                        subtests=SubtestCounts(passed=2, failed=1))

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(FailureDetailScreen(result))

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        facts = app.screen.query_one("#detail-facts", Static).render()
        text = facts.plain if hasattr(facts, "plain") else str(facts)
        assert "reruns rerun 2" in text
        assert "subtests 2 passed, 1 failed, 0 skipped" in text
