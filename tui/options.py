"""What the command line said, as one object every command reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Options:
    """Everything the command line said, for whichever path runs."""

    project: Path = field(default_factory=Path.cwd)
    config: Path | None = None
    phases: list[str] = field(default_factory=list)
    report: bool = False
    format: str = "text"
    output: Path | None = None
    writes: list[tuple[str, Path]] = field(default_factory=list)  # extra (format, path) outputs
    services_only: bool = False
    force: bool = False
    # history (collectors/history.py): None is the project's .claimcheck/history.db
    history: Path | None = None
    no_history: bool = False
    # verify, claim, claims, history, show
    gaps: list[str] = field(default_factory=list)
    nodeids: list[str] = field(default_factory=list)
    note: str = ""
    withdraw: bool = False
    evidence_id: str = ""
    history_action: str | None = None
    files: list[Path] = field(default_factory=list)
    limit: int = 20
    list_format: str = "text"
    # serve
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False
    no_token: bool = False
    max_sessions: int = 4
    allow_hosts: list[str] = field(default_factory=list)
    # init
    overwrite: bool = False
    dry_run: bool = False
    # --open FILE and merge: reports made elsewhere
    open: Path | None = None
    inputs: list[Path] = field(default_factory=list)
    as_phase: str | None = None
    expect: int | None = None
    # map
    map_format: str = "mermaid"
    evidence: Path | None = None  # a JSON report to colour the map by
    probe: bool = False  # probe the services now
