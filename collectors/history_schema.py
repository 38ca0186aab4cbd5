"""The history database's schema: `MIGRATIONS[n]` takes a file from version n to n + 1.

Never edit a step that has shipped; add one. Version 1 is the first schema; tests migrate a
version-1 file forward (tests/test_history.py).
"""

from __future__ import annotations

from pathlib import Path

# Where a project's history lives; here, beside the schema, so that finding the file does not
# import sqlite3 and the store (`--report` asks before its first phase starts).
HISTORY_DIR = ".claimcheck"
HISTORY_FILE = "history.db"


def default_history_path(root: Path) -> Path:
    return Path(root) / HISTORY_DIR / HISTORY_FILE


MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the first schema.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        finished_at REAL,
        duration_s REAL,
        project TEXT NOT NULL,
        commit_sha TEXT,
        branch TEXT,
        dirty INTEGER NOT NULL DEFAULT 0,
        host TEXT NOT NULL DEFAULT '',
        config_digest TEXT NOT NULL DEFAULT '',
        verdict TEXT,
        exit_code INTEGER,
        tool_version TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_branch ON runs (branch, started_at);
    CREATE TABLE phases (
        run_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        duration_s REAL NOT NULL DEFAULT 0,
        started_at REAL,
        reason TEXT,
        collected INTEGER NOT NULL DEFAULT 0,
        passed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        error INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        xfailed INTEGER NOT NULL DEFAULT 0,
        xpassed INTEGER NOT NULL DEFAULT 0,
        deselected INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, name)
    );
    CREATE TABLE nodes (
        id INTEGER PRIMARY KEY,
        phase TEXT NOT NULL,
        nodeid TEXT NOT NULL,
        UNIQUE (phase, nodeid)
    );
    CREATE TABLE results (
        run_id INTEGER NOT NULL,
        node_id INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        duration_s REAL NOT NULL DEFAULT 0,
        message TEXT
    );
    CREATE INDEX results_run ON results (run_id, node_id);
    CREATE INDEX results_node ON results (node_id);
    CREATE TABLE collection_errors (
        run_id INTEGER NOT NULL, phase TEXT NOT NULL, path TEXT NOT NULL,
        error_type TEXT NOT NULL, message TEXT NOT NULL
    );
    CREATE INDEX collection_errors_run ON collection_errors (run_id);
    CREATE TABLE findings (
        run_id INTEGER NOT NULL, kind TEXT NOT NULL, phase TEXT, path TEXT, line INTEGER,
        message TEXT NOT NULL, files TEXT NOT NULL DEFAULT '[]', count INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX findings_run ON findings (run_id);
    CREATE TABLE services (
        run_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
        status TEXT NOT NULL, detail TEXT NOT NULL, checked_at REAL, http_status INTEGER,
        latency_ms REAL, critical INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX services_run ON services (run_id);
    CREATE TABLE gap_rows (
        run_id INTEGER NOT NULL, gap TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL,
        position INTEGER NOT NULL, PRIMARY KEY (run_id, gap)
    );
    CREATE INDEX gap_rows_gap ON gap_rows (gap, run_id);
    CREATE TABLE gap_cells (
        run_id INTEGER NOT NULL, gap TEXT NOT NULL, phase TEXT NOT NULL,
        passed INTEGER NOT NULL, failed INTEGER NOT NULL, error INTEGER NOT NULL,
        skipped INTEGER NOT NULL, PRIMARY KEY (run_id, gap, phase)
    );
    """,
    # 1 -> 2: runs of every kind (partial, verify, imported), kept as they happen; reruns and
    # markers per result (flaky tests, gap membership by marker); what changed; evidence.
    """
    ALTER TABLE runs ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
    ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT 'complete';
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN source TEXT;
    ALTER TABLE runs ADD COLUMN source_digest TEXT;
    CREATE UNIQUE INDEX runs_source ON runs (source_digest) WHERE source_digest IS NOT NULL;
    CREATE INDEX runs_commit ON runs (commit_sha);
    ALTER TABLE results ADD COLUMN reruns INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE results ADD COLUMN markers TEXT;
    CREATE INDEX results_failing ON results (run_id, node_id)
        WHERE outcome IN ('failed', 'error');
    CREATE TABLE phase_changes (
        run_id INTEGER NOT NULL, phase TEXT NOT NULL, baseline_run INTEGER,
        collected_before INTEGER NOT NULL, collected_now INTEGER NOT NULL,
        newly_failing INTEGER NOT NULL, newly_passing INTEGER NOT NULL,
        still_failing INTEGER NOT NULL, new_collection_errors INTEGER NOT NULL,
        gone_collection_errors INTEGER NOT NULL, disappeared INTEGER NOT NULL,
        new_tests INTEGER NOT NULL, PRIMARY KEY (run_id, phase)
    );
    CREATE TABLE flaky (
        run_id INTEGER NOT NULL, phase TEXT NOT NULL, nodeid TEXT NOT NULL,
        reasons TEXT NOT NULL
    );
    CREATE INDEX flaky_run ON flaky (run_id);
    CREATE TABLE evidence (
        id TEXT PRIMARY KEY, run_id INTEGER, created_at REAL NOT NULL, subject TEXT NOT NULL,
        ok INTEGER NOT NULL, block TEXT NOT NULL
    );
    """,
    # 2 -> 3: no index of results by test alone. Every query reads results by run
    # (`results_run`, `results_failing`), and that index cost every stored run one insert per
    # result scattered over the whole index: storing 3,000 results took 120 to 220 ms in a
    # history of 1,000 such runs, 20 to 50 ms without it.
    """
    DROP INDEX IF EXISTS results_node;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
