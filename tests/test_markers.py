"""unregistered-marker: every way pytest reacts to an unknown marker, and advice that works.

The advice is checked for real: each config style below gets the finding from a real
claimcheck run, the advice is applied to the file the way a person would follow it, and pytest
(the newest, and this venv's where it reads that style) must then run with --strict-markers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.markers import marker_registration, unregistered_markers
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    PhaseRun,
    PytestSession,
    PytestSettings,
    WarningRecord,
)
from claimcheck.collectors.pytest_config import (
    ConfigStyle,
    read_config_style,
    style_by_name,
)

from tests.conftest import write_project
from tests.realrun import (
    QUIET_ENV,
    apply_advice,
    claimcheck_json,
    claimcheck_table,
    findings_of,
    latest_pytest_python,
    phase_of,
)

MARKED = """
    import pytest


    @pytest.mark.slowish
    def test_marked():
        pass


    def test_plain():
        pass
"""
HOOK_CONFTEST = """
    def pytest_collection_modifyitems(items):
        for item in items:
            item.add_marker("bar")
"""
SETTINGS = PytestSettings(rootdir="/proj", inifile="/proj/pytest.ini")


def run_of(**overrides: object) -> PhaseRun:
    values: dict[str, object] = dict(name="unit", status="error", exit_code=1, duration_s=0.0,
                                     counts=Counts(), settings=SETTINGS)
    values.update(overrides)
    return PhaseRun(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------
# Pure: what each of pytest's reactions looks like


def test_a_warning_turned_error_is_a_whole_file_collection_error() -> None:
    error = CollectionError(
        "tests/test_m.py", "PytestUnknownMarkWarning",
        "Unknown pytest.mark.slowish - is this a typo?  You can register custom marks to avoid "
        "this warning - for details, see https://docs.pytest.org/en/stable/how-to/mark.html")
    [finding] = unregistered_markers(run_of(collection_errors=(error,)),
                                     lambda path, marker: 4)
    assert (finding.path, finding.line, finding.files) == ("tests/test_m.py", 4,
                                                           ("tests/test_m.py",))
    assert ("A warnings filter set to error (filterwarnings = error, or -W error) turned its "
            "PytestUnknownMarkWarning into an error, which turned 1 whole file into a "
            "collection error, so none of its tests ran: tests/test_m.py.") in finding.message


INTERNAL_TAIL = """\
INTERNALERROR> Traceback (most recent call last):
INTERNALERROR>   File "/venv/lib/python3.11/site-packages/_pytest/main.py", line 397, in pytest_collection
INTERNALERROR>     session.perform_collect()
INTERNALERROR>   File "/proj/tests/conftest.py", line 4, in pytest_collection_modifyitems
INTERNALERROR>     item.add_marker("bar")
INTERNALERROR>   File "/venv/lib/python3.11/site-packages/_pytest/mark/structures.py", line 647, in __getattr__
INTERNALERROR>     fail(f"{name!r} not found in `markers` configuration option", pytrace=False)
INTERNALERROR> Failed: 'bar' not found in `markers` configuration option

no tests ran in 0.01s
"""


def test_an_internal_error_names_the_hook_that_added_the_marker() -> None:
    run = run_of(status="crashed", exit_code=3, output_tail=INTERNAL_TAIL,
                 sessions=(PytestSession(pid=1, exit_status=3, collected=2),))
    [finding] = unregistered_markers(run)
    assert (finding.path, finding.line) == ("tests/conftest.py", 4)
    assert finding.message.startswith(
        "Marker 'bar' is used (tests/conftest.py:4) but not registered. The hook "
        "pytest_collection_modifyitems adds it, and pytest stopped with an INTERNALERROR")
    assert "so no test of this phase ran" in finding.message


def test_an_unknown_marker_in_the_m_expression_is_one_finding_per_name() -> None:
    tail = ("no tests ran in 0.00s\nERROR: Unknown marker(s) in '-m' expression: slow, db. "
            "Use 'pytest --markers' to see available markers.\n\n")
    run = run_of(exit_code=4, output_tail=tail,
                 sessions=(PytestSession(pid=1, exit_status=4, collected=1),))
    findings = unregistered_markers(run, command=("pytest", "-m", "not slow and not db"))
    assert [(f.message.split("'")[1], f.path) for f in findings] == [("slow", None),
                                                                     ("db", None)]
    assert "is used (in the -m expression)" in findings[0].message
    assert "(in `pytest -m 'not slow and not db'` or addopts)" in findings[0].message
    # Both go into the one `markers =` the file lacks, so following both findings is one edit.
    assert "followed by the indented lines '    db: describe what it marks' and " \
           "'    slow: describe what it marks' under [pytest] in pytest.ini" in findings[0].message


def test_a_plain_warning_is_not_called_an_error() -> None:
    warning = WarningRecord("PytestUnknownMarkWarning",
                            "Unknown pytest.mark.slowish - is this a typo?  You can register",
                            "/proj/tests/test_m.py", 4)
    [finding] = unregistered_markers(run_of(status="passed", exit_code=0, warnings=(warning,)))
    assert "Today it is only a PytestUnknownMarkWarning" in finding.message


@pytest.mark.parametrize(("style", "expected"), [
    (ConfigStyle("pyproject.toml", "[tool.pytest]", True, frozenset({"minversion"})),
     'add markers = ["m: describe what it marks"] under [tool.pytest] in pyproject.toml'),
    (ConfigStyle("pyproject.toml", "[tool.pytest]", True, frozenset({"markers"})),
     'add "m: describe what it marks" to the markers list under [tool.pytest] in pyproject.toml'),
    (ConfigStyle("pyproject.toml", "[tool.pytest.ini_options]", True, exists=False),
     'add markers = ["m: describe what it marks"] in a new [tool.pytest.ini_options] table of '
     "pyproject.toml"),
    (ConfigStyle("pytest.toml", "[pytest]", True),
     'add markers = ["m: describe what it marks"] under [pytest] in pytest.toml'),
    (ConfigStyle("setup.cfg", "[tool:pytest]", False),
     "add a 'markers =' line followed by the indented line '    m: describe what it marks' "
     "under [tool:pytest] in setup.cfg"),
    (ConfigStyle("tox.ini", "[pytest]", False, frozenset({"markers"})),
     "add the indented line '    m: describe what it marks' to markers under [pytest] in "
     "tox.ini"),
    (None, "pytest found no config file: create pytest.ini with a [pytest] section holding a "
           "'markers =' line followed by the indented line '    m: describe what it marks'"),
])
def test_registration_advice_in_the_files_own_syntax(style: ConfigStyle | None,
                                                    expected: str) -> None:
    assert marker_registration("m", style) == expected


@pytest.mark.parametrize(("name", "text", "table", "keys", "exists"), [
    ("pyproject.toml", '[tool.pytest]\nminversion = "9.0"\nmarkers = ["a: b"]\n',
     "[tool.pytest]", {"minversion", "markers"}, True),
    ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-ra"\n',
     "[tool.pytest.ini_options]", {"addopts"}, True),
    ("pyproject.toml", "[tool.black]\nline-length = 100\n", "[tool.pytest.ini_options]", set(),
     False),
    ("pytest.toml", '[pytest]\naddopts = ["-ra"]\n', "[pytest]", {"addopts"}, True),
    (".pytest.toml", "", "[pytest]", set(), False),
    ("pytest.ini", "[pytest]\nmarkers =\n    a: b\n", "[pytest]", {"markers"}, True),
    ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -ra\n", "[pytest]", {"addopts"},
     True),
    ("setup.cfg", "[metadata]\nname = x\n", "[tool:pytest]", set(), False),
])
def test_read_config_style_finds_the_table_pytest_reads(tmp_path: Path, name: str, text: str,
                                                       table: str, keys: set[str],
                                                       exists: bool) -> None:
    (tmp_path / name).write_text(text)
    style = read_config_style(tmp_path / name, name)
    assert (style.table, set(style.keys), style.exists) == (table, keys, exists)
    assert style.toml == name.endswith(".toml")


def test_an_unreadable_config_falls_back_to_its_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest\n")
    assert read_config_style(tmp_path / "pyproject.toml", "pyproject.toml") == \
        style_by_name("pyproject.toml")


# ----------------------------------------------------------------------------------------
# Real runs (item 7): pytest's reactions the finding used to miss, serial and under xdist


def phases_summary(report: dict) -> list[tuple]:
    """What a failed assertion should show of a report: each phase's status and why."""
    return [(phase["name"], phase["status"], phase["exit_code"], phase.get("reason"),
             phase.get("output_tail", "")[-800:]) for phase in report.get("phases", ())]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_filterwarnings_error_turns_the_marker_into_a_collection_error(
        make_project, phase_python: str, xdist: bool) -> None:
    args = ["-p", "xdist.plugin", "-n", "2", "tests"] if xdist else ["tests"]
    root = make_project({
        "pytest.ini": "[pytest]\nfilterwarnings =\n    error\n",
        "tests/test_m.py": MARKED,
        "tests/test_other.py": "def test_other():\n    pass\n",
        "pyproject.toml": claimcheck_table(phase_python, [{"name": "unit", "pytest": args}]),
    })
    code, report, stderr = claimcheck_json(root)
    assert code == 1, stderr
    assert phase_of(report, "unit")["status"] == "error"
    [finding] = findings_of(report, "unregistered-marker")
    assert (finding["path"], finding["line"]) == ("tests/test_m.py", 4)
    assert "turned its PytestUnknownMarkWarning into an error, which turned 1 whole file into " \
           "a collection error, so none of its tests ran: tests/test_m.py" in finding["message"]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
@pytest.mark.parametrize("ini", ["addopts = --strict-markers", "filterwarnings =\n    error"])
def test_a_marker_added_by_a_hook_that_stops_pytest_is_named(make_project, phase_python: str,
                                                             ini: str, xdist: bool) -> None:
    args = ["-p", "xdist.plugin", "-n", "2", "tests"] if xdist else ["tests"]
    root = make_project({
        "pytest.ini": f"[pytest]\n{ini}\n",
        "tests/conftest.py": HOOK_CONFTEST,
        "tests/test_other.py": "def test_other():\n    pass\n",
        "pyproject.toml": claimcheck_table(phase_python, [{"name": "unit", "pytest": args}]),
    })
    code, report, stderr = claimcheck_json(root)
    assert code == 1, (stderr, phases_summary(report))
    assert phase_of(report, "unit")["status"] == "crashed"
    [finding] = findings_of(report, "unregistered-marker")
    assert (finding["path"], finding["line"]) == ("tests/conftest.py", 3)
    assert "pytest stopped with an INTERNALERROR" in finding["message"]


def test_pytest_9_refuses_an_unknown_marker_in_m(make_project) -> None:
    python = latest_pytest_python()
    root = make_project({
        "pytest.ini": '[pytest]\naddopts = --strict-markers -m "not slow"\n',
        "tests/test_other.py": "def test_other():\n    pass\n",
        "pyproject.toml": claimcheck_table(python, [{"name": "unit", "pytest": ["tests"]}]),
    })
    code, report, stderr = claimcheck_json(root)
    assert code == 4, stderr
    assert phase_of(report, "unit")["reason"].startswith(
        "pytest usage error: Unknown marker(s) in '-m' expression: slow.")
    [finding] = findings_of(report)  # not repeated as a usage-error
    assert finding["kind"] == "unregistered-marker"
    assert finding["message"].startswith("Marker 'slow' is used (in the -m expression)")


# ----------------------------------------------------------------------------------------
# Real runs (item 8): the advice, applied, makes pytest run


STYLES = {
    "tool.pytest": ("pyproject.toml", '[tool.pytest]\nminversion = "9.0"\n', True),
    "tool.pytest+markers": ("pyproject.toml", '[tool.pytest]\nmarkers = ["fast: quick"]\n',
                            True),
    "ini_options": ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-ra"\n', False),
    "pyproject-without-pytest": ("pyproject.toml", "[tool.black]\nline-length = 100\n", False),
    "pytest.ini": ("pytest.ini", "[pytest]\naddopts = -ra\n", False),
    "pytest.ini+markers": ("pytest.ini", "[pytest]\nmarkers =\n    fast: quick\n", False),
    "pytest.toml": ("pytest.toml", '[pytest]\naddopts = ["-ra"]\n', True),
    ".pytest.toml": (".pytest.toml", "[pytest]\n", True),
    "tox.ini": ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -ra\n", False),
    "setup.cfg": ("setup.cfg", "[metadata]\nname = demo\n\n[tool:pytest]\naddopts = -ra\n",
                  False),
    "no-config": (None, "", False),
}


def _strict_pytest(python: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers",
                           "-q", "tests"], cwd=root, capture_output=True, text=True,
                          timeout=300, env={**QUIET_ENV, "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("which", ["pytest-latest", "pytest-here"])
def test_following_the_registration_advice_makes_pytest_run(tmp_path: Path, style: str,
                                                           which: str) -> None:
    name, text, pytest9_only = STYLES[style]
    if which == "pytest-here" and pytest9_only:
        pytest.skip("pytest 8 does not read this file or table")
    python = latest_pytest_python() if which == "pytest-latest" else sys.executable
    files = {"tests/test_m.py": MARKED, "claimcheck.toml": claimcheck_table(
        python, [{"name": "unit", "pytest": ["--strict-markers", "tests"]}], top_level=True)}
    if name is not None:
        files[name] = text
    root = write_project(tmp_path / "proj", files)
    assert _strict_pytest(python, root).returncode != 0  # the fixture really is broken

    code, report, stderr = claimcheck_json(root, "--config", str(root / "claimcheck.toml"))
    assert code == 1, stderr
    [finding] = findings_of(report, "unregistered-marker")
    apply_advice(root, finding["message"])

    done = _strict_pytest(python, root)
    assert done.returncode == 0, (finding["message"], done.stdout, done.stderr)
    assert "2 passed" in done.stdout
