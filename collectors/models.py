"""Frozen value objects that flow from collectors to the report writers and the TUI.

Every collector produces these and nothing else, so the headless report and the
command center can never disagree about what the evidence says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union, get_args

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

PhaseStatus = Literal[
    "pending",
    "running",
    "passed",
    "failed",
    "no-tests",
    "error",
    "timeout",
    "crashed",
    "interrupted",
    "blocked",
]

Verdict = Literal["green", "red", "no-evidence", "interrupted"]
GapStatus = Literal["green", "red", "no-evidence"]
ServiceStatus = Literal["up", "degraded", "down"]
ServiceKind = Literal["http", "websocket", "tcp"]
StreamDirection = Literal["recv", "send", "state"]

FindingKind = Literal[
    "false-green",
    "no-tests",
    "usage-error",
    "import-error",
    "unregistered-marker",
    "uncollected-tests",
    "deprecation",
    "port-mismatch",
    "tests-disappeared",  # history: known tests vanished or fewer were collected (red)
    "claim-broken",  # a gap claimed fixed in claims.toml is red again (red, listed first)
    "claim-stale",  # the tests a claim rested on were removed or renamed
    # Merging shard reports (collectors/merge.py)
    "shard-overlap",  # a test ran in more than one shard
    "shard-missing",  # collected tests ran in no shard, or a shard's report is absent
    "shard-mismatch",  # shards of different commits or configurations
    "shard-unverified",  # a shard does not say what it left to others: missing ones cannot be named
    "duplicate-definition",
    "possible-duplicate",
    "single-source-missing",
    "deprecated-import",
    "audit-error",
    "crashed-test",
    "interrupted-session",
]
# Findings that make a run red by themselves, whatever the phases say.
RED_FINDING_KINDS: frozenset[str] = frozenset({"claim-broken", "tests-disappeared"})

UNASSIGNED_GAP = "unassigned"


@dataclass(frozen=True)
class SubtestCounts:
    """How a test's subtests ended (pytest's `subtests` fixture, unittest's `subTest`).

    A figure of its own: the test is counted once, by its own outcome, which a failing subtest
    makes `failed`.
    """

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def __add__(self, other: SubtestCounts) -> SubtestCounts:
        return SubtestCounts(self.passed + other.passed, self.failed + other.failed,
                             self.skipped + other.skipped)


@dataclass(frozen=True)
class TestResult:
    """One test's final outcome, as pytest reported it (setup, call and teardown folded)."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: Outcome
    phase: str
    duration_s: float = 0.0
    message: str | None = None  # one-line crash message ("AssertionError: assert 1 == 2")
    path: str | None = None  # file of the crash, relative to the project root when possible
    line: int | None = None  # 1-based line of the crash or of the test definition
    longrepr: str | None = None  # full traceback text for failures and errors
    sections: tuple[tuple[str, str], ...] = ()  # captured output: ("Captured stdout call", text)
    markers: tuple[str, ...] = ()  # marker names applied to the test
    # The stage that decided the outcome: setup, call or teardown; "collect" for a file that
    # failed to import, or that was skipped as a whole while pytest collected it.
    when: str = "call"
    reruns: int = 0  # attempts before the final one (pytest-rerunfailures): >0 means flaky
    subtests: SubtestCounts | None = None  # None: the test reported no subtests
    # The session died (os._exit, a signal) or the phase timed out while this test ran: the
    # result is claimcheck's (outcome "error"), pytest never reported one.
    crashed: bool = False

    @property
    def flaky(self) -> bool:
        """It failed, then passed on a rerun. A test that failed on every attempt was rerun,
        not flaky: it fails (`rerun_text`, JUnit and the phase's flaky figure say the same)."""
        return self.reruns > 0 and self.outcome == "passed"


@dataclass(frozen=True)
class CollectionError:
    """A file or package pytest could not collect (ImportError, SyntaxError, strict markers...)."""

    path: str  # the collector's node id, usually a file path
    error_type: str  # "ImportError", "ModuleNotFoundError", "SyntaxError", "Failed", ...
    message: str  # one line: "cannot import name 'create_auth_handler' from 'app.auth'"
    longrepr: str = ""  # the full text pytest printed for it


@dataclass(frozen=True)
class WarningRecord:
    """A warning pytest recorded during collection or a test."""

    category: str  # "DeprecationWarning", "PytestUnknownMarkWarning", ...
    message: str
    path: str | None = None
    line: int | None = None
    nodeid: str | None = None


@dataclass(frozen=True)
class Counts:
    """Counts as the JSON report contract names them; `error` includes collection errors."""

    collected: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    deselected: int = 0

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.error + self.skipped + self.xfailed + self.xpassed


@dataclass(frozen=True)
class PytestSession:
    """One pytest session observed inside a phase (a wrapper runner may start several)."""

    pid: int
    exit_status: int | None  # None when the session never finished (killed, crashed)
    collected: int = 0
    deselected: int = 0
    xdist_workers: int = 0
    # pytest's own count of collection errors: under xdist one per worker that hit the broken
    # file, where claimcheck keeps one per file. None when the plugin did not say.
    collect_error_reports: int | None = None


@dataclass(frozen=True)
class Interruption:
    """pytest.exit() or a KeyboardInterrupt inside pytest ended a session before its end."""

    kind: str  # "exit" (pytest.exit) or "keyboard-interrupt"
    message: str | None = None
    returncode: int | None = None  # pytest.exit's returncode, when given
    path: str | None = None  # where it was raised, relative to the project root when possible
    line: int | None = None
    unfinished: tuple[str, ...] = ()  # tests that had started and never finished
    worker: str | None = None  # the pytest-xdist worker it happened in

    @property
    def origin(self) -> str:
        """`pytest.exit('why') at conftest.py:7`, as a person reads it."""
        what = "pytest.exit()" if self.kind == "exit" else "KeyboardInterrupt"
        if self.kind == "exit" and self.message:
            what = f"pytest.exit({self.message!r})"
        where = f" at {self.path}:{self.line}" if self.path and self.line else ""
        inside = f" in xdist worker {self.worker}" if self.worker else ""
        return f"{what}{where}{inside}"


@dataclass(frozen=True)
class PytestSettings:
    """The pytest settings a session really used, reported by claimcheck's plugin from inside it."""

    rootdir: str
    inifile: str | None = None
    python_files: tuple[str, ...] = ("test_*.py", "*_test.py")
    python_classes: tuple[str, ...] = ("Test",)
    python_functions: tuple[str, ...] = ("test",)
    markers: tuple[str, ...] = ()  # registered marker names (builtin and the project's)
    strict_markers: bool = False
    testpaths: tuple[str, ...] = ()
    args: tuple[str, ...] = ()  # the session's file/dir arguments, as pytest resolved them


@dataclass(frozen=True)
class PhaseRun:
    """Everything known about one phase after it ended (or while it runs, for snapshots)."""

    name: str
    status: PhaseStatus
    exit_code: int | None  # the phase command's own exit code; None when it never exited itself
    duration_s: float
    counts: Counts
    tests: tuple[TestResult, ...] = ()
    collection_errors: tuple[CollectionError, ...] = ()
    warnings: tuple[WarningRecord, ...] = ()
    sessions: tuple[PytestSession, ...] = ()
    reason: str | None = None  # why: "timed out after 900 s", "blocked by auth: connection refused"
    argv: tuple[str, ...] = ()
    output_tail: str = ""  # the last lines of the phase's own stdout/stderr, for crash diagnosis
    started_at: float = 0.0  # epoch seconds
    settings: PytestSettings | None = None  # from the first pytest session observed
    # Node ids pytest collected but deselected (-k, -m, --deselect, a shard's selection): a
    # merge of shards needs them to tell "ran elsewhere" from "ran nowhere".
    deselected_ids: tuple[str, ...] = ()
    # pytest.exit() or a KeyboardInterrupt inside pytest: the phase did not run to its end.
    interruption: Interruption | None = None

    @property
    def subtests(self) -> SubtestCounts:
        """Subtests of every test of the phase, a figure beside the per-test counts."""
        total = SubtestCounts()
        for test in self.tests:
            if test.subtests is not None:
                total = total + test.subtests
        return total

    @property
    def pytest_collection_errors(self) -> int | None:
        """pytest's own count of collection errors, when it differs from claimcheck's one per
        file (xdist: once per worker); None when they agree or pytest did not say."""
        reported = [s.collect_error_reports for s in self.sessions
                    if s.collect_error_reports is not None]
        if not reported or sum(reported) == len(self.collection_errors):
            return None
        return sum(reported)


# ----------------------------------------------------------------------------------------
# Events a running phase emits, in order. The TUI wraps each in a Textual message.


@dataclass(frozen=True)
class PhaseStarted:
    phase: str
    argv: tuple[str, ...]
    started_at: float


@dataclass(frozen=True)
class TestsCollected:
    """pytest finished collecting in one session; `count` adds to the phase's total."""

    __test__ = False

    phase: str
    count: int
    deselected: int = 0
    settings: PytestSettings | None = None  # the session's, when its plugin reported them


@dataclass(frozen=True)
class TestFinished:
    __test__ = False

    phase: str
    result: TestResult


@dataclass(frozen=True)
class CollectionErrored:
    phase: str
    error: CollectionError


@dataclass(frozen=True)
class WarningRecorded:
    phase: str
    warning: WarningRecord


@dataclass(frozen=True)
class PhaseFinished:
    phase: str
    run: PhaseRun


PhaseEvent = Union[
    PhaseStarted, TestsCollected, TestFinished, CollectionErrored, WarningRecorded, PhaseFinished
]


# ----------------------------------------------------------------------------------------
# Judgement


@dataclass(frozen=True)
class Finding:
    """Something wrong with the evidence itself, with what to do about it."""

    kind: FindingKind
    phase: str | None
    path: str | None
    line: int | None
    message: str  # what is wrong and how to fix it, in a person's words
    files: tuple[str, ...] = ()  # every file involved (import errors, deprecations)
    count: int = 1  # how many occurrences were grouped into this finding
    # What it is about in a few words ("WebSocketManager", "app.legacy_ws"): the gap matrix
    # and verify/claim name it without parsing the message. Empty for most kinds.
    subject: str = ""
    # The gaps whose files it concerns (a gap's `match` globs over the files it names): the
    # gap matrix notes it on those rows. Computed once, where the finding is made.
    gaps: tuple[str, ...] = ()


def audit_error(audit: str, error: BaseException, phase: str | None = None) -> Finding:
    """The finding that says an audit (`audit`, as the message's subject: "The static source
    audit") broke on `error`, where the rest of the report is kept."""
    return Finding(kind="audit-error", phase=phase, path=None, line=None,
                   message=(f"{audit} failed ({type(error).__name__}: {error}); the rest of "
                            "this report stands. Please report it."))


@dataclass(frozen=True)
class GapCell:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped

    @property
    def ran(self) -> int:
        """Tests that executed to an outcome; a skip is not evidence."""
        return self.passed + self.failed + self.error

    @property
    def has_evidence(self) -> bool:
        """True when at least one test in the cell executed (skips are not evidence)."""
        return self.ran > 0


@dataclass(frozen=True)
class GapRow:
    name: str
    title: str
    status: GapStatus
    cells: dict[str, GapCell] = field(default_factory=dict)  # phase name -> cell


# ----------------------------------------------------------------------------------------
# Services (issue: health, events, port ownership)


@dataclass(frozen=True)
class Listener:
    """The process that listens on a port, or what little we could learn of it."""

    port: int
    pid: int | None
    name: str | None  # None with pid None means "in use, owner unknown"
    cmdline: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventCheck:
    expected: tuple[str, ...]
    seen: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class ServiceSample:
    """One probe of one service. `url` is already redacted."""

    name: str
    kind: ServiceKind
    url: str
    status: ServiceStatus
    detail: str
    checked_at: float
    http_status: int | None = None
    latency_ms: float | None = None
    events: EventCheck | None = None
    listener: Listener | None = None
    critical: bool = True


@dataclass(frozen=True)
class StreamEvent:
    """One WebSocket frame (or a connection change) from a service's event stream."""

    ts: float
    service: str
    direction: StreamDirection  # "state": a connect/disconnect note
    event_type: str | None  # value of the service's event_key; None when not JSON or absent
    payload: str  # text as received, truncated to a bound; binary frames shown as hex preview
    is_json: bool = False
    is_binary: bool = False
    truncated: bool = False


# ----------------------------------------------------------------------------------------
# The map: phases, the services they require, the events those services owe, and the gaps

MapTone = Literal["ok", "bad", "warn", "unknown"]


@dataclass(frozen=True)
class MapNode:
    """One box of the dependency map, with the colour every view gives it."""

    id: str  # [a-z0-9_] only, made from positions, never from the name (names hold anything)
    kind: str  # "phase", "service", "event" or "gap"
    name: str
    status: str  # in its own words: failed, blocked, down, missing, red, not run...
    tone: str  # one of MapTone
    detail: str = ""  # why, in a few words: a phase's reason, a service's probe detail
    parent: str | None = None  # an event's service id
    notes: tuple[str, ...] = ()  # a gap's static findings ("duplicate definition: X")


@dataclass(frozen=True)
class MapEdge:
    source: str  # node ids
    target: str
    kind: str  # "covers" (gap -> phase), "requires", "blocked-by" (phase -> service), "expects"
    label: str = ""


@dataclass(frozen=True)
class DependencyMap:
    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    evidence: str = ""  # where the statuses came from, in words


# ----------------------------------------------------------------------------------------
# The whole run


@dataclass(frozen=True)
class Provenance:
    """Where and on what a run happened: which code, which machine, which configuration.

    History compares runs on one branch, a merge refuses shards of different commits or
    configurations, and a pasted evidence block says what it is evidence about.
    """

    commit: str | None = None  # full hash of HEAD; None outside git or before the first commit
    branch: str | None = None  # None on a detached HEAD or outside git
    dirty: bool = False  # tracked files differ from the commit
    host: str = ""
    config_digest: str = ""  # Config.digest: same text of [tool.claimcheck], same digest

    @property
    def short_commit(self) -> str | None:
        return self.commit[:9] if self.commit else None


# ----------------------------------------------------------------------------------------
# Evidence over time (collectors/history.py, changes.py, claims.py)


@dataclass(frozen=True)
class RunRef:
    """A stored run another is compared with: enough to name it in a sentence."""

    run_id: int
    started_at: float
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False

    @property
    def short_commit(self) -> str:
        return self.commit[:9] if self.commit else "no commit"


@dataclass(frozen=True)
class PhaseChanges:
    """One phase against the same phase's last finished run on the same branch."""

    phase: str
    baseline: RunRef | None  # None: the first stored run of this phase on this branch
    collected_before: int = 0
    collected_now: int = 0
    newly_failing: tuple[str, ...] = ()  # failed or errored now; passed, skipped or new before
    newly_passing: tuple[str, ...] = ()  # passed now, failed or errored before
    still_failing: tuple[str, ...] = ()
    new_collection_errors: tuple[str, ...] = ()  # paths
    gone_collection_errors: tuple[str, ...] = ()
    disappeared: tuple[str, ...] = ()  # ran before, no result now (gone or deselected)
    new_tests: tuple[str, ...] = ()  # a result now, none before

    @property
    def any(self) -> bool:
        return bool(self.newly_failing or self.newly_passing or self.new_collection_errors
                    or self.gone_collection_errors or self.disappeared
                    or self.collected_now < self.collected_before)


@dataclass(frozen=True)
class FlakyTest:
    """A test with both outcomes where the code did not change, or a pass only on rerun."""

    phase: str
    nodeid: str
    reasons: tuple[str, ...]  # "passed on rerun 2", "both outcomes at 81c0a1f", "4 flips in ..."


@dataclass(frozen=True)
class RunChanges:
    """What changed since the previous runs on the same branch, and which tests are flaky."""

    branch: str | None
    phases: tuple[PhaseChanges, ...] = ()
    flaky: tuple[FlakyTest, ...] = ()

    def flaky_ids(self) -> frozenset[tuple[str, str]]:
        return frozenset((test.phase, test.nodeid) for test in self.flaky)


@dataclass(frozen=True)
class ClaimCheck:
    """One claim of claims.toml judged against a run: holding, broken, stale or unchecked."""

    gap: str
    state: str  # "holding" | "broken" | "stale" | "unchecked"
    by: str
    at: str  # ISO-8601 time the claim was made
    commit: str  # full commit the claim was verified at
    evidence: str  # evidence id of the verify run
    note: str = ""
    detail: str = ""  # why this state, in words
    failing: int = 0  # failed + errored tests of the gap in the judged run
    red_since: str | None = None  # short commit of the first run of the current red streak


@dataclass(frozen=True)
class ReportSource:
    """A report file that an opened or merged report was read from (`--open`, `merge`)."""

    label: str  # how findings name it: the file name, or as much of its path as tells it apart
    path: str
    format: str  # "claimcheck", "pytest-json-report" or "junit"
    provenance: Provenance | None = None
    tests: int = 0  # test results it holds, over all its phases


@dataclass(frozen=True)
class RunReport:
    project: str  # the project root, as given
    started_at: float
    duration_s: float
    phases: tuple[PhaseRun, ...]
    gaps: tuple[GapRow, ...]
    findings: tuple[Finding, ...]
    services: tuple[ServiceSample, ...]
    verdict: Verdict
    exit_code: int
    tool_version: str = ""
    provenance: Provenance | None = None
    changes: RunChanges | None = None  # None: no history to compare with (--no-history)
    claims: tuple[ClaimCheck, ...] = ()  # every open claim in claims.toml, judged by this run
    history_id: int | None = None  # the run's id in the history database, once stored
    sources: tuple[ReportSource, ...] = ()  # files it was opened or merged from; () for a live run
    # What every writer needs and must not recompute, so the TUI and each format agree:
    reasons: tuple[str, ...] = ()  # why the verdict is what it is, most telling first
    # phase -> node id -> the gaps that test counts in (computed once, with the matrix)
    test_gaps: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    interrupted_at: float | None = None  # epoch seconds; set when someone stopped the run
    dependency_map: DependencyMap | None = None  # the configuration's map with this run's states
