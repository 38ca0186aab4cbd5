"""The engine's fixture corpus: one small project per way a run's record can go wrong.

Every fixture runs as a real claimcheck phase (`run_phase`) under each engine environment
(tests/engine_envs.py: the newest pytest and the oldest pyproject.toml allows), serially and
under `-n 2`. Each checks the per-test outcomes against what pytest itself counts at test
level, the phase status, and what the item is about. And on every run where
pytest-json-report wrote its document (asked for in the phase's own arguments, so it records
the very same session), the stream's outcomes must equal json-report's once its labels are
mapped (`oracle_outcome`): an independent record of the same run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.judge import phase_findings
from claimcheck.collectors.models import PhaseRun, SubtestCounts
from claimcheck.collectors.pytest_run import PLUGIN_DIR, run_phase

from tests.conftest import (
    ENGINE_ENVS,
    UNUSED_PLUGINS,
    clean_env,
    engine_env_or_skip,
    write_project,
)
from tests.json_report_oracle import oracle, oracle_outcome

pytestmark = pytest.mark.usefixtures("no_stragglers_left")

MODES = ("serial", "xdist")
UNUSED = f"{UNUSED_PLUGINS} -p no:randomly"


@dataclass(frozen=True)
class Fixture:
    """One trap: a project, how its phase runs, and what must come out."""

    files: dict[str, str]
    expected: Callable[[Any, str], dict[str, str]]  # (env, mode) -> nodeid -> outcome
    status: Callable[[Any, str], str]
    args: tuple[str, ...] = ("tests",)
    command: tuple[str, ...] | None = None  # a command phase instead of a pytest one
    needs: tuple[str, ...] = ()  # capabilities of the environment (subtests, a plugin)
    timeout: float = 120
    check: Callable[[PhaseRun, Any, str], None] | None = None
    # pytest-json-report can record this session ((env, mode) -> bool): not one that dies
    # before its end, which under xdist is only a worker.
    oracle: Callable[[Any, str], bool] = lambda env, mode: True
    # Tests json-report cannot see right in an environment: (env) -> node ids left out of the
    # comparison. Each says why where it is given.
    oracle_blind: Callable[[Any], frozenset[str]] = lambda env: frozenset()


def always(value: Any) -> Callable[[Any, str], Any]:
    return lambda env, mode: value


# ----------------------------------------------------------------------------------------
# 1. The everyday outcomes, a broken file and a deselection (item 1 and item 7)

MIXED = {
    "tests/test_mixed.py": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture exploded")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown broke")

        def test_pass():
            pass

        def test_fail():
            assert 1 == 2

        @pytest.mark.parametrize("name", ["[bold red]x", "plain"])
        def test_param(name):
            assert name == "plain"

        def test_skip():
            pytest.skip("not today")

        @pytest.mark.xfail(reason="known bug")
        def test_xfail():
            assert False

        @pytest.mark.xfail(reason="fixed already")
        def test_xpass():
            pass

        @pytest.mark.xfail(reason="must fail", strict=True)
        def test_xpass_strict():
            pass

        def test_setup_error(broken):
            pass

        def test_fail_then_teardown_error(broken_teardown):
            assert False, "the real failure"

        def test_deselect_me():
            pass
    """,
    "tests/test_broken.py": "import not_a_module_anywhere\n",
}

M = "tests/test_mixed.py::"
MIXED_OUTCOMES = {
    M + "test_pass": "passed", M + "test_fail": "failed",
    M + "test_param[[bold red]x]": "failed", M + "test_param[plain]": "passed",
    M + "test_skip": "skipped", M + "test_xfail": "xfailed", M + "test_xpass": "xpassed",
    M + "test_xpass_strict": "failed", M + "test_setup_error": "error",
    M + "test_fail_then_teardown_error": "error",
}


def check_mixed(run: PhaseRun, env: Any, mode: str) -> None:
    assert run.deselected_ids == (M + "test_deselect_me",)
    assert run.counts.deselected == 1 and run.counts.collected == 11
    assert [error.path for error in run.collection_errors] == ["tests/test_broken.py"]
    by_id = {test.nodeid: test for test in run.tests}
    assert by_id[M + "test_fail"].message == "assert 1 == 2"
    assert by_id[M + "test_skip"].message == "not today"
    # a failure pytest tells in a line of text, not a traceback (xdist's says where it ran)
    assert by_id[M + "test_xpass_strict"].message == "[XPASS(strict)] must fail"
    both = by_id[M + "test_fail_then_teardown_error"]
    assert both.when == "teardown" and both.message == "RuntimeError: teardown broke"
    assert both.longrepr is not None and "the real failure" in both.longrepr


# ----------------------------------------------------------------------------------------
# 2. Subtests: counted once per test, a failing subtest fails it, skipped subtests pass it

SUBTESTS = {
    "tests/test_sub.py": """
        import unittest

        def test_all_pass(subtests):
            for number in range(3):
                with subtests.test(msg="even", i=number):
                    assert number < 3

        def test_one_fails(subtests):
            for number in range(3):
                with subtests.test(i=number):
                    assert number != 1, "one is odd"

        class TestUnit(unittest.TestCase):
            def test_all_skip(self):
                for number in range(2):
                    with self.subTest(i=number):
                        self.skipTest("not here")

            def test_unit_fails(self):
                for number in range(2):
                    with self.subTest(i=number):
                        self.assertEqual(number, 0)
    """,
}

S = "tests/test_sub.py::"
SUBTEST_OUTCOMES = {S + "test_all_pass": "passed", S + "test_one_fails": "failed",
                    S + "TestUnit::test_all_skip": "passed",
                    S + "TestUnit::test_unit_fails": "failed"}


def check_subtests(run: PhaseRun, env: Any, mode: str) -> None:
    by_id = {test.nodeid: test for test in run.tests}
    assert by_id[S + "test_all_pass"].subtests == SubtestCounts(passed=3)
    assert by_id[S + "test_one_fails"].subtests == SubtestCounts(passed=2, failed=1)
    one = by_id[S + "test_one_fails"]
    assert one.message is not None and "i=" in one.message and "one is odd" in one.message
    assert by_id[S + "TestUnit::test_all_skip"].subtests == SubtestCounts(skipped=2)
    assert by_id[S + "TestUnit::test_unit_fails"].subtests == SubtestCounts(passed=1,
                                                                             failed=1)
    assert run.subtests == SubtestCounts(passed=6, failed=2, skipped=2)
    assert run.counts.passed == 2 and run.counts.failed == 2  # one per test


# A suite made only of subtests is evidence, never "nothing collected".
ONLY_SUBTESTS = {
    "tests/test_only.py": """
        def test_each(subtests):
            for number in range(2):
                with subtests.test(i=number):
                    assert True
    """,
}


# ----------------------------------------------------------------------------------------
# 3. Reruns: counted once, with the final outcome, marked flaky

def reruns_files(tmp: str) -> dict[str, str]:
    return {
        "tests/test_flaky.py": f"""
            from pathlib import Path
            MARK = Path({tmp!r}) / "attempts"

            def test_flaky():
                MARK.mkdir(exist_ok=True)
                attempts = len(list(MARK.iterdir()))
                (MARK / str(attempts)).write_text("x")
                assert attempts >= 1, "fails on the first attempt only"

            def test_always_fails():
                assert False, "every time"

            def test_steady():
                pass
        """,
    }


F = "tests/test_flaky.py::"


def check_reruns(run: PhaseRun, env: Any, mode: str) -> None:
    by_id = {test.nodeid: test for test in run.tests}
    flaky = by_id[F + "test_flaky"]
    assert (flaky.outcome, flaky.reruns, flaky.flaky) == ("passed", 1, True)
    assert flaky.message is not None and "fails on the first attempt only" in flaky.message
    assert by_id[F + "test_always_fails"].reruns == 2
    assert by_id[F + "test_steady"].reruns == 0
    assert len(run.tests) == 3


# ----------------------------------------------------------------------------------------
# 4. The test that killed the session is named

DIES = {
    "tests/test_dies.py": """
        import os, signal

        def test_before():
            pass

        def test_exits():
            os._exit(7)
    """,
    "tests/test_later.py": "def test_after():\n    pass\n",
}
SEGFAULT = {
    "tests/test_segv.py": """
        import os, signal

        def test_before():
            pass

        def test_segfaults():
            os.kill(os.getpid(), signal.SIGSEGV)
    """,
}
HANGS = {
    "tests/test_hangs.py": """
        import time

        def test_quick():
            pass

        def test_hangs():
            time.sleep(600)
    """,
}


def check_named(expected_nodeid: str, serial_message: str) -> Callable[[PhaseRun, Any, str],
                                                                      None]:
    def check(run: PhaseRun, env: Any, mode: str) -> None:
        by_id = {test.nodeid: test for test in run.tests}
        culprit = by_id[expected_nodeid]
        assert culprit.outcome == "error"
        if mode == "serial" or "timed out" in serial_message:
            assert culprit.message == serial_message
            assert culprit.crashed
        else:
            assert culprit.message is not None
            assert culprit.message.startswith("the session died while this test ran: "
                                              "pytest-xdist worker gw"), culprit.message
            assert culprit.message.endswith(" crashed")
        findings = [f for f in phase_findings(run) if f.kind == "crashed-test"]
        if culprit.crashed:
            assert [f.message.startswith(expected_nodeid + ": ") for f in findings] == [True]

    return check


# ----------------------------------------------------------------------------------------
# 5. pytest.exit() and KeyboardInterrupt inside pytest: interrupted, never green

EXIT_IN_TEARDOWN = {
    "conftest.py": """
        import pytest

        def pytest_runtest_teardown(item):
            if item.name == "test_first":
                pytest.exit("stop here", returncode=0)
    """,
    "tests/test_three.py": """
        def test_first():
            pass

        def test_second():
            assert False, "would fail"

        def test_third():
            pass
    """,
    "run.py": "import sys, pytest\nsys.exit(pytest.main(['tests']))\n",
}
KEYBOARD_INTERRUPT = {
    "tests/test_ki.py": """
        def test_first():
            pass

        def test_interrupts():
            raise KeyboardInterrupt

        def test_third():
            pass
    """,
}


def check_exit(run: PhaseRun, env: Any, mode: str) -> None:
    stop = run.interruption
    assert stop is not None
    assert stop.kind == "exit" and stop.message == "stop here" and stop.returncode == 0
    assert (stop.path, stop.line) == ("conftest.py", 5)
    assert run.reason is not None and "pytest.exit('stop here') at conftest.py:5" in run.reason
    (finding,) = [f for f in phase_findings(run) if f.kind == "interrupted-session"]
    assert (finding.path, finding.line) == ("conftest.py", 5)
    never = 2 if mode == "serial" else None
    if never is not None:
        assert "2 collected tests never ran" in finding.message, finding.message


def check_keyboard_interrupt(run: PhaseRun, env: Any, mode: str) -> None:
    stop = run.interruption
    assert stop is not None and stop.kind == "keyboard-interrupt"
    assert (stop.path, stop.line) == ("tests/test_ki.py", 5)


# ----------------------------------------------------------------------------------------
# 6. Collection errors under xdist: claimcheck keeps one per file, beside pytest's own figure

# The error names the worker (as errors naming a temporary path or a pid do): pytest-xdist
# then counts it once per worker, where the same text would be counted once.
COLLECTION_ERROR = {
    "tests/test_ok.py": "def test_ok():\n    pass\n",
    "tests/test_broken.py": """
        import os
        raise ImportError("no backend in " + os.environ.get("PYTEST_XDIST_WORKER", "main"))
    """,
}


def check_collection_errors(run: PhaseRun, env: Any, mode: str) -> None:
    assert len(run.collection_errors) == 1
    assert run.counts.error == 1
    if mode == "xdist":
        assert run.pytest_collection_errors == 2  # pytest: one per worker
    else:
        assert run.pytest_collection_errors is None  # the same figure: nothing to show


# ----------------------------------------------------------------------------------------
# 7. A file skipped as a whole at collection (a module-level importorskip, as wcwidth's suite
#    has): pytest's summary counts it as one skipped, so claimcheck counts it too

MODULE_SKIP = {
    "tests/test_ok.py": "def test_ok():\n    pass\n",
    "tests/test_needs_lib.py": """
        import pytest

        pytest.importorskip("no_such_library_anywhere")

        def test_never_collected():
            pass
    """,
    "tests/test_elsewhere.py": """
        import pytest

        pytest.skip("only on the build farm", allow_module_level=True)

        def test_never_collected():
            pass
    """,
}


def check_module_skip(run: PhaseRun, env: Any, mode: str) -> None:
    assert (run.counts.passed, run.counts.skipped) == (1, 2)
    # pytest's own summary line, from a bare run of the same project, says the same
    assert run.settings is not None
    bare = subprocess.run([env.python, "-m", "pytest", "-q", "tests",
                           *(["-n", "2"] if mode == "xdist" else [])],
                          cwd=run.settings.rootdir, capture_output=True, text=True,
                          env=clean_env(), timeout=120, check=False)
    assert re.search(r"^1 passed, 2 skipped in ", bare.stdout, re.MULTILINE), bare.stdout
    by_id = {test.nodeid: test for test in run.tests}
    lib = by_id["tests/test_needs_lib.py"]
    assert lib.when == "collect" and lib.path == "tests/test_needs_lib.py"
    assert lib.message is not None and "no_such_library_anywhere" in lib.message
    elsewhere = by_id["tests/test_elsewhere.py"]
    assert elsewhere.message == "only on the build farm"


# ----------------------------------------------------------------------------------------

FIXTURES: dict[str, Fixture] = {
    "mixed": Fixture(MIXED, always(MIXED_OUTCOMES), always("failed"),
                     args=("tests", "-k", "not deselect_me"), check=check_mixed),
    "subtests": Fixture(SUBTESTS, always(SUBTEST_OUTCOMES), always("failed"),
                        needs=("subtests",), check=check_subtests,
                        # pytest-subtests (pytest 8) leaves the test's own call report passed
                        # and later passing subtests relabel it "subtests passed": json-report
                        # never learns a subtest failed.
                        oracle_blind=lambda env: (frozenset({S + "test_one_fails"})
                                                  if env.pytest_major < 9 else frozenset())),
    "only-subtests": Fixture(ONLY_SUBTESTS, always({"tests/test_only.py::test_each": "passed"}),
                             always("passed"), needs=("subtests",)),
    "reruns": Fixture({}, always({F + "test_flaky": "passed", F + "test_always_fails": "failed",
                                  F + "test_steady": "passed"}),
                      always("failed"), args=("tests", "--reruns", "2"),
                      needs=("pytest-rerunfailures",), check=check_reruns),
    "os-exit": Fixture(
        DIES,
        lambda env, mode: {"tests/test_dies.py::test_before": "passed",
                           "tests/test_dies.py::test_exits": "error",
                           **({"tests/test_later.py::test_after": "passed"}
                              if mode == "xdist" else {})},
        lambda env, mode: "crashed" if mode == "serial" else "failed",
        check=check_named("tests/test_dies.py::test_exits",
                          "the session died while this test ran: the process exited with 7 "
                          "before the test finished"),
        oracle=lambda env, mode: mode == "xdist"),
    "segfault": Fixture(
        SEGFAULT,
        always({"tests/test_segv.py::test_before": "passed",
                "tests/test_segv.py::test_segfaults": "error"}),
        lambda env, mode: "crashed" if mode == "serial" else "failed",
        check=check_named("tests/test_segv.py::test_segfaults",
                          "the session died while this test ran: killed by SIGSEGV"),
        oracle=lambda env, mode: mode == "xdist"),
    "hangs": Fixture(
        HANGS,
        always({"tests/test_hangs.py::test_quick": "passed",
                "tests/test_hangs.py::test_hangs": "error"}),
        always("timeout"), timeout=12,
        check=check_named("tests/test_hangs.py::test_hangs",
                          "still running when the phase timed out after 12 s"),
        oracle=always(False)),
    "exit-in-teardown": Fixture(
        EXIT_IN_TEARDOWN,
        lambda env, mode: ({"tests/test_three.py::test_first": "passed"}
                           if mode == "serial" else None),
        always("interrupted"), check=check_exit),
    "exit-in-teardown-command": Fixture(
        EXIT_IN_TEARDOWN,
        lambda env, mode: ({"tests/test_three.py::test_first": "passed"}
                           if mode == "serial" else None),
        always("interrupted"), command=("python", "run.py"), check=check_exit),
    "keyboard-interrupt": Fixture(
        KEYBOARD_INTERRUPT,
        lambda env, mode: ({"tests/test_ki.py::test_first": "passed"}
                           if mode == "serial" else None),
        always("interrupted"), check=check_keyboard_interrupt),
    "collection-error": Fixture(COLLECTION_ERROR, always({"tests/test_ok.py::test_ok": "passed"}),
                                always("error"), check=check_collection_errors),
    "module-skip": Fixture(MODULE_SKIP, always({"tests/test_ok.py::test_ok": "passed",
                                                "tests/test_needs_lib.py": "skipped",
                                                "tests/test_elsewhere.py": "skipped"}),
                           always("passed"), check=check_module_skip),
}


# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_name", ENGINE_ENVS)
@pytest.mark.parametrize("name", list(FIXTURES))
async def test_fixture(name: str, env_name: str, mode: str, engine_envs: dict[str, Any],
                       tmp_path: Path) -> None:
    env = engine_env_or_skip(engine_envs, env_name, mode)
    fixture = FIXTURES[name]
    for need in fixture.needs:
        if not env.has(need):
            pytest.skip(f"pytest {env.pytest_version} in {env_name!r} has no {need}")
    root = tmp_path / "proj"
    files = fixture.files or reruns_files(str(tmp_path))
    write_project(root, {"pytest.ini": f"[pytest]\naddopts = {UNUSED}\n", **files})
    report = tmp_path / "oracle.json"
    extra = ["-n", "2"] if mode == "xdist" else []
    use_oracle = fixture.oracle(env, mode) and env.has("pytest-json-report")
    if use_oracle:
        extra += ["--json-report", f"--json-report-file={report}"]
    if fixture.command is not None:
        phase = PhaseConfig(name="unit", command=fixture.command, timeout=fixture.timeout)
        extra_args = tuple(extra)
    else:
        phase = PhaseConfig(name="unit", pytest=(*fixture.args, *extra), timeout=fixture.timeout)
        extra_args = ()
    config = Config(root=root, source=None, python=env.python, phases=(), gaps=())
    run = await run_phase(phase, config, extra_args=extra_args, env=clean_env())

    context = f"{name} under pytest {env.pytest_version} ({env_name}, {mode}):\n{run.output_tail}"
    outcomes = {test.nodeid: test.outcome for test in run.tests}
    expected = fixture.expected(env, mode)
    if expected is not None:
        assert outcomes == expected, context
    assert run.status == fixture.status(env, mode), (run.reason, context)
    assert len(outcomes) == len(run.tests), "one result per node id"
    if fixture.check is not None:
        fixture.check(run, env, mode)
    if use_oracle:
        assert report.exists(), context
        blind = fixture.oracle_blind(env)
        seen = {nodeid: outcome for nodeid, outcome in outcomes.items() if nodeid not in blind}
        recorded = {nodeid: outcome for nodeid, outcome in oracle(report).items()
                    if nodeid not in blind}
        assert seen == recorded, context


# ----------------------------------------------------------------------------------------
# The plugin folds the reports of a plainly passing test in a few steps (most reports of a
# run) and every other report in `_fold`: the two must agree on every report.

FOLD_WATCH = """
    import json, os
    import pytest

    SUMS = {}

    def pytest_report_teststatus(report, config):
        # a plugin's own category for a setup that passed: it decides that test
        if report.when == "setup" and report.passed and "audited" in report.keywords:
            return "audited", "A", "AUDITED"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(report):
        if type(report) is pytest.TestReport:  # not a subtest's
            SUMS[report.nodeid] = SUMS.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(session):
        if not hasattr(session.config, "workerinput"):
            with open(os.environ["FOLD_DURATIONS"], "w") as handle:
                json.dump(SUMS, handle)
"""
FOLD_EXTRAS = """
    import pytest

    @pytest.fixture
    def skipping():
        pytest.skip("skipped in setup")

    @pytest.fixture
    def broken_teardown():
        yield
        raise RuntimeError("teardown broke")

    def test_skips_in_setup(skipping):
        pass

    def test_teardown_error(broken_teardown):
        print("some output")

    @pytest.mark.audited
    def test_audited_setup():
        pass
"""
GENERAL_FOLD_ONLY = """
    import os
    import claimcheck_writer

    def _every_report_to_fold(self, report):
        with open(os.environ["FOLDED_HERE"], "a") as folded:
            folded.write(report.nodeid + "\\n")
        self._fold(report.nodeid, report, self.partial.get(report.nodeid))

    fast = claimcheck_writer._Writer.pytest_runtest_logreport
    _every_report_to_fold.__dict__.update(fast.__dict__)  # its hookimpl options
    claimcheck_writer._Writer.pytest_runtest_logreport = _every_report_to_fold
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("env_name", ENGINE_ENVS)
def test_plainly_passing_reports_fold_as_every_other_report_does(
        env_name: str, mode: str, engine_envs: dict[str, Any], tmp_path: Path) -> None:
    """The mixed outcomes, subtests, reruns and a plugin's own category for a setup: each
    test's line the same with the few steps for plainly passing reports and with `_fold`
    alone (a plugin that sends every report there), and each line's duration exactly the sum
    of its reports' (a conftest adds them)."""
    env = engine_env_or_skip(engine_envs, env_name, mode)
    files = {**MIXED, "conftest.py": FOLD_WATCH, "tests/test_extras.py": FOLD_EXTRAS,
             "pytest.ini": f"[pytest]\naddopts = {UNUSED}\nmarkers =\n    audited: apart\n"}
    args = ["-p", "no:cacheprovider", "--continue-on-collection-errors",
            *(["-n", "2"] if mode == "xdist" else []), "tests"]
    if env.has("subtests"):
        files.update(SUBTESTS)
    if env.has("pytest-rerunfailures"):
        files.update(reruns_files(str(tmp_path)))
        args += ["--reruns", "2"]
    root = write_project(tmp_path / "proj", files)
    write_project(tmp_path / "general", {"claimcheck_general_fold.py": GENERAL_FOLD_ONLY})

    def lines(run: str, *extra: str) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
        shutil.rmtree(tmp_path / "attempts", ignore_errors=True)  # the flaky test's
        stream = tmp_path / run
        stream.mkdir()
        plugin_env = clean_env(CLAIMCHECK_STREAM_DIR=str(stream),
                               FOLD_DURATIONS=str(stream / "durations.json"),
                               FOLDED_HERE=str(tmp_path / "folded"),
                               PYTHONPATH=f"{PLUGIN_DIR}{os.pathsep}{tmp_path / 'general'}")
        done = subprocess.run([env.python, "-m", "pytest", "-p", "claimcheck_stream", *extra,
                               *args], cwd=root, env=plugin_env, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 1, done.stdout + done.stderr
        (events,) = stream.glob("*.jsonl")
        tests = {event["nodeid"]: event
                 for event in map(json.loads, events.read_text().splitlines())
                 if event["event"] == "test"}
        for event in tests.values():  # which worker ran it, and where a fixture's object was
            if "longrepr" in event:
                event["longrepr"] = re.sub(r"\[gw\d+\] .*\n| at 0x[0-9a-f]+", "",
                                           event["longrepr"])
        return tests, json.loads((stream / "durations.json").read_text())

    fast, fast_sums = lines("fast")
    general, general_sums = lines("all-folded", "-p", "claimcheck_general_fold")
    assert {nodeid: event.pop("duration") for nodeid, event in fast.items()} == fast_sums
    assert {nodeid: event.pop("duration") for nodeid, event in general.items()} == general_sums
    assert fast == general
    # ... and the second run's reports all went to `_fold`
    assert set((tmp_path / "folded").read_text().splitlines()) == set(general)
    assert len(fast) == (len(MIXED_OUTCOMES) + 1 + 3 + 4 * env.has("subtests")
                         + 3 * env.has("pytest-rerunfailures"))  # + test_deselect_me
    assert fast["tests/test_extras.py::test_audited_setup"]["when"] == "setup"


def test_the_oracle_maps_every_label_it_meets() -> None:
    assert oracle_outcome({"outcome": "rerun", "setup": {"outcome": "passed"},
                           "call": {"outcome": "passed"}}) == "passed"
    assert oracle_outcome({"outcome": "subtests passed", "call": {"outcome": "failed"}}) == \
        "failed"
    assert oracle_outcome({"outcome": "failed", "???": {"outcome": "failed"}}) == "error"
    assert oracle_outcome({"outcome": "failed", "call": {"outcome": "failed"},
                           "teardown": {"outcome": "failed"}}) == "error"
    with pytest.raises(AssertionError):
        oracle_outcome({"outcome": "flaky"})

