"""What the command line said, as one object every command reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The options whose default is a new empty list in each Options.
_LISTS = ("phases", "writes", "gaps", "nodeids", "files", "allow_hosts", "inputs")


class Options:
    """Everything the command line said, for whichever path runs: `Options(project=...,
    report=True)`, every name unsaid at its default below (`project`: the current folder;
    the lists in `_LISTS`: empty, one list to each).

    A plain class, not a dataclass: the command line is parsed before the first phase's pytest
    is spawned when nothing was started ahead of it, and importing `dataclasses` (with
    `inspect`, `ast`, `dis` and `tokenize`) took about 7 ms there."""

    project: Path
    config: Path | None = None
    phases: list[str]
    report: bool = False
    format: str = "text"
    output: Path | None = None
    writes: list[tuple[str, Path]]  # extra (format, path) outputs
    services_only: bool = False
    force: bool = False
    # history (collectors/history.py): None is the project's .claimcheck/history.db
    history: Path | None = None
    no_history: bool = False
    # verify, claim, claims, history, show
    gaps: list[str]
    nodeids: list[str]
    note: str = ""
    withdraw: bool = False
    evidence_id: str = ""
    history_action: str | None = None
    files: list[Path]
    limit: int = 20
    list_format: str = "text"
    # serve
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    no_token: bool = False
    max_sessions: int = 4
    allow_hosts: list[str]
    # init
    overwrite: bool = False
    dry_run: bool = False
    # --open FILE and merge: reports made elsewhere
    open: Path | None = None
    inputs: list[Path]
    as_phase: str | None = None
    expect: int | None = None
    # map
    map_format: str = "mermaid"
    evidence: Path | None = None  # a JSON report to colour the map by
    probe: bool = False  # probe the services now

    def __init__(self, **said: Any) -> None:
        self.project = Path.cwd() if "project" not in said else said.pop("project")
        for name in _LISTS:
            setattr(self, name, [])
        for name, value in said.items():
            if name not in Options.__annotations__:
                raise TypeError(f"Options has no option {name!r}")
            setattr(self, name, value)

    def __repr__(self) -> str:
        said = ", ".join(f"{name}={getattr(self, name)!r}" for name in Options.__annotations__)
        return f"Options({said})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Options):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name)
                   for name in Options.__annotations__)

    __hash__ = None  # type: ignore[assignment] - changed as it is filled in, as a dataclass was
