"""The command center: one screen that shows what the evidence says while it arrives.

Everything a collector reports enters through `ClaimcheckApp.ingest` - the real workers call it,
and so do the tests and the benchmark - so there is one code path from event to pixel:

    collector event -> ingest -> (buffer, ~10 Hz flush) -> message -> handler -> widgets

Test results and WebSocket frames are high-rate: they are appended to plain lists and posted as
one `TestsFinished` / `StreamEventsReceived` batch per flush, applied inside `batch_update()`, so
a 20,000-test phase costs a few hundred small redraws, never one per test. Other events first
flush what is buffered, so order is kept (a phase never finishes before its last results).

The wiring to collectors sits in one section below ("Collectors"), imported lazily so the app
can be built for tests and screenshots without the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

from claimcheck.collectors.config import Config, ConfigError, PhaseConfig
from claimcheck.collectors.gaps import MatrixBuilder, gaps_for_path, gaps_for_test
from claimcheck.collectors.gitinfo import read_git_info
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    Finding,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    RunReport,
    ServiceSample,
    StreamEvent,
    TestFinished,
    TestResult,
    TestsCollected,
    WarningRecorded,
)
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.messages import (
    CollectionErrorsFound,
    FindingsUpdated,
    GitInfoRead,
    PhaseFinishedMsg,
    PhaseStartedMsg,
    ReportAssembled,
    ServiceSampled,
    StreamEventsReceived,
    TestsCollectedMsg,
    TestsFinished,
    WarningsRecorded,
)
from claimcheck.tui.options import Options
from claimcheck.tui.signals import ENDING_SIGNALS
from claimcheck.tui.widgets._text import clean, clipboard_text, data_text
from claimcheck.tui.widgets.detail import FailureDetailScreen
from claimcheck.tui.widgets.events import EventStream
from claimcheck.tui.widgets.failures import (
    MORE_KEY,
    FailureList,
    failure_key,
    split_key,
)
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.help import HelpScreen
from claimcheck.tui.widgets.matrix import GapMatrix, MatrixRow
from claimcheck.tui.widgets.phases import PhaseStrip, PhaseView
from claimcheck.tui.widgets.services import ServicesPanel
from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

FLUSH_INTERVAL_S = 0.1
TABLE_INTERVAL_S = 0.5  # the failure table is touched at most this often while streaming
KEY_QUIET_S = 0.3  # ...and not within this long after a key press
PASS_SUMMARY_BATCHES = 20  # one "+N passed" line per phase every 20 flushes (~2 s)
FAILURE_LIMIT = 2000
FAILURE_LINES_PER_FLUSH = 12  # failures written to the event stream per flush, then "+N more"
FRAMES_PER_FLUSH = 4  # WebSocket frames per service per flush before they are folded
PANELS = ("phases", "matrix", "failures", "findings", "services", "events")
SIDE_PANELS = ("findings", "services", "events")
BAD = ("failed", "error")
MAIN_SCREEN_ACTIONS = frozenset({"rerun_all", "rerun_failed", "rerun_phase", "filter", "back",
                                 "toggle_pause", "copy", "probe_now", "focus_panel", "help"})
RUNNING = "running"
QUIT_GRACE_S = 2.0  # at most this long for cancelled probes and streams to close their sockets
QUIT_DEADLINE_S = 15.0  # a quit asked for by SIGTERM/SIGHUP ends by force after this long

Clock = Callable[[], float]


# ----------------------------------------------------------------------------------------
# Collectors: the one place the app touches the runner, the probes and the judge.


def _run_phase(phase: PhaseConfig, config: Config, on_event: Callable[[Any], None],
               extra_args: Sequence[str]) -> Any:
    from claimcheck.collectors.pytest_run import run_phase

    return run_phase(phase, config, on_event, extra_args=extra_args)


def _probe(services: Sequence[Any], redactor: Redactor) -> Any:
    from claimcheck.collectors.health import probe_all

    return probe_all(services, redactor=redactor)


def _stream(service: Any, on_event: Callable[[StreamEvent], None], redactor: Redactor) -> Any:
    from claimcheck.collectors.health import stream_events

    return stream_events(service, on_event, redactor=redactor)


def _assemble(config: Config, runs: Sequence[PhaseRun], samples: Sequence[ServiceSample],
              started_at: float, interrupted: bool, now: float) -> RunReport:
    from claimcheck.collectors.session import assemble_report

    return assemble_report(config, runs, samples, started_at, interrupted=interrupted, now=now)


def _blocker(phase: PhaseConfig, samples: Iterable[ServiceSample]) -> ServiceSample | None:
    from claimcheck.collectors.session import blocking_service

    return blocking_service(phase, samples)


def _blocked_run(phase: PhaseConfig, blocker: ServiceSample) -> PhaseRun:
    from claimcheck.collectors.session import blocked_run

    return blocked_run(phase, blocker)


def _select(config: Config, names: Sequence[str] | None) -> tuple[PhaseConfig, ...]:
    from claimcheck.collectors.session import select_phases

    return select_phases(config, names)


def _kill_descendants() -> None:
    """Belt and braces: end anything still alive that claimcheck started (pytest, workers...)."""
    from claimcheck.collectors.procs import kill_descendants

    kill_descendants(timeout=2.0)


# ----------------------------------------------------------------------------------------
# Live state: plain Python, updated per batch, read by the widgets' data builders.


@dataclass
class PhaseLive:
    """What is known about one phase while it runs and after."""

    name: str
    status: str = "pending"
    collected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    results: dict[str, TestResult] = field(default_factory=dict)  # nodeid -> latest
    errors: dict[str, CollectionError] = field(default_factory=dict)  # path -> error
    started_at: float | None = None
    duration_s: float | None = None
    note: str = ""
    run: PhaseRun | None = None  # the final run (merged with the previous after `f`)
    merging: bool = False  # a --lf rerun: results replace the previous ones by nodeid

    def reset(self) -> None:
        self.status, self.collected, self.note = "pending", 0, ""
        self.outcomes.clear()
        self.results.clear()
        self.errors.clear()
        self.started_at = self.duration_s = None
        self.run = None
        self.merging = False

    @property
    def bad(self) -> int:
        return self.outcomes["failed"] + self.outcomes["error"] + len(self.errors)


def counts_of(tests: Iterable[TestResult], errors: int, collected: int = 0) -> Counts:
    tally = Counter(test.outcome for test in tests)
    done = sum(tally.values())
    return Counts(collected=max(collected, done), passed=tally["passed"], failed=tally["failed"],
                  error=tally["error"] + errors, skipped=tally["skipped"],
                  xfailed=tally["xfailed"], xpassed=tally["xpassed"])


def selected(counts: Counts) -> int:
    """Tests a phase meant to run: collected minus deselected, over all its sessions."""
    return max(0, counts.collected - counts.deselected)


def merge_runs(previous: PhaseRun | None, rerun: PhaseRun) -> PhaseRun:
    """A `--lf` rerun's results laid over the previous run, by node id.

    The rerun re-collected everything, so its collection errors replace the old ones; a rerun
    that did not complete (interrupted, crashed, timed out) keeps its own status.
    """
    if previous is None:
        return rerun
    tests = {test.nodeid: test for test in previous.tests}
    tests.update((test.nodeid, test) for test in rerun.tests)
    merged = tuple(tests.values())
    counts = counts_of(merged, len(rerun.collection_errors), selected(previous.counts))
    status = rerun.status
    if status in ("passed", "failed", "no-tests"):
        status = "failed" if counts.failed or counts.error else ("passed" if merged else status)
    return replace(rerun, status=status, tests=merged, counts=counts,
                   duration_s=previous.duration_s + rerun.duration_s,
                   warnings=rerun.warnings or previous.warnings,
                   settings=rerun.settings or previous.settings)


def failure_of(phase: str, error: CollectionError) -> TestResult:
    """A collection error shown in the failure list like an errored test (it hides tests)."""
    return TestResult(nodeid=error.path, outcome="error", phase=phase,
                      message=f"{error.error_type}: {error.message}", path=error.path,
                      longrepr=error.longrepr or error.message, when="collect")


# ----------------------------------------------------------------------------------------


def while_shown(handler: Callable[..., None]) -> Callable[..., None]:
    """Skip a drawing handler once the app is leaving.

    Collectors keep reporting while the app shuts down (a phase being stopped, a judge thread
    finishing), and Textual may still deliver those messages after the main screen's widgets
    are gone: drawing then would raise NoMatches into the user's terminal at exit.
    """

    @functools.wraps(handler)
    def guarded(self: "ClaimcheckApp", *args: Any) -> None:
        if self._leaving:
            return None
        return handler(self, *args)

    return guarded


class ClaimcheckApp(App[int]):
    """Runs the phases, probes the services, follows the streams, and shows it side by side."""

    CSS_PATH = "app.tcss"
    TITLE = "claimcheck"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (180, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    ESCAPE_TO_MINIMIZE = False

    BINDINGS = [
        Binding("q", "quit", "quit", tooltip="stop everything claimcheck started and leave"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("r", "rerun_all", "rerun", tooltip="stop what runs and rerun every phase"),
        Binding("f", "rerun_failed", "failed",
                tooltip="rerun only what failed (pytest --lf), merged by node id"),
        Binding("R", "rerun_phase", "phase", key_display="R",
                tooltip="rerun the highlighted phase"),
        Binding("slash", "filter", "filter", key_display="/",
                tooltip="filter the failure list and the event stream"),
        Binding("escape", "back", "back", key_display="esc", show=False,
                tooltip="close the filter, clear the gap filter"),
        Binding("p", "toggle_pause", "pause", tooltip="pause or resume the event stream"),
        Binding("c", "copy", "copy", tooltip="copy the highlighted node id (OSC 52)"),
        Binding("s", "probe_now", "probe", tooltip="probe every service now"),
        Binding("1", "focus_panel(1)", "panel", key_display="1-6",
                tooltip="focus a panel: 1 phases 2 matrix 3 failures 4 findings 5 services "
                        "6 events"),
        *(Binding(str(n), f"focus_panel({n})", PANELS[n - 1], show=False) for n in range(2, 7)),
        Binding("question_mark", "help", "help", key_display="?", tooltip="show every key"),
    ]

    def __init__(
        self,
        config: Config,
        options: Options | None = None,
        *,
        autostart: bool = True,
        clock: Clock = time.time,
        read_git: bool = True,
        project_name: str | None = None,
        started_at: float | None = None,
        handle_signals: bool = False,
    ) -> None:
        super().__init__()
        self.handle_signals = handle_signals
        self.config = config
        self.options = options or Options(project=config.root)
        self.autostart = autostart
        self.clock = clock
        self.read_git = read_git
        self.redactor = Redactor(config.secrets)
        self.project_name = project_name or config.root.name
        self.phase_names = tuple(phase.name for phase in config.phases)
        self.started_at = self.clock() if started_at is None else started_at
        self.finished_at: float | None = None
        self.phases: dict[str, PhaseLive] = {name: PhaseLive(name) for name in self.phase_names}
        self.samples: dict[str, ServiceSample] = {}
        self.findings: tuple[Finding, ...] = ()
        self.report: RunReport | None = None
        self.interrupted = False
        self.plan_running = False
        self._matrix = MatrixBuilder(config.gaps, self.phase_names)
        self._failures: dict[str, TestResult] = {}  # failure key -> result, in arrival order
        self._matching = 0
        self._filter = ""
        self._gap_filter: tuple[str, str | None] | None = None
        self._pending_results: list[TestResult] = []
        self._pending_stream: list[StreamEvent] = []
        self._rows_added: list[str] = []  # failure keys waiting for the table
        self._rows_removed: list[str] = []
        self._rows_flushed_at = 0.0
        self._key_at = 0.0
        self._passes: Counter[str] = Counter()  # passes not yet summarised in the stream
        self._skips: Counter[str] = Counter()
        self._batches_unsummarised = 0
        self._passes_logged = 0
        self._generation = 0
        self._phase_worker: Worker[None] | None = None
        self._probing: set[str] = set()
        self._probe_timers: dict[str, Any] = {}
        self._sampled = {service.name: asyncio.Event() for service in config.services}
        self._quitting = False
        self._signal_quit: asyncio.Task[None] | None = None
        self._side = "events"  # the side panel shown when only one fits (narrow)
        self._filter_timer: Any = None
        self._main_screen: Screen[Any] | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        redact = self.redactor
        header = VerdictHeader(id="header")
        header.project = self.project_name
        yield header
        strip = PhaseStrip(id="phases", classes="panel")
        strip.border_title = "1 phases"
        yield strip
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield GapMatrix(self.phase_names, title="2 gaps × phases", id="matrix",
                                classes="panel")
                failures = FailureList(FAILURE_LIMIT, redact, id="failures", classes="panel")
                failures.border_title = "3 failures"
                yield failures
            with Vertical(id="side", classes="-show-events"):
                services = ServicesPanel(tuple(s.name for s in self.config.services), redact,
                                         id="services", classes="panel")
                services.border_title = "5 services"
                yield services
                findings = FindingsPanel(redact, id="findings", classes="panel")
                findings.border_title = "4 findings"
                yield findings
                events = EventStream(id="events", classes="panel")
                events.border_title = "6 events"
                yield events
        yield Input(placeholder="filter failures and events (esc clears)", id="filter")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def _leaving(self) -> bool:
        """Shutting down: a judge or git thread may still report, but the widgets are going."""
        return self._exit or self._main_screen is None or not self._main_screen.is_attached

    def _main(self, selector: Any, expect: Any = None) -> Any:
        """A widget of the main screen, whichever screen (detail, help) is on top."""
        screen = self._main_screen if self._main_screen is not None else self.screen
        return screen.query_one(selector, expect) if expect else screen.query_one(selector)

    def on_mount(self) -> None:
        self._main_screen = self.screen
        for name in self.phase_names:
            self._show_phase(name)
        self._refresh_matrix(self._matrix.row_names())
        self._main("#filter", Input).display = False
        self._main(FailureList).focus()
        self._refresh_header()
        self.set_interval(FLUSH_INTERVAL_S, self._on_flush_timer, name="flush")
        self.set_interval(1.0, self._tick, name="tick")
        if not self.config.services:
            self._main(ServicesPanel).add_class("-empty")
        for warning in self.config.warnings:
            self.notify(clean(warning, self.redactor), severity="warning", markup=False)
        if self.read_git:
            self._read_git()
        if self.handle_signals:
            self._quit_on_ending_signals()
        if self.autostart:
            self.start_services()
            self.start_phases(self._selected_phases())

    @while_shown
    def on_resize(self) -> None:
        wide = self.size.width >= 180
        self._main(FailureList).set_wide(wide)
        self._main(ServicesPanel).set_wide(wide)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._key_at = time.monotonic()
        await super().on_event(event)

    # ------------------------------------------------------------------ ingest

    def ingest(self, event: object) -> None:
        """Accept one collector event (phase event, ServiceSample or StreamEvent).

        The real workers and the tests call this alike. It only appends or posts: the work
        happens in the message handlers, in order, on the app's message loop.
        """
        if isinstance(event, TestFinished):
            self._pending_results.append(event.result)
            return
        if isinstance(event, StreamEvent):
            self._pending_stream.append(event)
            return
        self._flush_pending()
        if isinstance(event, PhaseStarted):
            self.post_message(PhaseStartedMsg(event.phase, event.argv, event.started_at))
        elif isinstance(event, TestsCollected):
            self.post_message(TestsCollectedMsg(event.phase, event.count, event.deselected))
        elif isinstance(event, CollectionErrored):
            self.post_message(CollectionErrorsFound(event.phase, event.error))
        elif isinstance(event, WarningRecorded):
            self.post_message(WarningsRecorded(event.phase, event.warning))
        elif isinstance(event, PhaseFinished):
            self.post_message(PhaseFinishedMsg(event.phase, event.run))
        elif isinstance(event, ServiceSample):
            self.post_message(ServiceSampled(event))
        else:
            raise TypeError(f"claimcheck cannot show {type(event).__name__}")

    def flush(self) -> None:
        """Push everything buffered through now (tests, the benchmark, the end of a plan)."""
        self._flush_pending()
        self.call_later(self._flush_failure_rows)

    @while_shown
    def _on_flush_timer(self) -> None:
        self._flush_pending()
        if (self._rows_added or self._rows_removed) and self._table_due():
            self._flush_failure_rows()

    def _flush_pending(self) -> None:
        if self._pending_results:
            batch, self._pending_results = tuple(self._pending_results), []
            self.post_message(TestsFinished(batch))
        if self._pending_stream:
            frames, self._pending_stream = tuple(self._pending_stream), []
            self.post_message(StreamEventsReceived(frames))

    def _ingest_for(self, generation: int) -> Callable[[object], None]:
        """An on_event for one run plan; events of a plan that was replaced are dropped."""

        def on_event(event: object) -> None:
            if generation == self._generation:
                self.ingest(event)

        return on_event

    # ------------------------------------------------------------------ phase events

    def _phase(self, name: str) -> PhaseLive:
        if name not in self.phases:
            self.phases[name] = PhaseLive(name)
        return self.phases[name]

    @while_shown
    def on_phase_started_msg(self, message: PhaseStartedMsg) -> None:
        live = self._phase(message.phase)
        if not live.merging:
            self._forget_phase(live)
        live.status, live.started_at, live.duration_s = RUNNING, message.started_at, None
        live.note = "rerunning what failed (--lf)" if live.merging else ""
        self.plan_running = True
        self.finished_at = None
        self._log(Text.assemble(("▶ ", "#58a6ff"), data_text(message.phase, "bold"),
                                (" started", "#58a6ff")))
        with self.batch_update():
            self._show_phase(message.phase)
            self._refresh_matrix(self._matrix.row_names())
            self._refresh_header()

    def _forget_phase(self, live: PhaseLive) -> None:
        """A fresh run of a phase starts from an empty column and no failures."""
        live.reset()
        self._matrix.reset_phase(live.name)
        stale = [key for key in self._failures if split_key(key)[0] == live.name]
        for key in stale:
            del self._failures[key]
        if stale:
            self._reset_failure_list()

    @while_shown
    def on_tests_collected_msg(self, message: TestsCollectedMsg) -> None:
        live = self._phase(message.phase)
        if live.merging and live.collected:
            return  # the --lf session collects a subset; keep the phase's full total
        # pytest counts deselected items in "collected"; they will never run, so progress is
        # done / selected (a runner's second session with everything deselected adds nothing).
        live.collected += max(0, message.count - message.deselected)
        self._show_phase(message.phase)

    @while_shown
    def on_collection_errors_found(self, message: CollectionErrorsFound) -> None:
        live = self._phase(message.phase)
        error = message.error
        live.errors[error.path] = error
        touched = self._matrix.add_collection_error(message.phase, error)
        result = failure_of(message.phase, error)
        self._log(Text.assemble(("✖ collection error ", "bold #f85149"),
                                data_text(f"[{message.phase}] ", "dim"),
                                data_text(error.path, "bold"), "  ",
                                data_text(result.message, "#ff7b72", self.redactor,
                                          one_line=True, limit=200)))
        with self.batch_update():
            self._add_failures([result], [])
            self._refresh_matrix(touched)
            self._show_phase(message.phase)

    def on_warnings_recorded(self, message: WarningsRecorded) -> None:
        """Warnings are judged from the final run (deprecations...); nothing to draw live."""

    @while_shown
    def on_tests_finished(self, message: TestsFinished) -> None:
        with self.batch_update():
            self._apply_results(message.results)
            self._refresh_header()

    def _apply_results(self, results: Sequence[TestResult], *, log: bool = True) -> None:
        touched: set[str] = set()
        phases: set[str] = set()
        added: list[TestResult] = []
        removed: list[str] = []
        passes: Counter[str] = Counter()
        skips: Counter[str] = Counter()
        for result in results:
            live = self._phase(result.phase)
            old = live.results.get(result.nodeid)
            if old == result:
                continue
            if old is not None:
                live.outcomes[old.outcome] -= 1
            live.outcomes[result.outcome] += 1
            live.results[result.nodeid] = result
            phases.add(result.phase)
            touched.update(self._matrix.add_result(result.phase, result))
            key = failure_key(result.phase, result.nodeid)
            if result.outcome in BAD:
                added.append(result)
            elif key in self._failures:
                removed.append(key)
            if result.outcome == "skipped":
                skips[result.phase] += 1
            elif result.outcome not in BAD:
                passes[result.phase] += 1
        if not phases:
            return
        self._add_failures(added, removed)
        self._refresh_matrix(touched)
        for name in phases:
            self._show_phase(name)
        if log:
            self._log_results(added, passes, skips)

    def _add_failures(self, added: list[TestResult], removed: list[str]) -> None:
        """Record failures now; touch the table at most every TABLE_INTERVAL_S while streaming.

        The list draws only what is in view, but a batch still costs a repaint of the panel,
        so rows are queued and applied in bigger, rarer batches (`_flush_failure_rows`); the
        counts in the title follow every flush.
        """
        for key in removed:
            result = self._failures.pop(key)
            if self._matches(result):
                self._matching -= 1
            self._rows_removed.append(key)
        for result in added:
            key = failure_key(result.phase, result.nodeid)
            previous = self._failures.get(key)
            self._failures[key] = result
            was = previous is not None and self._matches(previous)
            now = self._matches(result)
            self._matching += int(now) - int(was)
            if now:
                self._rows_added.append(key)
            elif was:
                self._rows_removed.append(key)
        if added or removed:
            self._title_failures()
            if self._table_due():
                self._flush_failure_rows()

    def _table_due(self) -> bool:
        """Time for the (costly) failure-table update - unless a key was just pressed, whose
        answer must not wait behind a table repaint."""
        now = time.monotonic()
        return (now - self._rows_flushed_at >= TABLE_INTERVAL_S
                and now - self._key_at >= KEY_QUIET_S)

    @while_shown
    def _flush_failure_rows(self) -> None:
        """Apply the queued failure rows to the table in one go."""
        if not (self._rows_added or self._rows_removed):
            return
        widget = self._main(FailureList)
        for key in self._rows_removed:
            result = self._failures.get(key)
            if result is None or not self._matches(result):
                widget.discard(key, self._matching)
        fresh = [self._failures[key] for key in dict.fromkeys(self._rows_added)
                 if key in self._failures and self._matches(self._failures[key])]
        self._rows_added, self._rows_removed = [], []
        widget.extend(fresh, self._matching)
        self._rows_flushed_at = time.monotonic()

    def _log_results(self, failures: list[TestResult], passes: Counter[str],
                     skips: Counter[str]) -> None:
        lines: list[Text] = []
        for result in failures[:FAILURE_LINES_PER_FLUSH]:
            label = "✖ error " if result.outcome == "error" else "✖ failed "
            line = Text.assemble((label, "bold #f85149"), data_text(f"[{result.phase}] ", "dim"),
                                 data_text(result.nodeid, "", self.redactor, one_line=True))
            if result.message:
                line.append("  ")
                line.append_text(data_text(result.message, "#ff7b72", self.redactor,
                                           one_line=True, limit=160))
            lines.append(line)
        if len(failures) > FAILURE_LINES_PER_FLUSH:
            lines.append(Text(f"  … and {len(failures) - FAILURE_LINES_PER_FLUSH:,} more "
                              "failures (see the failure list)", "#f85149"))
        self._passes.update(passes)
        self._skips.update(skips)
        self._batches_unsummarised += 1
        if self._batches_unsummarised >= PASS_SUMMARY_BATCHES or self._passes_logged == 0:
            lines.extend(self._pass_lines())
        self._main(EventStream).add_lines(lines)

    def _pass_lines(self) -> list[Text]:
        """Passes are noise one by one: one summary line per phase every few seconds."""
        lines: list[Text] = []
        for phase in sorted(set(self._passes) | set(self._skips)):
            live = self._phase(phase)
            total = max(live.collected, len(live.results))
            line = Text.assemble(("✔ ", "#3fb950"), data_text(phase, "bold"),
                                 (f" +{self._passes[phase]:,} passed", "#3fb950"))
            if self._skips[phase]:
                line.append(f", {self._skips[phase]:,} skipped", "dim")
            line.append(f"  ({len(live.results):,}/{total:,})", "dim")
            lines.append(line)
        self._passes.clear()
        self._skips.clear()
        self._batches_unsummarised = 0
        self._passes_logged += 1
        return lines

    @while_shown
    def on_phase_finished_msg(self, message: PhaseFinishedMsg) -> None:
        live = self._phase(message.phase)
        run = merge_runs(live.run, message.run) if live.merging else message.run
        with self.batch_update():
            # The final run is authoritative: apply what streaming missed or got otherwise.
            known = live.results
            self._apply_results([test for test in run.tests
                                 if known.get(test.nodeid) is not test
                                 and known.get(test.nodeid) != test], log=False)
            for error in run.collection_errors:
                if error.path not in live.errors:
                    self.on_collection_errors_found(CollectionErrorsFound(run.name, error))
            live.run = run
            live.status = run.status
            live.duration_s = run.duration_s
            live.collected = selected(run.counts) or live.collected
            live.note = clean(run.reason or "", self.redactor)
            live.merging = False
            self._flush_failure_rows()
            self._show_phase(message.phase)
            self._refresh_matrix(self._matrix.row_names())
            self._refresh_header()
        if self._passes or self._skips:
            self._main(EventStream).add_lines(self._pass_lines())
        style = {"passed": "#3fb950", "interrupted": "#f0883e"}.get(run.status, "#f85149")
        line = Text.assemble(("■ ", style), data_text(run.name, "bold"), (f" {run.status}", style),
                             (f"  {run.counts.done:,} tests", "dim"))
        if run.reason:
            line.append("  ")
            line.append_text(data_text(run.reason, "#d29922", self.redactor, one_line=True))
        self._log(line)
        if run.status == "interrupted":
            self.interrupted = True
        self._judge()

    # ------------------------------------------------------------------ services and streams

    @while_shown
    def on_service_sampled(self, message: ServiceSampled) -> None:
        sample = message.sample
        previous = self.samples.get(sample.name)
        self.samples[sample.name] = sample
        if sample.name in self._sampled:
            self._sampled[sample.name].set()
        self._main(ServicesPanel).show_sample(sample, self.clock())
        if previous is None or previous.status != sample.status:
            style = {"up": "#3fb950", "degraded": "#d29922"}.get(sample.status, "#f85149")
            was = f"{previous.status} → " if previous else ""
            line = Text.assemble(("● ", style), data_text(sample.name, "bold"),
                                 (f" {was}{sample.status}", style))
            if sample.status != "up" and sample.detail:
                line.append("  ")
                line.append_text(data_text(sample.detail, "dim", self.redactor, one_line=True,
                                           limit=200))
            self._log(line)
            self._judge()

    @while_shown
    def on_stream_events_received(self, message: StreamEventsReceived) -> None:
        by_service: dict[str, list[StreamEvent]] = defaultdict(list)
        for event in message.events:
            by_service[event.service].append(event)
        lines: list[Text] = []
        for service, events in by_service.items():
            frames = [e for e in events if e.direction != "state"]
            shown = set(map(id, frames[-FRAMES_PER_FLUSH:]))
            folded = frames[:-FRAMES_PER_FLUSH]
            if folded:
                types = Counter(e.event_type or ("binary" if e.is_binary else "text")
                                for e in folded)
                summary = ", ".join(f"{name} ×{count}" for name, count in types.most_common(4))
                lines.append(Text.assemble(("⇣ ", "#a371f7"), data_text(service, "bold"),
                                           (f" +{len(folded):,} frames ", "#a371f7"),
                                           data_text(f"({summary})", "dim", self.redactor)))
            for event in events:
                if event.direction == "state":
                    lines.append(Text.assemble(("⇄ ", "#d29922"), data_text(service, "bold"),
                                               " ", data_text(event.payload, "#d29922",
                                                              self.redactor, one_line=True)))
                elif id(event) in shown:
                    arrow = "←" if event.direction == "recv" else "→"
                    line = Text.assemble((f"{arrow} ", "#a371f7"), data_text(service, "bold"), " ")
                    if event.event_type:
                        line.append_text(data_text(event.event_type, "#a371f7"))
                        line.append(" ")
                    line.append_text(data_text(event.payload, "", self.redactor, one_line=True,
                                               limit=300))
                    lines.append(line)
        self._main(EventStream).add_lines(lines)

    # ------------------------------------------------------------------ judgement

    def _judge(self) -> None:
        """Recompute findings and the verdict, the way --report would, off the event loop."""
        runs = [live.run for name in self.phase_names
                if (live := self.phases[name]).run is not None]
        runs += [live.run for name, live in self.phases.items()
                 if name not in self.phase_names and live.run is not None]
        samples = [self.samples[s.name] for s in self.config.services if s.name in self.samples]
        now = self.clock()
        interrupted = self.interrupted

        def assemble() -> RunReport:
            return _assemble(self.config, runs, samples, self.started_at, interrupted, now)

        self.run_worker(assemble, group="judge", exclusive=True, thread=True,
                        exit_on_error=False, name="judge")

    @while_shown
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "judge" and event.state == WorkerState.SUCCESS:
            report = worker.result
            if isinstance(report, RunReport):
                self.post_message(ReportAssembled(report))
                self.post_message(FindingsUpdated(report.findings))
        elif event.state == WorkerState.ERROR and worker.group in ("judge", "phases"):
            error = worker.error
            self.notify(clean(f"{worker.name}: {type(error).__name__}: {error}", self.redactor),
                        title="claimcheck internal error", severity="error", markup=False,
                        timeout=15)
            if worker.group == "phases":
                self.plan_running = False
                for live in self.phases.values():
                    if live.status == RUNNING:
                        live.status, live.note = "crashed", "claimcheck's runner failed"
                        self._show_phase(live.name)
                self._refresh_header()

    @while_shown
    def on_report_assembled(self, message: ReportAssembled) -> None:
        self.report = message.report
        self._refresh_header()

    @while_shown
    def on_findings_updated(self, message: FindingsUpdated) -> None:
        self.findings = message.findings
        panel = self._main(FindingsPanel)
        panel.show_findings(message.findings)
        panel.border_title = f"4 findings ({panel.count})" if panel.count else "4 findings"

    @while_shown
    def on_git_info_read(self, message: GitInfoRead) -> None:
        self._main(VerdictHeader).git = message.info

    @work(thread=True, group="git", exit_on_error=False)
    def _read_git(self) -> None:
        self.post_message(GitInfoRead(read_git_info(self.config.root)))

    # ------------------------------------------------------------------ drawing helpers

    @property
    def verdict(self) -> str:
        if self.plan_running:
            return RUNNING
        if self.interrupted:
            return "interrupted"
        if self.report is not None:
            return self.report.verdict
        return "no-evidence"

    def _elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else self.clock()
        return max(0.0, end - self.started_at)

    def _refresh_header(self) -> None:
        header = self._main(VerdictHeader)
        header.verdict = self.verdict
        header.elapsed_s = self._elapsed()
        done = sum(1 for live in self.phases.values() if live.run is not None)
        running = [name for name, live in self.phases.items() if live.status == RUNNING]
        parts = []
        if running:
            parts.append(f"running {running[0]} · {done}/{len(self.phases)} phases done")
        elif self.report is not None:
            parts.append(f"{done}/{len(self.phases)} phases")
        if self.samples:  # at a glance, also where the services panel is folded away (80x24)
            up = sum(1 for sample in self.samples.values() if sample.status == "up")
            parts.append(f"services {up}/{len(self.config.services)} up")
        header.detail = " · ".join(parts)

    def _view(self, live: PhaseLive) -> PhaseView:
        if live.status == RUNNING and live.started_at is not None:
            elapsed: float | None = max(0.0, self.clock() - live.started_at)
        else:
            elapsed = live.duration_s
        outcomes = live.outcomes
        blocker = ""
        if live.status == "blocked" and live.name in self.phase_names:
            requires = self.config.phase(live.name).requires
            blocker = next((name for name in requires if name in self.samples
                            and self.samples[name].status == "down"), "")
        return PhaseView(
            name=live.name,
            status=live.status,
            done=len(live.results),
            collected=live.collected,
            passed=outcomes["passed"] + outcomes["xfailed"] + outcomes["xpassed"],
            failed=outcomes["failed"],
            errors=outcomes["error"] + len(live.errors),
            skipped=outcomes["skipped"],
            elapsed_s=elapsed,
            note=live.note,
            blocker=blocker,
        )

    def _show_phase(self, name: str) -> None:
        self._main(PhaseStrip).show_phase(self._view(self._phase(name)))

    def _refresh_matrix(self, gaps: Iterable[str]) -> None:
        matrix = self._main(GapMatrix)
        order = self._matrix.row_names()
        wanted = set(gaps)
        rows = [self._matrix_row(name) for name in order if name in wanted or
                name not in matrix.rows]
        running = frozenset(n for n, live in self.phases.items() if live.status == RUNNING)
        if any(name not in matrix.rows for name in order) and matrix.row_count:
            # a new default gap appeared: rebuild (small) so rows stay in order
            matrix.reset_rows()
            rows = [self._matrix_row(name) for name in order]
        matrix.show_rows(rows, running)

    def _matrix_row(self, name: str) -> MatrixRow:
        row = self._matrix.row(name)
        return MatrixRow(row.name, row.title, row.status, row.cells)

    def _log(self, line: Text) -> None:
        self._main(EventStream).add_lines([line])

    @while_shown
    def _tick(self) -> None:
        if self.plan_running:
            # While results pile up, a full cyclic collection over them took 50-120 ms at
            # 10,000-20,000 results (bench_tui.py --suite), long enough to hold a key back.
            # Frozen objects are skipped by the cyclic GC; reference counting still frees
            # them. `_mark_plan_done` thaws them.
            gc.freeze()
        with self.batch_update():
            self._refresh_header()
            for name, live in self.phases.items():
                if live.status == RUNNING:
                    self._show_phase(name)
            self._main(ServicesPanel).tick(self.clock())

    # ------------------------------------------------------------------ failures and filters

    def _gaps_of(self, result: TestResult) -> tuple[str, ...]:
        if result.when == "collect":
            return gaps_for_path(result.nodeid, self.config.gaps, self.phase_names)
        return gaps_for_test(result, self.config.gaps, self.phase_names)

    def _matches(self, result: TestResult) -> bool:
        if self._gap_filter is not None:
            gap, phase = self._gap_filter
            if phase is not None and result.phase != phase:
                return False
            if gap not in self._gaps_of(result):
                return False
        if self._filter:
            needle = self._filter.lower()
            return needle in result.nodeid.lower() or needle in (result.message or "").lower()
        return True

    def _reset_failure_list(self) -> None:
        matching = [result for result in self._failures.values() if self._matches(result)]
        self._matching = len(matching)
        self._rows_added, self._rows_removed = [], []
        self._rows_flushed_at = time.monotonic()
        widget = self._main(FailureList)
        filtered = self._gap_filter is not None or bool(self._filter)
        widget.set_empty_note("nothing matches the filter (esc clears it)" if filtered
                              else "no failed or errored test so far")
        widget.reset(matching, self._matching)
        self._title_failures()

    def _title_failures(self) -> None:
        widget = self._main(FailureList)
        title = Text("3 failures")
        total = len(self._failures)
        if self._gap_filter is not None or self._filter:
            title.append(f" ({self._matching:,} of {total:,})")
            if self._gap_filter is not None:
                gap, phase = self._gap_filter
                title.append("  gap ", "dim")
                title.append_text(data_text(gap, "bold #d29922"))
                if phase:
                    title.append(" × ", "dim")
                    title.append_text(data_text(phase, "bold #d29922"))
            if self._filter:
                title.append("  /", "dim")
                title.append_text(data_text(self._filter, "bold #d29922"))
        elif total:
            title.append(f" ({total:,})")
        widget.border_title = title

    @on(GapMatrix.CellChosen)
    def _filter_by_cell(self, message: GapMatrix.CellChosen) -> None:
        self._gap_filter = (message.gap, message.phase)
        self._reset_failure_list()
        self._main(FailureList).focus()

    @on(FailureList.FailureChosen)
    def _open_failure(self, message: FailureList.FailureChosen) -> None:
        if message.key == MORE_KEY:
            self._reset_failure_list()
            return
        result = self._failures.get(message.key)
        if result is not None:
            self.open_failure(result)

    def open_failure(self, result: TestResult) -> None:
        self.push_screen(FailureDetailScreen(result, self._gaps_of(result), self.redactor))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.15, lambda: self.apply_filter(value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        self._main(FailureList).focus()

    def apply_filter(self, text: str) -> None:
        """Filter the failure list and the event stream by a case-insensitive substring."""
        if text == self._filter:
            return
        self._filter = text
        with self.batch_update():
            self._reset_failure_list()
            self._main(EventStream).filter_text = text

    # ------------------------------------------------------------------ actions

    def action_filter(self) -> None:
        box = self._main("#filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self._main("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.apply_filter("")
            self._main(FailureList).focus()
        elif self._filter:
            self.apply_filter("")
        elif self._gap_filter is not None:
            self._gap_filter = None
            self._reset_failure_list()

    def action_toggle_pause(self) -> None:
        events = self._main(EventStream)
        events.paused = not events.paused

    def _selected_result(self) -> TestResult | None:
        key = self._main(FailureList).selected_key
        return self._failures.get(key) if key else None

    def action_copy(self) -> None:
        result = self._selected_result()
        if result is None:
            self.notify("no failure highlighted", severity="warning")
            return
        shown = clipboard_text(result.nodeid, self.redactor)  # what the screen shows, one line
        self.copy_to_clipboard(shown)
        self.notify(shown, title="copied node id", timeout=3, markup=False)

    def action_focus_panel(self, number: int) -> None:
        name = PANELS[number - 1]
        if name in SIDE_PANELS:
            side = self._main("#side")
            side.remove_class(f"-show-{self._side}")
            self._side = name
            side.add_class(f"-show-{name}")
        self._main(f"#{name}", Widget).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen([b for b in self.BINDINGS if isinstance(b, Binding)]))

    def action_probe_now(self) -> None:
        if not self.config.services:
            self.notify("no services are configured", severity="warning")
            return
        for service in self.config.services:
            timer = self._probe_timers.pop(service.name, None)
            if timer is not None:
                timer.stop()
            self._probe_service(service)

    def action_rerun_all(self) -> None:
        self.start_phases(self._selected_phases())

    def action_rerun_failed(self) -> None:
        plan = [self.config.phase(name) for name in self.phase_names
                if self.phases[name].bad and self.phases[name].status != RUNNING]
        if not plan:
            self.notify("nothing failed: nothing to rerun")
            return
        self.start_phases(plan, extra_args=("--lf",))

    def action_rerun_phase(self) -> None:
        name = self._focused_phase()
        if name is None:
            self.notify("highlight a phase first (1)", severity="warning")
            return
        self.start_phases([self.config.phase(name)])

    def _focused_phase(self) -> str | None:
        focused = self.focused
        if isinstance(focused, GapMatrix):
            phase = focused.selected[1]
            if phase:
                return phase
        if isinstance(focused, FailureList):
            result = self._selected_result()
            if result is not None and result.phase in self.phase_names:
                return result.phase
        phase = self._main(PhaseStrip).selected_phase
        return phase if phase in self.phase_names else None

    def _quit_on_ending_signals(self) -> None:
        """SIGTERM and SIGHUP (a closed SSH session) quit as `q` does, with exit code 2.

        Handled on the event loop, not by raising KeyboardInterrupt wherever the signal lands,
        which can leave Textual half torn down and the app running. Should the quit not end
        within QUIT_DEADLINE_S (a terminal that is gone can block writes), the processes are
        killed and claimcheck exits anyway.
        """
        loop = asyncio.get_running_loop()
        for name in ENDING_SIGNALS:
            with contextlib.suppress(AttributeError, NotImplementedError, RuntimeError,
                                     ValueError):
                loop.add_signal_handler(getattr(signal, name), self._on_ending_signal)

    def _on_ending_signal(self) -> None:
        self.interrupted = True
        if self._quitting:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(QUIT_DEADLINE_S, _exit_now)
        self._signal_quit = loop.create_task(self.action_quit())

    async def action_quit(self) -> None:
        """Stop every phase (the runner kills its process tree), then leave."""
        if self._quitting:
            return
        self._quitting = True
        if self.plan_running:
            self.interrupted = True
        await self.stop_phases()
        for timer in self._probe_timers.values():
            timer.stop()
        # Close probes and streams while the loop still runs, so each WebSocket says goodbye
        # (bounded by the collectors' close timeout) instead of being torn down with the loop.
        cancelled = (self.workers.cancel_group(self, "probes")
                     + self.workers.cancel_group(self, "streams"))
        # (Worker.wait() returns at once for a cancelled worker: wait for its task instead.)
        tasks = [task for worker in cancelled if (task := getattr(worker, "_task", None))]
        if tasks:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(QUIT_GRACE_S):
                    await asyncio.wait(tasks)
        await asyncio.to_thread(_kill_descendants)
        self.exit(self.exit_code_now())

    def exit_code_now(self) -> int:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.report is not None:
            return self.report.exit_code
        return ExitCode.NO_EVIDENCE

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main screen's keys do nothing on the detail and help screens: hide them there,
        so those footers show only what works (esc, c, q)."""
        if self._main_screen is not None and self.screen is not self._main_screen:
            if action in MAIN_SCREEN_ACTIONS:
                return False
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show and binding.action != "quit":
                yield SystemCommand(binding.description.capitalize(), binding.tooltip,
                                    lambda action=binding.action: self.run_action(action))
        for number, name in enumerate(PANELS, 1):
            yield SystemCommand(f"Focus {name}", f"key {number}",
                                lambda n=number: self.action_focus_panel(n))

    # ------------------------------------------------------------------ workers

    def _selected_phases(self) -> list[PhaseConfig]:
        if self.options.services_only:
            return []
        return list(_select(self.config, self.options.phases or None))

    def start_phases(self, plan: Sequence[PhaseConfig], extra_args: Sequence[str] = ()) -> None:
        """Run `plan` in order, replacing (and first stopping) whatever phase runs now."""
        if self._quitting or not plan:
            return
        self._generation += 1
        previous = self._phase_worker
        for live in self.phases.values():
            if live.status == RUNNING:  # its PhaseFinished belongs to the old plan: dropped
                live.status, live.note = "interrupted", "stopped for a rerun"
                live.duration_s = (self.clock() - live.started_at) if live.started_at else None
                live.merging = False
                self._show_phase(live.name)
        for phase in plan:
            live = self._phase(phase.name)
            live.merging = bool(extra_args) and live.run is not None
            if not live.merging:
                self._forget_phase(live)
            live.status, live.note = "pending", "queued"
            self._show_phase(phase.name)
        self.interrupted = False
        self.plan_running = True
        self.report = None
        self.started_at = self.clock()
        self.finished_at = None
        self._refresh_header()
        self._phase_worker = self.run_worker(
            self._run_plan(list(plan), tuple(extra_args), self._generation, previous),
            group="phases", exclusive=True, exit_on_error=False, name="phases")

    async def _run_plan(self, plan: list[PhaseConfig], extra_args: tuple[str, ...],
                        generation: int, previous: Worker[None] | None) -> None:
        if previous is not None and previous.state in (WorkerState.PENDING, WorkerState.RUNNING):
            previous.cancel()
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous.wait()  # its runner is killing its process tree
        emit = self._ingest_for(generation)
        try:
            for phase in plan:
                if phase.requires and not self.options.force:
                    await self._await_samples(phase.requires)
                    blocker = _blocker(phase, self.samples.values())
                    if blocker is not None:
                        run = _blocked_run(phase, blocker)
                        emit(PhaseStarted(phase.name, (), run.started_at))
                        emit(PhaseFinished(phase.name, run))
                        continue
                run = await _run_phase(phase, self.config, emit, extra_args)
                if run.status == "interrupted":
                    break
        finally:
            if generation == self._generation:
                self.call_later(self._plan_ended)

    def _plan_ended(self) -> None:
        self.flush()
        self.call_later(self._mark_plan_done)

    def _mark_plan_done(self) -> None:
        self.plan_running = False
        gc.unfreeze()
        self.finished_at = self.clock()
        self._refresh_header()
        self._judge()

    async def _await_samples(self, names: Sequence[str]) -> None:
        """Wait (bounded) for the first probe of each required service."""
        waits = []
        for name in names:
            event = self._sampled.get(name)
            if event is not None and not event.is_set():
                waits.append(event.wait())
        if waits:
            budget = max((s.timeout_s * 2 + 2 for s in self.config.services), default=5.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(budget + 10):
                    await asyncio.gather(*waits)

    async def stop_phases(self) -> None:
        """Cancel the running plan and wait until its runner has killed its processes."""
        worker = self._phase_worker
        if worker is None or worker.state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        worker.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await worker.wait()

    def start_services(self) -> None:
        for service in self.config.services:
            self._probe_service(service)
            if service.stream:
                self.run_worker(_stream(service, self.ingest, self.redactor), group="streams",
                                exit_on_error=False, name=f"stream {service.name}")

    def _probe_service(self, service: Any) -> None:
        """Probe now unless a probe of it is in flight; the next is armed when this one ends."""
        if service.name in self._probing or self._quitting:
            return
        self._probing.add(service.name)
        self.run_worker(self._probe_once(service), group="probes", exit_on_error=False,
                        name=f"probe {service.name}")

    async def _probe_once(self, service: Any) -> None:
        try:
            samples = await _probe([service], self.redactor)
            for sample in samples:
                self.ingest(sample)
        finally:
            self._probing.discard(service.name)
            if not self._quitting:
                self._probe_timers[service.name] = self.set_timer(
                    service.interval_s, lambda: self._probe_service(service))

    async def on_unmount(self) -> None:
        self._generation += 1
        await asyncio.to_thread(_kill_descendants)


# ----------------------------------------------------------------------------------------


def _exit_now() -> None:
    """The last resort of a signalled quit that did not finish: no process left, exit 2."""
    _kill_descendants()
    os._exit(ExitCode.INTERRUPTED)


def run_app(options: Options) -> int:
    """The interactive path: load the config, check the interpreter, run the command center."""
    from claimcheck.collectors.config import load_config

    try:
        config = load_config(options.project, options.config)
        phases = _select(config, options.phases or None)
        if phases and not options.services_only:
            from claimcheck.collectors.pytest_run import (
                EnvironmentProblem,
                check_interpreter,
            )

            try:
                check_interpreter(config)
            except EnvironmentProblem as exc:
                print(f"claimcheck: {exc}", file=sys.stderr)
                return ExitCode.USAGE
    except ConfigError as exc:
        print(f"claimcheck: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    app = ClaimcheckApp(config, options, handle_signals=True)
    try:
        result = app.run()
    finally:
        _kill_descendants()
    if isinstance(result, int):
        return result
    return app.exit_code_now()
