"""The phase runner against real pytest subprocesses on fixture projects written into tmp_path.

Every fixture project carries its own pytest.ini so pytest's rootdir is pinned to it, never to
claimcheck's repository. Pure parts (status, command building, error parsing) are tested in
tests/test_pytest_run_units.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.models import (
    CollectionErrored,
    Counts,
    PhaseFinished,
    PhaseStarted,
    TestFinished,
    TestsCollected,
)
from claimcheck.collectors.phase_command import QUIET_ARGS
from claimcheck.collectors.pytest_run import (
    PLUGIN_DIR,
    EnvironmentProblem,
    check_interpreter,
    clear_stale_stream_folders,
    kill_stragglers,
    run_phase,
    wait_for_stragglers,
)
from claimcheck.collectors.session import run_evidence

from tests.conftest import ENGINE_ENVS, UNUSED_PLUGINS, clean_env, engine_env_or_skip
from tests.phase_runs import (
    PYTEST_INI,
    XDIST_COUNTS,
    XDIST_SELECTION,
    XDIST_SUITE,
    config_for,
    outcomes,
    run,
)
from tests.processes import runs_pytest

HAS_XDIST = importlib.util.find_spec("xdist") is not None
pytestmark = pytest.mark.usefixtures("no_stragglers_left")


def gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def describe(pid: int) -> str:
    try:
        proc = psutil.Process(pid)
        return f"{pid} {proc.status()} ppid={proc.ppid()} pgid={os.getpgid(pid)} {proc.cmdline()}"
    except (psutil.Error, OSError) as exc:
        return f"{pid}: {exc}"


def pytest_final_counts(root: Path, *args: str) -> dict[str, int]:
    """Run plain pytest on `root` and read its own "collected" and final summary lines."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root, env=clean_env(), capture_output=True, text=True, check=False,
    )
    lines = completed.stdout.strip().splitlines()
    counts: dict[str, int] = {}
    collected = next(line for line in lines if line.startswith("collected "))
    counts["collected"] = int(collected.split()[1])
    selected = re.search(r"(\d+) deselected", collected)
    counts["deselected"] = int(selected.group(1)) if selected else 0
    for number, word in re.findall(r"(\d+) (failed|passed|skipped|xfailed|xpassed|errors?)",
                                   lines[-1]):
        counts["error" if word.startswith("error") else word] = int(number)
    return counts


def test_the_quiet_arguments_leave_pytest_dots_without_a_progress_column(make_project) -> None:
    """What claimcheck adds when a phase leaves the verbosity to it: pytest's progress column
    is measured after every test, and nobody reads it. (The phase's output tail is read as it
    comes, so it may end before pytest's last line: pytest's own output is asked here.)"""
    root = make_project({"pytest.ini": PYTEST_INI, "tests/test_ok.py": """
        def test_one():
            pass
        def test_two():
            pass
    """})
    done = subprocess.run([sys.executable, "-m", "pytest", *QUIET_ARGS, "tests"], cwd=root,
                          env=clean_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "..", done.stdout  # not "..  [100%]"
    assert "%]" not in done.stdout


# ----------------------------------------------------------------------------------------
# One test per status


async def test_passed_phase_reports_tests_settings_and_event_order(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI + "markers =\n    api(name): talks to the API\n",
        "tests/test_ok.py": """
            import pytest
            def test_one():
                assert True
            @pytest.mark.api
            def test_two():
                assert True
        """,
    })
    events: list[Any] = []
    result = await run(root, pytest_args=("tests",), events=events)

    assert result.status == "passed", result.output_tail
    assert result.reason is None
    assert result.exit_code == 0
    assert result.counts == Counts(collected=2, passed=2)
    assert [t.nodeid for t in result.tests] == ["tests/test_ok.py::test_one",
                                                 "tests/test_ok.py::test_two"]
    assert result.tests[1].markers == ("api",)
    assert result.tests[0].path == "tests/test_ok.py"
    assert result.tests[0].line == 2
    assert len(result.sessions) == 1 and result.sessions[0].exit_status == 0
    assert result.settings is not None
    assert result.settings.rootdir == str(root)
    assert result.settings.inifile == str(root / "pytest.ini")
    assert "api" in result.settings.markers and "xfail" in result.settings.markers
    assert result.settings.strict_markers is False
    assert "-q" in result.argv and "--no-summary" in result.argv
    assert "--continue-on-collection-errors" in result.argv

    kinds = [type(event).__name__ for event in events]
    assert kinds == ["PhaseStarted", "TestsCollected", "TestFinished", "TestFinished",
                     "PhaseFinished"]
    assert events[1] == TestsCollected("unit", 2, 0, result.settings)
    assert events[-1].run == result


MIXED_PROJECT = {
    "pytest.ini": PYTEST_INI,
    "tests/test_mixed.py": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture exploded")

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

        def test_setup_error(broken):
            pass

        def test_deselect_me():
            pass
    """,
    "tests/test_broken.py": "import not_a_module_anywhere\n",
}


async def test_failed_phase_and_counts_equal_pytests_own_summary(make_project):
    root = make_project(MIXED_PROJECT)
    args = ("tests", "-k", "not deselect_me")
    result = await run(root, pytest_args=args)

    assert result.status == "failed", result.output_tail
    assert result.exit_code == 1
    expected = pytest_final_counts(root, "--continue-on-collection-errors", *args)
    assert expected == {"collected": 9, "deselected": 1, "failed": 2, "passed": 2,
                        "skipped": 1, "xfailed": 1, "xpassed": 1, "error": 2}
    counts = result.counts
    assert {"collected": counts.collected, "deselected": counts.deselected,
            "failed": counts.failed, "passed": counts.passed, "skipped": counts.skipped,
            "xfailed": counts.xfailed, "xpassed": counts.xpassed,
            "error": counts.error} == expected

    by_id = {test.nodeid: test for test in result.tests}
    bold = by_id["tests/test_mixed.py::test_param[[bold red]x]"]  # byte-exact, markup intact
    assert bold.outcome == "failed"
    assert bold.message == "AssertionError: assert '[bold red]x' == 'plain'"
    assert by_id["tests/test_mixed.py::test_fail"].message == "assert 1 == 2"  # pytest's words
    assert by_id["tests/test_mixed.py::test_fail"].line == 11  # the failing assert
    assert "assert 1 == 2" in (by_id["tests/test_mixed.py::test_fail"].longrepr or "")
    setup_error = by_id["tests/test_mixed.py::test_setup_error"]
    assert (setup_error.outcome, setup_error.when) == ("error", "setup")
    assert setup_error.message == "RuntimeError: fixture exploded"
    assert by_id["tests/test_mixed.py::test_skip"].message == "not today"
    assert by_id["tests/test_mixed.py::test_skip"].longrepr is None
    assert by_id["tests/test_mixed.py::test_xfail"].outcome == "xfailed"
    assert by_id["tests/test_mixed.py::test_xpass"].outcome == "xpassed"
    assert [e.path for e in result.collection_errors] == ["tests/test_broken.py"]


@pytest.mark.parametrize(
    ("files", "args", "reason"),
    [
        ({"tests/test_none.py": "x = 1\n"}, ("tests",), "nothing collected"),
        ({"tests/test_two.py": "def test_a(): pass\ndef test_b(): pass\n"},
         ("tests", "-k", "no_such_test"), "all 2 collected tests deselected"),
        ({"tests/test_two.py": "import pytest\npytestmark = pytest.mark.skip('later')\n"
                               "def test_a(): pass\ndef test_b(): pass\n"},
         ("tests",), "all 2 tests skipped"),
    ],
    ids=["nothing-collected", "all-deselected", "all-skipped"],
)
async def test_no_tests_phase_says_why(make_project, files, args, reason):
    root = make_project({"pytest.ini": PYTEST_INI, **files})
    result = await run(root, pytest_args=args)
    assert result.status == "no-tests"
    assert result.reason == reason


async def test_no_pytest_session_is_no_tests_even_with_exit_zero(make_project):
    root = make_project({"pytest.ini": PYTEST_INI, "run.py": "print('all good!')\n"})
    result = await run(root, command=("python", "run.py"))
    assert result.exit_code == 0
    assert result.status == "no-tests"
    assert result.reason == "no pytest session observed"
    assert "all good!" in result.output_tail


async def test_command_failing_before_pytest_is_crashed(make_project):
    root = make_project({"pytest.ini": PYTEST_INI, "run.py": "raise SystemExit(3)\n"})
    result = await run(root, command=("python", "run.py"))
    assert (result.status, result.exit_code) == ("crashed", 3)
    assert result.reason == "command exited with 3 before any pytest session started"


async def test_command_that_cannot_start_is_crashed(make_project):
    root = make_project({"pytest.ini": PYTEST_INI})
    events: list[Any] = []
    result = await run(root, command=("./no-such-runner",), events=events)
    assert result.status == "crashed"
    assert result.reason is not None and "cannot start './no-such-runner'" in result.reason
    assert [type(e) for e in events] == [PhaseStarted, PhaseFinished]


async def test_collection_errors_are_reported_and_other_files_still_run(make_project):
    root = make_project({
        "pytest.ini": f"[pytest]\naddopts = --strict-markers {UNUSED_PLUGINS}\n",
        "app/__init__.py": "",
        "app/auth.py": "def login():\n    return True\n",
        "tests/test_auth.py": "from app.auth import create_auth_handler\n"
                              "def test_auth(): pass\n",
        "tests/test_agent.py": "import app.factories.agent_factory\n"
                               "def test_agent(): pass\n",
        "tests/test_load.py": "import pytest\n@pytest.mark.scalability\n"
                              "def test_load(): pass\n",
        "tests/test_syntax.py": "def test_broken(:\n    pass\n",
        "tests/test_fine.py": "def test_fine():\n    pass\n",
    })
    events: list[Any] = []
    result = await run(root, pytest_args=("tests",), events=events)

    assert result.status == "error", result.output_tail
    assert result.reason == "4 collection errors"
    assert result.counts.passed == 1 and result.counts.error == 4
    assert outcomes(result) == {"tests/test_fine.py::test_fine": "passed"}
    errors = {error.path: error for error in result.collection_errors}
    assert set(errors) == {"tests/test_auth.py", "tests/test_agent.py", "tests/test_load.py",
                           "tests/test_syntax.py"}
    auth = errors["tests/test_auth.py"]
    assert auth.error_type == "ImportError"
    assert auth.message.startswith("cannot import name 'create_auth_handler' from 'app.auth' (")
    agent = errors["tests/test_agent.py"]
    assert (agent.error_type, agent.message) == ("ModuleNotFoundError",
                                                 "No module named 'app.factories'")
    load = errors["tests/test_load.py"]
    assert (load.error_type, load.message) == (
        "Failed", "'scalability' not found in `markers` configuration option")
    assert errors["tests/test_syntax.py"].error_type == "SyntaxError"
    assert "ImportError while importing test module" in auth.longrepr
    assert result.settings is not None and result.settings.strict_markers is True
    streamed = [event.error for event in events if isinstance(event, CollectionErrored)]
    assert sorted(streamed, key=lambda e: e.path) == sorted(result.collection_errors,
                                                            key=lambda e: e.path)


async def test_timeout_kills_the_whole_tree_and_keeps_streamed_results(make_project, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_hang.py": f"""
            import subprocess, sys, time
            from pathlib import Path
            MARKS = Path({str(marks)!r})
            SLEEP = [sys.executable, "-c", "import time; time.sleep(600)"]

            def test_quick():
                pass

            def test_hangs():
                child = subprocess.Popen(SLEEP)
                (MARKS / "child").write_text(str(child.pid))
                # a grandchild whose parent exits at once: an orphan only the group still holds
                subprocess.run(
                    [sys.executable, "-c",
                     "import subprocess, sys; p = subprocess.Popen(sys.argv[2:]); "
                     "open(sys.argv[1], 'w').write(str(p.pid))",
                     str(MARKS / "orphan"), *SLEEP], check=True)
                time.sleep(600)
        """,
    })
    result = await run(root, pytest_args=("tests",), timeout=5)

    assert result.status == "timeout"
    assert result.reason == "timed out after 5 s"
    assert result.exit_code is None
    assert outcomes(result) == {"tests/test_hang.py::test_quick": "passed",
                                "tests/test_hang.py::test_hangs": "error"}
    hung = result.tests[-1]
    assert hung.message == "still running when the phase timed out after 5 s"
    assert hung.crashed and result.counts.error == 1
    assert result.sessions[0].exit_status is None
    pids = [result.sessions[0].pid]
    for name in ("child", "orphan"):
        assert (marks / name).exists(), f"the hanging test never started its {name} process"
        pids.append(int((marks / name).read_text()))
    assert all(gone(pid) for pid in pids), [describe(p) for p in pids if not gone(p)]


async def test_pytest_killed_mid_phase_is_crashed_and_keeps_earlier_results(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_crash.py": """
            import os
            def test_before():
                pass
            def test_dies():
                os._exit(7)
            def test_never_runs():
                pass
        """,
    })
    result = await run(root, pytest_args=("tests",))
    assert result.status == "crashed"
    assert result.reason is not None and "started but never finished" in result.reason
    assert result.exit_code == 7
    assert outcomes(result) == {"tests/test_crash.py::test_before": "passed",
                                "tests/test_crash.py::test_dies": "error"}
    assert result.tests[-1].message == ("the session died while this test ran: the process "
                                        "exited with 7 before the test finished")
    assert result.counts.collected == 3 and result.counts.error == 1


async def test_cancelling_the_task_kills_the_tree_and_reports_interrupted(make_project,
                                                                          tmp_path):
    pid_file = tmp_path / "child.pid"
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_wait.py": f"""
            import subprocess, sys, time
            from pathlib import Path

            def test_spawns():
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                Path({str(pid_file)!r}).write_text(str(child.pid))

            def test_waits_forever():
                time.sleep(600)
        """,
    })
    events: list[Any] = []
    first_result = asyncio.Event()
    started_pids: list[int] = []

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, TestFinished):
            first_result.set()

    phase = PhaseConfig(name="unit", pytest=("tests",), timeout=120)
    task = asyncio.create_task(run_phase(phase, config_for(root), on_event, env=clean_env()))
    await asyncio.wait_for(first_result.wait(), timeout=60)
    started_pids.extend(p.pid for p in psutil.Process().children(recursive=True))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    finished = [event for event in events if isinstance(event, PhaseFinished)]
    assert len(finished) == 1 and events[-1] is finished[0]
    result = finished[0].run
    assert result.status == "interrupted"
    assert result.exit_code is None
    assert outcomes(result) == {"tests/test_wait.py::test_spawns": "passed"}
    child = int(pid_file.read_text())
    assert child in started_pids  # the tree really contained it while the phase ran
    assert all(gone(pid) for pid in started_pids)


# ----------------------------------------------------------------------------------------
# Command phases: the project's own runner


async def test_wrapper_swallowing_exit_status_with_two_sessions_is_still_failed(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "scripts/run_tests.py": """
            import subprocess, sys
            import pytest
            pytest.main(["-q", "tests/a"])  # in this process
            subprocess.run([sys.executable, "-m", "pytest", "tests/b"])  # in a new one
            sys.exit(0)  # whatever happened
        """,
        "tests/a/test_a.py": "def test_ok(): pass\ndef test_bad(): assert 1 == 2\n",
        "tests/b/test_b.py": """
            import subprocess, sys
            def test_runs_its_own_pytest():
                # a test that runs pytest itself: that inner session is not the phase's
                done = subprocess.run([sys.executable, "-m", "pytest", "-q", "inner"],
                                      capture_output=True, text=True)
                assert done.returncode == 1, done.stdout
        """,
        "inner/test_inner.py": "def test_inner(): assert False\n",
    })
    events: list[Any] = []
    result = await run(root, command=("python", "scripts/run_tests.py"), events=events)

    assert result.exit_code == 0
    assert result.status == "failed", result.output_tail
    assert outcomes(result) == {"tests/a/test_a.py::test_ok": "passed",
                                "tests/a/test_a.py::test_bad": "failed",
                                "tests/b/test_b.py::test_runs_its_own_pytest": "passed"}
    assert [s.exit_status for s in result.sessions] == [1, 0]
    assert len({s.pid for s in result.sessions}) == 2
    assert result.counts == Counts(collected=3, passed=2, failed=1)
    assert [e.count for e in events if isinstance(e, TestsCollected)] == [2, 1]


async def test_extra_args_reach_a_command_phases_pytest(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "run.py": "import pytest\npytest.main(['tests'])\n",
        "tests/test_x.py": "def test_keep(): pass\ndef test_drop(): pass\n",
    })
    result = await run(root, command=("python", "run.py"), extra_args=("-k", "keep"))
    assert outcomes(result) == {"tests/test_x.py::test_keep": "passed"}
    assert result.counts.deselected == 1


# ----------------------------------------------------------------------------------------
# Streaming, output, xdist


async def test_results_stream_while_later_tests_still_run(make_project, tmp_path):
    go = tmp_path / "go"
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_stream.py": f"""
            import time
            from pathlib import Path

            def test_quick():
                pass

            def test_waits_for_claimcheck():
                # claimcheck's caller creates the file when it has seen test_quick's result
                for _ in range(1200):
                    if Path({str(go)!r}).exists():
                        return
                    time.sleep(0.05)
                raise AssertionError("test_quick's result was not streamed while we ran")
        """,
    })
    running_at_receipt: list[list[str]] = []

    def on_event(event: Any) -> None:
        if isinstance(event, TestFinished) and event.result.nodeid.endswith("test_quick"):
            running_at_receipt.append([" ".join(child.cmdline())
                                       for child in psutil.Process().children()])
            go.write_text("seen")

    phase = PhaseConfig(name="unit", pytest=("tests",), timeout=120)
    result = await run_phase(phase, config_for(root), on_event, env=clean_env())
    (running,) = running_at_receipt
    assert any("-m pytest" in cmdline for cmdline in running), running
    assert outcomes(result) == {"tests/test_stream.py::test_quick": "passed",
                                "tests/test_stream.py::test_waits_for_claimcheck": "passed"}


async def test_a_flood_of_output_never_blocks_the_phase(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_loud.py": """
            def test_loud():
                for number in range(50_000):
                    print(f"line {number} " + "x" * 40)
        """,
    })
    result = await run(root, pytest_args=("tests", "-s"))  # -s: straight into our pipe
    assert result.status == "passed"
    lines = result.output_tail.splitlines()
    assert len(lines) <= 200
    assert any(line.startswith("line 49999 ") for line in lines)


async def test_captured_output_is_kept_for_failures_only(make_project):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_out.py": """
            def test_quiet_pass():
                print("nobody needs this")
            def test_loud_fail():
                print("the clue")
                assert False
        """,
    })
    result = await run(root, pytest_args=("tests",))
    by_id = {test.nodeid: test for test in result.tests}
    assert by_id["tests/test_out.py::test_quiet_pass"].sections == ()
    sections = dict(by_id["tests/test_out.py::test_loud_fail"].sections)
    assert sections["Captured stdout call"] == "the clue\n"


@pytest.mark.skipif(not HAS_XDIST, reason="pytest-xdist is not installed")
async def test_xdist_counts_equal_a_serial_run(make_project):
    root = make_project(XDIST_SUITE)
    serial = await run(root, pytest_args=XDIST_SELECTION)
    parallel = await run(root, pytest_args=(*XDIST_SELECTION, "-n", "2"))
    assert serial.counts == XDIST_COUNTS
    assert parallel.counts == serial.counts
    assert outcomes(parallel) == outcomes(serial)
    assert parallel.sessions[0].xdist_workers == 2
    assert [t.markers for t in parallel.tests if t.nodeid.endswith("test_a")] == [("api",)]
    assert parallel.status == serial.status == "failed"


# ----------------------------------------------------------------------------------------
# The interpreter


def test_check_interpreter_names_a_missing_interpreter(tmp_path):
    bogus = str(tmp_path / "no" / "python")
    config = Config(root=tmp_path, source=None, python=bogus, phases=(), gaps=())
    with pytest.raises(EnvironmentProblem) as caught:
        check_interpreter(config)
    assert bogus in str(caught.value)
    assert f"{bogus} -m pip install pytest" in str(caught.value)


async def test_a_phase_under_an_interpreter_without_pytest_says_what_to_install(
        make_project, tmp_path):
    """No pre-flight interpreter: the phase itself tells that pytest is missing."""
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    root = make_project({"pytest.ini": PYTEST_INI, "tests/test_a.py": "def test_a(): pass\n"})
    config = Config(root=root, source=None, python=python, phases=(), gaps=())
    check_interpreter(config)  # it exists: only the phase can tell what it lacks
    events: list[Any] = []
    phase = PhaseConfig(name="unit", pytest=("tests",), timeout=120)
    with pytest.raises(EnvironmentProblem) as caught:
        await run_phase(phase, config, events.append, env=clean_env())
    assert str(caught.value) == (f"interpreter {python!r} cannot import pytest (No module named "
                                 f"pytest); run: {python} -m pip install pytest")
    finished = events[-1]
    assert isinstance(finished, PhaseFinished)
    assert (finished.run.status, finished.run.reason) == ("error", str(caught.value))


def test_check_interpreter_accepts_this_one(tmp_path):
    check_interpreter(config_for(tmp_path))


def test_check_interpreter_finds_a_program_where_shutil_which_does(tmp_path, monkeypatch):
    """A path is looked at without shutil (it is imported before the first pytest is spawned);
    what it accepts and refuses must stay what `shutil.which` does, bare names included."""
    plain = tmp_path / "plain"
    plain.write_text("")
    runnable = tmp_path / "bin" / "mypython"
    runnable.parent.mkdir()
    runnable.write_text("#!/bin/sh\n")
    runnable.chmod(0o755)
    (tmp_path / "folder").mkdir()
    monkeypatch.setenv("PATH", str(runnable.parent))
    for python in (str(plain), str(runnable), str(tmp_path / "folder"), str(tmp_path / "gone"),
                   "mypython", "nopython", "bin/mypython"):
        monkeypatch.chdir(tmp_path)
        config = Config(root=tmp_path, source=None, python=python, phases=(), gaps=())
        try:
            check_interpreter(config)
            accepted = True
        except EnvironmentProblem:
            accepted = False
        assert accepted == (shutil.which(python) is not None), python
    assert shutil.which(str(runnable)) and not shutil.which(str(plain))  # both kinds were seen


# ----------------------------------------------------------------------------------------
# The plugin on its own


def run_with_plugin(root: Path, stream_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = clean_env()
    env["CLAIMCHECK_STREAM_DIR"] = str(stream_dir)
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "claimcheck_stream", *args],
                          cwd=root, env=env, capture_output=True, text=True, check=False)


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_plugin_writes_one_event_per_line_and_leaves_json_report_alone(make_project, tmp_path):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_p.py": """
            import warnings
            def test_warns():
                warnings.warn("old api", DeprecationWarning)
            def test_fails():
                assert 1 == 2
        """,
    })
    stream = tmp_path / "stream"
    stream.mkdir()
    done = run_with_plugin(root, stream, "-q", "tests")
    assert done.returncode == 1, done.stdout

    (events_file,) = stream.glob("*.jsonl")
    events = read_events(events_file)
    assert [e["event"] for e in events] == ["session_start", "collection_finish", "test",
                                            "warning", "test", "session_finish"]
    passed, failed, finish = events[2], events[4], events[-1]
    # a passing test's line carries nothing nobody reads
    assert set(passed) == {"event", "nodeid", "outcome", "duration", "line", "markers"}
    assert failed["message"] == "assert 1 == 2" and "longrepr" in failed
    assert finish["exitstatus"] == 1 and finish["collected"] == 2
    warning = events[3]
    assert (warning["category"], warning["message"]) == ("DeprecationWarning", "old api")
    assert warning["nodeid"] == "tests/test_p.py::test_warns"
    assert not list(stream.glob("*.json"))  # no second record
    assert not (root / ".report.json").exists()
    running = stream / events_file.name.replace(".jsonl", ".running")
    assert running.read_bytes().startswith(b"-\n")  # no test running at the end


def test_plugin_leaves_the_projects_own_json_report_where_it_wants_it(make_project, tmp_path):
    root = make_project({"pytest.ini": PYTEST_INI, "tests/test_p.py": "def test_a(): pass\n"})
    stream = tmp_path / "stream"
    stream.mkdir()
    done = run_with_plugin(root, stream, "--json-report", "--json-report-file=mine.json",
                           "tests")
    assert done.returncode == 0, done.stdout
    assert json.loads((root / "mine.json").read_text())["summary"]["passed"] == 1
    assert not list(stream.glob("*.json"))


EDITED_MID_RUN = """
    import pathlib

    def test_a():
        assert 1 == 2

    def test_b():
        assert "b" == "c"

    def test_edits_this_module():
        path = pathlib.Path(__file__)
        path.write_text("# edited\\n# edited\\n" + path.read_text())

    def test_c():
        x = 1
        assert x == (
            2)

    def test_d():
        assert [1, 2] == [
            1, 3]

    def test_e():
        assert {1} == {
            2}
"""


SHARING_SEEN = """
    import ast
    import os
    import _pytest._code.code as code

    parse = ast.parse

    def counting_parse(source, filename="<unknown>", *args, **kwargs):
        if filename == "source" and "import pathlib" in source:  # all of test_m.py
            with open(os.environ["SHARING_SEEN"], "a") as seen:
                seen.write("parse\\n")
        return parse(source, filename, *args, **kwargs)

    ast.parse = counting_parse

    def pytest_runtest_logreport(report):
        if report.failed:  # pytest 9's name for the formatter, then pytest 8's
            formatter = getattr(code, "ExceptionInfoFormatter", None) or code.FormattedExcinfo
            shares = getattr(formatter.__init__, "claimcheck_shares", False)
            with open(os.environ["SHARING_SEEN"], "a") as seen:
                seen.write(f"{shares}\\n")
"""


WORKER_LINE = re.compile(r"\[gw\d+\] .*\n")  # under xdist: which worker ran the test


def traceback_args(mode: str) -> list[str]:
    return ["-p", "no:cacheprovider", *(["-n", "2", "--dist", "loadfile"] if mode == "xdist"
                                        else []), "tests"]


def bare_output(python: str, args: list[str], project: Path) -> str:
    """Bare pytest's terminal output on `project`, without the lines naming xdist workers."""
    bare = subprocess.run([python, "-m", "pytest", *args], cwd=project, env=clean_env(),
                          capture_output=True, text=True, check=False)
    return WORKER_LINE.sub("", bare.stdout)


def failures_with_plugin(python: str, args: list[str], project: Path, work: Path,
                         **env: str) -> tuple[list[str], dict[str, str]]:
    """Run pytest with the plugin on `project` (whose conftest is SHARING_SEEN): what the
    conftest saw, and each failed test's traceback from the stream (its worker line cut)."""
    stream = work / f"stream-{len(list(work.glob('stream-*')))}"
    stream.mkdir()
    seen = work / "sharing-seen"
    seen.unlink(missing_ok=True)
    plugin_env = {**clean_env(), "CLAIMCHECK_STREAM_DIR": str(stream),
                  "PYTHONPATH": str(PLUGIN_DIR), "SHARING_SEEN": str(seen), **env}
    done = subprocess.run([python, "-m", "pytest", "-p", "claimcheck_stream", "-q", *args],
                          cwd=project, env=plugin_env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    (events_file,) = stream.glob("*.jsonl")
    failed = {e["nodeid"]: re.sub(f"^{WORKER_LINE.pattern}", "", e["longrepr"]).strip()
              for e in read_events(events_file)
              if e["event"] == "test" and e["outcome"] == "failed"}
    return seen.read_text().split(), failed


@pytest.mark.parametrize("mode", ["serial", "xdist"])
@pytest.mark.parametrize("env_name", ENGINE_ENVS)
def test_tracebacks_read_as_bare_pytest_prints_them_even_when_the_module_changes(
        env_name: str, mode: str, engine_envs: dict[str, Any], make_project, tmp_path):
    """The plugin has pytest parse a module once for all its failures, keeping its statement
    lines (claimcheck_trees), under xdist in the workers that format them; each traceback is
    still pytest's own text, also after the module was edited mid-run (the lines kept for
    test_b would give the later failures other statement ranges)."""
    env = engine_env_or_skip(engine_envs, env_name, mode)
    args = traceback_args(mode)
    files = {"pytest.ini": PYTEST_INI, "tests/test_m.py": EDITED_MID_RUN}
    seen_lines, failed = failures_with_plugin(
        env.python, args, make_project({**files, "conftest.py": SHARING_SEEN}, "with_plugin"),
        tmp_path)
    bare = bare_output(env.python, args, make_project(files, "bare"))
    assert sorted(nodeid.split("::")[1] for nodeid in failed) == [
        "test_a", "test_b", "test_c", "test_d", "test_e"]
    for nodeid, text in failed.items():
        assert text in bare, (nodeid, text, bare)
    assert "# edited" in failed["tests/test_m.py::test_c"]  # the edited source, as bare reads it
    assert set(seen_lines) - {"parse"} == {"True"}, "pytest's formatter was not shared"
    # Five failures, two parses: test_a's, then test_c's (the file was edited before it);
    # the others used the lines kept from them.
    assert seen_lines.count("parse") == 2, seen_lines


THREE_FAILURES = """
    import pathlib  # what SHARING_SEEN counts parses of


    def test_a():
        assert 1 == 2

    def test_b():
        x = [1,
             2]
        assert x == [
            1, 3]

    @staticmethod
    def helper():
        pass

    def test_c():
        assert {1} == {2}
"""


@pytest.mark.parametrize("mode", ["serial", "xdist"])
@pytest.mark.parametrize("env_name", ENGINE_ENVS)
def test_statement_lines_kept_between_runs_spare_the_next_run_its_parse(
        env_name: str, mode: str, engine_envs: dict[str, Any], make_project, tmp_path):
    """With a folder named in CLAIMCHECK_STATEMENTS, a module's statement lines outlive the
    run: the next run of the unchanged module formats its failures without parsing it, the
    tracebacks still bare pytest's text; an edited module is parsed again."""
    env = engine_env_or_skip(engine_envs, env_name, mode)
    args = traceback_args(mode)
    files = {"pytest.ini": PYTEST_INI, "tests/test_m.py": THREE_FAILURES}
    root = make_project({**files, "conftest.py": SHARING_SEEN}, "with_plugin")
    statements = tmp_path / "statements"

    def run() -> tuple[int, dict[str, str]]:
        seen_lines, failed = failures_with_plugin(env.python, args, root, tmp_path,
                                                  CLAIMCHECK_STATEMENTS=str(statements))
        return seen_lines.count("parse"), failed

    bare = bare_output(env.python, args, make_project(files, "bare"))
    parses, first = run()
    assert parses == 1 and len(first) == 3, (parses, first)
    assert all(text in bare for text in first.values()), (first, bare)
    (kept,) = statements.iterdir()  # one file for the project and this Python
    assert kept.stat().st_mode & 0o077 == 0
    parses, second = run()
    assert (parses, second) == (0, first)  # nothing parsed, the same text
    module = root / "tests" / "test_m.py"
    edited = "x = 1\n\n" + module.read_text()  # every statement two lines down
    module.write_text(edited)
    parses, third = run()
    bare = bare_output(env.python, args,
                       make_project({**files, "tests/test_m.py": edited}, "bare_edited"))
    assert parses == 1, parses
    assert all(text in bare for text in third.values()), (third, bare)
    assert third != first


STATEMENTS = """\
import os


@decorated
@twice(
    over_lines=True,
)
def f(x):
    try:
        y = (x +
             1)
    except ValueError:
        pass
    else:
        y = 2
    finally:
        z = 3  # a comment

    for i in range(3):
        pass
    else:
        j = 4
    while x:
        break
    else:
        k = 5
    if x:
        a = 1
    elif y:
        a = 2
    else:
        a = 3
    match x:
        case 1:
            return 1
        case _:
            return 2


class C:
    @property
    def p(self):
        async def inner():
            async with x:
                await y
        return inner

    value = [
        1,
        2,
    ]
"""

STATEMENT_CHECK = """
import ast, json, sys
from _pytest._code import source
import claimcheck_trees as trees

text = sys.stdin.read()
pytests = source.get_statement_startend2
first = min(trees.statement_lines(ast.parse(text)))
lines = range(-1, text.count("\\n") + 3)
tree = ast.parse(text)
put_back = trees.share_source_trees()
answers = source.get_statement_startend2 is trees.statement_start_end
ours = {n: list(trees.statement_start_end(n, tree)) for n in lines}
walked_once = hasattr(tree, trees.STATEMENT_LINES)
stub = trees.statement_stub(trees.statement_lines(ast.parse(text)))
from_stub = {n: list(source.get_statement_startend2(n, stub)) for n in lines}
theirs = {n: list(pytests(n, ast.parse(text))) for n in lines}
if put_back is not None:
    put_back()
print(json.dumps({"shared": put_back is not None and answers, "walked_once": walked_once,
                  "stub_answers": put_back is not None and from_stub == theirs,
                  "own_memo": hasattr(source, "_statement_linenos"),
                  "put_back": source.get_statement_startend2 is pytests, "first": first,
                  "differ": {n: [ours[n], theirs[n]] for n in lines if ours[n] != theirs[n]}}))
"""


@pytest.mark.parametrize("env_name", ENGINE_ENVS)
def test_statement_lines_found_once_answer_as_that_pytests_own_walk(
        env_name: str, engine_envs: dict[str, Any]):
    """Before pytest 9.2 each traceback entry walked its module's whole tree to find where its
    statement starts and ends; the plugin has such a pytest walk a tree once
    (`claimcheck_trees.share_source_trees`), and every answer is that pytest's own, for every
    line of a module with decorators, try/else/finally, loop else blocks, match and async code,
    also from a stand-in tree that carries only the lines. pytest 9.2 remembers the lines itself
    and keeps its own function."""
    env = engine_env_or_skip(engine_envs, env_name)
    done = subprocess.run([env.python, "-c", STATEMENT_CHECK], input=STATEMENTS, text=True,
                          env={**clean_env(), "PYTHONPATH": str(PLUGIN_DIR)},
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["put_back"], "pytest's function was not put back"
    assert seen["shared"] is not seen["own_memo"], seen
    assert seen["walked_once"]
    assert seen["stub_answers"], "pytest does not answer from a stand-in tree's lines"
    if seen["shared"]:
        assert seen["differ"] == {}, seen["differ"]
    else:  # pytest 9.2 answers (0, None) before the first statement, older ones did not
        assert seen["differ"] and all(int(n) < seen["first"] for n in seen["differ"]), seen


def test_plugin_stays_silent_without_its_environment_variable(make_project, tmp_path):
    root = make_project({"pytest.ini": PYTEST_INI, "tests/test_p.py": "def test_a(): pass\n"})
    env = clean_env()
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "claimcheck_stream", "tests"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
    assert not (root / ".report.json").exists()
    assert "JSON report" not in done.stdout


# ----------------------------------------------------------------------------------------
# Early finish: a pytest phase is judged when its session ends, not when pytest exits


def slow_teardown_conftest(marks: Path, then: str = "return") -> str:
    """A conftest whose pytest_unconfigure holds the process until `marks/go` exists.

    Nothing but the test creates `go`, and it does so only after run_phase has returned, so
    the process is provably still alive (in its teardown) when the PhaseRun comes back.
    """
    return f"""
        import os, time
        from pathlib import Path
        MARKS = Path({str(marks)!r})

        def pytest_unconfigure(config):
            (MARKS / "tearing-down").write_text(str(os.getpid()))
            for _ in range(12000):  # 600 s: only claimcheck's reaper may end this sooner
                if (MARKS / "go").exists():
                    break
                time.sleep(0.05)
            {then}
    """


TWO_TESTS = "def test_ok():\n    pass\ndef test_bad():\n    assert 1 == 2\n"


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    folder = tmp_path / "marks"
    folder.mkdir()
    return folder


async def test_pytest_phase_is_judged_when_its_session_ends_not_when_pytest_exits(
        make_project, marks):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_two.py": TWO_TESTS,
    })
    events: list[Any] = []
    result = await run(root, pytest_args=("tests",), events=events)
    pid = result.sessions[0].pid
    try:
        assert not gone(pid), "run_phase waited for pytest's teardown"
        assert result.status == "failed", result.output_tail
        assert result.exit_code == 1  # the session's exit status
        assert result.counts == Counts(collected=2, passed=1, failed=1)
        by_id = {test.nodeid: test for test in result.tests}
        assert by_id["tests/test_two.py::test_bad"].message == "assert 1 == 2"
        assert events[-1] == PhaseFinished("unit", result)
    finally:
        (marks / "go").write_text("go")
    stragglers = await wait_for_stragglers()
    assert [(s.phase, s.pid, s.session_exit, s.returncode, s.killed) for s in stragglers] == [
        ("unit", pid, 1, 1, False)]
    assert not stragglers[0].contradicts_session
    assert gone(pid)
    assert (marks / "tearing-down").read_text() == str(pid)  # it really was in its teardown
    assert await wait_for_stragglers() == []


async def test_a_session_that_ends_wakes_the_runner_instead_of_waiting_for_its_poll(
        make_project, marks, monkeypatch):
    """The plugin writes a byte to the phase's wake pipe when the session ends: with the
    runner's poll set to ten minutes and pytest held in its teardown, only that byte can end
    the runner's wait (the bound below is against hanging, not a timing assertion)."""
    from claimcheck.collectors import pytest_run

    monkeypatch.setattr(pytest_run, "POLL_INTERVAL_S", 600.0)
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_two.py": TWO_TESTS,
    })
    try:
        result = await asyncio.wait_for(run(root, pytest_args=("tests",)), timeout=60)
        assert not gone(result.sessions[0].pid), "the runner waited for pytest's teardown"
        assert (result.status, result.exit_code) == ("failed", 1)
        assert result.counts == Counts(collected=2, passed=1, failed=1)
    finally:
        (marks / "go").write_text("go")
    (straggler,) = await wait_for_stragglers()
    assert (straggler.returncode, straggler.killed) == (1, False)


async def test_a_session_that_did_not_run_its_tests_to_the_end_waits_for_the_process(
        make_project):
    """Only exit status 0 or 1 settles a phase on its session's line: a session that says "no
    tests" (5) whose process then ends otherwise (here 3, an internal error after the line, as
    an xdist worker's can be) is judged by the process, not by the line."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": """
            import os, time

            def pytest_unconfigure(config):
                time.sleep(0.3)  # the session's line and the wake byte are long out
                os._exit(3)
            """,
        "tests/test_nothing.py": "X = 1\n",
    })
    result = await run(root, pytest_args=("tests",))
    assert result.exit_code == 3, result  # the process's, not the session's 5
    assert await wait_for_stragglers() == []  # it was waited for, not left to tear down


async def test_a_session_with_an_internal_error_waits_for_the_process(make_project):
    """An xdist worker's INTERNALERROR reaches the controller as `pytest_internalerror` and
    leaves the session's exit status as it was (0 here): the session is one with an internal
    error (3), the phase is crashed, and nothing settles before the process exits."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": """
            import os, time
            import pytest

            def pytest_sessionfinish(session):  # before the plugin's line, as xdist's is
                try:
                    raise AssertionError("a worker's internal error, as xdist reports it")
                except AssertionError:
                    info = pytest.ExceptionInfo.from_current()
                    session.config.hook.pytest_internalerror(excrepr=info.getrepr(),
                                                             excinfo=info)

            def pytest_unconfigure(config):
                time.sleep(0.3)  # the session's line and the wake byte are long out
                os._exit(3)
            """,
        "tests/test_ok.py": "def test_ok():\n    pass\n",
    })
    # -s: the capture plugin's own pytest_internalerror would stop pytest's capturing
    result = await run(root, pytest_args=("-s", "tests"))
    assert result.sessions[0].exit_status == 3  # its line said 0, and 1 internal error
    assert (result.status, result.exit_code) == ("crashed", 3), result
    assert await wait_for_stragglers() == []


async def test_a_command_phase_gets_no_wake_pipe(make_project):
    """A command phase's pytest is the command's child, which does not inherit the pipe: the
    variable is not handed to the command at all."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "show.py": "import os\nprint('wake=' + repr(os.environ.get('CLAIMCHECK_WAKE')))\n",
    })
    result = await run(root, command=("python", "show.py"))
    assert "wake=None" in result.output_tail


async def test_a_crash_in_teardown_leaves_the_returned_run_as_the_session_saw_it(
        make_project, marks):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks, then="os._exit(9)"),
        "tests/test_one.py": "def test_ok():\n    pass\n",
    })
    result = await run(root, pytest_args=("tests",))
    (marks / "go").write_text("go")
    assert (result.status, result.exit_code) == ("passed", 0)
    (straggler,) = await wait_for_stragglers()
    assert (straggler.returncode, straggler.killed) == (9, False)
    assert straggler.contradicts_session


async def test_cancelling_the_wait_for_stragglers_kills_them(make_project, marks):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_two.py": TWO_TESTS,
    })
    result = await run(root, pytest_args=("tests",))
    pid = result.sessions[0].pid
    assert not gone(pid)
    waiting = asyncio.create_task(wait_for_stragglers())
    await asyncio.sleep(0)  # let it start waiting
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert gone(pid), describe(pid)
    assert not (marks / "go").exists()  # killed, not released
    assert await wait_for_stragglers() == []


async def test_kill_stragglers_ends_a_teardown_that_would_never_finish(make_project, marks):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_one.py": "def test_ok():\n    pass\n",
    })
    result = await run(root, pytest_args=("tests",))
    pid = result.sessions[0].pid
    assert not gone(pid)
    await kill_stragglers()
    assert gone(pid), describe(pid)


async def test_a_command_phase_still_waits_for_the_command_to_exit(make_project, marks):
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_one.py": "def test_ok():\n    pass\n",
        "run.py": "import sys, pytest\nsys.exit(pytest.main(['tests']))\n",
    })
    task = asyncio.create_task(run(root, command=("python", "run.py")))
    try:
        for _ in range(1200):  # a bound against hanging, not a timing assertion
            if (marks / "tearing-down").exists() or task.done():
                break
            await asyncio.sleep(0.05)
        assert (marks / "tearing-down").exists()
        assert not task.done(), "a command phase returned before its command exited"
    finally:
        (marks / "go").write_text("go")
    result = await task
    assert (result.status, result.exit_code) == ("passed", 0)
    assert await wait_for_stragglers() == []


async def test_interrupting_a_later_phase_also_kills_the_earlier_phases_straggler(
        make_project, marks, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("PYTEST_", "CLAIMCHECK_")):
            monkeypatch.delenv(name)
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/a/conftest.py": slow_teardown_conftest(marks),
        "tests/a/test_a.py": TWO_TESTS,
        "tests/b/test_b.py": """
            import time
            def test_quick():
                pass
            def test_waits_forever():
                time.sleep(600)
        """,
    })
    config = Config(root=root, source=None, python=sys.executable, gaps=(), phases=(
        PhaseConfig(name="a", pytest=("tests/a",), timeout=120),
        PhaseConfig(name="b", pytest=("tests/b",), timeout=120),
    ))
    first_pid: list[int] = []
    alive_while_b_ran: list[bool] = []
    b_running = asyncio.Event()

    def on_event(event: Any) -> None:
        if isinstance(event, PhaseFinished) and event.phase == "a":
            first_pid.append(event.run.sessions[0].pid)
        if isinstance(event, TestFinished) and event.phase == "b":
            alive_while_b_ran.append(not gone(first_pid[0]))
            b_running.set()

    task = asyncio.create_task(run_evidence(config, on_event=on_event))
    try:
        await asyncio.wait_for(b_running.wait(), timeout=120)
    finally:
        task.cancel()
    report = await task
    # The interrupted phase stays in the report, with what it streamed (issue 11).
    assert [(run_.name, run_.status) for run_ in report.phases] == [
        ("a", "failed"), ("b", "interrupted")]
    assert "tests/b/test_b.py::test_quick" in {t.nodeid for t in report.phases[1].tests}
    assert report.exit_code == 2  # interrupted
    assert alive_while_b_ran == [True]  # phase b started while a's pytest still tore down
    assert gone(first_pid[0]), describe(first_pid[0])
    assert not (marks / "go").exists()


def test_claimcheck_report_is_written_before_pytest_has_finished_tearing_down(
        make_project, marks, tmp_path):
    root = make_project({
        "pyproject.toml": f"""
            [tool.pytest.ini_options]
            addopts = "{UNUSED_PLUGINS}"

            [[tool.claimcheck.phases]]
            name = "unit"
            pytest = ["tests"]
        """,
        "conftest.py": slow_teardown_conftest(marks),
        "tests/test_two.py": TWO_TESTS,
    })
    output = tmp_path / "report.json"
    claimcheck = subprocess.Popen(
        [sys.executable, "-m", "claimcheck", "--report", "--format", "json", "--output",
         str(output), "--project", str(root)],
        env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        for _ in range(2400):  # a bound against hanging, not a timing assertion
            if output.exists() or claimcheck.poll() is not None:
                break
            time.sleep(0.05)
        assert output.exists(), claimcheck.communicate(timeout=60)
        children = psutil.Process(claimcheck.pid).children()
        assert claimcheck.poll() is None, "claimcheck exited before its pytest did"
        assert any(runs_pytest(child) for child in children), children
        report = json.loads(output.read_text(encoding="utf-8"))
        assert report["totals"]["failed"] == 1 and report["totals"]["passed"] == 1
    finally:
        (marks / "go").write_text("go")
    _, stderr = claimcheck.communicate(timeout=120)
    assert claimcheck.returncode == 1, stderr
    pytest_pid = int((marks / "tearing-down").read_text())
    assert gone(pytest_pid)


def test_plugin_writes_session_finish_after_every_plain_sessionfinish(make_project, tmp_path):
    """claimcheck judges a pytest phase on this line alone, so it must come after plugins
    rewrote the exit status, and before the terminal summary (which can take long) so
    claimcheck need not wait for it."""
    stream = tmp_path / "stream"
    stream.mkdir()
    seen = tmp_path / "seen.json"
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "conftest.py": f"""
            import json, pytest
            from pathlib import Path
            STREAM, SEEN = Path({str(stream)!r}), Path({str(seen)!r})
            seen = {{}}

            def finish_written():
                return any('"session_finish"' in path.read_text() for path in STREAM.glob("*.jsonl"))

            @pytest.hookimpl(trylast=True)
            def pytest_sessionfinish(session):
                seen["finish_before_plain"] = finish_written()
                session.exitstatus = 0  # as pytest-custom-exit-code does

            def pytest_terminal_summary():
                seen["finish_before_summary"] = finish_written()
                SEEN.write_text(json.dumps(seen))
        """,
        "tests/test_two.py": TWO_TESTS,
    })
    done = run_with_plugin(root, stream, "-q", "tests")
    assert done.returncode == 0, done.stdout
    assert json.loads(seen.read_text()) == {"finish_before_plain": False,
                                            "finish_before_summary": True}
    (events_file,) = stream.glob("*.jsonl")
    finish = read_events(events_file)[-1]
    assert finish["event"] == "session_finish"
    assert finish["exitstatus"] == 0 == done.returncode


async def test_a_teardown_error_after_a_failed_call_keeps_both_tracebacks(make_project) -> None:
    """pytest reports such a test twice (FAILED, then ERROR); claimcheck once, as the error
    pytest-json-report records, with the assertion that failed first still in its traceback."""
    root = make_project({
        "tests/test_td.py": """
            import pytest

            @pytest.fixture
            def broken_teardown():
                yield
                raise RuntimeError("teardown broke")

            def test_both(broken_teardown):
                assert 1 == 2, "the real failure"

            def test_teardown_only(broken_teardown):
                pass
        """,
    })
    result = await run(root, pytest_args=("tests",))
    by_id = {test.nodeid: test for test in result.tests}
    both = by_id["tests/test_td.py::test_both"]
    assert both.outcome == "error" and both.when == "teardown"
    assert both.message == "RuntimeError: teardown broke"
    assert both.longrepr is not None
    assert both.longrepr.index("the real failure") < both.longrepr.index("teardown broke")
    assert "then its teardown errored" in both.longrepr
    only = by_id["tests/test_td.py::test_teardown_only"]
    assert only.outcome == "error" and "then its" not in (only.longrepr or "")


# ----------------------------------------------------------------------------------------
# Stream folders never outlive their owner: they hold raw messages, output, maybe secrets


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_stream_folders_of_dead_owners_are_cleared(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        folders = {
            "dead": tmp_path / f"claimcheck-{dead_pid()}-abc",
            "mine": tmp_path / f"claimcheck-{os.getpid()}-def",
            "alive": tmp_path / f"claimcheck-{sleeper.pid}-ghi",
            "other": tmp_path / "claimcheck-notes",
        }
        for folder in folders.values():
            folder.mkdir()
            (folder / "1-1.jsonl").write_text('{"event": "test", "message": "token=s3cret"}\n')
        removed = clear_stale_stream_folders(str(tmp_path))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert removed == [str(folders["dead"])]
    assert not folders["dead"].exists()
    assert all(folders[name].exists() for name in ("mine", "alive", "other"))


def test_the_plugin_removes_its_stream_folder_when_its_owner_dies(make_project, tmp_path):
    """A SIGKILLed claimcheck runs no clean-up: the phase ends itself, and its evidence."""
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stream = tmp_path / f"claimcheck-{owner.pid}-xyz"
    stream.mkdir()
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_wait.py": "import time\ndef test_ok(): pass\n"
                              "def test_waits(): time.sleep(600)\n",
    })
    env = clean_env()
    env.update({"CLAIMCHECK_STREAM_DIR": str(stream), "PYTHONPATH": str(PLUGIN_DIR),
                "CLAIMCHECK_OWNER_PID": str(owner.pid)})
    phase = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "claimcheck_stream", "tests"],
                             cwd=root, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(1200):  # a bound against hanging, not a timing assertion
            running = list(stream.glob("*.running"))
            if running and b"test_waits" in running[0].read_bytes():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("test_waits never started")
        owner.kill()
        owner.wait()
        phase.wait(timeout=60)
    finally:
        owner.kill()
        if phase.poll() is None:
            os.killpg(phase.pid, 9)
            phase.wait()
    assert phase.returncode == -9  # the watch ended the phase's process group
    assert not stream.exists()


def test_outcomes_come_from_pytests_teststatus_even_without_the_terminal(make_project,
                                                                         tmp_path):
    """The plugin reuses the category the terminal reporter asked pytest for; with no
    terminal reporter it asks pytest_report_teststatus itself."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_p.py": """
            import pytest
            def test_ok(): pass
            def test_bad(): assert False
            @pytest.mark.xfail(strict=True)
            def test_strict(): pass
            @pytest.mark.xfail
            def test_xfail(): assert False
        """,
    })
    outcomes_seen = {}
    for name, extra in (("terminal", ()), ("no-terminal", ("-p", "no:terminal"))):
        stream = tmp_path / name
        stream.mkdir()
        run_with_plugin(root, stream, *extra, "tests")
        (events_file,) = stream.glob("*.jsonl")
        outcomes_seen[name] = {e["nodeid"].rsplit("::", 1)[1]: e["outcome"]
                               for e in read_events(events_file) if e["event"] == "test"}
    expected = {"test_ok": "passed", "test_bad": "failed", "test_strict": "failed",
                "test_xfail": "xfailed"}
    assert outcomes_seen == {"terminal": expected, "no-terminal": expected}


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
async def test_markers_come_from_the_test_its_class_and_its_module(make_project, xdist):
    if xdist and not HAS_XDIST:
        pytest.skip("pytest-xdist is not installed")
    root = make_project({
        "pytest.ini": PYTEST_INI + "markers =\n    mod\n    cls\n    fn\n    other\n",
        "tests/test_m.py": """
            import pytest
            pytestmark = pytest.mark.mod

            @pytest.mark.cls
            class TestA:
                @pytest.mark.fn
                def test_marked(self): pass
                def test_plain(self): pass

            @pytest.mark.other
            def test_function(): pass
            def test_bare(): pass
        """,
    })
    result = await run(root, pytest_args=("tests", *(("-n", "2") if xdist else ())))
    markers = {t.nodeid.split("::", 1)[1]: t.markers for t in result.tests}
    assert markers == {"TestA::test_marked": ("fn", "cls", "mod"),
                       "TestA::test_plain": ("cls", "mod"),
                       "test_function": ("other", "mod"), "test_bare": ("mod",)}


@pytest.mark.parametrize("program", ["true", "echo", "env"])
def test_a_python_that_is_not_python_is_a_config_error_naming_file_and_key(tmp_path, program):
    """A program that exists and runs but is not Python (`true` answers nothing, `echo`
    repeats its arguments, `env` fails): exit 4 naming the file and the key, asked only once
    the phase has started no pytest session."""
    from cli_project import claimcheck

    interpreter = shutil.which(program)
    assert interpreter is not None
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a(): pass\n", encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[tool.claimcheck]\npython = "{interpreter}"\n'
                         '[[tool.claimcheck.phases]]\nname = "unit"\npytest = ["tests"]\n',
                         encoding="utf-8")
    done = claimcheck(tmp_path, "--report")
    assert done.returncode == 4, done.stdout + done.stderr
    assert (f"claimcheck: {pyproject}: tool.claimcheck.python: {interpreter!r} is not a Python "
            "interpreter (asked to run `-c`, it exited ") in done.stderr
    assert "Traceback" not in done.stderr
