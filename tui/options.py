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
