"""pytest's own refusals: its usage error (exit 4) and an initial conftest that does not import.

claimcheck leaves pytest's arguments to pytest; what pytest refuses becomes the phase's status
`error`, a finding in pytest's own words, and exit 4 when the config is to blame.
"""

from __future__ import annotations

import pytest
from claimcheck.collectors.models import Counts, PhaseRun, PytestSession
from claimcheck.collectors.refusal import (
    config_to_blame,
    pytest_refusal,
    usage_message,
)
from claimcheck.collectors.verdict import ExitCode, verdict_and_exit

from tests.realrun import claimcheck_json, claimcheck_table, findings_of, phase_of

ARGPARSE_TAIL = """\
ERROR: usage: __main__.py [options] [file_or_dir] [file_or_dir] [...]
__main__.py: error: unrecognized arguments: --reruns
  inifile: /proj/pyproject.toml
  rootdir: /proj
"""
NOT_FOUND_TAIL = "\nno tests ran in 0.00s\nERROR: file or directory not found: tests/missing\n\n"
NODE_TAIL = ("no tests ran in 0.10s\nERROR: not found: /proj/tests/test_a.py::nope\n"
             "(no match in any of [<Module test_a.py>])\n\n")
CONFTEST_TAIL = """\
ImportError while loading conftest '/proj/tests/conftest.py'.
tests/conftest.py:1: in <module>
    import nope_missing
E   ModuleNotFoundError: No module named 'nope_missing'
"""


@pytest.mark.parametrize(("tail", "expected"), [
    (ARGPARSE_TAIL, "unrecognized arguments: --reruns"),
    (NOT_FOUND_TAIL, "file or directory not found: tests/missing"),
    (NODE_TAIL, "not found: /proj/tests/test_a.py::nope (no match in any of [<Module test_a.py>])"),
    ("1 passed\n", None),
])
def test_usage_message_is_pytests_own_words(tail: str, expected: str | None) -> None:
    assert usage_message(tail) == expected


def test_a_session_that_ended_in_exit_4_is_a_refusal_whatever_the_output() -> None:
    refusal = pytest_refusal((PytestSession(pid=1, exit_status=4),), 4, "")
    assert refusal is not None and refusal.kind == "usage"
    assert refusal.message == "pytest exited with status 4 (usage error)"


def test_without_a_session_exit_4_counts_only_with_pytests_message() -> None:
    """A project's runner may exit 4 for reasons of its own."""
    assert pytest_refusal((), 4, "runner: bad flag\n") is None
    assert pytest_refusal((), 0, ARGPARSE_TAIL) is None  # swallowed: a false-green's business
    refusal = pytest_refusal((), 4, ARGPARSE_TAIL)
    assert refusal is not None and refusal.message == "unrecognized arguments: --reruns"


def test_initial_conftest_import_error_is_the_codes_fault_not_the_configs() -> None:
    refusal = pytest_refusal((), 4, CONFTEST_TAIL)
    assert refusal is not None and refusal.kind == "conftest"
    assert refusal.message == "ModuleNotFoundError: No module named 'nope_missing'"
    run = PhaseRun(name="unit", status="error", exit_code=4, duration_s=0.0, counts=Counts(),
                   output_tail=CONFTEST_TAIL)
    assert not config_to_blame(run)
    assert verdict_and_exit([run], []) == ("red", ExitCode.RED)


def test_usage_error_exits_4_over_a_red_phase() -> None:
    refused = PhaseRun(name="unit", status="error", exit_code=4, duration_s=0.0,
                       counts=Counts(), output_tail=ARGPARSE_TAIL)
    failed = PhaseRun(name="e2e", status="failed", exit_code=1, duration_s=0.0,
                      counts=Counts(collected=1, failed=1),
                      sessions=(PytestSession(pid=2, exit_status=1, collected=1),))
    assert config_to_blame(refused)
    assert verdict_and_exit([failed, refused], []) == ("red", ExitCode.USAGE)
    assert verdict_and_exit([failed], []) == ("red", ExitCode.RED)


# ----------------------------------------------------------------------------------------
# Real runs: claimcheck on a fixture project, under this venv's pytest and the newest.

PROJECT = {
    "pytest.ini": "[pytest]\n",
    "tests/test_a.py": "def test_a():\n    pass\n",
    "run_tests.py": """
        import subprocess
        import sys

        sys.exit(subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]]).returncode)
    """,
    "swallow.py": """
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]])
        print("all good")
    """,
}


def test_pytest_decides_what_its_arguments_mean(make_project, phase_python: str) -> None:
    """Options the path check once took for paths: pytest runs the core ones and refuses the
    ones of plugins the phase's interpreter lacks, each in its own words."""
    phases = [
        {"name": "core", "pytest": ["--verbosity", "2", "--log-format", "%(message)s",
                                    "--junit-prefix", "x", "--code-highlight", "no", "tests"]},
        {"name": "reruns", "pytest": ["--reruns", "2", "tests"]},
        {"name": "cov", "pytest": ["--cov-fail-under", "90", "tests"]},
        {"name": "hypothesis", "pytest": ["--hypothesis-seed", "0"]},
        {"name": "missing", "pytest": ["tests/missing"]},
        {"name": "node", "pytest": ["tests/test_a.py::test_nope"]},
    ]
    root = make_project({**PROJECT, "pyproject.toml": claimcheck_table(phase_python, phases)})
    code, report, stderr = claimcheck_json(root)

    assert code == ExitCode.USAGE, stderr
    assert phase_of(report, "core")["status"] == "passed"
    assert phase_of(report, "core")["counts"]["passed"] == 1
    usage = {finding["phase"]: finding["message"] for finding in findings_of(report, "usage-error")}
    assert sorted(usage) == ["cov", "hypothesis", "missing", "node", "reruns"]
    for name, option, plugin in (("reruns", "--reruns", "pytest-rerunfailures"),
                                 ("cov", "--cov-fail-under", "pytest-cov"),
                                 ("hypothesis", "--hypothesis-seed", "hypothesis")):
        phase = phase_of(report, name)
        assert (phase["status"], phase["reason"]) == (
            "error", f"pytest usage error: unrecognized arguments: {option}")
        assert f"unrecognized arguments: {option}." in usage[name]
        assert f"({option}: {plugin})" in usage[name]
        assert "and in addopts (pytest.ini)" in usage[name]
    assert phase_of(report, "missing")["reason"] == \
        "pytest usage error: file or directory not found: tests/missing"
    assert "Fix the path in the phase's arguments (`pytest tests/missing`)" in usage["missing"]
    assert phase_of(report, "node")["reason"].startswith(
        f"pytest usage error: not found: {root}/tests/test_a.py::test_nope")
    assert not findings_of(report, "no-tests") and not findings_of(report, "false-green")


def test_a_runner_that_passes_pytests_usage_error_on_is_refused_too(make_project,
                                                                    phase_python: str) -> None:
    phases = [{"name": "runner", "command": ["python", "run_tests.py", "--nope", "tests"]}]
    root = make_project({**PROJECT, "pyproject.toml": claimcheck_table(phase_python, phases)})
    code, report, stderr = claimcheck_json(root)
    assert code == ExitCode.USAGE, stderr
    phase = phase_of(report, "runner")
    assert (phase["status"], phase["reason"]) == (
        "error", "pytest usage error: unrecognized arguments: --nope")
    [finding] = findings_of(report)
    assert finding["kind"] == "usage-error"
    assert "(`python run_tests.py --nope tests`)" in finding["message"]


def test_a_runner_that_swallows_pytests_usage_error_is_a_false_green(make_project,
                                                                     phase_python: str) -> None:
    phases = [{"name": "runner", "command": ["python", "swallow.py", "--nope", "tests"]}]
    root = make_project({**PROJECT, "pyproject.toml": claimcheck_table(phase_python, phases)})
    code, report, stderr = claimcheck_json(root)
    assert code == ExitCode.NO_EVIDENCE, stderr
    [green] = findings_of(report, "false-green")
    assert green["message"].startswith(
        "`python swallow.py --nope tests` exited 0, but pytest refused to run "
        "(unrecognized arguments: --nope).")


def test_initial_conftest_that_does_not_import_is_named_and_red(make_project,
                                                                phase_python: str) -> None:
    phases = [{"name": "unit", "pytest": ["tests"]}]
    root = make_project({**PROJECT, "tests/conftest.py": "import nope_missing\n",
                         "pyproject.toml": claimcheck_table(phase_python, phases)})
    code, report, stderr = claimcheck_json(root)
    assert code == ExitCode.RED, stderr
    assert (phase_of(report, "unit")["status"], phase_of(report, "unit")["reason"]) == (
        "error", "tests/conftest.py could not be imported: "
                 "ModuleNotFoundError: No module named 'nope_missing'")
    [finding] = findings_of(report)
    assert finding["kind"] == "import-error"
    assert (finding["path"], finding["line"]) == ("tests/conftest.py", 1)
    assert finding["message"].startswith(
        "No module named 'nope_missing' — tests/conftest.py cannot be imported, so pytest "
        "started no session and no test of this phase ran.")

