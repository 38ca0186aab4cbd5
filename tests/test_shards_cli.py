"""Sharding as a new user does it: one suite split three ways by -k and three ways by folder, each
shard a separate `claimcheck --report` run, merged by `claimcheck merge`, and reports reopened
with `claimcheck --open`; everything through real `claimcheck` and `pytest` subprocesses.

The -k shards pass their selection through PYTEST_ADDOPTS; the folder shards pick their folder
through `${SHARD_DIR:-tests}` in the phase's pytest arguments, so every shard reads the same
configuration (the same config digest) and the unsplit run is the same command without the
variable.
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

pytestmark = pytest.mark.slow

UNUSED_PLUGINS = ("-p no:hypothesispytest -p no:textual-snapshot -p no:syrupy -p no:benchmark "
                  "-p no:anyio -p no:asyncio -p no:cacheprovider")
PROJECT = {
    "pyproject.toml": f"""
        [tool.pytest.ini_options]
        addopts = "{UNUSED_PLUGINS}"

        [[tool.claimcheck.phases]]
        name = "unit"
        pytest = ["${{SHARD_DIR:-tests}}"]
    """,
    "tests/alpha/test_alpha.py": "def test_a1(): pass\ndef test_a2(): pass\ndef test_a3(): pass\n",
    "tests/beta/test_beta.py": """
        import pytest
        def test_b1(): pass
        def test_b2(): pass
        @pytest.mark.skip(reason="later")
        def test_b3(): pass
    """,
    "tests/gamma/test_gamma.py": "def test_g1(): pass\ndef test_g2(): assert 1 == 2\n",
}
BETA_TESTS = 3
K_SHARDS = {"k1.json": "alpha", "k2.json": "beta", "k3.json": "gamma"}
FOLDER_SHARDS = {"f1.json": "tests/alpha", "f2.json": "tests/beta", "f3.json": "tests/gamma"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "CLAIMCHECK_")) and key != "SHARD_DIR"}
    return {**env, **extra}


def claimcheck(*args: str, cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "claimcheck", *args], cwd=cwd,
                          env=env or clean_env(), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """The unsplit run, six shards, and bare pytest's own JSON and JUnit of the unsplit suite."""
    root = write_project(tmp_path_factory.mktemp("shards") / "proj", PROJECT)
    report = [sys.executable, "-m", "claimcheck", "--report", "--format", "json", "--output"]
    runs = [(report + ["full.json"], clean_env())]
    runs += [(report + [name], clean_env(PYTEST_ADDOPTS=f"-k {expr}"))
             for name, expr in K_SHARDS.items()]
    runs += [(report + [name], clean_env(SHARD_DIR=folder))
             for name, folder in FOLDER_SHARDS.items()]
    runs.append(([sys.executable, "-m", "pytest", "tests", "--json-report",
                  "--json-report-file=pytest.json", "--junitxml=junit.xml"], clean_env()))
    # Shards another tool made: bare pytest with pytest-json-report, one of them under xdist.
    runs += [([sys.executable, "-m", "pytest", "tests", "-k", expr, "--json-report",
               f"--json-report-file=pj-{name}"], clean_env())
             for name, expr in K_SHARDS.items()]
    runs.append(([sys.executable, "-m", "pytest", "tests", "-k", "beta", "-n", "2",
                  "--json-report", "--json-report-file=pj-xdist-k2.json"], clean_env()))
    started = [subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for argv, env in runs]
    for process in started:
        process.wait(timeout=180)
    for name in ["full.json", *K_SHARDS, *FOLDER_SHARDS, "pytest.json", "junit.xml",
                 *(f"pj-{name}" for name in K_SHARDS), "pj-xdist-k2.json"]:
        assert (root / name).is_file(), name
    return root


def load(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / name).read_text())


def merge(root: Path, *files: str, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    done = claimcheck("merge", *files, "--format", "json", *extra, cwd=root)
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def kinds(document: dict[str, Any]) -> list[str]:
    return [finding["kind"] for finding in document["findings"]]


def finding(document: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [f for f in document["findings"] if f["kind"] == kind]
    assert len(found) == 1, document["findings"]
    return found[0]


@pytest.mark.parametrize("split", [K_SHARDS, FOLDER_SHARDS], ids=["by-k", "by-folder"])
def test_merged_shards_count_as_the_unsplit_run(shards, split):
    full = load(shards, "full.json")
    code, merged = merge(shards, *split)
    assert merged["totals"] == full["totals"]
    assert full["totals"]["collected"] == 8 and full["totals"]["failed"] == 1
    assert (merged["verdict"], merged["exit_code"], code) == ("red", 1, full["exit_code"])
    assert merged["phases"][0]["counts"] == full["phases"][0]["counts"]
    assert sorted(t["nodeid"] for t in merged["phases"][0]["tests"]) == \
        sorted(t["nodeid"] for t in full["phases"][0]["tests"])
    assert not {"shard-overlap", "shard-missing", "shard-mismatch"} & set(kinds(merged))
    assert merged["provenance"] is not None
    assert merged["provenance"]["config_digest"] == full["provenance"]["config_digest"]
    assert [source["label"] for source in merged["sources"]] == list(split)


def test_dropping_a_k_shard_is_shard_missing_with_its_count(shards):
    code, merged = merge(shards, "k1.json", "k3.json")
    missing = finding(merged, "shard-missing")
    assert missing["count"] == BETA_TESTS and missing["phase"] == "unit"
    assert merged["totals"]["collected"] == 8
    assert merged["totals"]["deselected"] == BETA_TESTS
    assert code == merged["exit_code"] == 1


def test_dropping_a_k_shard_names_the_files_that_ran_nowhere(shards):
    _, merged = merge(shards, "k1.json", "k3.json")
    missing = finding(merged, "shard-missing")
    assert missing["files"] == ["tests/beta/test_beta.py"]
    assert "shard-unverified" not in kinds(merged)
    assert merged["phases"][0]["deselected_ids"] == [
        "tests/beta/test_beta.py::test_b1", "tests/beta/test_beta.py::test_b2",
        "tests/beta/test_beta.py::test_b3"]


def test_pytest_json_report_shards_name_the_tests_a_dropped_shard_would_have_run(shards):
    full = load(shards, "full.json")
    code, whole = merge(shards, *(f"pj-{name}" for name in K_SHARDS), extra=("--as-phase", "unit"))
    assert whole["totals"] == full["totals"] and code == full["exit_code"]
    assert not {"shard-missing", "shard-unverified"} & set(kinds(whole))
    _, dropped = merge(shards, "pj-k1.json", "pj-k3.json", extra=("--as-phase", "unit"))
    missing = finding(dropped, "shard-missing")
    assert missing["count"] == BETA_TESTS
    assert missing["files"] == ["tests/beta/test_beta.py"]
    assert "shard-unverified" not in kinds(dropped)


def test_a_pytest_json_report_made_under_xdist_cannot_name_what_it_left(shards):
    full = load(shards, "full.json")
    _, merged = merge(shards, "pj-k1.json", "pj-xdist-k2.json", "pj-k3.json",
                      extra=("--as-phase", "unit"))
    assert merged["totals"] == full["totals"]
    unverified = finding(merged, "shard-unverified")
    assert "pj-xdist-k2.json (it does not record what was collected, as under pytest-xdist)" \
        in unverified["message"]


def test_a_recorded_verdict_the_evidence_does_not_support_is_corrected(shards, tmp_path):
    document = load(shards, "k3.json")  # gamma: one test failed
    document["verdict"], document["exit_code"] = "green", 0
    (tmp_path / "edited.json").write_text(json.dumps(document))
    done = claimcheck("--open", str(tmp_path / "edited.json"), "--report", cwd=shards)
    assert done.returncode == 1
    assert done.stdout.startswith("claimcheck   RED   exit 1")
    assert done.stderr == (f"claimcheck: note: {tmp_path / 'edited.json'} recorded the verdict "
                           "'green'; judged again from the evidence it holds, it is 'red'\n")


def test_dropping_a_folder_shard_is_caught_only_by_expect(shards):
    _, silent = merge(shards, "f1.json", "f3.json")
    assert "shard-missing" not in kinds(silent)
    assert silent["totals"]["collected"] == 5
    _, expected = merge(shards, "f1.json", "f3.json", extra=("--expect", "3"))
    missing = finding(expected, "shard-missing")
    assert "expected 3 shard reports, got 2" in missing["message"]


def test_passing_a_shard_twice_is_shard_overlap_and_counts_once(shards):
    full = load(shards, "full.json")
    _, merged = merge(shards, "k1.json", "k2.json", "k3.json", "k2.json")
    overlap = finding(merged, "shard-overlap")
    assert overlap["count"] == BETA_TESTS
    assert overlap["files"] == ["tests/beta/test_beta.py"]
    assert "k2.json, k2.json #2" in overlap["message"]
    assert merged["totals"] == full["totals"]


def test_shards_of_another_configuration_are_named(shards, tmp_path):
    other = load(shards, "k2.json")
    other["provenance"]["config_digest"] = "0" * 64
    (tmp_path / "k2-other.json").write_text(json.dumps(other))
    _, merged = merge(shards, "k1.json", str(tmp_path / "k2-other.json"), "k3.json")
    mismatch = finding(merged, "shard-mismatch")
    assert "different configurations" in mismatch["message"]
    assert "k2-other.json at config 000000000" in mismatch["message"]
    assert merged["findings"][0]["kind"] == "shard-mismatch"


@pytest.mark.parametrize(("name", "extra"), [
    ("merged", ()), ("pytest.json", ("--as-phase", "unit")), ("junit.xml", ()),
])
def test_open_shows_the_verdict_and_counts_of_the_run_that_made_the_file(shards, name, extra):
    full = load(shards, "full.json")
    if name == "merged":
        done = claimcheck("merge", *K_SHARDS, "--output", "merged.json", "--format", "json",
                          cwd=shards)
        assert done.returncode == 1, done.stderr
        name = "merged.json"
        made_by = load(shards, "merged.json")
    else:
        made_by = full  # bare pytest ran the same tests claimcheck's unsplit run did
    done = claimcheck("--open", name, "--report", "--format", "json", *extra, cwd=shards)
    assert done.stderr == ""
    opened = json.loads(done.stdout)
    assert (opened["verdict"], opened["exit_code"], done.returncode) == (
        made_by["verdict"], made_by["exit_code"], made_by["exit_code"])
    assert opened["totals"] == made_by["totals"]
    assert [source["format"] for source in opened["sources"]] == [
        {"merged.json": "claimcheck", "pytest.json": "pytest-json-report",
         "junit.xml": "junit"}[name]]
    text = claimcheck("--open", name, "--report", *extra, cwd=shards)
    assert text.returncode == made_by["exit_code"]
    assert text.stdout.startswith("claimcheck   RED   exit 1")
    assert f"opened from {name}" in text.stdout


def test_the_ci_step_writes_a_job_summary_and_junit(shards, tmp_path):
    summary, junit = tmp_path / "summary.md", tmp_path / "merged.xml"
    done = claimcheck("merge", *K_SHARDS, "--expect", "3", "--write", f"markdown={summary}",
                      "--write", f"junit={junit}", cwd=shards)
    assert done.returncode == 1
    assert "merged from 3 reports: k1.json, k2.json, k3.json" in done.stdout
    assert summary.read_text().startswith("## claimcheck: ❌ red (exit 1)")
    suites = ET.parse(junit).getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("8", "1")


@pytest.mark.parametrize(("args", "message"), [
    (("merge", "k1.json", "nope.json"), "claimcheck: nope.json: no such file\n"),
    (("--open", "nope.json", "--report"), "claimcheck: nope.json: no such file\n"),
    (("--open", "nope.json"), "claimcheck: nope.json: no such file\n"),  # before any screen
    (("--open", "k1.json", "--report", "--phase", "unit"),
     "claimcheck: --open reads a finished report; --phase does not apply to it\n"),
    (("merge", "k1.json", "--expect", "0"), "expected a whole number of at least 1"),
    (("--report", "--as-phase", "unit"), "claimcheck: --as-phase names the phase of a file "
                                         "read with --open or merge"),
])
def test_usage_errors_are_one_line_and_exit_4(shards, args, message):
    done = claimcheck(*args, cwd=shards)
    assert done.returncode == 4
    assert message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_truncated_shard_stops_the_merge_with_exit_4(shards, tmp_path):
    text = (shards / "k2.json").read_text()
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    done = claimcheck("merge", "k1.json", str(tmp_path / "cut.json"), cwd=shards)
    assert done.returncode == 4
    assert done.stderr == f"claimcheck: {tmp_path / 'cut.json'}: truncated: the JSON ends " \
                          "before the document does (line 1)\n"
