"""The command center: one screen that shows what the evidence says while it arrives.

It draws the live model (`collectors.live.LiveEvidence`) the app folds evidence into, and
never runs anything itself: keys that start work ask the app (`RerunRequested`,
`ProbeRequested`). Evidence comes in one `EvidenceArrived` per frame with the `Change` it made,
so a redraw touches only the phase rows, matrix rows and failures that changed, inside one
`batch_update()`. The failure list is fed in batches (`tui/failure_feed.py`), not on every
frame and not right after a key press, whose answer must not wait behind a repaint.

It also judges: the judge worker assembles the same report `--report` would (on a thread, and
Textual cancels it with the screen), whose verdict heads the screen and whose findings fill the
findings panel.

The panels are declared once, in `PANELS`: their border titles, the focus keys 1-6, the focus
tooltip, the help screen and the command palette are all built from it.
"""

from __future__ import annotations

import gc
import time
from typing import Any, Callable, Iterable, Iterator

from claimcheck.collectors.config import Config
from claimcheck.collectors.live import LiveEvidence, PhaseLive
from claimcheck.collectors.models import Finding, RunReport, ServiceSample, TestResult
from claimcheck.collectors.secrets import Redactor
from claimcheck.tui.engine import Assembler
from claimcheck.tui.eventlog import EventLog
from claimcheck.tui.failure_feed import FailureFeed
from claimcheck.tui.messages import (
    EvidenceArrived,
    GitInfoRead,
    PlanEnded,
    ProbeRequested,
    RerunRequested,
)
from claimcheck.tui.over_time import Marks, OverTime
from claimcheck.tui.panels import PANELS, panel_title
from claimcheck.tui.run_state import RunState, header_detail, verdict_word
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import Clip, clean, clipboard_text
from claimcheck.tui.widgets.claims_banner import ClaimsBanner
from claimcheck.tui.widgets.events import EventStream
from claimcheck.tui.widgets.failures import MORE_KEY, FailureList
from claimcheck.tui.widgets.finding_detail import FindingDetailScreen
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
FAILURE_LIMIT = 2000
COMPACT_BELOW = 30  # screen lines under which the claims banner keeps to one line


class CommandCenter(Screen[None]):
    """Phases, gaps × phases, failures, findings, services and events, side by side."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    # Focus starts where `on_mount` puts it: focusing the first focusable widget first and the
    # failure list after was two focus changes, each recomposing the footer and laying the
    # screen out again while the first results arrive.
    AUTO_FOCUS = "FailureList"
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
        Binding("c", "copy", "copy",
                tooltip="copy what the focused panel highlights: a failure's node id, a "
                        "finding, a service's URL and detail, a phase, a cell, an event (OSC 52)"),
        Binding("s", "probe_now", "probe",
                tooltip="probe every service now, and say what came back"),
        Binding("S", "app.screenshot", "screenshot", key_display="S", show=False,
                tooltip="save a screenshot (SVG) in the working folder, or in "
                        "$CLAIMCHECK_SCREENSHOTS; the toast says where"),
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
    # Keys that live on the panels themselves, listed in `?` with the screen's own.
    PANEL_KEYS = (
        ("enter", "open the highlighted failure or finding; on a matrix cell, filter the "
                  "failures to that gap and phase"),
        ("j k g G", "move down, up, to the first and the last line, as ↓ ↑ Home End do"),
        ("space", "fold or unfold a group of findings"),
        ("esc q", "in a detail screen: back to the command center"),
    )

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
        self._side = "events"  # the side panel shown when only one fits (narrow)
        self._filter_timer: Any = None
        self._probe_asked: dict[str, ServiceSample | None] = {}  # `s`: what came back so far
        self._probe_timer: Any = None
        self._titled_gaps = -1
        # The panels, made once and kept: timers and messages draw through these, never a
        # query, so nothing that fires while the screen is being taken down can miss them.
        redact = redactor
        self.claims_banner = ClaimsBanner(redact, id="claims-banner")
        self.header = VerdictHeader(id="header")
        self.phase_strip = PhaseStrip(id="phases", classes="panel")
        self.matrix = GapMatrix(tuple(evidence.phase_names), id="matrix", classes="panel")
        self.gap_notes = GapNotes(redact, id="gap-notes")
        self.failure_list = FailureList(FAILURE_LIMIT, redact, self.marks.failure, id="failures",
                                        classes="panel")
        self.feed = FailureFeed(evidence, self.failure_list, self.palette,
                                lambda: self._title("failures"))
        self.services_panel = ServicesPanel(tuple(s.name for s in config.services), redact,
                                            id="services", classes="panel")
        self.findings_panel = FindingsPanel(redact, id="findings", classes="panel")
        self.event_stream = EventStream(id="events", classes="panel")
        self.filter_box = Input(placeholder="filter failures and events (esc clears)",
                                id="filter")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield self.claims_banner
        self.header.project = self.project_name
        yield self.header
        yield self.phase_strip
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield self.matrix
                yield self.gap_notes
                yield self.failure_list
            with Vertical(id="side", classes="-show-events"):
                yield self.services_panel
                yield self.findings_panel
                yield self.event_stream
        yield self.filter_box
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._title_panels()
        with self.app.batch_update():
            for name in self.evidence.phases:
                self._show_phase(name)
            self._refresh_matrix(all_rows=True)
            self.filter_box.display = False
            if not self.config.services:
                self.services_panel.add_class("-empty")
            self._refresh_header()
        self.failure_list.focus()
        self.set_interval(FLUSH_INTERVAL_S, self.feed.on_timer, name="flush rows")
        self.set_interval(1.0, self._tick, name="tick")

    def panel_widget(self, panel_id: str) -> Widget:
        return {"phases": self.phase_strip, "matrix": self.matrix,
                "failures": self.failure_list, "findings": self.findings_panel,
                "services": self.services_panel, "events": self.event_stream}[panel_id]

    def _title(self, panel_id: str, count: str = "") -> Text:
        return panel_title(panel_id, count, self.palette("key"))

    def _title_panels(self) -> None:
        """Border titles: the focus key as a key, then what the panel holds, counted."""
        phases = len(self.evidence.phase_names)
        gaps = self._titled_gaps = len(self.evidence.matrix.row_names())
        self.phase_strip.border_title = self._title("phases", f"{phases}")
        self.matrix.set_title(self._title("matrix", f"{gaps} × {phases}"))
        self.services_panel.border_title = self._title(
            "services", f"{len(self.config.services)}" if self.config.services else "")
        self.event_stream.border_title = self._title("events")
        self._title_findings()
        self.feed.retitle()

    def _title_findings(self) -> None:
        panel = self.findings_panel
        panel.border_title = self._title("findings", f"{panel.count:,}" if panel.count else "")

    def on_resize(self) -> None:
        self.claims_banner.set_compact(self.size.height < COMPACT_BELOW)
        wide = self.size.width >= 180
        self.failure_list.set_wide(wide)
        self.services_panel.set_wide(wide)

    def on_key(self, event: events.Key) -> None:
        self.feed.key_at = time.monotonic()

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
                self.feed.queue(change.failed, change.cleared)
            if message.flush or change.finished:
                self.feed.flush()
            self._refresh_header()
            lines = self.event_log.lines(message.events)
            if lines.run:
                self.event_stream.add_lines(lines.run)
            if lines.frames:
                self.event_stream.add_frames(lines.frames)
            for _, sample in change.samples:
                self.services_panel.show_sample(sample, self.clock())
                self._probe_answered(sample)
        if change.judgement_due:
            self.judge()

    def on_plan_ended(self, message: PlanEnded) -> None:
        gc.unfreeze()
        with self.app.batch_update():
            self.feed.flush()
            self._refresh_header()
            lines = self.event_log.pass_summaries()
            if lines:
                self.event_stream.add_lines(lines)
        self.judge()

    def on_git_info_read(self, message: GitInfoRead) -> None:
        self.header.git = message.info

    def _show_phase(self, name: str) -> None:
        self.phase_strip.show_phase(self.phase_view(self.evidence.phase(name)))

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
        matrix = self.matrix
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
        running = self.evidence.running
        matrix.show_rows(rows, running, {name: self.evidence.phase(name).collected
                                         for name in running})
        if len(order) != self._titled_gaps:
            self._title_panels()

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
            self.services_panel.tick(self.clock())

    # ------------------------------------------------------------------ the header

    def _refresh_header(self) -> None:
        header = self.header
        run, evidence, report = self.run_state, self.evidence, self.report
        header.verdict = verdict_word(run, evidence, report)
        header.elapsed_s = run.elapsed(self.clock())
        header.detail = header_detail(run, evidence, report, len(self.config.services))

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
            self.findings_panel.show_findings(self.findings)
            self._title_findings()
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
            self.claims_banner.show_broken(
                broken_claims(judged) if judged is not None else (),
                stale=over_time is not None and over_time.judged_is_old)
            self.gap_notes.show_notes(self.marks.all_notes)
            self._refresh_matrix(all_rows=True)
            self.failure_list.marks_changed()

    # ------------------------------------------------------------------ failures and filters

    @on(GapMatrix.CellChosen)
    def _filter_by_cell(self, message: GapMatrix.CellChosen) -> None:
        self.feed.gap = (message.gap, message.phase)
        self.feed.reset(to_top=True)
        self.failure_list.focus()

    @on(FailureList.FailureChosen)
    def _open_failure(self, message: FailureList.FailureChosen) -> None:
        if message.key == MORE_KEY:
            self.feed.reset()
            return
        result = self.evidence.failures.get(message.key)
        if result is not None:
            self.open_failure(result)

    def open_failure(self, result: TestResult) -> None:
        # Imported when first opened: its traceback highlighting (rich.syntax, pygments) is
        # a tenth of the imports before the first frame.
        from claimcheck.tui.widgets.detail import FailureDetailScreen

        self.app.push_screen(FailureDetailScreen(result, self.evidence.gaps_of(result),
                                                 self.redactor))

    @on(FindingsPanel.FindingChosen)
    def _open_finding(self, message: FindingsPanel.FindingChosen) -> None:
        self.open_finding(message.finding)

    def open_finding(self, finding: Finding) -> None:
        self.app.push_screen(FindingDetailScreen(finding, self.redactor))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(0.15, lambda: self.apply_filter(value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        self.failure_list.focus()

    def apply_filter(self, text: str) -> None:
        """Filter the failure list and the event stream by a case-insensitive substring; the
        cursor starts on the first match."""
        if text == self.feed.text:
            return
        self.feed.text = text
        with self.app.batch_update():
            self.feed.reset(to_top=True)
            self.event_stream.filter_text = text

    # ------------------------------------------------------------------ actions

    def action_filter(self) -> None:
        box = self.filter_box
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.filter_box
        if box.display:
            box.value = ""
            box.display = False
            self.apply_filter("")
            self.failure_list.focus()
        elif self.feed.text:
            self.apply_filter("")
        elif self.feed.gap is not None:
            self.feed.gap = None
            self.feed.reset(to_top=True)

    def action_toggle_pause(self) -> None:
        stream = self.event_stream
        stream.paused = not stream.paused

    def selected_failure(self) -> TestResult | None:
        key = self.failure_list.selected_key
        return self.evidence.failures.get(key) if key else None

    def focused_panel(self) -> Widget | None:
        """The panel the focus is in (a lane of the events panel counts as the panel)."""
        node = self.focused
        panels = {self.panel_widget(panel.id) for panel in PANELS}
        while node is not None and node is not self:
            if node in panels:
                return node  # type: ignore[return-value]
            node = node.parent  # type: ignore[assignment]
        return None

    def action_copy(self) -> None:
        """Copy what the focused panel highlights, as the screen shows it: one escaped line."""
        panel = self.focused_panel() or self.failure_list
        clip: Clip | None = getattr(panel, "clip", lambda: None)()
        if clip is None:
            name = next(p.label for p in PANELS if self.panel_widget(p.id) is panel)
            self.notify(f"nothing highlighted in the {name} to copy", severity="warning")
            return
        shown = clipboard_text(clip.text, self.redactor)
        self.app.copy_to_clipboard(shown)
        self.notify(shown, title=f"copied {clip.what}", timeout=4, markup=False)

    def action_focus_panel(self, number: int) -> None:
        panel = PANELS[number - 1]
        if panel.side:
            side = self.query_one("#side")
            side.remove_class(f"-show-{self._side}")
            self._side = panel.id
            side.add_class(f"-show-{panel.id}")
        widget = self.panel_widget(panel.id)
        if widget.focusable:
            widget.focus()
        else:  # a panel of parts (the events' lanes): its first part
            target = next((child for child in widget.query("*") if child.focusable), None)
            if target is not None:
                target.focus()

    def action_help(self) -> None:
        panels = [(str(number), panel.label, panel.shows)
                  for number, panel in enumerate(PANELS, 1)]
        self.app.push_screen(HelpScreen([b for b in self.BINDINGS if isinstance(b, Binding)],
                                        panels, self.PANEL_KEYS))

    # ------------------------------------------------------------------ probing now

    def action_probe_now(self) -> None:
        """Probe every service now; say so, and say what came back once every answer is in."""
        services = self.config.services
        if not services:
            self.notify("no services are configured", severity="warning")
            return
        self._probe_asked = {service.name: None for service in services}
        names = ", ".join(service.name for service in services)
        self.notify(clean(f"probing {len(services)} service"
                          f"{'s' if len(services) != 1 else ''}: {names}", self.redactor),
                    title="probing now", timeout=3, markup=False)
        if self._probe_timer is not None:
            self._probe_timer.stop()
        budget = max(service.timeout_s for service in services) * 2 + 5
        self._probe_timer = self.set_timer(budget, self._say_what_came_back)
        self.app.post_message(ProbeRequested())

    def _probe_answered(self, sample: ServiceSample) -> None:
        if sample.name in self._probe_asked and self._probe_asked[sample.name] is None:
            self._probe_asked[sample.name] = sample
            if all(answer is not None for answer in self._probe_asked.values()):
                self._say_what_came_back()

    def _say_what_came_back(self) -> None:
        """One toast: each service's status and, when not up, why."""
        asked, self._probe_asked = self._probe_asked, {}
        if self._probe_timer is not None:
            self._probe_timer.stop()
            self._probe_timer = None
        if not asked:
            return
        parts = []
        for name, sample in asked.items():
            if sample is None:
                parts.append(f"{name}: no answer yet")
            elif sample.status == "up":
                latency = (f" {sample.latency_ms:.0f} ms" if sample.latency_ms is not None
                           else "")
                parts.append(f"{name}: up{latency}")
            else:
                parts.append(f"{name}: {sample.status}"
                             + (f" ({sample.detail})" if sample.detail else ""))
        up = sum(1 for sample in asked.values() if sample is not None and sample.status == "up")
        severity = "information" if up == len(asked) else "warning"
        self.notify(clean("\n".join(parts), self.redactor),
                    title=f"probed: {up}/{len(asked)} up", severity=severity, timeout=8,
                    markup=False)

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
        if focused is self.matrix:
            phase = self.matrix.selected[1]
            if phase:
                return phase
        if focused is self.failure_list:
            result = self.selected_failure()
            if result is not None and result.phase in names:
                return result.phase
        phase = self.phase_strip.selected_phase
        return phase if phase in names else None

    def system_commands(self) -> Iterator[SystemCommand]:
        """Every shown key as a command-palette entry, and a "Focus <panel>" per panel."""
        for binding in self.BINDINGS:
            if (isinstance(binding, Binding) and binding.show
                    and binding.action not in ("app.quit", "app.screenshot")):  # Textual's own
                yield SystemCommand(binding.description.capitalize(), binding.tooltip,
                                    lambda action=binding.action: self.run_action(action))
        for number, panel in enumerate(PANELS, 1):
            yield SystemCommand(f"Focus {panel.id}", f"key {number}",
                                lambda n=number: self.action_focus_panel(n))
