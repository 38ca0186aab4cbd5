"""A SQLite database file as the history keeps it: its folder (with a `.gitignore`), write
transactions, migration scripts split into statements, `IN (...)` lists in chunks, and an
unreadable file moved aside (never deleted). The plumbing under `HistoryStore`."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator


class Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`: takes the write lock up front, waits for it, never
    deadlocks upgrading a read; rolls back on any error so a half-written phase never stays."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def statements(script: str) -> Iterator[str]:
    """A migration script's statements, one `execute` each (inside the migration's transaction)."""
    for part in script.split(";"):
        if part.strip():
            yield part.strip()


def chunks(items: list, size: int) -> Iterator[list]:
    """Slices of at most `size`: an `IN (...)` list stays under SQLite's limit on parameters."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def prepare_folder(path: Path, own_folder: str) -> None:
    """Create the history folder; one claimcheck made (or named `own_folder`) gets a
    `.gitignore` keeping it out of git."""
    folder = path.parent
    fresh = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if (fresh or folder.name == own_folder) and not ignore.exists():
        try:
            ignore.write_text("# claimcheck's run history: local to this machine\n*\n",
                              encoding="utf-8")
        except OSError:
            pass


def move_aside(path: Path) -> Path:
    """Rename an unreadable database (and its WAL files) so nothing in it is lost."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.unreadable-{stamp}-{counter}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.replace(extra, target.with_name(target.name + suffix))
    return target
