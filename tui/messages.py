"""Messages between the app (which runs the engine) and the command center (which draws).

Each is named for what happened and carries core objects. Evidence is folded into the live
model as it arrives (`ClaimcheckApp.ingest`) and handed to the screen in batches, one
`EvidenceArrived` per frame (about ten a second), so no widget ever renders once per test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claimcheck.collectors.gitinfo import GitInfo
from claimcheck.collectors.live import Change
from textual.message import Message


@dataclass
class EvidenceArrived(Message):
    """Events folded into the live model since the last frame, in order, and what they changed.

    `flush`: draw everything now, the failure list included (the end of a plan, or a test or a
    benchmark waiting to look).
    """

    events: tuple[object, ...]
    change: Change = field(default_factory=Change)
    flush: bool = False


@dataclass
class PlanEnded(Message):
    """The plan of phases ran to its end (or was stopped): time to judge the evidence."""

    interrupted: bool


@dataclass
class RerunRequested(Message):
    """A key asked for phases to run again: these (None: the selected ones), merged or fresh."""

    phases: tuple[str, ...] | None = None
    failed_only: bool = False


@dataclass
class ProbeRequested(Message):
    """A key asked for every service to be probed now."""


@dataclass
class GitInfoRead(Message):
    """The repository's branch and commit were read (None: not a git checkout)."""

    info: GitInfo | None
