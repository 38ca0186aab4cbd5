"""The history of runs: an SQLite database (stdlib `sqlite3`) every run is appended to.

A single run says what is true now; the incident behind claimcheck was about claims over time
("resolved", then red again; a suite that quietly collected fewer tests). So every run is kept,
by default in `<project>/.claimcheck/history.db` (the folder gets a `.gitignore` of its own),
and the next run is compared with it (`collectors/changes.py`).

How it stays trustworthy:

* WAL journal and a busy timeout, every write one short `BEGIN IMMEDIATE` transaction: two
  claimcheck processes on one database (two people pairing) wait for each other, never corrupt
  it, never lose a run.
* A run is written as it happens: its row first (state `running`, with its pid and host), then
  each phase in its own transaction as soon as it ends, then the judgement. A claimcheck killed
  mid-run leaves a readable database and its finished phases; readers call such a run
  `abandoned` once its process is gone.
* The schema is versioned (`PRAGMA user_version`) and migrated forward step by step, each step
  one transaction; a database written by a newer claimcheck is refused, never rewritten.
* A file SQLite cannot read is moved aside (`history.db.unreadable-<time>`) with a message
  saying where, and a new database is started: never silently replaced, never deleted.

Test ids are stored once per phase (`nodes`) and results refer to them, so a 20,000-test run
adds about 20,000 small rows and storing it takes a fraction of a second (bench/bench_history.py).
Everything stored has already been through the configuration's redactor.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from claimcheck.collectors.history_schema import (  # noqa: F401 - the file's place, re-exported
    HISTORY_DIR,
    HISTORY_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    default_history_path,
)
from claimcheck.collectors.models import (
    GapRow,
    PhaseRun,
    Provenance,
    RunChanges,
    RunRef,
    RunReport,
)
from claimcheck.collectors.sqlite_file import (
    Transaction,
    chunks,
    move_aside,
    prepare_folder,
    statements,
)

BUSY_TIMEOUT_S = 30.0
# Phase statuses whose results are complete: only these serve as a baseline to compare with.
FINAL_EVIDENCE_STATUSES = ("passed", "failed", "error", "no-tests")
# Scopes: "full" (every configured phase), "partial" (--phase), "verify", "import", "services".
COMPARABLE_SCOPES = ("full", "partial", "import")
FULL_SCOPES = ("full", "import")

Redact = Callable[[str], str]
__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "HistoryError", "HistoryStore", "RunSummary",
           "StoredPhase", "StoredTest", "default_history_path"]


class HistoryError(Exception):
    """The history cannot be used; the message says which file and why."""




# ----------------------------------------------------------------------------------------
# What readers get back


@dataclass(frozen=True)
class StoredPhase:
    """A phase as stored: the baseline a new run of the same phase is compared with."""

    ref: RunRef
    name: str
    status: str
    collected: int
    outcomes: dict[str, str]  # nodeid -> outcome
    collection_errors: frozenset[str]  # paths


@dataclass(frozen=True)
class RunSummary:
    """One line of `claimcheck history`."""

    ref: RunRef
    scope: str
    state: str  # "complete", "running" or "abandoned"
    verdict: str | None
    exit_code: int | None
    host: str
    duration_s: float | None
    source: str | None
    totals: dict[str, int]
    changes: dict[str, int]  # summed over phases: newly_failing, disappeared, ...
    flaky: int
    gaps: dict[str, str] = field(default_factory=dict)  # gap -> status in this run


@dataclass(frozen=True)
class StoredTest:
    nodeid: str
    outcome: str
    markers: tuple[str, ...]


# ----------------------------------------------------------------------------------------


class HistoryStore:
    """One open history database. Not shared between threads: open one per thread."""

    def __init__(self, path: Path, *, warn: Callable[[str], None] | None = None,
                 create: bool = True) -> None:
        self.path = Path(path)
        self.warn = warn or (lambda message: None)
        self.moved_aside: Path | None = None
        self.conn = self._open(create)

    # -- opening ------------------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        if not self.path.exists():
            if not create:
                raise HistoryError(f"{self.path}: no history yet (run claimcheck --report first)")
            prepare_folder(self.path, HISTORY_DIR)
        try:
            return self._connect_and_migrate()
        except HistoryError:
            raise
        except sqlite3.DatabaseError as error:
            if not create:
                raise HistoryError(f"{self.path}: cannot be read ({error})") from None
            self.moved_aside = move_aside(self.path)
            self.warn(f"{self.path} could not be read ({error}); moved it to "
                      f"{self.moved_aside.name} and started a new history")
            return self._connect_and_migrate()

    def _connect_and_migrate(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=True)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"{self.path}: written by a newer claimcheck (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade claimcheck or use --history PATH")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never torn
            self._migrate(conn, version)
            conn.execute("SELECT count(*) FROM runs").fetchone()  # reads the table's pages
            conn.execute("SELECT count(*) FROM nodes").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection, version: int) -> None:
        while version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while this one waited for the lock.
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                if current == version:
                    for statement in statements(MIGRATIONS[version]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            version = conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> Transaction:
        return Transaction(self.conn)

    # -- writing a run ------------------------------------------------------------------

    def begin_run(self, *, project: str, started_at: float, provenance: Provenance | None,
                  scope: str, tool_version: str = "", source: str | None = None,
                  source_digest: str | None = None, pid: int | None = None) -> int:
        """The run's row, written before any phase, so a killed run still shows up."""
        source_of = provenance or Provenance()
        with self._write():
            cursor = self.conn.execute(
                "INSERT INTO runs (started_at, project, commit_sha, branch, dirty, host, "
                "config_digest, tool_version, scope, state, pid, source, source_digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (started_at, project, source_of.commit, source_of.branch, int(source_of.dirty),
                 source_of.host, source_of.config_digest, tool_version, scope,
                 os.getpid() if pid is None else pid, source, source_digest))
        return int(cursor.lastrowid or 0)

    def store_phase(self, run_id: int, run: PhaseRun, redact: Redact) -> None:
        """One finished phase, its results and collection errors, in one transaction."""
        counts = run.counts
        with self._write():
            self.conn.execute("DELETE FROM phases WHERE run_id = ? AND name = ?",
                              (run_id, run.name))
            self.conn.execute(
                "DELETE FROM results WHERE run_id = ? AND node_id IN "
                "(SELECT id FROM nodes WHERE phase = ?)", (run_id, run.name))
            self.conn.execute("DELETE FROM collection_errors WHERE run_id = ? AND phase = ?",
                              (run_id, run.name))
            self.conn.execute(
                "INSERT INTO phases (run_id, name, status, exit_code, duration_s, started_at, "
                "reason, collected, passed, failed, error, skipped, xfailed, xpassed, "
                "deselected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, run.name, run.status, run.exit_code, run.duration_s, run.started_at,
                 None if run.reason is None else redact(run.reason), counts.collected,
                 counts.passed, counts.failed, counts.error, counts.skipped, counts.xfailed,
                 counts.xpassed, counts.deselected))
            if run.tests:
                ids = [redact(test.nodeid) for test in run.tests]
                self.conn.executemany("INSERT OR IGNORE INTO nodes (phase, nodeid) VALUES (?, ?)",
                                      ((run.name, nodeid) for nodeid in ids))
                known = self._node_ids(run.name, ids)
                self.conn.executemany(
                    "INSERT INTO results (run_id, node_id, outcome, duration_s, message, "
                    "reruns, markers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((run_id, known[nodeid], test.outcome, test.duration_s,
                      redact(test.message) if test.message and test.outcome in
                      ("failed", "error") else None,
                      test.reruns, ",".join(test.markers) if test.markers else None)
                     for nodeid, test in zip(ids, run.tests)))
            self.conn.executemany(
                "INSERT INTO collection_errors (run_id, phase, path, error_type, message) "
                "VALUES (?, ?, ?, ?, ?)",
                ((run_id, run.name, redact(e.path), e.error_type, redact(e.message))
                 for e in run.collection_errors))

    def _node_ids(self, phase: str, nodeids: Sequence[str]) -> dict[str, int]:
        """Ids of `nodeids` in `phase`: all of the phase's at once when most are wanted."""
        rows = self.conn.execute("SELECT nodeid, id FROM nodes WHERE phase = ?", (phase,))
        return dict(rows.fetchall())

    def finish_run(self, run_id: int, report: RunReport, redact: Redact,
                   stored_phases: Iterable[str] = ()) -> None:
        """The judgement: verdict, findings, services, gaps, what changed; state complete."""
        done = set(stored_phases)
        for run in report.phases:
            if run.name not in done:
                self.store_phase(run_id, run, redact)
        source = report.provenance or Provenance()
        state = "complete" if report.verdict != "interrupted" else "interrupted"
        with self._write():
            self.conn.execute(
                "UPDATE runs SET finished_at = ?, duration_s = ?, verdict = ?, exit_code = ?, "
                "commit_sha = ?, branch = ?, dirty = ?, host = ?, config_digest = ?, "
                "tool_version = ?, state = ? WHERE id = ?",
                (time.time(), report.duration_s, report.verdict, report.exit_code, source.commit,
                 source.branch, int(source.dirty), source.host, source.config_digest,
                 report.tool_version, state, run_id))
            for table in ("findings", "services", "gap_rows", "gap_cells", "phase_changes",
                          "flaky"):
                self.conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            self.conn.executemany(
                "INSERT INTO findings (run_id, kind, phase, path, line, message, files, count) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, f.kind, f.phase, None if f.path is None else redact(f.path), f.line,
                  redact(f.message), json.dumps([redact(p) for p in f.files]), f.count)
                 for f in report.findings))
            self.conn.executemany(
                "INSERT INTO services (run_id, name, kind, url, status, detail, checked_at, "
                "http_status, latency_ms, critical) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, s.name, s.kind, redact(s.url), s.status, redact(s.detail),
                  s.checked_at, s.http_status, s.latency_ms, int(s.critical))
                 for s in report.services))
            self._store_gaps(run_id, report.gaps)
            if report.changes is not None:
                self._store_changes(run_id, report.changes, redact)

    def _store_gaps(self, run_id: int, rows: Sequence[GapRow]) -> None:
        self.conn.executemany(
            "INSERT INTO gap_rows (run_id, gap, title, status, position) VALUES (?, ?, ?, ?, ?)",
            ((run_id, row.name, row.title, row.status, index) for index, row in enumerate(rows)))
        self.conn.executemany(
            "INSERT INTO gap_cells (run_id, gap, phase, passed, failed, error, skipped) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((run_id, row.name, phase, c.passed, c.failed, c.error, c.skipped)
             for row in rows for phase, c in row.cells.items()))

    def _store_changes(self, run_id: int, changes: RunChanges, redact: Redact) -> None:
        self.conn.executemany(
            "INSERT INTO phase_changes (run_id, phase, baseline_run, collected_before, "
            "collected_now, newly_failing, newly_passing, still_failing, new_collection_errors, "
            "gone_collection_errors, disappeared, new_tests) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((run_id, c.phase, c.baseline.run_id if c.baseline else None, c.collected_before,
              c.collected_now, len(c.newly_failing), len(c.newly_passing), len(c.still_failing),
              len(c.new_collection_errors), len(c.gone_collection_errors), len(c.disappeared),
              len(c.new_tests)) for c in changes.phases))
        self.conn.executemany(
            "INSERT INTO flaky (run_id, phase, nodeid, reasons) VALUES (?, ?, ?, ?)",
            ((run_id, t.phase, redact(t.nodeid), json.dumps(list(t.reasons)))
             for t in changes.flaky))

    def store_evidence(self, evidence_id: str, run_id: int | None, subject: str, ok: bool,
                       block: str) -> None:
        with self._write():
            self.conn.execute(
                "INSERT INTO evidence (id, run_id, created_at, subject, ok, block) "
                "VALUES (?, ?, ?, ?, ?, ?)", (evidence_id, run_id, time.time(), subject, int(ok),
                                              block))

    def evidence(self, evidence_id: str) -> tuple[str, bool] | None:
        row = self.conn.execute("SELECT block, ok FROM evidence WHERE id = ?",
                                (evidence_id,)).fetchone()
        return None if row is None else (row[0], bool(row[1]))

    def evidence_ids(self, limit: int = 10) -> list[str]:
        rows = self.conn.execute("SELECT id FROM evidence ORDER BY created_at DESC LIMIT ?",
                                 (limit,))
        return [row[0] for row in rows]

    def has_evidence_id(self, evidence_id: str) -> bool:
        return self.evidence(evidence_id) is not None

    def has_source(self, digest: str) -> int | None:
        row = self.conn.execute("SELECT id FROM runs WHERE source_digest = ?",
                                (digest,)).fetchone()
        return None if row is None else int(row[0])

    # -- reading ------------------------------------------------------------------------

    def _ref(self, row: Sequence[object]) -> RunRef:
        run_id, started_at, commit, branch, dirty = row[:5]
        return RunRef(run_id=int(run_id), started_at=float(started_at),  # type: ignore[arg-type]
                      commit=commit, branch=branch, dirty=bool(dirty))  # type: ignore[arg-type]

    def baseline_phase(self, branch: str | None, phase: str, *, before: float,
                       exclude: int | None = None) -> StoredPhase | None:
        """The last run of `phase` on `branch` before `before` whose results are complete."""
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty, p.status, p.collected "
            "FROM runs r JOIN phases p ON p.run_id = r.id "
            f"WHERE r.branch IS ? AND p.name = ? AND r.scope IN {COMPARABLE_SCOPES!r} "
            f"AND p.status IN {FINAL_EVIDENCE_STATUSES!r} AND r.started_at <= ? AND r.id != ? "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
            (branch, phase, before, -1 if exclude is None else exclude)).fetchone()
        if row is None:
            return None
        run_id = int(row[0])
        outcomes = dict(self.conn.execute(
            "SELECT n.nodeid, x.outcome FROM results x JOIN nodes n ON n.id = x.node_id "
            "WHERE x.run_id = ? AND n.phase = ?", (run_id, phase)).fetchall())
        errors = frozenset(path for (path,) in self.conn.execute(
            "SELECT path FROM collection_errors WHERE run_id = ? AND phase = ?",
            (run_id, phase)))
        return StoredPhase(ref=self._ref(row), name=phase, status=row[5], collected=int(row[6]),
                           outcomes=outcomes, collection_errors=errors)

    def last_full_tests(self, branch: str | None, phase: str) -> tuple[RunRef,
                                                                      list[StoredTest]] | None:
        """The tests of `phase` in the last full run on `branch` (for verify's disappearance)."""
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty "
            "FROM runs r JOIN phases p ON p.run_id = r.id "
            f"WHERE r.branch IS ? AND p.name = ? AND r.scope IN {FULL_SCOPES!r} "
            f"AND p.status IN {FINAL_EVIDENCE_STATUSES!r} "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1", (branch, phase)).fetchone()
        if row is None:
            return None
        tests = self._stored_tests(row[0], phase)
        return self._ref(row), tests

    def _stored_tests(self, run_id: int, phase: str) -> list[StoredTest]:
        """Every test of `phase` the run has a result for, with its outcome and markers."""
        return [StoredTest(nodeid, outcome, tuple(markers.split(",")) if markers else ())
                for nodeid, outcome, markers in self.conn.execute(
                    "SELECT n.nodeid, x.outcome, x.markers FROM results x "
                    "JOIN nodes n ON n.id = x.node_id WHERE x.run_id = ? AND n.phase = ?",
                    (run_id, phase))]

    def last_full_phases(self, branch: str | None, *, before: float,
                         exclude: int | None = None) -> tuple[RunRef, dict[str, int]] | None:
        """The phases of the last full run on `branch` and how many tests each had results for."""
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty FROM runs r "
            f"WHERE r.branch IS ? AND r.scope IN {FULL_SCOPES!r} AND r.started_at <= ? "
            "AND r.id != ? AND r.state = 'complete' ORDER BY r.started_at DESC, r.id DESC "
            "LIMIT 1", (branch, before, -1 if exclude is None else exclude)).fetchone()
        if row is None:
            return None
        counts = dict(self.conn.execute(
            "SELECT name, passed + failed + skipped + xfailed + xpassed + "
            "max(error - (SELECT count(*) FROM collection_errors c WHERE c.run_id = p.run_id "
            "AND c.phase = p.name), 0) FROM phases p WHERE run_id = ?", (row[0],)).fetchall())
        return self._ref(row), counts

    def listing_at(self, commit: str, config_digest: str, host: str, phase: str
                   ) -> tuple[RunRef, list[StoredTest], list[tuple[str, str, str]]] | None:
        """What `phase` collected in the newest complete run of `commit` on a clean tree, with
        the same configuration, on `host`: the same collection a new pass would make."""
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty "
            "FROM runs r JOIN phases p ON p.run_id = r.id "
            "WHERE r.commit_sha = ? AND r.dirty = 0 AND r.config_digest = ? AND r.host = ? "
            "AND r.scope IN ('full', 'partial') AND r.state = 'complete' AND p.name = ? "
            "AND p.status IN ('passed', 'failed', 'error') AND p.deselected = 0 "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1",
            (commit, config_digest, host, phase)).fetchone()
        if row is None:
            return None
        tests = self._stored_tests(row[0], phase)
        errors = [(path, error_type, message) for path, error_type, message in self.conn.execute(
            "SELECT path, error_type, message FROM collection_errors WHERE run_id = ? "
            "AND phase = ?", (row[0], phase))]
        return self._ref(row), tests, errors

    def recent_phase_runs(self, branch: str | None, phase: str, *, before: float,
                          exclude: int | None, limit: int) -> list[RunRef]:
        """The last `limit` runs of `phase` on `branch` with complete results, newest first."""
        rows = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty "
            "FROM runs r JOIN phases p ON p.run_id = r.id "
            f"WHERE r.branch IS ? AND p.name = ? AND r.scope IN {COMPARABLE_SCOPES!r} "
            f"AND p.status IN {FINAL_EVIDENCE_STATUSES!r} AND r.started_at <= ? AND r.id != ? "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
            (branch, phase, before, -1 if exclude is None else exclude, limit))
        return [self._ref(row) for row in rows]

    def clean_runs_at(self, commit: str, phase: str, *, exclude: int | None) -> list[RunRef]:
        """Runs of `phase` on a clean tree at `commit`, any branch and any scope."""
        rows = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty "
            "FROM runs r JOIN phases p ON p.run_id = r.id "
            "WHERE r.commit_sha = ? AND r.dirty = 0 AND p.name = ? AND r.id != ? "
            "ORDER BY r.started_at DESC LIMIT 200",
            (commit, phase, -1 if exclude is None else exclude))
        return [self._ref(row) for row in rows]

    def failing_ids(self, run_ids: Sequence[int], phase: str) -> set[str]:
        """Node ids of `phase` that failed or errored in any of `run_ids`."""
        found: set[str] = set()
        for chunk in chunks(list(run_ids), 400):
            found.update(nodeid for (nodeid,) in self.conn.execute(
                failing_ids_query(len(chunk)), (*chunk, phase)))
        return found

    def outcomes_of(self, run_ids: Sequence[int], phase: str,
                    nodeids: Iterable[str]) -> dict[int, dict[str, str]]:
        """run id -> {nodeid: outcome} for the given tests of `phase` in the given runs."""
        by_run: dict[int, dict[str, str]] = {run_id: {} for run_id in run_ids}
        wanted = list(nodeids)
        if not wanted or not run_ids:
            return by_run
        known = self._node_ids(phase, wanted)
        node_ids = [known[nodeid] for nodeid in wanted if nodeid in known]
        runs = ",".join("?" * len(run_ids))
        for chunk in chunks(node_ids, 400):
            marks = ",".join("?" * len(chunk))
            for run_id, nodeid, outcome in self.conn.execute(
                    "SELECT x.run_id, n.nodeid, x.outcome FROM results x "
                    "JOIN nodes n ON n.id = x.node_id "
                    f"WHERE x.run_id IN ({runs}) AND x.node_id IN ({marks})",
                    (*run_ids, *chunk)):
                by_run[int(run_id)][nodeid] = outcome
        return by_run

    def gap_statuses(self, gap: str, branch: str | None, *, before: float,
                     exclude: int | None = None, limit: int = 100) -> list[tuple[RunRef, str]]:
        """The gap's status in earlier runs on `branch`, newest first (verify runs included)."""
        rows = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty, g.status "
            "FROM runs r JOIN gap_rows g ON g.run_id = r.id "
            "WHERE g.gap = ? AND r.branch IS ? AND r.started_at <= ? AND r.id != ? "
            "AND g.status != 'no-evidence' ORDER BY r.started_at DESC, r.id DESC LIMIT ?",
            (gap, branch, before, -1 if exclude is None else exclude, limit))
        return [(self._ref(row), row[5]) for row in rows]

    def latest_run(self, branch: str | None, *, any_branch: bool = False) -> RunRef | None:
        where = "" if any_branch else "AND r.branch IS ?"
        params: tuple[object, ...] = () if any_branch else (branch,)
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty FROM runs r "
            f"WHERE r.scope IN {COMPARABLE_SCOPES!r} AND r.verdict IS NOT NULL {where} "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1", params).fetchone()
        return None if row is None else self._ref(row)

    def latest_run_with_gap(self, gap: str, branch: str | None) -> RunRef | None:
        """The newest finished run on `branch` (any scope but services) with evidence on `gap`."""
        row = self.conn.execute(
            "SELECT r.id, r.started_at, r.commit_sha, r.branch, r.dirty FROM runs r "
            "JOIN gap_rows g ON g.run_id = r.id WHERE g.gap = ? AND r.branch IS ? "
            "AND r.verdict IS NOT NULL AND g.status != 'no-evidence' "
            "ORDER BY r.started_at DESC, r.id DESC LIMIT 1", (gap, branch)).fetchone()
        return None if row is None else self._ref(row)

    def gap_rows_of(self, run_id: int) -> list[GapRow]:
        from claimcheck.collectors.models import GapCell

        cells: dict[str, dict[str, GapCell]] = {}
        for gap, phase, passed, failed, error, skipped in self.conn.execute(
                "SELECT gap, phase, passed, failed, error, skipped FROM gap_cells "
                "WHERE run_id = ?", (run_id,)):
            cells.setdefault(gap, {})[phase] = GapCell(passed, failed, error, skipped)
        return [GapRow(name=gap, title=title, status=status, cells=cells.get(gap, {}))
                for gap, title, status in self.conn.execute(
                    "SELECT gap, title, status FROM gap_rows WHERE run_id = ? ORDER BY position",
                    (run_id,))]

    def phase_statuses(self, run_id: int) -> dict[str, str]:
        return dict(self.conn.execute("SELECT name, status FROM phases WHERE run_id = ?",
                                      (run_id,)).fetchall())

    def recent_runs(self, *, limit: int = 20, branch: str | None = None,
                    any_branch: bool = True) -> list[RunSummary]:
        """The newest runs first, with counts, changes and gap statuses for `history`."""
        where = "" if any_branch else "WHERE branch IS ?"
        params: tuple[object, ...] = (limit,) if any_branch else (branch, limit)
        rows = self.conn.execute(
            "SELECT id, started_at, commit_sha, branch, dirty, scope, state, verdict, exit_code,"
            f" host, duration_s, source, pid FROM runs {where} "
            "ORDER BY started_at DESC, id DESC LIMIT ?", params).fetchall()
        host = socket.gethostname()
        summaries = []
        for row in rows:
            run_id = int(row[0])
            totals = dict(zip(
                ("collected", "passed", "failed", "error", "skipped"),
                self.conn.execute(
                    "SELECT coalesce(sum(collected), 0), coalesce(sum(passed), 0), "
                    "coalesce(sum(failed), 0), coalesce(sum(error), 0), "
                    "coalesce(sum(skipped), 0) FROM phases WHERE run_id = ?",
                    (run_id,)).fetchone()))
            changes = dict(zip(
                ("newly_failing", "newly_passing", "still_failing", "new_collection_errors",
                 "gone_collection_errors", "disappeared", "new_tests", "collected_drop"),
                self.conn.execute(
                    "SELECT coalesce(sum(newly_failing), 0), coalesce(sum(newly_passing), 0), "
                    "coalesce(sum(still_failing), 0), coalesce(sum(new_collection_errors), 0), "
                    "coalesce(sum(gone_collection_errors), 0), coalesce(sum(disappeared), 0), "
                    "coalesce(sum(new_tests), 0), "
                    "coalesce(sum(max(collected_before - collected_now, 0)), 0) "
                    "FROM phase_changes WHERE run_id = ?", (run_id,)).fetchone()))
            flaky = self.conn.execute("SELECT count(*) FROM flaky WHERE run_id = ?",
                                      (run_id,)).fetchone()[0]
            gaps = dict(self.conn.execute(
                "SELECT gap, status FROM gap_rows WHERE run_id = ? ORDER BY position",
                (run_id,)).fetchall())
            state = row[6]
            if state == "running" and _gone(row[12], row[9], host):
                state = "abandoned"
            summaries.append(RunSummary(
                ref=self._ref(row), scope=row[5], state=state, verdict=row[7],
                exit_code=row[8], host=row[9], duration_s=row[10], source=row[11],
                totals=totals, changes=changes, flaky=int(flaky), gaps=gaps))
        return summaries

    def integrity(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def failing_ids_query(runs: int) -> str:
    """The failing results of `runs` runs, one phase: read from the failing results' index
    (`results_failing`) run by run. `CROSS JOIN` keeps SQLite to that order: given a long list
    of runs (every clean run at a commit) it would rather walk all of the phase's node ids and
    look each up in every run, 200 ms at 20,000 tests and 160 runs where this takes 0.3 ms."""
    marks = ",".join("?" * runs)
    return ("SELECT DISTINCT n.nodeid FROM results x CROSS JOIN nodes n ON n.id = x.node_id "
            f"WHERE x.run_id IN ({marks}) AND n.phase = ? AND x.outcome IN ('failed', 'error')")


def _gone(pid: object, run_host: object, host: str) -> bool:
    """A `running` run whose claimcheck no longer lives (only knowable on its own host)."""
    if run_host != host or not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
