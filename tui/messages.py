"""Messages the command center passes around, each named for what happened.

Collector events arrive through `ClaimcheckApp.ingest`; high-rate ones (test results, WebSocket
frames) are buffered there and posted here as batches about ten times a second, so no widget
ever renders once per test. Every message is a dataclass wrapping collector model objects:
widgets receive data, never collectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from claimcheck.collectors.gitinfo import GitInfo
from claimcheck.collectors.models import (
    CollectionError,
    Finding,
    PhaseRun,
    RunReport,
    ServiceSample,
    StreamEvent,
    TestResult,
    WarningRecord,
)
from textual.message import Message


@dataclass
class PhaseStartedMsg(Message):
    """A phase's command started (its first pytest session may not have collected yet)."""

    phase: str
    argv: tuple[str, ...]
    started_at: float


@dataclass
class TestsCollectedMsg(Message):
    """A pytest session in a phase finished collecting.

    `count` is what pytest calls collected (deselected items included); `count - deselected`
    is what this session will run, and that is what adds to the phase's progress total.
    """

    __test__ = False

    phase: str
    count: int
    deselected: int = 0


@dataclass
class TestsFinished(Message):
    """A batch of tests finished since the last flush, in the order they finished."""

    __test__ = False

    results: tuple[TestResult, ...]


@dataclass
class CollectionErrorsFound(Message):
    """pytest could not collect a file in a phase."""

    phase: str
    error: CollectionError


@dataclass
class WarningsRecorded(Message):
    """pytest recorded a warning in a phase."""

    phase: str
    warning: WarningRecord


@dataclass
class PhaseFinishedMsg(Message):
    """A phase ended (passed, failed, blocked, interrupted...) with its final run."""

    phase: str
    run: PhaseRun


@dataclass
class ServiceSampled(Message):
    """One probe of one service completed."""

    sample: ServiceSample


@dataclass
class StreamEventsReceived(Message):
    """A batch of WebSocket frames and connection notes since the last flush."""

    events: tuple[StreamEvent, ...]


@dataclass
class FindingsUpdated(Message):
    """The judgement of the evidence so far was recomputed."""

    findings: tuple[Finding, ...]


@dataclass
class ReportAssembled(Message):
    """The same report `--report` would write, assembled from the evidence so far."""

    report: RunReport


@dataclass
class GitInfoRead(Message):
    """The repository's branch and commit were read (None: not a git checkout)."""

    info: GitInfo | None
