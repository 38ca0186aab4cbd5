"""The command line end to end: real `claimcheck` subprocesses on fixture projects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from claimcheck import __version__

PYPROJECT = """
[tool.pytest.ini_options]
markers = ["auth: authentication"]

[tool.claimcheck.gaps]
auth = { title = "Service authentication", match = ["*auth*"] }

[[tool.claimcheck.phases]]
name = "unit"
pytest = ["tests/unit"]

[[tool.claimcheck.phases]]
name = "integration"
pytest = ["tests/integration"]
"""

MIXED = {
    "pyproject.toml": PYPROJECT,
    "tests/unit/test_auth.py": """
        def test_login():
            assert True

        def test_logout():
            assert 1 + 1 == 3, "logout left the session open"
    """,
    "tests/unit/test_misc.py": "def test_ok():\n    pass\n",
    "tests/integration/test_flow.py": """
        from app.auth import create_auth_handler

        def test_flow():
            assert create_auth_handler()
    """,
    "tests/integration/test_other.py": "def test_other():\n    pass\n",
    "app/__init__.py": "",
    "app/auth.py": "def make_handler():\n    return 1\n",
}


def claimcheck(root: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claimcheck", "--project", str(root), *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_version_and_help() -> None:
    version = subprocess.run([sys.executable, "-m", "claimcheck", "--version"],
                             capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"claimcheck {__version__}"
    usage = subprocess.run([sys.executable, "-m", "claimcheck", "--help"],
                           capture_output=True, text=True)
    assert usage.returncode == 0
    for flag in ("--report", "--format", "--output", "--phase", "--services-only", "--config"):
        assert flag in usage.stdout


def test_the_parser_of_a_command_line_knows_every_command_it_names() -> None:
    """`build_parser(argv)` gives arguments only to the commands argv names (the rest cost
    start-up); what it parses and what --help says are the full parser's."""
    from claimcheck.tui.cli import COMMANDS, build_parser

    full = build_parser()
    for argv in (["-h"], ["--report", "--help"], ["--report", "unit"]):
        assert build_parser(argv).format_help() == full.format_help()
    # options only: no command can be named, so none is built; the options parse as the
    # full parser parses them
    for argv in ([], ["--report"], ["--report", "--phase=unit", "--format=json"]):
        lean = build_parser(argv)
        assert not any(action.dest == "command" for action in lean._actions)
        assert vars(lean.parse_args(argv)) == {
            name: value for name, value in vars(full.parse_args(argv)).items()
            if name != "command"}
    for command in COMMANDS:
        argv = ["--project", ".", command.name]
        named = _subparser(build_parser(argv), command.name)
        assert named.format_help() == _subparser(full, command.name).format_help()
        assert [a.dest for a in named._actions] == \
            [a.dest for a in _subparser(full, command.name)._actions]
    argv = ["history", "--limit", "3"]
    assert vars(build_parser(argv).parse_args(argv)) == vars(full.parse_args(argv))
    # a command the line does not name has no arguments of its own: only -h
    lean = _subparser(build_parser([COMMANDS[0].name]), COMMANDS[-1].name)
    assert [action.dest for action in lean._actions] == ["help"]


def test_an_options_only_command_line_with_a_mistake_shows_the_whole_usage(capsys) -> None:
    """The parser built without commands (`--report --format=bogus`) still tells, in its usage
    line, that there are commands."""
    from claimcheck.tui.cli import parse

    with pytest.raises(SystemExit) as exited:
        parse(["--report", "--format=bogus"])
    assert exited.value.code == 4
    err = capsys.readouterr().err
    assert "COMMAND ..." in err and "invalid choice: 'bogus'" in err
    assert parse(["--report", "--phase=unit"])[0] == "run"


def _subparser(parser, name: str):
    import argparse

    (subparsers,) = [action for action in parser._actions
                     if isinstance(action, argparse._SubParsersAction)]
    return subparsers.choices[name]


def test_python_m_claimcheck_is_the_same_command(tmp_path: Path) -> None:
    """The README's fallback for a shell that does not find the `claimcheck` script (run from
    a folder other than the checkout, so the installed package is what answers)."""
    version = subprocess.run([sys.executable, "-m", "claimcheck", "--version"],
                             capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"claimcheck {__version__}"


def test_bad_flag_is_a_usage_error_exit_4(tmp_path: Path) -> None:
    result = claimcheck(tmp_path, "--report", "--format", "yaml")
    assert result.returncode == 4
    assert "invalid choice: 'yaml'" in result.stderr


def test_a_current_folder_that_is_gone_is_one_line_and_exit_4(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    result = subprocess.run(
        ["sh", "-c", 'cd "$1" && rmdir "$1" && exec "$2" -c "$3" --report', "sh", str(gone),
         sys.executable, "from claimcheck.tui.entry import run; run()"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert result.stderr == ("claimcheck: the current folder cannot be read (No such file or "
                             "directory): change to one that exists\n")


def test_bad_config_exits_4_with_one_message_and_no_traceback(make_project) -> None:
    root = make_project({"pyproject.toml": '[[tool.claimcheck.phases]]\nname = "u"\n'})
    result = claimcheck(root, "--report")
    assert result.returncode == 4
    assert result.stderr.strip() == (
        f"claimcheck: {root / 'pyproject.toml'}: tool.claimcheck.phases[0] (u): has neither of "
        "'pytest' and 'command'; expected exactly one"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_unknown_phase_exits_4(make_project) -> None:
    root = make_project(MIXED)
    result = claimcheck(root, "--report", "--phase", "nope")
    assert result.returncode == 4
    assert "--phase 'nope': no such phase; expected one of unit, integration" in result.stderr


def test_missing_pytest_in_project_interpreter_says_what_to_install(
    make_project, tmp_path: Path
) -> None:
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    root = make_project({
        "pyproject.toml": f'[tool.claimcheck]\npython = "{venv / "bin" / "python"}"\n',
        "tests/test_a.py": "def test_a():\n    pass\n",
    })
    result = claimcheck(root, "--report")
    assert result.returncode == 4
    python = venv / "bin" / "python"
    assert f"run: {python} -m pip install pytest\n" in result.stderr  # learned from the phase
    assert "pytest-json-report" not in result.stderr  # no longer needed in the phase
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def mixed_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, subprocess.CompletedProcess[str]]:
    from conftest import write_project

    root = write_project(tmp_path_factory.mktemp("mixed"), MIXED)
    result = claimcheck(root, "--report", "--format", "json")
    return json.loads(result.stdout), result


def test_json_report_contract(mixed_json) -> None:
    report, result = mixed_json
    assert result.returncode == 1
    assert report["schema"] == "claimcheck.report/1"
    assert report["verdict"] == "red" and report["exit_code"] == 1

    unit, integration = report["phases"]
    assert unit["name"] == "unit" and unit["status"] == "failed" and unit["exit_code"] == 1
    assert unit["counts"] == {"collected": 3, "passed": 2, "failed": 1, "error": 0, "skipped": 0,
                              "xfailed": 0, "xpassed": 0, "deselected": 0}
    tests = {t["nodeid"]: t for t in unit["tests"]}
    logout = tests["tests/unit/test_auth.py::test_logout"]
    assert logout["outcome"] == "failed" and logout["gaps"] == ["auth"]
    assert "logout left the session open" in logout["message"]
    assert tests["tests/unit/test_misc.py::test_ok"]["gaps"] == ["unassigned"]

    assert integration["status"] == "error"  # collection errors, nothing failed: never green
    assert integration["counts"]["error"] == 1 and integration["counts"]["passed"] == 1
    (error,) = integration["collection_errors"]
    assert error["path"] == "tests/integration/test_flow.py"
    assert error["error_type"] == "ImportError"
    assert "cannot import name 'create_auth_handler'" in error["message"]

    gaps = {g["name"]: g for g in report["gaps"]}
    assert gaps["auth"]["status"] == "red"
    assert gaps["auth"]["cells"]["unit"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 0}
    assert gaps["unassigned"]["cells"]["integration"]["error"] == 1

    kinds = {(f["kind"], f["phase"]) for f in report["findings"]}
    assert ("import-error", "integration") in kinds
    for finding in report["findings"]:
        assert set(finding) >= {"kind", "phase", "path", "line", "message"}


def test_text_report_shows_phases_matrix_findings_and_failures(make_project) -> None:
    root = make_project(MIXED)
    result = claimcheck(root, "--report", env={"NO_COLOR": "1"})
    assert result.returncode == 1
    text = result.stdout
    assert "\x1b[" not in text  # not a terminal: no colour
    for expected in ("unit", "integration", "auth", "tests/unit/test_auth.py::test_logout",
                     "logout left the session open", "create_auth_handler"):
        assert expected in text
    assert result.stderr == ""  # progress only when stderr is a terminal


def test_markdown_and_junit_and_atomic_output(make_project, tmp_path: Path) -> None:
    root = make_project(MIXED)
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    result = claimcheck(root, "--report", "--format", "markdown", "--output", str(out))
    assert result.returncode == 1 and result.stdout == ""
    markdown = out.read_text()
    assert markdown.lstrip().startswith("#") and "|" in markdown
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.md"]  # no temp file left

    junit = claimcheck(root, "--report", "--format", "junit", "--phase", "unit")
    suites = ET.fromstring(junit.stdout)
    (suite,) = suites.iter("testsuite")
    assert suite.get("name") == "unit" and suite.get("failures") == "1"


def test_phase_selection_and_green_exit_0(make_project) -> None:
    root = make_project({
        "pyproject.toml": PYPROJECT,
        "tests/unit/test_a.py": "def test_a():\n    pass\n",
        "tests/integration/test_b.py": "def test_b():\n    assert False\n",
    })
    result = claimcheck(root, "--report", "--format", "json", "--phase", "unit")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["verdict"] == "green"
    assert [p["name"] for p in report["phases"]] == ["unit"]


def test_no_tests_is_exit_5_never_green(make_project) -> None:
    root = make_project({
        "pyproject.toml": '[[tool.claimcheck.phases]]\nname = "unit"\npytest = ["tests"]\n',
        "tests/test_a.py": "import pytest\n\n@pytest.mark.skip('later')\ndef test_a():\n    pass\n",
    })
    result = claimcheck(root, "--report", "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 5
    assert report["verdict"] == "no-evidence" and report["phases"][0]["status"] == "no-tests"
    assert any(f["kind"] == "no-tests" for f in report["findings"])


def test_write_several_formats_from_one_run(make_project, tmp_path: Path) -> None:
    root = make_project(MIXED)
    junit, data = tmp_path / "j.xml", tmp_path / "r.json"
    result = claimcheck(root, "--report", "--phase", "unit",
                        "--write", f"junit={junit}", "--write", f"json={data}")
    assert result.returncode == 1
    assert "FAILED tests/unit/test_auth.py::test_logout" in result.stdout
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "1"
    assert json.loads(data.read_text())["phases"][0]["counts"]["failed"] == 1


def test_write_rejects_an_unknown_format(tmp_path: Path) -> None:
    result = claimcheck(tmp_path, "--report", "--write", "yaml=x.yml")
    assert result.returncode == 4
    assert "expected FORMAT=PATH with FORMAT one of text, json, markdown, junit" in result.stderr


EXITING = """\
import atexit, sys, threading, time
from claimcheck.tui.cli import exit_now
atexit.register(lambda: print("atexit ran"))
def late():
    time.sleep(0.2)
    print("thread done")
threading.Thread(target=late).start()
sys.stdout.write("buffered, not flushed")
exit_now(int(sys.argv[1]))
"""
BUFFERED = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


@pytest.mark.parametrize("code", [0, 1, 4])
def test_the_console_scripts_quick_exit_still_does_what_it_owes(code: int) -> None:
    """`exit_now` skips the interpreter's teardown, never what the process owes first: a
    thread still working, the atexit functions, the bytes waiting in stdout, the exit code."""
    done = subprocess.run([sys.executable, "-c", EXITING, str(code)], capture_output=True,
                          text=True, timeout=60, env=BUFFERED)
    assert done.returncode == code
    assert done.stdout.splitlines() == ["buffered, not flushedthread done", "atexit ran"]


def test_the_quick_exit_fails_a_green_run_whose_output_was_lost() -> None:
    reader, writer = os.pipe()
    os.close(reader)  # stdout is a pipe nobody reads: its last bytes cannot be written
    try:
        done = subprocess.run([sys.executable, "-c", EXITING, "0"], stdout=writer,
                              stderr=subprocess.PIPE, timeout=60, env=BUFFERED)
    finally:
        os.close(writer)
    assert done.returncode == 120


def test_every_option_has_its_default_and_no_two_options_share_a_list() -> None:
    """`Options` is a plain class (no dataclasses before the spawn): each option must still
    have a default, and a list default must be each Options' own, as `field(default_factory=
    list)` made it."""
    from claimcheck.tui.options import Options

    one, other = Options(), Options()
    for name in Options.__annotations__:
        value = getattr(one, name)  # no default: AttributeError
        if isinstance(value, (list, dict, set)):
            assert value is not getattr(other, name), name
    assert Options(report=True, phases=["unit"]) == Options(phases=["unit"], report=True)
    assert Options(report=True) != Options()
    with pytest.raises(TypeError, match="'bogus'"):
        Options(bogus=True)


@pytest.mark.parametrize("columns", ["57", "", "0", "wide"])
def test_help_is_as_wide_as_argparse_would_make_it(monkeypatch, columns: str) -> None:
    """`help_width` reads the width once for every formatter, by shutil's rule, which argparse's
    own formatters use (COLUMNS, then the terminal on stdout, then 80)."""
    import shutil

    from claimcheck.tui.cli import help_width

    monkeypatch.setenv("COLUMNS", columns)
    help_width.cache_clear()
    try:
        assert help_width() == shutil.get_terminal_size().columns - 2
    finally:
        help_width.cache_clear()
