"""Findings from phase runs: constructed PhaseRuns, plus real pytest output for each kind."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.discovery import marker_line
from claimcheck.collectors.import_errors import import_key, import_line
from claimcheck.collectors.judge import phase_findings
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    Finding,
    Interruption,
    PhaseRun,
    PytestSession,
    PytestSettings,
    TestResult,
    WarningRecord,
)

from tests.conftest import write_project

SETTINGS = PytestSettings(
    rootdir="/proj",
    inifile="/proj/pyproject.toml",
    python_classes=("Test*",),
    markers=("slow", "skip", "parametrize"),
    testpaths=("tests",),
)
OK_SESSION = (PytestSession(pid=10, exit_status=0, collected=2),)

AUTH_LONGREPR = (
    "ImportError while importing test module '/proj/tests/integration/test_auth.py'.\n"
    "Hint: make sure your test modules/packages have valid Python names.\n"
    "Traceback:\n"
    "/usr/lib/python3.11/importlib/__init__.py:126: in import_module\n"
    "    return _bootstrap._gcd_import(name[level:], package, level)\n"
    "tests/integration/test_auth.py:3: in <module>\n"
    "    from app.auth import create_auth_handler\n"
    "E   ImportError: cannot import name 'create_auth_handler' from 'app.auth' "
    "(/proj/app/auth.py)"
)


def phase(**overrides: object) -> PhaseRun:
    values: dict[str, object] = dict(
        name="integration", status="passed", exit_code=0, duration_s=1.0,
        counts=Counts(collected=2, passed=2), sessions=OK_SESSION,
        argv=("python", "-m", "pytest", "tests/integration"), settings=SETTINGS,
    )
    values.update(overrides)
    return PhaseRun(**values)  # type: ignore[arg-type]


def kinds(run: PhaseRun) -> list[str]:
    return [finding.kind for finding in phase_findings(run)]


def auth_error(path: str = "tests/integration/test_auth.py", line: int = 3) -> CollectionError:
    return CollectionError(
        path=path,
        error_type="ImportError",
        message="cannot import name 'create_auth_handler' from 'app.auth' (/proj/app/auth.py)",
        longrepr=AUTH_LONGREPR.replace("tests/integration/test_auth.py", path)
        .replace(":3: in <module>", f":{line}: in <module>"),
    )


def factory_error(path: str) -> CollectionError:
    return CollectionError(path=path, error_type="ModuleNotFoundError",
                           message="No module named 'app.factories.agent_factory'")


STRICT_MARKER_ERROR = CollectionError(
    path="tests/integration/test_scale.py",
    error_type="Failed",
    message="'scalability' not found in `markers` configuration option",
    longrepr="'scalability' not found in `markers` configuration option",
)


def unknown_mark(path: str, line: int, marker: str = "scalability") -> WarningRecord:
    return WarningRecord(
        category="PytestUnknownMarkWarning",
        message=(
            f"Unknown pytest.mark.{marker} - is this a typo?  You can register custom marks to "
            "avoid this warning - for details, see "
            "https://docs.pytest.org/en/stable/how-to/mark.html"
        ),
        path=path,
        line=line,
    )


# ----------------------------------------------------------------------------------------
# No finding


def test_green_phase_has_no_findings() -> None:
    assert phase_findings(phase()) == []


def test_exit_1_with_failures_is_honest_not_a_false_green() -> None:
    run = phase(status="failed", exit_code=1, counts=Counts(collected=2, passed=1, failed=1),
                sessions=(PytestSession(pid=1, exit_status=1, collected=2),))
    assert phase_findings(run) == []


@pytest.mark.parametrize("exit_code", [None, 2, 5, -9])
def test_no_false_green_when_the_command_did_not_exit_0(exit_code: int | None) -> None:
    run = phase(status="failed", exit_code=exit_code, counts=Counts(collected=1, failed=1))
    assert "false-green" not in kinds(run)


# ----------------------------------------------------------------------------------------
# false-green


def test_false_green_names_the_command_what_happened_and_the_fix() -> None:
    run = phase(
        status="failed",
        argv=("python", "scripts/run_tests.py", "--integration"),
        counts=Counts(collected=17, passed=1, failed=12, error=4),
        collection_errors=(auth_error(), auth_error("tests/integration/test_b.py"),
                           factory_error("tests/integration/test_c.py"),
                           factory_error("tests/integration/test_d.py")),
        sessions=(PytestSession(pid=1, exit_status=1, collected=17),),
    )
    findings = phase_findings(run)
    assert findings[0].kind == "false-green"
    assert findings[0].phase == "integration"
    assert findings[0].message.startswith(
        "`python scripts/run_tests.py --integration` exited 0, but 12 tests failed; "
        "4 files could not be collected."
    )
    assert "sys.exit(pytest.main([...]))" in findings[0].message
    assert "errored" not in findings[0].message  # all 4 errors are the collection errors


def test_false_green_names_the_program_not_its_full_path() -> None:
    run = phase(
        status="failed",
        argv=("/opt/venvs/app/bin/python3.11", "run_tests.py", "tests/unit"),
        counts=Counts(collected=2, passed=1, failed=1),
        sessions=(PytestSession(pid=1, exit_status=1, collected=2),),
    )
    finding = phase_findings(run)[0]
    assert finding.message.startswith("`python3.11 run_tests.py tests/unit` exited 0, but 1 test")
    assert "/opt/venvs" not in finding.message


def test_false_green_when_no_pytest_session_was_observed() -> None:
    run = phase(status="no-tests", counts=Counts(), sessions=())
    findings = phase_findings(run)
    assert [f.kind for f in findings] == ["false-green", "no-tests"]
    assert "no pytest session was observed at all" in findings[0].message
    assert findings[1].message.startswith("No test executed in this phase: no pytest session")


def test_false_green_when_zero_tests_ran() -> None:
    run = phase(status="no-tests", counts=Counts(),
                sessions=(PytestSession(pid=1, exit_status=5),))
    finding = phase_findings(run)[0]
    assert finding.kind == "false-green"
    assert "exited 0, but no test ran." in finding.message


def test_false_green_when_pytest_itself_failed_but_counts_look_clean() -> None:
    run = phase(status="failed", sessions=(PytestSession(pid=1, exit_status=3, collected=2),))
    finding = phase_findings(run)[0]
    assert "pytest itself exited 3 (internal error)" in finding.message


def test_false_green_when_a_session_never_finished() -> None:
    run = phase(status="crashed", sessions=(PytestSession(pid=42, exit_status=None),),
                counts=Counts(collected=2, passed=1))
    assert kinds(run) == ["false-green"]  # crashed: no-tests is the status's job
    assert "the pytest session (pid 42) never finished" in phase_findings(run)[0].message


def test_false_green_counts_test_errors_apart_from_collection_errors() -> None:
    run = phase(status="failed", counts=Counts(collected=3, passed=1, error=2))
    assert "2 tests errored" in phase_findings(run)[0].message


def test_all_skipped_with_exit_0_is_not_a_false_green() -> None:
    run = phase(status="no-tests", counts=Counts(collected=2, skipped=2))
    assert kinds(run) == ["no-tests"]


@pytest.mark.parametrize("status", ["timeout", "interrupted", "blocked"])
def test_no_false_green_for_phases_claimcheck_stopped(status: str) -> None:
    assert phase_findings(phase(status=status, counts=Counts(), sessions=())) == []


# ----------------------------------------------------------------------------------------
# no-tests


def test_no_tests_nothing_collected_points_at_python_files_and_paths() -> None:
    settings = PytestSettings(rootdir="/proj", inifile="/proj/pytest.ini",
                              python_files=("check_*.py",), args=("tests/integration",))
    run = phase(status="no-tests", exit_code=5, counts=Counts(), settings=settings,
                sessions=(PytestSession(pid=1, exit_status=5),))
    [finding] = phase_findings(run)
    assert finding.kind == "no-tests"
    assert finding.message == (
        "No test executed in this phase: pytest collected nothing from tests/integration. "
        "Check that the path is right and that test files match python_files = "
        '["check_*.py"] (set in pytest.ini).'
    )


def test_no_tests_nothing_collected_mentions_testpaths_when_no_args() -> None:
    run = phase(status="no-tests", exit_code=5, counts=Counts(),
                sessions=(PytestSession(pid=1, exit_status=5),))
    [finding] = phase_findings(run)
    assert finding.message == (
        "No test executed in this phase: pytest collected nothing from tests. Check that the "
        "path is right and that test files match python_files = [\"test_*.py\", "
        "\"*_test.py\"] (pytest's default); with no path arguments pytest searched "
        "testpaths = tests."
    )


@pytest.mark.parametrize(("argv", "expected"), [
    (("python", "-m", "pytest", "--collect-only", "tests"),
     "pytest collected 3 tests but ran none: the phase's arguments include --collect-only, "
     "which makes pytest list what it would run instead of running it."),
    (("python", "-m", "pytest", "tests"),
     "pytest collected 3 tests but ran none. Something stopped the session between collection "
     "and the first test"),
])
def test_no_tests_never_says_nothing_was_collected_when_something_was(
        argv: tuple[str, ...], expected: str) -> None:
    run = phase(status="no-tests", exit_code=0, counts=Counts(collected=3), argv=argv,
                sessions=(PytestSession(pid=1, exit_status=0, collected=3),))
    [finding] = [f for f in phase_findings(run) if f.kind == "no-tests"]
    assert "collected nothing" not in finding.message
    assert expected in finding.message


def test_no_tests_all_deselected_quotes_the_expression() -> None:
    run = phase(status="no-tests", exit_code=5, counts=Counts(collected=4, deselected=4),
                argv=("python", "-m", "pytest", "-m", "not slow and smoke", "-k=auth", "tests"),
                sessions=(PytestSession(pid=1, exit_status=5, collected=4, deselected=4),))
    [finding] = phase_findings(run)
    assert finding.message == (
        "No test executed in this phase: all 4 collected tests were deselected "
        "(-m 'not slow and smoke', -k=auth). Check the -k / -m expression against the test "
        "names and markers you meant."
    )


def test_no_tests_all_skipped_gives_the_most_common_reason() -> None:
    skipped = tuple(
        TestResult(nodeid=f"tests/e2e/test_a.py::test_{i}", outcome="skipped", phase="e2e",
                   message="Skipped: needs redis" if i < 2 else "Skipped: slow")
        for i in range(3)
    )
    run = phase(status="passed", counts=Counts(collected=3, skipped=3), tests=skipped)
    [finding] = phase_findings(run)
    assert finding.kind == "no-tests"
    assert "all 3 tests were skipped" in finding.message
    assert "Most common reason (2 of 3): Skipped: needs redis." in finding.message


@pytest.mark.parametrize("status", ["timeout", "crashed", "interrupted", "blocked"])
def test_no_tests_is_not_repeated_for_statuses_that_explain_themselves(status: str) -> None:
    run = phase(status=status, exit_code=None, counts=Counts(), sessions=())
    assert "no-tests" not in kinds(run)


def test_no_tests_not_reported_when_collection_errors_explain_it() -> None:
    run = phase(status="error", exit_code=2, counts=Counts(error=1),
                collection_errors=(auth_error(),),
                sessions=(PytestSession(pid=1, exit_status=2),))
    assert kinds(run) == ["import-error"]


# ----------------------------------------------------------------------------------------
# import-error


def test_import_errors_grouped_by_missing_name_with_files_and_line() -> None:
    errors = (
        auth_error("tests/integration/test_auth.py", 3),
        factory_error("tests/integration/test_agents.py"),
        auth_error("tests/integration/test_login.py", 7),
        auth_error("tests/integration/test_tokens.py", 1),
        factory_error("tests/integration/test_pool.py"),
    )
    run = phase(status="error", exit_code=2, counts=Counts(error=5), collection_errors=errors,
                sessions=(PytestSession(pid=1, exit_status=2),))
    auth, factory = phase_findings(run)
    assert auth == Finding(
        kind="import-error",
        phase="integration",
        path="tests/integration/test_auth.py",
        line=3,
        message=(
            "cannot import name 'create_auth_handler' from 'app.auth' — 3 test files cannot be "
            "collected, so none of their tests ran: tests/integration/test_auth.py, "
            "tests/integration/test_login.py, tests/integration/test_tokens.py. Restore "
            "'create_auth_handler' in app.auth, or update these imports to whatever replaced it."
        ),
        files=("tests/integration/test_auth.py", "tests/integration/test_login.py",
               "tests/integration/test_tokens.py"),
        count=3,
    )
    assert factory.path == "tests/integration/test_agents.py"
    assert factory.line is None  # no traceback to read it from
    assert factory.count == 2
    assert factory.message.startswith("No module named 'app.factories.agent_factory' — 2 test")
    assert "install the package that provides it" in factory.message


def test_import_key_strips_location_and_prefers_the_traceback_line() -> None:
    error = CollectionError(
        path="tests/test_a.py", error_type="ImportError",
        message="ImportError while importing test module '/proj/tests/test_a.py'.",
        longrepr=AUTH_LONGREPR,
    )
    assert import_key(error) == "cannot import name 'create_auth_handler' from 'app.auth'"
    unknown = CollectionError(path="x.py", error_type="ImportError",
                              message="cannot import name 'a' from 'b' (unknown location)")
    assert import_key(unknown) == "cannot import name 'a' from 'b'"


def test_import_line_uses_the_test_files_own_frame_not_a_deeper_one() -> None:
    longrepr = (
        "tests/unit/test_routes.py:5: in <module>\n    from app.routes import router\n"
        "app/routes.py:2: in <module>\n    from app.auth import create_auth_handler\n"
        "E   ImportError: cannot import name 'create_auth_handler' from 'app.auth'"
    )
    error = CollectionError(path="tests/unit/test_routes.py", error_type="ImportError",
                            message="x", longrepr=longrepr)
    assert import_line(error) == 5


def test_circular_import_gets_its_own_advice() -> None:
    error = CollectionError(
        path="tests/test_a.py", error_type="ImportError",
        message=("cannot import name 'x' from partially initialized module 'app.core' (most "
                 "likely due to a circular import) (/proj/app/core.py)"),
    )
    [finding] = phase_findings(phase(status="error", exit_code=2, counts=Counts(error=1),
                                     collection_errors=(error,)))
    assert finding.message.startswith(
        "cannot import name 'x' from partially initialized module 'app.core' (most likely due "
        "to a circular import) — 1 test file cannot"
    )
    assert "circular import around 'app.core'" in finding.message
    assert "1 test file cannot be collected, so none of its tests ran: tests/test_a.py." in \
        finding.message


def test_syntax_errors_are_not_import_errors() -> None:
    error = CollectionError(path="tests/test_a.py", error_type="SyntaxError",
                            message="invalid syntax", longrepr="E   SyntaxError: invalid syntax")
    assert phase_findings(phase(status="error", exit_code=2, counts=Counts(error=1),
                                collection_errors=(error,))) == []


# ----------------------------------------------------------------------------------------
# unregistered-marker


def test_strict_marker_collection_error_and_warning_merge_into_one_finding() -> None:
    run = phase(
        status="error", exit_code=2, counts=Counts(error=1),
        collection_errors=(STRICT_MARKER_ERROR,),
        warnings=(unknown_mark("/proj/tests/unit/test_load.py", 12),),
    )
    [finding] = phase_findings(run)
    assert finding.kind == "unregistered-marker"
    assert finding.files == ("tests/integration/test_scale.py", "tests/unit/test_load.py")
    assert (finding.path, finding.line) == ("tests/unit/test_load.py", 12)
    assert finding.count == 2
    assert finding.message == (
        "Marker 'scalability' is used (tests/unit/test_load.py:12) but not registered. Under "
        "--strict-markers it turned 1 whole file into a collection error, so none of its tests "
        "ran: tests/integration/test_scale.py. To fix, add markers = "
        '["scalability: describe what it marks"] under [tool.pytest.ini_options] in '
        "pyproject.toml."
    )


def test_warning_only_marker_warns_about_strict_markers() -> None:
    run = phase(warnings=(unknown_mark("tests/unit/test_load.py", 4, "slwo"),
                          unknown_mark("tests/unit/test_more.py", 9, "slwo")))
    [finding] = phase_findings(run)
    assert finding.files == ("tests/unit/test_load.py", "tests/unit/test_more.py")
    assert "Today it is only a PytestUnknownMarkWarning; under --strict-markers (or a " \
           "warnings filter set to error) it turns the whole file into a collection error" \
           in finding.message
    assert finding.message.endswith("If it is a typo of the registered 'slow', fix the "
                                    "spelling instead.")


def test_one_marker_finding_per_marker() -> None:
    run = phase(warnings=(unknown_mark("tests/a.py", 1, "alpha"),
                          unknown_mark("tests/b.py", 2, "beta"),
                          unknown_mark("tests/c.py", 3, "alpha")))
    findings = phase_findings(run)
    assert [(f.message.split("'")[1], f.files) for f in findings] == [
        ("alpha", ("tests/a.py", "tests/c.py")), ("beta", ("tests/b.py",)),
    ]


# ----------------------------------------------------------------------------------------
# deprecation


def test_deprecations_grouped_by_message_with_sorted_unique_files() -> None:
    old = "datetime.datetime.utcnow() is deprecated; use datetime.datetime.now(datetime.UTC)"
    warnings = (
        WarningRecord("DeprecationWarning", old, "/proj/tests/test_b.py", 8, "tests/test_b.py::t"),
        WarningRecord("DeprecationWarning", old, "/proj/tests/test_a.py", 3, "tests/test_a.py::t"),
        WarningRecord("PendingDeprecationWarning", "soon", None, None, "tests/test_c.py::t"),
        WarningRecord("DeprecationWarning", old, "/proj/tests/test_b.py", 8, "tests/test_b.py::u"),
        WarningRecord("UserWarning", "not a deprecation", "/proj/tests/test_a.py", 1),
        WarningRecord("PytestRemovedIn9Warning", "old hook", "/proj/conftest.py", 2),
    )
    findings = phase_findings(phase(warnings=warnings))
    assert [(f.kind, f.count, f.files, f.path, f.line) for f in findings] == [
        ("deprecation", 3, ("tests/test_a.py", "tests/test_b.py"), "tests/test_b.py", 8),
        ("deprecation", 1, ("tests/test_c.py",), "tests/test_c.py", None),
        ("deprecation", 1, ("conftest.py",), "conftest.py", 2),
    ]
    assert findings[0].message.startswith(
        f"DeprecationWarning raised 3 times in tests/test_a.py, tests/test_b.py: {old}. "
        "Move to the replacement"
    )


def test_init_constructor_collection_warning_is_left_to_discovery() -> None:
    warning = WarningRecord(
        "PytestCollectionWarning",
        "cannot collect test class 'TestInit' because it has a __init__ constructor "
        "(from: tests/integration/test_ws.py)",
        "/proj/tests/integration/test_ws.py", 5,
    )
    assert phase_findings(phase(warnings=(warning,))) == []


# ----------------------------------------------------------------------------------------
# Real pytest: the texts the parsers rely on, as pytest 8 words them.

_E_LINE = re.compile(r"^E\s+([\w.]+): (.*)$", re.MULTILINE)


def _collection_error(entry: dict) -> CollectionError:
    """What any runner must build from a json-report collector entry (kept minimal on purpose)."""
    longrepr = entry.get("longrepr") or ""
    last = _E_LINE.findall(longrepr)
    error_type, message = last[-1] if last else ("Failed", longrepr.splitlines()[0])
    return CollectionError(entry["nodeid"], error_type, message, longrepr)


def _run_from_report(root: Path, report: Path, name: str, argv: tuple[str, ...], exit_code: int,
                     settings: PytestSettings) -> PhaseRun:
    data = json.loads(report.read_text())
    summary = data["summary"]
    errors = tuple(_collection_error(c) for c in data["collectors"] if c["outcome"] == "failed")
    warnings = tuple(WarningRecord(w["category"], w["message"], w.get("filename"), w.get("lineno"))
                     for w in data.get("warnings", []))
    tests = tuple(TestResult(t["nodeid"], t["outcome"], name) for t in data.get("tests", []))
    counts = Counts(
        collected=summary.get("collected", 0), passed=summary.get("passed", 0),
        failed=summary.get("failed", 0), error=summary.get("error", 0) + len(errors),
        skipped=summary.get("skipped", 0), deselected=summary.get("deselected", 0),
    )
    return PhaseRun(name=name, status="failed", exit_code=exit_code, duration_s=0.0,
                    counts=counts, tests=tests, collection_errors=errors, warnings=warnings,
                    sessions=(PytestSession(pid=1, exit_status=data["exitcode"]),), argv=argv,
                    settings=settings)


BROKEN_PROJECT = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        markers = ["slow: slow tests"]
    """,
    "app/__init__.py": "",
    "app/auth.py": "def login():\n    return True\n",
    "tests/integration/test_auth.py": """
        import os

        from app.auth import create_auth_handler


        def test_handler():
            assert create_auth_handler
    """,
    "tests/integration/test_agents.py": """
        from app.factories.agent_factory import build


        def test_build():
            assert build
    """,
    "tests/integration/test_scale.py": """
        import warnings

        import pytest


        @pytest.mark.scalability
        def test_many():
            warnings.warn("old api, use new_api()", DeprecationWarning)


        def test_fails():
            assert 1 == 2
    """,
    # The incident's runner: runs pytest, prints success, exits 0 whatever happened.
    "run_tests.py": """
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]])
        print("All integration tests completed successfully!")
    """,
}


# Entry-point plugins installed here (textual snapshots...) cost seconds per start; load only
# the one these tests read.
QUIET_ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _pytest_argv(report: Path, *extra: str) -> list[str]:
    return ["-p", "no:cacheprovider", "-p", "pytest_jsonreport.plugin", "--json-report",
            f"--json-report-file={report}", "-q", "-W", "always", *extra]


def test_real_pytest_wrapper_run_yields_every_finding_kind(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", BROKEN_PROJECT)
    report = tmp_path / "report.json"
    argv = ("python", "run_tests.py", "--continue-on-collection-errors", "tests/integration")
    done = subprocess.run([sys.executable, "run_tests.py", *_pytest_argv(report),
                           "--continue-on-collection-errors", "tests/integration"],
                          cwd=root, capture_output=True, text=True, timeout=120, env=QUIET_ENV)
    assert done.returncode == 0, done.stderr
    settings = PytestSettings(rootdir=str(root), inifile=str(root / "pyproject.toml"),
                              markers=("slow",))
    run = _run_from_report(root, report, "integration", argv, done.returncode, settings)
    findings = {f.kind: f for f in phase_findings(run)}
    assert sorted(findings) == ["deprecation", "false-green", "import-error",
                                "unregistered-marker"]
    assert findings["false-green"].message.startswith(
        "`python run_tests.py --continue-on-collection-errors tests/integration` exited 0, but "
        "1 test failed; 2 files could not be collected."
    )
    import_errors = [f for f in phase_findings(run) if f.kind == "import-error"]
    assert [(f.path, f.line, f.message.split(" — ")[0]) for f in import_errors] == [
        ("tests/integration/test_agents.py", 1, "No module named 'app.factories'"),
        ("tests/integration/test_auth.py", 3,
         "cannot import name 'create_auth_handler' from 'app.auth'"),
    ]
    marker = findings["unregistered-marker"]
    assert (marker.path, marker.line, marker.files) == (
        "tests/integration/test_scale.py", 6, ("tests/integration/test_scale.py",))
    assert "Today it is only a PytestUnknownMarkWarning" in marker.message
    deprecation = findings["deprecation"]
    assert (deprecation.path, deprecation.line, deprecation.count) == (
        "tests/integration/test_scale.py", 8, 1)
    assert "old api, use new_api()" in deprecation.message


def test_real_pytest_strict_markers_collection_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", BROKEN_PROJECT)
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pytest", *_pytest_argv(report),
                           "--strict-markers", "tests/integration/test_scale.py"],
                          cwd=root, capture_output=True, text=True, timeout=120, env=QUIET_ENV)
    assert done.returncode == 2, done.stdout
    settings = PytestSettings(rootdir=str(root), inifile=str(root / "pyproject.toml"),
                              markers=("slow",), strict_markers=True)
    run = _run_from_report(root, report, "integration", ("pytest",), done.returncode, settings)
    [finding] = phase_findings(run)
    assert finding.kind == "unregistered-marker"
    assert finding.files == ("tests/integration/test_scale.py",)
    assert "Under --strict-markers it turned 1 whole file into a collection error" in \
        finding.message
    assert finding.line is None  # pytest's error names no line...
    [located] = phase_findings(run, functools.partial(marker_line, root))
    assert (located.path, located.line) == ("tests/integration/test_scale.py", 6)  # ...the file does
    assert "is used (tests/integration/test_scale.py:6)" in located.message


def test_real_pytest_nothing_collected(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", {
        "pytest.ini": "[pytest]\n",
        "tests/websocket_checks.py": "def test_x():\n    pass\n",
    })
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pytest", *_pytest_argv(report), "tests"],
                          cwd=root, capture_output=True, text=True, timeout=120, env=QUIET_ENV)
    assert done.returncode == 5, done.stdout
    settings = PytestSettings(rootdir=str(root), inifile=str(root / "pytest.ini"),
                              args=("tests",))
    run = _run_from_report(root, report, "unit", ("pytest", "tests"), done.returncode, settings)
    [finding] = phase_findings(run)
    assert finding.kind == "no-tests"
    assert "pytest collected nothing from tests" in finding.message
    assert 'python_files = ["test_*.py", "*_test.py"] (pytest\'s default)' in finding.message


# ----------------------------------------------------------------------------------------
# Wording that says only what is true


@pytest.mark.parametrize(("text", "expected"), [
    ("ast.Str is deprecated and will be removed in Python 3.14; use ast.Constant instead",
     "Move to the replacement it names before the old API is removed"),
    ("datetime.datetime.utcnow() is deprecated. Use timezone-aware objects: "
     "datetime.datetime.now(datetime.UTC).", "Move to the replacement it names"),
    ("'imghdr' is deprecated and slated for removal in Python 3.13",
     "It names no replacement: look up what replaces it in the changelog or documentation"),
    ("The use of old_api is deprecated", "It names no replacement: look up"),
    ("pkg_resources is deprecated as an API. See "
     "https://setuptools.pypa.io/en/latest/pkg_resources.html.",
     "It names no replacement; follow "
     "https://setuptools.pypa.io/en/latest/pkg_resources.html before the old API is removed"),
])
def test_deprecation_advice_claims_a_replacement_only_when_the_message_names_one(
        text: str, expected: str) -> None:
    run = phase(warnings=(WarningRecord("DeprecationWarning", text, "/proj/tests/test_a.py", 3),))
    [finding] = phase_findings(run)
    assert expected in finding.message
    if "no replacement" in expected:
        assert "replacement it names" not in finding.message


def test_false_green_of_pytest_itself_does_not_blame_a_runner() -> None:
    run = phase(status="no-tests", counts=Counts(collected=2),
                argv=("/venv/bin/python", "-m", "pytest", "-p", "claimcheck_stream",
                      "--collect-only", "tests"),
                sessions=(PytestSession(pid=1, exit_status=0, collected=2),))
    [green, empty] = phase_findings(run, command=("pytest", "--collect-only", "tests"))
    assert green.message.startswith("`pytest --collect-only tests` exited 0, but no test ran.")
    assert "pytest itself returned 0" in green.message
    assert "sys.exit(pytest.main" not in green.message
    assert "pytest collected 2 tests but ran none: the phase's arguments include " \
           "--collect-only" in empty.message


SUBFOLDER_CONFTEST = {
    "pytest.ini": "[pytest]\n",
    "tests/test_top.py": "def test_top():\n    pass\n",
    "tests/api/conftest.py": "import os\n\nfrom app.missing_helpers import client\n",
    "tests/api/test_api.py": "def test_api():\n    pass\n",
}


def test_import_error_in_a_subfolder_conftest_names_the_file(make_project,
                                                             phase_python: str) -> None:
    from tests.realrun import claimcheck_json, claimcheck_table, findings_of

    root = make_project({**SUBFOLDER_CONFTEST, "app/__init__.py": "",
                         "pyproject.toml": claimcheck_table(
                             phase_python, [{"name": "unit", "pytest": ["tests"]}])})
    code, report, stderr = claimcheck_json(root)
    assert code == 1, stderr
    [finding] = findings_of(report, "import-error")
    assert (finding["path"], finding["line"], finding["files"]) == (
        "tests/api/conftest.py", 3, ["tests/api/conftest.py"])
    assert finding["message"].startswith(
        "No module named 'app.missing_helpers' — tests/api/conftest.py cannot be imported, so "
        "no test under tests/api/ ran.")


def test_false_green_quotes_the_command_as_configured(make_project, phase_python: str) -> None:
    """claimcheck runs `python` as the configured interpreter (here named python3): the
    finding still says what the config says."""
    from tests.realrun import claimcheck_json, claimcheck_table, findings_of

    python3 = Path(phase_python).with_name("python3")
    assert python3.exists()
    root = make_project({
        "pytest.ini": "[pytest]\n",
        "tests/test_a.py": "def test_fails():\n    assert False\n",
        "runner.py": "import subprocess, sys\n\n"
                     "subprocess.run([sys.executable, '-m', 'pytest', 'tests'])\n",
        "pyproject.toml": claimcheck_table(str(python3), [
            {"name": "wrapped", "command": ["python", "runner.py"]}]),
    })
    code, report, stderr = claimcheck_json(root)
    assert code == 1, stderr
    [green] = findings_of(report, "false-green")
    assert green["message"].startswith("`python runner.py` exited 0, but 1 test failed.")
    assert "sys.exit(pytest.main([...]))" in green["message"]


def test_a_file_skipped_at_collection_is_not_a_collected_test_that_ran() -> None:
    """pytest's "collected N items" leaves out a file skipped as a whole (a module-level
    importorskip): its skipped result must not shrink an interruption's never-ran figure."""
    tests = (TestResult(nodeid="tests/test_a.py::test_first", outcome="passed",
                        phase="integration"),
             TestResult(nodeid="tests/test_optional.py", outcome="skipped", phase="integration",
                        when="collect"))
    run = phase(status="interrupted", counts=Counts(collected=3, passed=1, skipped=1),
                tests=tests, interruption=Interruption(kind="exit", message="stop"))
    (finding,) = [f for f in phase_findings(run) if f.kind == "interrupted-session"]
    assert "2 collected tests never ran" in finding.message, finding.message
