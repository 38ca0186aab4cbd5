"""`claimcheck verify` and `claimcheck show` end to end: real claimcheck and pytest processes on
a fixture project in git."""

from __future__ import annotations

import re
import socket
import sqlite3
from pathlib import Path

import pytest
from cli_project import claimcheck, commit, make_repo, write

pytestmark = pytest.mark.slow


def plain(markdown: str) -> str:
    """The block's text as a person reads it rendered (Markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def evidence_of(block: str) -> str:
    match = re.search(r"evidence \*\*(ev-[0-9a-f]+)\*\*", block)
    assert match, block
    return match.group(1)


def ran_in_verify(root: Path) -> dict[str, set[str]]:
    """phase -> node ids the last verify run has results for (from the history file)."""
    conn = sqlite3.connect(root / ".claimcheck" / "history.db")
    (run_id,) = conn.execute("SELECT max(id) FROM runs WHERE scope = 'verify'").fetchone()
    ran: dict[str, set[str]] = {}
    for phase, nodeid in conn.execute(
            "SELECT n.phase, n.nodeid FROM results x JOIN nodes n ON n.id = x.node_id "
            "WHERE x.run_id = ?", (run_id,)):
        ran.setdefault(phase, set()).add(nodeid)
    conn.close()
    return ran


def test_verify_runs_only_the_gap_by_the_matrix_rule_and_prints_evidence(
        tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    head = commit(root, "nothing")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 0, done.stderr + done.stdout
    block = done.stdout
    assert block.startswith("### claimcheck verify ✅ verified: `auth` (Service authentication)")
    assert "| unit | passed | 3 | 3 | 0 | 0 | 0 | 0 |" in block
    assert "| integration | passed | 1 | 1 | 0 | 0 | 0 | 0 |" in block
    assert f"commit `{head}` on `main`, clean working tree" in block
    assert f"host `{socket.gethostname()}`" in block
    # by match (*auth* in the id) and by marker (@pytest.mark.auth in test_tokens.py), nothing else
    assert ran_in_verify(root) == {
        "unit": {"tests/unit/test_auth.py::test_login", "tests/unit/test_auth.py::test_logout",
                 "tests/unit/test_tokens.py::test_token_expiry"},
        "integration": {"tests/integration/test_flow_auth.py::test_handshake"},
    }
    shown = claimcheck(root, "show", evidence_of(block))
    assert shown.returncode == 0 and shown.stdout == block


def test_verify_fails_on_a_failing_test_and_names_it(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    write(root, {"tests/integration/test_flow_auth.py": """
        def test_handshake():
            assert 403 == 200, "handshake refused"
    """})
    commit(root, "break")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 1
    assert "❌ NOT verified (red)" in done.stdout
    assert "integration: 1 failing: tests/integration/test_flow_auth.py::test_handshake" \
        in plain(done.stdout)
    assert "AssertionError: handshake refused" in plain(done.stdout)


def test_an_unknown_gap_exits_4_listing_the_known_ones(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    done = claimcheck(root, "verify", "payments")
    assert done.returncode == 4
    assert done.stderr.strip() == ("claimcheck: unknown gap 'payments'; "
                                   "known gaps: auth, db, unassigned")
    assert done.stdout == ""
    none = claimcheck(root, "verify")
    assert none.returncode == 4 and "name at least one GAP" in none.stderr


def test_default_gaps_are_known_from_collection(tmp_path: Path) -> None:
    files = {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n',
             "tests/unit/test_auth.py": "def test_a():\n    assert True\n",
             "tests/unit/websocket/test_manager.py": "def test_w():\n    assert True\n"}
    root = make_repo(tmp_path / "proj", files)
    unknown = claimcheck(root, "verify", "nope")
    assert unknown.returncode == 4
    assert "known gaps: auth, websocket" in unknown.stderr
    done = claimcheck(root, "verify", "websocket")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran_in_verify(root) == {"unit": {"tests/unit/websocket/test_manager.py::test_w"}}


def test_verify_nodeid_runs_just_that_test(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    done = claimcheck(root, "verify", "--nodeid", "tests/unit/test_db.py::test_query[2]")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran_in_verify(root) == {"unit": {"tests/unit/test_db.py::test_query[2]"}}
    unknown = claimcheck(root, "verify", "--nodeid", "tests/unit/test_db.py::test_nope")
    assert unknown.returncode == 4 and "no phase collects" in unknown.stderr


def test_a_collection_error_in_the_gaps_files_is_red(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    write(root, {"tests/unit/test_auth_extra.py": "from app.auth import handler\n"})
    commit(root, "import error")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 1
    assert "unit: 1 file(s) of auth failed to collect: tests/unit/test_auth_extra.py" \
        in plain(done.stdout)
    # the db gap does not own that file
    assert claimcheck(root, "verify", "db").returncode == 0


def test_skipped_tests_are_not_evidence(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    write(root, {"tests/integration/test_flow_auth.py": """
        import pytest

        @pytest.mark.skip(reason="needs staging")
        def test_handshake():
            assert True
    """})
    commit(root, "skip")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 5
    assert "integration: no test of auth passed (1 skipped or xfailed: not evidence)" \
        in plain(done.stdout)


def test_a_gap_test_gone_since_the_last_full_run_is_red(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    assert claimcheck(root, "--report").returncode == 0
    write(root, {"tests/unit/test_auth.py": "def test_login():\n    assert True\n"})
    commit(root, "drop logout test")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 1
    assert ("1 test(s) of auth disappeared since the last full run: "
            "tests/unit/test_auth.py::test_logout") in plain(done.stdout)
    assert "compared with the last full run: main @" in plain(done.stdout)
    # without history nothing can be compared, and the block says it was not stored
    free = claimcheck(root, "verify", "auth", "--no-history")
    assert free.returncode == 0 and "not stored: --no-history" in plain(free.stdout)


def test_a_required_service_down_blocks_the_phase_and_verify(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    root = make_repo(tmp_path / "proj")
    pyproject = (root / "pyproject.toml").read_text()
    pyproject = pyproject.replace('name = "integration"\npytest = ["tests/integration"]',
                                  'name = "integration"\npytest = ["tests/integration"]\n'
                                  'requires = ["api"]')
    pyproject += f'\n[[tool.claimcheck.services]]\nname = "api"\nurl = "http://127.0.0.1:{port}/"\n'
    (root / "pyproject.toml").write_text(pyproject)
    commit(root, "service")
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 1
    assert "integration: blocked by api: connection refused" in plain(done.stdout)
    assert "| integration | blocked | 1 | 0 | 0 | 0 | 0 | 0 |" in done.stdout


def test_show_of_an_unknown_id_exits_4(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    assert claimcheck(root, "show", "ev-000000").returncode == 4
    claimcheck(root, "verify", "db")
    missing = claimcheck(root, "show", "ev-000000")
    assert missing.returncode == 4 and "recent: ev-" in missing.stderr


def test_verify_selects_inside_a_projects_own_runner(tmp_path: Path) -> None:
    """A `command` phase: the selection reaches every pytest session the runner starts."""
    root = make_repo(tmp_path / "proj")
    write(root, {"scripts/run_tests.py": """
        import sys
        import pytest

        pytest.main(sys.argv[1:])
        sys.exit(0)  # a runner that swallows pytest's status
    """})
    pyproject = (root / "pyproject.toml").read_text().replace(
        'name = "unit"\npytest = ["tests/unit"]',
        'name = "unit"\ncommand = ["python", "scripts/run_tests.py", "tests/unit"]')
    (root / "pyproject.toml").write_text(pyproject)
    commit(root, "runner")
    done = claimcheck(root, "verify", "db")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran_in_verify(root) == {"unit": {f"tests/unit/test_db.py::test_query[{n}]"
                                            for n in range(4)}}


def test_a_full_run_of_this_commit_saves_the_collect_pass(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "proj")
    assert claimcheck(root, "--report").returncode == 0
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tests chosen from the collection of an earlier run of this commit" in plain(
        done.stdout)
    assert ran_in_verify(root)["unit"] == {"tests/unit/test_auth.py::test_login",
                                           "tests/unit/test_auth.py::test_logout",
                                           "tests/unit/test_tokens.py::test_token_expiry"}
    # a dirty tree is other code: it is collected anew, and sees the new test
    write(root, {"tests/unit/test_auth.py": """
        def test_login():
            assert True

        def test_logout():
            assert True

        def test_reset():
            assert True
    """})
    dirty = claimcheck(root, "verify", "auth")
    assert dirty.returncode == 0
    assert "tests chosen from" not in plain(dirty.stdout)
    assert "**dirty working tree**" in dirty.stdout
    assert "tests/unit/test_auth.py::test_reset" in ran_in_verify(root)["unit"]


def test_a_gap_whose_single_source_rule_is_broken_is_not_verified_nor_claimed(
        tmp_path: Path) -> None:
    """Its tests pass, but the gap's "single source of truth" is defined twice in its files."""
    from cli_project import FILES, PYPROJECT

    files = {**FILES,
             "pyproject.toml": PYPROJECT.replace("[tool.claimcheck.gaps]",
                                                 '[tool.claimcheck]\n'
                                                 'single_source = ["AuthHandler"]\n\n'
                                                 "[tool.claimcheck.gaps]"),
             "app/__init__.py": "",
             "app/auth.py": '"""Authentication."""\n\nclass AuthHandler:\n    pass\n',
             "app/legacy_auth.py": '"""The old one."""\n\nclass AuthHandler:\n    pass\n'}
    root = make_repo(tmp_path / "proj", files)
    done = claimcheck(root, "verify", "auth")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "single-source rule broken in auth: AuthHandler is defined in 2 files" \
        in plain(done.stdout)
    refused = claimcheck(root, "claim", "auth")
    assert refused.returncode == 1 and not (root / "claims.toml").exists()
    # the gap without such a rule verifies as before
    assert claimcheck(root, "verify", "db").returncode in (0, 5)
