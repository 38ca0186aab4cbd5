"""History, claims and the ledger as a user meets them: real claimcheck processes on a fixture
project in git, runs in which tests are fixed, broken, made flaky and deleted, and a config
change that collects fewer tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from cli_project import claimcheck, commit, make_repo, report_json, user_env

from tests.conftest import write_project

pytestmark = pytest.mark.slow


def finding_kinds(document: dict) -> list[str]:
    return [finding["kind"] for finding in document["findings"]]


def test_a_new_users_week(tmp_path: Path) -> None:
    """Fixed, broken, flaky, deleted, and a config that collects fewer: each one reported."""
    root = make_repo(tmp_path / "proj")
    write_project(root, {"tests/unit/test_db.py": """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_query(n):
            assert n != 3, "row 3 missing"
    """})
    commit(root, "db bug")
    first, done = report_json(root)
    assert done.returncode == 1 and first["changes"]["phases"][0]["baseline"] is None

    # fixed
    write_project(root, {"tests/unit/test_db.py": """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_query(n):
            assert n >= 0
    """})
    fixed_commit = commit(root, "fix db")
    fixed, done = report_json(root)
    assert done.returncode == 0, done.stdout
    unit = fixed["changes"]["phases"][0]
    assert unit["newly_passing"] == ["tests/unit/test_db.py::test_query[3]"]
    assert unit["baseline"]["commit"] != fixed_commit

    # flaky: the same commit, a test that fails then passes
    write_project(root, {"tests/unit/test_auth.py": """
        import os

        def test_login():
            assert os.environ.get("FLAKE") != "1", "timing"

        def test_logout():
            assert True
    """})
    commit(root, "flaky login")
    report_json(root)
    done = claimcheck(root, "--report", "--format", "json", FLAKE="1")
    flaky_run = json.loads(done.stdout)
    assert done.returncode == 1
    (flaky,) = flaky_run["changes"]["flaky"]
    assert flaky["nodeid"] == "tests/unit/test_auth.py::test_login"
    assert flaky["reasons"][0].startswith("passed and failed at ")
    login = next(t for t in flaky_run["phases"][0]["tests"]
                 if t["nodeid"] == "tests/unit/test_auth.py::test_login")
    assert login["flaky"] is True
    text = claimcheck(root, "--report", FLAKE="1").stdout
    assert "FAILED tests/unit/test_auth.py::test_login (flaky)" in text

    # deleted
    (root / "tests/unit/test_db.py").unlink()
    commit(root, "drop db tests")
    gone, done = report_json(root)
    assert done.returncode == 1
    assert finding_kinds(gone)[0] == "tests-disappeared"
    assert gone["findings"][0]["count"] == 4
    assert "tests/unit/test_db.py (4)" in gone["findings"][0]["message"]

    # a config change that quietly collects fewer tests: only test_auth*.py files
    settled, done = report_json(root)
    assert done.returncode == 0, done.stdout
    pyproject = (root / "pyproject.toml").read_text().replace(
        'markers = ["auth: authentication"]',
        'markers = ["auth: authentication"]\npython_files = ["test_auth*.py"]')
    (root / "pyproject.toml").write_text(pyproject)
    commit(root, "narrow python_files")
    narrow, done = report_json(root)
    assert done.returncode == 1, "fewer collected tests must never look green"
    message = narrow["findings"][0]["message"]
    assert narrow["findings"][0]["kind"] == "tests-disappeared"
    assert "collected 2, was 4" in message and "tests/unit/test_tokens.py (2)" in message

    listing = claimcheck(root, "history")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert "4 disappeared, 4 fewer collected" in lines[2]  # unit 2 and integration 2
    assert any("1 flaky" in line for line in lines)
    trend = next(line for line in lines if line.strip().startswith("db "))
    assert trend.split()[-1].startswith("✗✓")
    history = json.loads(claimcheck(root, "history", "--format", "json").stdout)
    assert history["runs"][0]["verdict"] == "red"
    assert history["runs"][0]["changes"]["disappeared"] == 4
    assert [f["phase"] for f in narrow["findings"][:2]] == ["unit", "integration"]


def test_claim_refused_recorded_broken_stale_and_withdrawn(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    write_project(root, {"tests/unit/test_auth.py": """
        def test_login():
            assert 1 == 2, "still broken"

        def test_logout():
            assert True
    """})
    commit(root, "auth broken")
    refused = claimcheck(root, "claim", "auth")
    assert refused.returncode == 1
    assert "claim refused: auth is not verified: unit: 1 failing: " \
           "tests/unit/test_auth.py::test_login" in refused.stderr
    assert not (root / "claims.toml").exists()

    write_project(root, {"tests/unit/test_auth.py": """
        def test_login():
            assert True

        def test_logout():
            assert True
    """})
    dirty = claimcheck(root, "claim", "auth")
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr
    fixed = commit(root, "fix auth")

    made = claimcheck(root, "claim", "auth", "--note", "login fixed in #42")
    assert made.returncode == 0, made.stderr + made.stdout
    ledger = tomllib.loads((root / "claims.toml").read_text())
    (entry,) = ledger["claim"]
    assert entry["gap"] == "auth" and entry["by"] == "Ada Lovelace"
    assert entry["commit"] == fixed and entry["note"] == "login fixed in #42"
    assert entry["tests"] == {"unit": 3, "integration": 1}
    assert f"evidence **{entry['evidence']}**" in made.stdout
    commit(root, "claim auth")

    holding, done = report_json(root)
    assert done.returncode == 0 and holding["claims"][0]["state"] == "holding"
    claims = claimcheck(root, "claims")
    assert claims.returncode == 0 and "auth: holding" in claims.stdout

    write_project(root, {"tests/integration/test_flow_auth.py": """
        def test_handshake():
            assert 403 == 200, "handshake refused"
    """})
    broke = commit(root, "regress")
    broken, done = report_json(root)
    assert done.returncode == 1
    first = broken["findings"][0]
    assert first["kind"] == "claim-broken"
    assert first["message"].startswith(
        f"auth: claimed fixed on {entry['at'][:10]} at {fixed[:7]} by {entry['evidence']} "
        f"(Ada Lovelace); red since {broke[:9]}: 1 failing (integration 1)")
    text = claimcheck(root, "--report").stdout.splitlines()
    assert text[2].startswith("  why: claim broken: auth:")
    assert any("CLAIM BROKEN (1)" in line for line in text[:8])
    listed = claimcheck(root, "claims", "--format", "json")
    assert listed.returncode == 1
    assert json.loads(listed.stdout)["claims"][0]["state"] == "broken"
    markdown = claimcheck(root, "claims", "--format", "markdown").stdout
    assert "| auth | **broken** |" in markdown

    # the regression is reverted, but the tests behind the claim are removed
    write_project(root, {"tests/integration/test_flow_auth.py": "def test_handshake():\n    pass\n",
                 "tests/unit/test_auth.py": "def test_login():\n    assert True\n"})
    commit(root, "trim auth tests")
    report_json(root)  # tests-disappeared once
    stale, _ = report_json(root)
    assert stale["claims"][0]["state"] == "stale"
    assert "unit: 2 of the 3 tests it rested on ran" in stale["claims"][0]["detail"]
    assert "claim-stale" in finding_kinds(stale)

    withdrawn = claimcheck(root, "claim", "--withdraw", "auth")
    assert withdrawn.returncode == 0 and "withdrew the claim on auth" in withdrawn.stderr
    assert "claim" not in tomllib.loads((root / "claims.toml").read_text())
    assert claimcheck(root, "claim", "--withdraw", "auth").returncode == 4


def test_history_options_and_import(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    assert claimcheck(root, "--report", "--no-history").returncode == 0
    assert not (root / ".claimcheck" / "history.db").exists()
    shared = tmp_path / "shared.db"
    ci_report = tmp_path / "ci.json"
    assert claimcheck(root, "--report", "--history", str(shared), "--format", "json",
                      "--output", str(ci_report)).returncode == 0
    assert shared.exists() and not (root / ".claimcheck" / "history.db").exists()

    imported = claimcheck(root, "history", "import", str(ci_report))
    assert imported.returncode == 0, imported.stderr
    assert "imported as run 1 (main @" in imported.stderr
    again = claimcheck(root, "history", "import", str(ci_report))
    assert again.returncode == 0 and "already imported (run 1)" in again.stderr
    listing = json.loads(claimcheck(root, "history", "--format", "json").stdout)
    (run,) = listing["runs"]
    assert run["scope"] == "import" and run["source"] == str(ci_report)
    assert run["totals"]["passed"] == 10 and run["verdict"] == "green"

    bad = tmp_path / "not-a-report.json"
    bad.write_text('{"schema": "something/2"}')
    refused = claimcheck(root, "history", "import", str(bad))
    assert refused.returncode == 4
    assert refused.stderr.strip() == (f"claimcheck: {bad}: schema: expected "
                                      "claimcheck.report/1, got 'something/2'")
    # the next local run compares with the imported one
    local, _ = report_json(root)
    assert local["changes"]["phases"][0]["baseline"]["history_id"] == 1


def test_an_unreadable_history_is_moved_aside_and_the_run_goes_on(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    (root / ".claimcheck").mkdir()
    (root / ".claimcheck" / "history.db").write_text("not a database\n" * 100)
    done = claimcheck(root, "--report")
    assert done.returncode == 0
    assert "could not be read" in done.stderr and "moved it to history.db.unreadable-" \
        in done.stderr
    kept = [p for p in (root / ".claimcheck").iterdir() if ".unreadable-" in p.name]
    assert len(kept) == 1 and kept[0].read_text().startswith("not a database")
    assert json.loads(claimcheck(root, "history", "--format", "json").stdout)["runs"]


def test_claimcheck_killed_mid_run_keeps_the_finished_phase(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    write_project(root, {"tests/integration/test_other.py": """
        import time

        def test_other():
            time.sleep(120)
    """})
    commit(root, "slow integration")
    proc = subprocess.Popen(
        [sys.executable, "-m", "claimcheck", "--project", str(root), "--report"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=user_env(),
        start_new_session=True)
    database = root / ".claimcheck" / "history.db"
    deadline = time.monotonic() + 120
    stored = False
    while time.monotonic() < deadline and not stored:
        time.sleep(0.2)
        if database.exists():
            try:
                conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
                stored = bool(conn.execute(
                    "SELECT count(*) FROM phases WHERE name = 'unit'").fetchone()[0])
                conn.close()
            except sqlite3.Error:
                pass
    try:
        assert stored, "the unit phase was never stored"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    listing = claimcheck(root, "history", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    (run,) = json.loads(listing.stdout)["runs"]
    assert run["state"] == "abandoned"
    assert run["totals"]["passed"] == 8  # unit's tests, kept
    conn = sqlite3.connect(database)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
