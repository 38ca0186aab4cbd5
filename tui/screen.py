"""The command center: one screen that shows what the evidence says while it arrives.

It draws the live model (`collectors.live.LiveEvidence`) the app folds evidence into, and
never runs anything itself: keys that start work ask the app (`RerunRequested`,
`ProbeRequested`). Evidence comes in one `EvidenceArrived` per frame with the `Change` it made,
so a redraw touches only the phase rows, matrix rows and failures that changed, inside one
`batch_update()`. The failure list is touched at most every `TABLE_INTERVAL_S` while results
stream, and not right after a key press, whose answer must not wait behind a repaint.

It also judges: the judge worker assembles the same report `--report` would (on a thread, and
Textual cancels it with the screen), whose verdict heads the screen and whose findings fill the
findings panel.

The panels are declared once, in `PANELS`: their border titles, the focus keys 1-6, the focus
tooltip, the help screen and the command palette are all built from it.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from claimcheck.collectors.config import Config
from claimcheck.collectors.live import LiveEvidence, PhaseLive
from claimcheck.collectors.models import Finding, RunReport, TestResult
from claimcheck.collectors.secrets import Redactor
from claimcheck.tui.engine import Assembler
from claimcheck.tui.eventlog import EventLog
from claimcheck.tui.messages import (
    EvidenceArrived,
    GitInfoRead,
    PlanEnded,
    ProbeRequested,
    RerunRequested,
)
from claimcheck.tui.over_time import Marks, OverTime
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import clean, clipboard_text, data_text
from claimcheck.tui.widgets.claims_banner import ClaimsBanner
from claimcheck.tui.widgets.detail import FailureDetailScreen
from claimcheck.tui.widgets.events import EventStream
from claimcheck.tui.widgets.failures import MORE_KEY, FailureList, failure_key
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.gap_notes import GapNotes
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.help import HelpScreen
from claimcheck.tui.widgets.matrix import GapMatrix, MatrixRow
from claimcheck.tui.widgets.phases import PhaseStrip, PhaseView
from claimcheck.tui.widgets.services import ServicesPanel
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

FLUSH_INTERVAL_S = 0.1  # how often queued failure rows are looked at
TABLE_INTERVAL_S = 0.5  # the failure table is touched at most this often while streaming
KEY_QUIET_S = 0.3  # ...and not within this long after a key press
FAILURE_LIMIT = 2000


@dataclass(frozen=True)
class Panel:
    """One panel of the command center; its number is its place in `PANELS`."""

    id: str  # the widget's id, and its name in tooltips and the command palette
    title: str  # the border title after the number: "2 gaps × phases"
    label: str  # what the help screen calls it
    shows: str  # what the help screen says it shows
    side: bool = False  # in the side column (one at a time when narrow)


PANELS: tuple[Panel, ...] = (
    Panel("phases", "phases", "phases",
          "status and progress per phase; R reruns the highlighted one"),
    Panel("matrix", "gaps × phases", "gap matrix",
          "✖ failed+errors/ran, ✔ ran (all passed), 'no evidence' or 'no ev.': nothing ran; "
          "Enter filters the failures"),
    Panel("failures", "failures", "failures",
          "Enter opens the traceback, captured output and gaps; c copies the id"),
    Panel("findings", "findings", "findings",
          "import errors by missing module, then other problems with the evidence",
          side=True),
    Panel("services", "services", "services",
          "status, latency, time since the last change, recent history", side=True),
    Panel("events", "events", "events",
          "tests, phase and service changes, WebSocket frames; p pauses", side=True),
)


def panel_title(panel_id: str) -> str:
    """"3 failures": the panel's number and title, as its border shows it."""
    number, panel = next((n, p) for n, p in enumerate(PANELS, 1) if p.id == panel_id)
    return f"{number} {panel.title}"


@dataclass
class RunState:
    """The run as a whole, kept by the app and shown by the screen."""

    started_at: float
    finished_at: float | None = None
    running: bool = False  # a plan of phases is under way (waiting for services included)
    interrupted: bool = False  # someone stopped it (a key, a signal) or a phase said so


class CommandCenter(Screen[None]):
    """Phases, gaps × phases, failures, findings, services and events, side by side."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    BINDINGS = [
        Binding("q", "app.quit", "quit", tooltip="stop everything claimcheck started and leave"),
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
        Binding("1", "focus_panel(1)", "panel", key_display=f"1-{len(PANELS)}",
                tooltip="focus a panel: " + " ".join(
                    f"{number} {panel.id}" for number, panel in enumerate(PANELS, 1))),
        *(Binding(str(number), f"focus_panel({number})", panel.id, show=False)
          for number, panel in enumerate(PANELS, 1) if number > 1),
        Binding("question_mark", "help", "help", key_display="?", tooltip="show every key"),
        # After `?`, so the footer keeps `? help` in view at 80 columns.
        Binding("h", "app.show_history", "history",
                tooltip="runs over time: trend per gap, what changed since the last run"),
        Binding("m", "app.show_map", "map",
                tooltip="the map: services and the phases they block, phases and their gaps"),
    ]

    def __init__(self, config: Config, evidence: LiveEvidence, run_state: RunState, *,
                 assemble: Assembler, redactor: Redactor, project_name: str,
                 clock: Callable[[], float] = time.time,
                 over_time: OverTime | None = None) -> None:
        super().__init__()
        self.config = config
        self.evidence = evidence
        self.run_state = run_state
        self.assemble = assemble
        self.redactor = redactor
        self.project_name = project_name
        self.clock = clock
        self.report: RunReport | None = None  # the latest judgement of the evidence
        self.over_time = over_time  # history: what the marks and the claims banner compare with
        self.marks = Marks(over_time)
        self.findings: tuple[Finding, ...] = ()
        self.palette = Palette(self)
        self.event_log = EventLog(evidence, redactor, self.palette)
        self._filter = ""
        self._gap_filter: tuple[str, str | None] | None = None
        self._matching = 0  # failures that pass the filters
        self._rows_added: list[str] = []  # failure keys waiting for the table
        self._rows_removed: list[str] = []
        self._rows_flushed_at = 0.0
        self._key_at = 0.0
        self._side = "events"  # the side panel shown when only one fits (narrow)
        self._filter_timer: Any = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        redact = self.redactor
        yield ClaimsBanner(redact, id="claims-banner")
        header = VerdictHeader(id="header")
        header.project = self.project_name
        yield header
        yield PhaseStrip(id="phases", classes="panel")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield GapMatrix(tuple(self.evidence.phase_names), title=panel_title("matrix"),
                                id="matrix", classes="panel")
                yield GapNotes(redact, id="gap-notes")
                yield FailureList(FAILURE_LIMIT, redact, self.marks.failure, id="failures",
                                  classes="panel")
            with Vertical(id="side", classes="-show-events"):
                yield ServicesPanel(tuple(s.name for s in self.config.services), redact,
                                    id="services", classes="panel")
                yield FindingsPanel(redact, id="findings", classes="panel")
                yield EventStream(id="events", classes="panel")
        yield Input(placeholder="filter failures and events (esc clears)", id="filter")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        for panel in PANELS:
            if panel.id != "matrix":  # the matrix adds its "no ev." legend to its own title
                self.query_one(f"#{panel.id}", Widget).border_title = panel_title(panel.id)
        with self.app.batch_update():
            for name in self.evidence.phases:
                self._show_phase(name)
            self._refresh_matrix(all_rows=True)
            self.query_one("#filter", Input).display = False
            if not self.config.services:
                self.query_one(ServicesPanel).add_class("-empty")
            self._refresh_header()
        self.query_one(FailureList).focus()
        self.set_interval(FLUSH_INTERVAL_S, self._on_flush_timer, name="flush rows")
        self.set_interval(1.0, self._tick, name="tick")

    def on_resize(self) -> None:
        wide = self.size.width >= 180
        self.query_one(FailureList).set_wide(wide)
        self.query_one(ServicesPanel).set_wide(wide)

    def on_key(self, event: events.Key) -> None:
        self._key_at = time.monotonic()

    # ------------------------------------------------------------------ evidence

    def on_evidence_arrived(self, message: EvidenceArrived) -> None:
        change = message.change
        with self.app.batch_update():
            for name in sorted(change.phases):
                self._show_phase(name)
            if change.all_gaps:
                self._refresh_matrix(all_rows=True)
            elif change.gaps:
                self._refresh_matrix(change.gaps)
            if change.failed or change.cleared:
                self._queue_failures(change.failed, change.cleared)
            if message.flush or change.finished:
                self.flush_failure_rows()
            self._refresh_header()
            lines = self.event_log.lines(message.events)
            if lines:
                self.query_one(EventStream).add_lines(lines)
            for _, sample in change.samples:
                self.query_one(ServicesPanel).show_sample(sample, self.clock())
        if change.judgement_due:
            self.judge()

    def on_plan_ended(self, message: PlanEnded) -> None:
        gc.unfreeze()
        with self.app.batch_update():
            self.flush_failure_rows()
            self._refresh_header()
            lines = self.event_log.pass_summaries()
            if lines:
                self.query_one(EventStream).add_lines(lines)
        self.judge()

    def on_git_info_read(self, message: GitInfoRead) -> None:
        self.query_one(VerdictHeader).git = message.info

    def _show_phase(self, name: str) -> None:
        self.query_one(PhaseStrip).show_phase(self.phase_view(self.evidence.phase(name)))

    def phase_view(self, live: PhaseLive) -> PhaseView:
        """What the strip shows of a phase: the live model's counts, as the report counts."""
        if live.status == "running" and live.started_at is not None:
            elapsed: float | None = max(0.0, self.clock() - live.started_at)
        else:
            elapsed = live.duration_s
        counts = live.counts
        return PhaseView(
            name=live.name, status=live.status, done=live.done, total=live.total,
            passed=counts.passed, failed=counts.failed, errors=counts.error,
            skipped=counts.skipped, xfailed=counts.xfailed, xpassed=counts.xpassed,
            elapsed_s=elapsed, note=clean(live.note, self.redactor), blocker=live.blocker,
        )

    def _refresh_matrix(self, gaps: Iterable[str] = (), *, all_rows: bool = False) -> None:
        matrix = self.query_one(GapMatrix)
        builder = self.evidence.matrix
        order = builder.row_names()
        wanted = set(order) if all_rows else set(gaps)
        if any(name not in matrix.rows for name in order) and matrix.row_count:
            matrix.reset_rows()  # a new default gap appeared: rebuild (small) so rows stay in order
            wanted = set(order)
        rows = []
        finished = frozenset(name for name, live in self.evidence.phases.items()
                             if live.run is not None)
        for name in order:
            if name in wanted or name not in matrix.rows:
                row = builder.row(name)
                rows.append(MatrixRow(row.name, row.title, row.status, row.cells,
                                      self.marks.cells(name, row.cells, finished),
                                      self.marks.notes(name)))
        matrix.show_rows(rows, self.evidence.running)

    def _tick(self) -> None:
        if self.run_state.running or self.evidence.running:
            # While results pile up, a full cyclic collection over them took 50-120 ms at
            # 10,000-20,000 results (bench_tui.py --suite), long enough to hold a key back.
            # Frozen objects are skipped by the cyclic GC; reference counting still frees
            # them. Once nothing runs they are thawed.
            gc.freeze()
        elif gc.get_freeze_count():
            gc.unfreeze()
        with self.app.batch_update():
            self._refresh_header()
            for name in self.evidence.running:
                self._show_phase(name)
            self.query_one(ServicesPanel).tick(self.clock())

    # ------------------------------------------------------------------ the header

    @property
    def verdict(self) -> str:
        if self.run_state.running or self.evidence.running:
            return "running"
        if self.run_state.interrupted:
            return "interrupted"
        if self.report is not None:
            return self.report.verdict
        return "no-evidence"

    def _refresh_header(self) -> None:
        header = self.query_one(VerdictHeader)
        header.verdict = self.verdict
        run = self.run_state
        end = run.finished_at if run.finished_at is not None else self.clock()
        header.elapsed_s = max(0.0, end - run.started_at)
        phases = self.evidence.phases
        done = sum(1 for live in phases.values() if live.run is not None)
        running = sorted(self.evidence.running, key=list(phases).index)
        parts = []
        if running:
            parts.append(f"running {running[0]} · {done}/{len(phases)} phases done")
        elif self.report is not None:
            parts.append(f"{done}/{len(phases)} phases")
        samples = self.evidence.samples
        if samples:  # at a glance, also where the services panel is folded away (80x24)
            up = sum(1 for sample in samples.values() if sample.status == "up")
            parts.append(f"services {up}/{len(self.config.services)} up")
        header.detail = " · ".join(parts)

    # ------------------------------------------------------------------ judgement

    def judge(self) -> None:
        """Assemble the report `--report` would write from the evidence so far, off the loop."""
        runs = self.evidence.runs()
        samples = self.evidence.service_samples()
        run = self.run_state
        started_at, interrupted, now = run.started_at, run.interrupted, self.clock()

        def assemble() -> RunReport:
            return self.assemble(self.config, runs, samples, started_at,
                                 interrupted=interrupted, now=now)

        self.run_worker(assemble, group="judge", exclusive=True, thread=True,
                        exit_on_error=False, name="judge")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "judge":
            return
        if event.state == WorkerState.SUCCESS and isinstance(worker.result, RunReport):
            self.report = worker.result
            self.findings = self.report.findings
            panel = self.query_one(FindingsPanel)
            panel.show_findings(self.findings)
            title = panel_title("findings")
            panel.border_title = f"{title} ({panel.count})" if panel.count else title
            self._refresh_header()
            self.show_over_time()
        elif event.state == WorkerState.ERROR:
            error = worker.error
            self.notify(clean(f"judge: {type(error).__name__}: {error}", self.redactor),
                        title="claimcheck internal error", severity="error", markup=False,
                        timeout=15)

    def show_over_time(self) -> None:
        """Marks, gap notes and the claims banner follow the latest judgement over time."""
        from claimcheck.collectors.report.common import broken_claims

        self.marks.update(self.report)
        over_time = self.over_time
        judged = over_time.judged if over_time is not None else None
        with self.app.batch_update():
            self.query_one(ClaimsBanner).show_broken(
                broken_claims(judged) if judged is not None else (),
                stale=over_time is not None and over_time.judged_is_old)
            self.query_one(GapNotes).show_notes(self.marks.all_notes)
            self._refresh_matrix(all_rows=True)
            self.query_one(FailureList).marks_changed()

    # ------------------------------------------------------------------ failures and filters

    def _matches(self, result: TestResult) -> bool:
        if self._gap_filter is not None:
            gap, phase = self._gap_filter
            if phase is not None and result.phase != phase:
                return False
            if gap not in self.evidence.gaps_of(result):
                return False
        if self._filter:
            needle = self._filter.lower()
            return needle in result.nodeid.lower() or needle in (result.message or "").lower()
        return True

    def _queue_failures(self, added: list[TestResult], removed: list[str]) -> None:
        """Count failures now; touch the table at most every TABLE_INTERVAL_S while streaming.

        The list draws only what is in view, but a batch still costs a repaint of the panel,
        so rows are queued and applied in bigger, rarer batches (`flush_failure_rows`); the
        counts in the title follow every frame.
        """
        for key in removed:
            self._rows_removed.append(key)
        for result in added:
            key = failure_key(result.phase, result.nodeid)
            if self._matches(result):
                self._rows_added.append(key)
            else:
                self._rows_removed.append(key)
        self._matching = sum(1 for result in self.evidence.failures.values()
                             if self._matches(result)) if self._filtered else len(
            self.evidence.failures)
        self._title_failures()
        if self._table_due():
            self.flush_failure_rows()

    @property
    def _filtered(self) -> bool:
        return self._gap_filter is not None or bool(self._filter)

    def _table_due(self) -> bool:
        now = time.monotonic()
        return (now - self._rows_flushed_at >= TABLE_INTERVAL_S
                and now - self._key_at >= KEY_QUIET_S)

    def _on_flush_timer(self) -> None:
        if (self._rows_added or self._rows_removed) and self._table_due():
            self.flush_failure_rows()

    def flush_failure_rows(self) -> None:
        """Apply the queued failure rows to the table in one go."""
        if not (self._rows_added or self._rows_removed):
            return
        widget = self.query_one(FailureList)
        failures = self.evidence.failures
        for key in self._rows_removed:
            result = failures.get(key)
            if result is None or not self._matches(result):
                widget.discard(key, self._matching)
        fresh = [failures[key] for key in dict.fromkeys(self._rows_added)
                 if key in failures and self._matches(failures[key])]
        self._rows_added, self._rows_removed = [], []
        widget.extend(fresh, self._matching)
        self._rows_flushed_at = time.monotonic()

    def _reset_failure_list(self) -> None:
        matching = [result for result in self.evidence.failures.values() if self._matches(result)]
        self._matching = len(matching)
        self._rows_added, self._rows_removed = [], []
        self._rows_flushed_at = time.monotonic()
        widget = self.query_one(FailureList)
        widget.set_empty_note("nothing matches the filter (esc clears it)" if self._filtered
                              else "no failed or errored test so far")
        widget.reset(matching, self._matching)
        self._title_failures()

    def _title_failures(self) -> None:
        widget = self.query_one(FailureList)
        notice, muted = self.palette("notice"), self.palette("muted")
        title = Text(panel_title("failures"))
        total = len(self.evidence.failures)
        if self._filtered:
            title.append(f" ({self._matching:,} of {total:,})")
            if self._gap_filter is not None:
                gap, phase = self._gap_filter
                title.append("  gap ", muted)
                title.append_text(data_text(gap, notice))
                if phase:
                    title.append(" × ", muted)
                    title.append_text(data_text(phase, notice))
            if self._filter:
                title.append("  /", muted)
                title.append_text(data_text(self._filter, notice))
        elif total:
            title.append(f" ({total:,})")
        widget.border_title = title

    @on(GapMatrix.CellChosen)
    def _filter_by_cell(self, message: GapMatrix.CellChosen) -> None:
        self._gap_filter = (message.gap, message.phase)
        self._reset_failure_list()
        self.query_one(FailureList).focus()

    @on(FailureList.FailureChosen)
    def _open_failure(self, message: FailureList.FailureChosen) -> None:
        if message.key == MORE_KEY:
            self._reset_failure_list()
            return
        result = self.evidence.failures.get(message.key)
        if result is not None:
            self.open_failure(result)

    def open_failure(self, result: TestResult) -> None:
        self.app.push_screen(FailureDetailScreen(result, self.evidence.gaps_of(result),
                                                 self.redactor))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.15, lambda: self.apply_filter(value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        self.query_one(FailureList).focus()

    def apply_filter(self, text: str) -> None:
        """Filter the failure list and the event stream by a case-insensitive substring."""
        if text == self._filter:
            return
        self._filter = text
        with self.app.batch_update():
            self._reset_failure_list()
            self.query_one(EventStream).filter_text = text

    # ------------------------------------------------------------------ actions

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.apply_filter("")
            self.query_one(FailureList).focus()
        elif self._filter:
            self.apply_filter("")
        elif self._gap_filter is not None:
            self._gap_filter = None
            self._reset_failure_list()

    def action_toggle_pause(self) -> None:
        stream = self.query_one(EventStream)
        stream.paused = not stream.paused

    def selected_failure(self) -> TestResult | None:
        key = self.query_one(FailureList).selected_key
        return self.evidence.failures.get(key) if key else None

    def action_copy(self) -> None:
        result = self.selected_failure()
        if result is None:
            self.notify("no failure highlighted", severity="warning")
            return
        shown = clipboard_text(result.nodeid, self.redactor)  # what the screen shows, one line
        self.app.copy_to_clipboard(shown)
        self.notify(shown, title="copied node id", timeout=3, markup=False)

    def action_focus_panel(self, number: int) -> None:
        panel = PANELS[number - 1]
        if panel.side:
            side = self.query_one("#side")
            side.remove_class(f"-show-{self._side}")
            self._side = panel.id
            side.add_class(f"-show-{panel.id}")
        self.query_one(f"#{panel.id}", Widget).focus()

    def action_help(self) -> None:
        panels = [(str(number), panel.label, panel.shows)
                  for number, panel in enumerate(PANELS, 1)]
        self.app.push_screen(HelpScreen([b for b in self.BINDINGS if isinstance(b, Binding)],
                                        panels))

    def action_probe_now(self) -> None:
        if not self.config.services:
            self.notify("no services are configured", severity="warning")
            return
        self.app.post_message(ProbeRequested())

    def action_rerun_all(self) -> None:
        self.app.post_message(RerunRequested())

    def action_rerun_failed(self) -> None:
        failed = tuple(name for name in self.evidence.phase_names
                       if (live := self.evidence.phase(name)).bad and live.status != "running")
        if not failed:
            self.notify("nothing failed: nothing to rerun")
            return
        self.app.post_message(RerunRequested(failed, failed_only=True))

    def action_rerun_phase(self) -> None:
        name = self._focused_phase()
        if name is None:
            self.notify("highlight a phase first (1)", severity="warning")
            return
        self.app.post_message(RerunRequested((name,)))

    def _focused_phase(self) -> str | None:
        focused = self.focused
        names = self.evidence.phase_names
        if isinstance(focused, GapMatrix):
            phase = focused.selected[1]
            if phase:
                return phase
        if isinstance(focused, FailureList):
            result = self.selected_failure()
            if result is not None and result.phase in names:
                return result.phase
        phase = self.query_one(PhaseStrip).selected_phase
        return phase if phase in names else None

    def system_commands(self) -> Iterator[SystemCommand]:
        """Every shown key as a command-palette entry, and a "Focus <panel>" per panel."""
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show and binding.action != "app.quit":
                yield SystemCommand(binding.description.capitalize(), binding.tooltip,
                                    lambda action=binding.action: self.run_action(action))
        for number, panel in enumerate(PANELS, 1):
            yield SystemCommand(f"Focus {panel.id}", f"key {number}",
                                lambda n=number: self.action_focus_panel(n))
