"""The history database: runs written and read back, concurrent writers, a writer killed
mid-run, an unreadable file, migration from the first schema. Real SQLite files in tmp_path,
real processes for the concurrency cases."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from claimcheck.collectors.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryError,
    HistoryStore,
    default_history_path,
    failing_ids_query,
)
from history_helpers import config_at, phase, record, report

T0 = 1_800_000_000.0


def test_a_run_is_written_and_read_back(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    path = default_history_path(tmp_path)
    with HistoryStore(path) as store:
        first = record(store, config, report(config, phase("unit", {
            "tests/unit/test_a.py::test_ok": "passed",
            "tests/unit/test_a.py::test_bad": "failed",
        }), started_at=T0))
    assert first.history_id is None or first.history_id >= 1
    assert (tmp_path / ".claimcheck" / ".gitignore").read_text().splitlines()[-1] == "*"
    with HistoryStore(path, create=False) as store:
        base = store.baseline_phase("main", "unit", before=T0 + 10)
        assert base is not None
        assert base.outcomes == {"tests/unit/test_a.py::test_ok": "passed",
                                 "tests/unit/test_a.py::test_bad": "failed"}
        assert base.collected == 2 and base.ref.commit == "a" * 40
        (summary,) = store.recent_runs()
        assert summary.verdict == "red" and summary.state == "complete"
        assert summary.totals["passed"] == 1 and summary.totals["failed"] == 1
        assert summary.gaps == {"a": "red"}
        assert store.integrity() == "ok"


def test_runs_accumulate_and_the_newest_is_the_baseline(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with HistoryStore(default_history_path(tmp_path)) as store:
        record(store, config, report(config, phase("unit", {"t.py::a": "failed"}),
                                     started_at=T0))
        record(store, config, report(config, phase("unit", {"t.py::a": "passed"}),
                                     started_at=T0 + 1))
        third = record(store, config, report(config, phase("unit", {"t.py::a": "passed"}),
                                             started_at=T0 + 2))
        assert third.changes is not None
        (change,) = third.changes.phases
        assert change.baseline is not None and change.baseline.started_at == T0 + 1
        assert change.newly_passing == ()  # it already passed in the run before
        assert [run.ref.started_at for run in store.recent_runs()] == [T0 + 2, T0 + 1, T0]


def test_another_branch_is_not_a_baseline(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    with HistoryStore(default_history_path(tmp_path)) as store:
        record(store, config, report(config, phase("unit", {"t.py::a": "passed"}),
                                     started_at=T0, branch="feature"))
        judged = record(store, config, report(config, phase("unit", {"t.py::b": "passed"}),
                                              started_at=T0 + 1, branch="main"))
    assert judged.changes is not None and judged.changes.phases[0].baseline is None
    assert judged.verdict == "green"


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from claimcheck.collectors.history import HistoryStore
    from history_helpers import config_at, phase, record, report

    root, tag, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    config = config_at(root)
    for index in range(runs):
        outcomes = {{f"tests/test_{{tag}}.py::test_{{n}}": "passed" for n in range(300)}}
        with HistoryStore(root / "h.db") as store:
            record(store, config, report(config, phase("unit", outcomes),
                                         started_at=1e9 + index, branch=tag))
""")


def test_two_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    """Two processes (two people pairing) each store runs into one file at the same time."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(Path(__file__).parent)))
    runs = 8
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path), tag, str(runs)],
                              stderr=subprocess.PIPE, text=True)
             for tag in ("ada", "bob")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with HistoryStore(tmp_path / "h.db", create=False) as store:
        assert store.integrity() == "ok"
        summaries = store.recent_runs(limit=100)
        assert len(summaries) == 2 * runs
        assert all(s.state == "complete" and s.totals["passed"] == 300 for s in summaries)
        assert sorted({s.ref.branch for s in summaries}) == ["ada", "bob"]


KILLED = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from claimcheck.collectors.history import HistoryStore
    from history_helpers import config_at, phase, report

    root = Path(sys.argv[1])
    config = config_at(root)
    run = report(config, phase("unit", {{f"t.py::test_{{n}}": "passed" for n in range(500)}}),
                 started_at=1e9)
    store = HistoryStore(root / "h.db")
    run_id = store.begin_run(project="p", started_at=1e9, provenance=run.provenance,
                             scope="full")
    store.store_phase(run_id, run.phases[0], lambda t: t)
    print("stored", flush=True)
    # The second phase is being written when the process dies: a transaction left open.
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.execute("INSERT INTO phases (run_id, name, status) VALUES (?, 'e2e', 'passed')",
                       (run_id,))
    time.sleep(60)
""")


def test_a_writer_killed_mid_run_leaves_a_readable_history(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(tests=str(Path(__file__).parent)))
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "stored"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with HistoryStore(tmp_path / "h.db", create=False) as store:
        assert store.integrity() == "ok"
        (summary,) = store.recent_runs()
        assert summary.state == "abandoned"  # its process is gone
        assert summary.totals["passed"] == 500  # the finished phase is kept
        assert store.phase_statuses(summary.ref.run_id) == {"unit": "passed"}  # not e2e
        # and the next writer is not blocked by the dead one's lock
        store.begin_run(project="p", started_at=2e9, provenance=None, scope="full")


def test_an_unreadable_database_is_moved_aside_never_replaced_silently(tmp_path: Path) -> None:
    path = tmp_path / ".claimcheck" / "history.db"
    path.parent.mkdir()
    garbage = b"this is not sqlite, it is someone's notes\n" * 200
    path.write_bytes(garbage)
    warnings: list[str] = []
    with HistoryStore(path, warn=warnings.append) as store:
        assert store.moved_aside is not None
        assert store.moved_aside.read_bytes() == garbage
        assert store.recent_runs() == []
    (message,) = warnings
    assert str(path) in message and store.moved_aside.name in message
    assert "could not be read" in message


def test_a_readonly_open_of_an_unreadable_database_refuses_without_moving_it(
        tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(HistoryError, match="cannot be read"):
        HistoryStore(path, create=False)
    assert path.read_bytes() == b"\x00garbage" * 500


def test_a_database_from_a_newer_claimcheck_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    with HistoryStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer claimcheck"):
        HistoryStore(path)
    assert path.exists()


def test_a_first_schema_database_is_migrated_forward_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (id, started_at, project, commit_sha, branch, verdict, "
                 "exit_code) VALUES (1, ?, 'p', ?, 'main', 'green', 0)", (T0, "b" * 40))
    conn.execute("INSERT INTO phases (run_id, name, status, collected, passed) "
                 "VALUES (1, 'unit', 'passed', 2, 2)")
    conn.execute("INSERT INTO nodes (id, phase, nodeid) VALUES (1, 'unit', 't.py::a'), "
                 "(2, 'unit', 't.py::b')")
    conn.execute("INSERT INTO results (run_id, node_id, outcome) VALUES (1, 1, 'passed'), "
                 "(1, 2, 'passed')")
    conn.commit()
    conn.close()

    config = config_at(tmp_path)
    with HistoryStore(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        (old,) = store.recent_runs()
        assert old.scope == "full" and old.state == "complete" and old.totals["passed"] == 2
        judged = record(store, config, report(config, phase("unit", {"t.py::a": "passed"}),
                                              started_at=T0 + 1))
    # the migrated run is the baseline: t.py::b vanished since
    assert judged.changes is not None
    assert judged.changes.phases[0].disappeared == ("t.py::b",)
    assert judged.verdict == "red"


def test_storing_keeps_secrets_out(tmp_path: Path) -> None:
    config = config_at(tmp_path)
    run = report(config, phase("unit", {"t.py::test_token[s3cr3t]": "failed"}), started_at=T0)
    with HistoryStore(tmp_path / "h.db") as store:
        run_id = store.begin_run(project="p", started_at=T0, provenance=run.provenance,
                                 scope="full")
        store.store_phase(run_id, run.phases[0], lambda text: text.replace("s3cr3t", "***"))
    raw = (tmp_path / "h.db").read_bytes() + (
        (tmp_path / "h.db-wal").read_bytes() if (tmp_path / "h.db-wal").exists() else b"")
    assert b"s3cr3t" not in raw


def test_history_folder_gitignore_is_not_written_into_a_chosen_folder(tmp_path: Path) -> None:
    chosen = tmp_path / "shared"
    chosen.mkdir()
    with HistoryStore(chosen / "team.db"):
        pass
    assert not (chosen / ".gitignore").exists()
    assert os.path.exists(chosen / "team.db")


def test_every_read_of_results_goes_through_an_index_by_run(tmp_path: Path) -> None:
    """Results have no index by test alone (a scattered insert per result into it cost storing
    a run more than the rest together): every statement that reads or deletes results, as a
    run stores and judges itself and the history is read, finds them by run."""
    config = config_at(tmp_path)
    statements: list[str] = []
    with HistoryStore(default_history_path(tmp_path)) as store:
        store.conn.set_trace_callback(statements.append)
        for number in range(3):
            record(store, config, report(config, phase("unit", {
                "t.py::a": "failed" if number == 1 else "passed", "t.py::b": "passed",
            }), started_at=T0 + number))
        ids = [run.ref.run_id for run in store.recent_runs()]
        store.failing_ids(ids, "unit")
        store.outcomes_of(ids, "unit", ["t.py::a", "t.py::b"])
        store.last_full_tests("main", "unit")
        store.conn.set_trace_callback(None)
        reads = [sql for sql in statements if " results " in f"{sql} "
                 and not sql.lstrip().upper().startswith("INSERT")]
        assert any(sql.lstrip().upper().startswith("DELETE") for sql in reads)
        assert len(reads) >= 4, reads
        for sql in reads:
            plan = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
            scans = [step for step in plan if step.startswith(("SCAN results", "SCAN x"))]
            assert not scans, (sql, plan)
        indexes = {name for (name,) in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'results'")}
    assert "results_node" not in indexes and "results_run" in indexes


@pytest.mark.parametrize("runs", [1, 160, 400])
def test_failing_ids_are_read_from_the_failing_results_index_however_many_runs(
        tmp_path: Path, runs: int) -> None:
    """Given every clean run at a commit, SQLite would rather walk all the phase's node ids and
    look each up in every run (200 ms at 20,000 tests and 160 runs): the query keeps to the
    index of failing results."""
    config = config_at(tmp_path)
    with HistoryStore(default_history_path(tmp_path)) as store:
        for number in range(3):
            record(store, config, report(config, phase("unit", {
                "t.py::a": "failed" if number == 1 else "passed",
                "t.py::b": "error" if number == 2 else "passed",
                "t.py::c": "passed",
            }), started_at=T0 + number))
        ids = [run.ref.run_id for run in store.recent_runs()]
        assert store.failing_ids(ids, "unit") == {"t.py::a", "t.py::b"}
        assert store.failing_ids(ids[:1], "unit") == {"t.py::b"}  # the newest run
        plan = [row[3] for row in store.conn.execute(
            "EXPLAIN QUERY PLAN " + failing_ids_query(runs), (*range(runs), "unit"))]
    assert "USING INDEX results_failing" in plan[0], plan
