"""Report readers against real files: pytest-json-report, JUnit XML and claimcheck's JSON, each
made by a real pytest (or claimcheck) run of one fixture project, read back and compared with what
claimcheck itself recorded of that run. Then every way a file can fail to be a report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.config import load_config
from claimcheck.collectors.models import Counts, PhaseRun
from claimcheck.collectors.readers import ReportFileError, read_report, source_labels
from claimcheck.collectors.readers.junit_xml import pytest_nodeid
from claimcheck.collectors.rejudge import judge_opened

from tests.conftest import UNUSED_PLUGINS, clean_env, write_project

NO_PLUGINS = f"{UNUSED_PLUGINS} -p no:cacheprovider"
SELECTION = ["tests", "-k", "not dropped", "--continue-on-collection-errors"]

PROJECT = {
    "pyproject.toml": f"""
        [tool.pytest.ini_options]
        addopts = "{NO_PLUGINS}"
        markers = ["api: api tests"]

        [[tool.claimcheck.phases]]
        name = "unit"
        pytest = {json.dumps(SELECTION)}
    """,
    "tests/test_one.py": """
        import warnings

        import pytest

        def old_api():
            warnings.warn("old_api() is deprecated; use new_api()", DeprecationWarning)

        @pytest.fixture
        def broken():
            raise RuntimeError("setup boom")

        @pytest.fixture
        def bad_teardown():
            yield
            raise RuntimeError("teardown boom")

        @pytest.mark.api
        def test_a(): old_api()
        def test_b(): assert 1 == 2
        def test_c(): pytest.skip("no db")
        @pytest.mark.xfail(reason="known")
        def test_xf(): assert False
        @pytest.mark.xfail(reason="fixed?")
        def test_xp(): pass
        def test_err(broken): pass
        def test_td(bad_teardown): pass
        def test_fail_and_td(bad_teardown): assert False
        @pytest.mark.parametrize("x", ["a::b", "c.d", "e/f"])
        def test_p(x): old_api()
        class TestK:
            def test_m(self): assert False, "in class"
        def test_dropped(): pass
    """,
    "tests/sub/test_two.py": "def test_d(): pass\n",
    "tests/test_bad.py": "import missing_module_xyz\n",
}
LIVE_COUNTS = Counts(collected=14, passed=5, failed=2, error=4, skipped=1, xfailed=1, xpassed=1,
                     deselected=1)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """One project, run once by claimcheck and twice by bare pytest, with every report kept."""
    root = write_project(tmp_path_factory.mktemp("readers") / "proj", PROJECT)
    files = {name: root / name for name in ("cc.json", "cc.xml", "pytest.json", "xunit2.xml",
                                            "xunit1.xml")}
    subprocess.run([sys.executable, "-m", "claimcheck", "--project", str(root), "--report",
                    "--format", "json", "--output", str(files["cc.json"]),
                    "--write", f"junit={files['cc.xml']}"],
                   env=clean_env(), capture_output=True, check=False, timeout=120)
    base = [sys.executable, "-m", "pytest", *SELECTION]
    subprocess.run([*base, "--json-report", f"--json-report-file={files['pytest.json']}",
                    f"--junitxml={files['xunit2.xml']}"],
                   cwd=root, env=clean_env(), capture_output=True, check=False, timeout=120)
    subprocess.run([*base, f"--junitxml={files['xunit1.xml']}", "-o", "junit_family=xunit1"],
                   cwd=root, env=clean_env(), capture_output=True, check=False, timeout=120)
    for path in files.values():
        assert path.is_file(), path
    files["root"] = root
    return files


def live(made: dict[str, Path]) -> PhaseRun:
    """What claimcheck's own run recorded: the reference every other reader is held to."""
    (run,) = read_report(made["cc.json"]).phases
    return run


def outcomes(run: PhaseRun) -> dict[str, str]:
    return {test.nodeid: test.outcome for test in run.tests}


def test_claimcheck_json_reads_back_what_the_run_recorded(made):
    document = json.loads(made["cc.json"].read_text())
    read = read_report(made["cc.json"])
    (run,) = read.phases
    assert read.source.format == "claimcheck" and read.source.tests == 13
    assert run.counts == LIVE_COUNTS
    assert (run.name, run.status, run.exit_code) == ("unit", "failed", 1)
    assert run.sessions[0].exit_status == 1 and run.sessions[0].collected == 14
    recorded = document["phases"][0]
    assert [t.nodeid for t in run.tests] == [t["nodeid"] for t in recorded["tests"]]
    by_id = {t.nodeid: t for t in run.tests}
    assert by_id["tests/test_one.py::test_a"].markers == ("api",)
    assert by_id["tests/test_one.py::test_b"].message == "assert 1 == 2"
    assert by_id["tests/test_one.py::test_fail_and_td"].outcome == "error"
    assert run.collection_errors[0].error_type == "ModuleNotFoundError"
    assert read.verdict == document["verdict"] == "red"
    assert read.provenance is not None and read.provenance.host


def test_warnings_are_kept_once_per_place_and_counted_back(made):
    document = json.loads(made["cc.json"].read_text())
    recorded = document["phases"][0]["warnings"]
    deprecated = [w for w in recorded if w["category"] == "DeprecationWarning"]
    assert len(deprecated) == 1 and deprecated[0]["count"] == 4
    (run,) = read_report(made["cc.json"]).phases
    assert len([w for w in run.warnings if w.category == "DeprecationWarning"]) == 4
    assert len(run.warnings) == document["phases"][0]["warning_count"]
    report = judge_opened(load_config(made["root"]), read_report(made["cc.json"]))
    (finding,) = [f for f in report.findings if f.kind == "deprecation"]
    assert finding.count == 4 and finding.files == ("tests/test_one.py",)


def test_opened_claimcheck_json_is_judged_to_the_same_report(made):
    config = load_config(made["root"])
    report = judge_opened(config, read_report(made["cc.json"]))
    document = json.loads(made["cc.json"].read_text())
    assert (report.verdict, report.exit_code) == (document["verdict"], document["exit_code"])
    assert {f.kind for f in report.findings} == {f["kind"] for f in document["findings"]}
    rows = {row.name: row.status for row in report.gaps}
    assert rows == {row["name"]: row["status"] for row in document["gaps"]}


def test_pytest_json_report_counts_as_claimcheck_counted_the_same_run(made):
    read = read_report(made["pytest.json"], phase_name="unit")
    (run,) = read.phases
    reference = live(made)
    assert read.source.format == "pytest-json-report"
    assert run.counts == reference.counts == LIVE_COUNTS
    assert outcomes(run) == outcomes(reference)
    assert run.status == "failed" and run.exit_code == 1
    assert run.deselected_ids == ("tests/test_one.py::test_dropped",)
    by_id = {t.nodeid: t for t in run.tests}
    assert by_id["tests/test_one.py::test_a"].markers == ("api",)
    assert by_id["tests/test_one.py::test_b"].message == "assert 1 == 2"
    assert by_id["tests/test_one.py::test_c"].message == "no db"
    assert by_id["tests/test_one.py::test_err"].when == "setup"
    assert by_id["tests/test_one.py::test_td"].when == "teardown"
    assert by_id["tests/test_one.py::test_b"].path == "tests/test_one.py"
    error = run.collection_errors[0]
    assert (error.path, error.error_type) == ("tests/test_bad.py", "ModuleNotFoundError")
    assert "missing_module_xyz" in error.message


def test_pytest_json_report_without_a_phase_name_is_the_default_phase(made):
    assert read_report(made["pytest.json"]).phases[0].name == "tests"


@pytest.mark.parametrize("name", ["xunit2.xml", "xunit1.xml"])
def test_pytests_junit_xml_gives_the_same_tests_and_outcomes(made, name):
    """JUnit knows no xpass (it reads as a pass) and nothing of collection or deselection."""
    read = read_report(made[name], project_root=made["root"])
    (run,) = read.phases
    reference = live(made)
    expected = {nodeid: ("passed" if outcome == "xpassed" else outcome)
                for nodeid, outcome in outcomes(reference).items()}
    assert outcomes(run) == expected
    assert run.counts == Counts(collected=13, passed=6, failed=2, error=4, skipped=1, xfailed=1)
    assert run.status == "failed" and not read.knows_collection
    assert run.collection_errors[0].path == "tests/test_bad.py"
    assert read.provenance is not None and read.provenance.host


def test_junit_node_ids_without_the_project_at_hand_follow_pythons_naming(made):
    (run,) = read_report(made["xunit2.xml"]).phases
    assert set(outcomes(run)) == set(outcomes(live(made)))


def test_claimcheck_junit_gives_its_phases_back(made):
    read = read_report(made["cc.xml"])
    (run,) = read.phases
    assert run.name == "unit"
    assert {k: v for k, v in outcomes(run).items()} == {
        nodeid: ("passed" if outcome == "xpassed" else outcome)
        for nodeid, outcome in outcomes(live(made)).items()}
    lines = {t.nodeid: t.line for t in run.tests if t.outcome == "failed"}
    assert lines == {t.nodeid: t.line for t in live(made).tests if t.outcome == "failed"}
    source = (made["root"] / "tests/test_one.py").read_text().splitlines()
    definition = next(n for n, text in enumerate(source, 1) if text.startswith("def test_b"))
    assert lines["tests/test_one.py::test_b"] == definition  # claimcheck writes 1-based lines


def test_claimcheck_junit_phase_without_evidence_keeps_its_status(tmp_path):
    path = tmp_path / "cc.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="claimcheck">'
        '<testsuite name="e2e" tests="1" errors="1"><testcase classname="claimcheck.e2e" '
        'name="phase timeout" time="900"><error message="timed out after 900 s" type="timeout">'
        "tail</error></testcase></testsuite></testsuites>\n")
    (run,) = read_report(path).phases
    assert (run.name, run.status, run.reason, run.tests) == (
        "e2e", "timeout", "timed out after 900 s", ())


@pytest.mark.parametrize(("classname", "name", "file", "nodeid"), [
    ("tests.test_x", "test_a", None, "tests/test_x.py::test_a"),
    ("tests.test_x.TestK", "test_m[1-2]", None, "tests/test_x.py::TestK::test_m[1-2]"),
    ("tests.test_x.TestK.TestInner", "test_m", None, "tests/test_x.py::TestK::TestInner::test_m"),
    ("tests.test_x", "test_p[a::b]", None, "tests/test_x.py::test_p[a::b]"),
    ("tests.v1.test_x", "test_a", "tests/v1/test_x.py", "tests/v1/test_x.py::test_a"),
    ("", "test_top", None, "test_top"),
])
def test_pytest_node_id_from_junit_names(classname, name, file, nodeid):
    assert pytest_nodeid(classname, name, file) == nodeid


def test_a_dotted_folder_is_found_in_the_project(tmp_path):
    (tmp_path / "tests" / "v1.2").mkdir(parents=True)
    (tmp_path / "tests" / "v1.2" / "test_x.py").write_text("")
    assert pytest_nodeid("tests.v1.2.test_x", "test_a", None, tmp_path) == \
        "tests/v1.2/test_x.py::test_a"


def test_another_tools_junit_is_one_phase_of_classname_and_name(tmp_path):
    path = tmp_path / "jest.xml"
    path.write_text(
        '<testsuites name="jest tests"><testsuite name="Login" tests="2">'
        '<testcase classname="Login form" name="rejects a bad password" time="0.1">'
        '<failure message="expected 401">stack</failure></testcase>'
        '<testcase classname="Login form" name="accepts a good one" time="0.1"/>'
        '</testsuite><testsuite name="Signup"><testcase classname="Signup" name="works"/>'
        "</testsuite></testsuites>")
    (run,) = read_report(path).phases
    assert run.name == "tests"
    assert outcomes(run) == {"Login form::rejects a bad password": "failed",
                             "Login form::accepts a good one": "passed", "Signup::works": "passed"}


# ----------------------------------------------------------------------------------------
# Files that are not reports: one line naming the file, never a traceback


def error_of(path: Path) -> str:
    """The error's words after the file name it starts with (which may say anything)."""
    with pytest.raises(ReportFileError) as caught:
        read_report(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def test_a_missing_file_an_empty_one_and_a_folder(tmp_path):
    assert error_of(tmp_path / "nope.json").endswith("no such file")
    (tmp_path / "empty.json").write_text("  \n")
    assert error_of(tmp_path / "empty.json").endswith("empty file, not a report")
    assert "is a folder" in error_of(tmp_path)


@pytest.mark.parametrize("name", ["cc.json", "pytest.json"])
def test_truncated_json_says_truncated_wherever_it_was_cut(made, tmp_path, name):
    text = made[name].read_text()
    inside_a_string = text.index("test_one.py") + 4
    for cut in (1, 40, inside_a_string, len(text) // 3, len(text) // 2, len(text) - 2):
        path = tmp_path / f"cut{cut}.json"
        path.write_text(text[:cut])
        assert error_of(path).startswith("truncated: "), cut


@pytest.mark.parametrize("token", ["false", "null", "0."])
def test_a_cut_through_a_literal_or_a_number_is_truncated_too(made, tmp_path, token):
    """A file cut inside `false`, `null` or a number fails a few characters before its end."""
    text = made["cc.json"].read_text()
    cut = text.rindex(token) + len(token) - 1
    path = tmp_path / "cut.json"
    path.write_text(text[:cut])
    assert error_of(path).startswith("truncated: ")


@pytest.mark.parametrize("name", ["cc.xml", "xunit2.xml"])
def test_truncated_junit_says_truncated(made, tmp_path, name):
    text = made[name].read_text()
    for cut in (60, len(text) // 2, len(text) - 5):
        path = tmp_path / f"cut{cut}.xml"
        path.write_text(text[:cut])
        assert error_of(path).startswith("truncated: "), cut


def test_a_report_from_a_newer_claimcheck_is_refused_with_what_to_do(made, tmp_path):
    document = json.loads(made["cc.json"].read_text())
    document["schema"] = "claimcheck.report/2"
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(document))
    message = error_of(path)
    assert "newer claimcheck" in message and "claimcheck.report/2" in message
    assert "upgrade claimcheck" in message


@pytest.mark.parametrize(("text", "expected"), [
    ('{"name": "package.json"}', "not a report claimcheck can read"),
    ("[1, 2, 3]", "not a report claimcheck can read"),
    ('{"schema": "openapi/3"}', "schema: expected claimcheck.report/1, got 'openapi/3'"),
    ("<html><body>hi</body></html>", "not a JUnit report: the root element is <html>"),
    ("<testsuites><testsuite><oops></testsuite></testsuites>", "not well-formed XML at line 1"),
    ("hello", "neither JSON nor XML"),
    ('{"a": 1} trailing', "not valid JSON at line 1"),
])
def test_files_that_are_not_reports(tmp_path, text, expected):
    path = tmp_path / "file.txt"
    path.write_text(text)
    assert expected in error_of(path)


def test_binary_junk_is_not_a_report(tmp_path):
    path = tmp_path / "junk.json"
    path.write_bytes(b"{\xff\xfe\x00\x01")
    assert "not UTF-8" in error_of(path)


def test_a_wrong_value_names_its_key_path(made, tmp_path):
    document = json.loads(made["cc.json"].read_text())
    document["phases"][0]["tests"][2]["outcome"] = "exploded"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    message = error_of(path)
    assert "phases[0].tests[2].outcome" in message and "'exploded'" in message
    del document["phases"][0]["counts"]
    path.write_text(json.dumps(document))
    assert "phases[0]: key 'counts' is missing" in error_of(path)


def test_source_labels_tell_same_named_artifacts_apart():
    paths = [Path("shards/1/claimcheck.json"), Path("shards/2/claimcheck.json"),
             Path("extra.json"), Path("extra.json")]
    assert source_labels(paths) == ["1/claimcheck.json", "2/claimcheck.json", "extra.json",
                                    "extra.json #2"]
