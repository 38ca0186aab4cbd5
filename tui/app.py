"""The command center's App: configuration, signals, quitting, and the workers over its engine.

The app runs the engine it is given (`tui.engine.Engine`: plan, probe, stream, assemble) and
folds everything it reports into one live model (`collectors.live.LiveEvidence`); the
`CommandCenter` screen draws that model. One door for evidence, used by the real workers, the
tests and the benchmark alike:

    engine event -> ingest -> LiveEvidence.fold -> (~10 Hz) EvidenceArrived -> screen -> widgets

Test results and WebSocket frames are high-rate: they are folded at once but handed to the
screen as one batch per frame; any other event first hands over what is pending, so the screen
sees everything in order (a phase never finishes before its last results).

Every plan of phases is a run in the history, recorded as `--report` records one
(`tui/over_time.py`: the same `RunRecorder`, `--history PATH` / `--no-history` honoured), and
judged over time before the screen shows it: what changed, vanished and flaky tests, claims.
`--open FILE` gives the app a finished report instead (`tui.engine.report_engine`): nothing
runs, nothing is recorded, and `q` exits with the report's exit code.

Signals end it the way `q` does (exit 2), and a watchdog thread ends the process if that quit
cannot finish: when the terminal is gone (a closed tmux window, a dropped SSH session), every
write to it fails, Textual's writer thread dies, and the event loop blocks on its full queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterable, Sequence

from claimcheck.collectors.config import Config, PhaseConfig, ServiceConfig
from claimcheck.collectors.gitinfo import read_git_info
from claimcheck.collectors.live import Change, LiveEvidence
from claimcheck.collectors.models import (
    PhaseFinished,
    PhaseRun,
    RunReport,
    ServiceSample,
    StreamEvent,
    TestFinished,
)
from claimcheck.collectors.phase_command import run_started_at
from claimcheck.collectors.recording import history_location
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.engine import Engine, live_engine
from claimcheck.tui.messages import (
    EvidenceArrived,
    GitInfoRead,
    PlanEnded,
    ProbeRequested,
    RerunRequested,
)
from claimcheck.tui.options import Options
from claimcheck.tui.over_time import OverTime, Recording
from claimcheck.tui.run_state import RunState
from claimcheck.tui.screen import CommandCenter
from claimcheck.tui.signals import (
    HANGUP_DEADLINE_S,
    INTERRUPTING_SIGNALS,
    QUIT_DEADLINE_S,
    Watchdog,
    kill_what_we_started,
)
from claimcheck.tui.widgets._text import clean
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

FLUSH_INTERVAL_S = 0.1  # evidence is handed to the screen at most this often
QUIT_GRACE_S = 2.0  # at most this long for cancelled probes and streams to close their sockets
FIRST_FRAME_WAIT_S = 2.0  # a plan waits this long at most for the first frame (see _run_plan)
FIRST_PROBE_WAIT_S = 10.0  # beyond the probes' own timeouts, for a required service's first probe
OPENED_RUNS_NOTHING = ("this report was opened from a file: nothing runs here; run claimcheck "
                       "in the project to run its phases and probe its services")

Clock = Callable[[], float]


class ClaimcheckApp(App[int]):
    """Runs the phases, probes the services, follows the streams, and shows it side by side."""

    CSS_PATH = "app.tcss"
    TITLE = "claimcheck"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (180, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    ESCAPE_TO_MINIMIZE = False
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]

    def __init__(
        self,
        config: Config,
        options: Options | None = None,
        *,
        engine: Engine | None = None,
        autostart: bool = True,
        clock: Clock = time.time,
        read_git: bool = True,
        project_name: str | None = None,
        started_at: float | None = None,
        handle_signals: bool = False,
        opened: RunReport | None = None,
    ) -> None:
        """`options` None: a bare app (tests, benchmarks) that records no history. `opened`: a
        finished report to show (`--open`), with `engine` replaying it."""
        super().__init__()
        self.config = config
        # Without options nothing says where the project is: record nothing.
        self.options = options or Options(project=config.root, no_history=True)
        self.engine = engine if engine is not None else live_engine()
        self.opened = opened
        self.autostart = autostart
        self.clock = clock
        self.read_git = read_git
        self.handle_signals = handle_signals
        self.redactor = Redactor(config.secrets)
        self.evidence = LiveEvidence.for_config(config, clock)
        self.run_state = RunState(started_at=clock() if started_at is None else started_at)
        self.over_time = OverTime(
            config, history_location(config.root, self.options.history, self.options.no_history),
            warn=self._warn_from_thread, opened=opened)
        screen = CommandCenter
        if opened is not None:
            from claimcheck.tui.opened import OpenedCommandCenter

            screen = OpenedCommandCenter
        self.command_center = screen(
            config, self.evidence, self.run_state, assemble=self._assemble,
            redactor=self.redactor, project_name=project_name or config.root.name, clock=clock,
            over_time=self.over_time)
        if handle_signals:  # the real terminal (not a test's): its size is known now
            self.command_center.update_classes(breakpoint_classes(
                shutil.get_terminal_size(), self.HORIZONTAL_BREAKPOINTS,
                self.VERTICAL_BREAKPOINTS), update=False)
        self._pending: list[object] = []  # events folded but not yet handed to the screen
        self._change = Change()
        self._generation = 0  # events of a plan that was replaced are dropped
        self._phase_worker: Worker[None] | None = None
        self._probing: set[str] = set()
        self._probe_timers: dict[str, Any] = {}
        self._sampled = {service.name: asyncio.Event() for service in config.services}
        self._first_frame = asyncio.Event()  # set on Textual's Ready: the first frame is out
        self._quitting = False
        self._signal_quit: asyncio.Task[None] | None = None
        self._signals_before: dict[int, Any] = {}
        self._watchdog = Watchdog()
        self._main_loop: asyncio.AbstractEventLoop | None = None

    def get_default_screen(self) -> Screen[Any]:
        return self.command_center

    @property
    def report(self) -> RunReport | None:
        """The latest judgement of the evidence (None until the first)."""
        return self.command_center.report

    def on_mount(self) -> None:
        self._main_loop = asyncio.get_running_loop()
        self.set_interval(FLUSH_INTERVAL_S, self._hand_over, name="flush")
        for warning in self.config.warnings:
            self.notify(clean(warning, self.redactor), severity="warning", markup=False)
        if self.read_git:
            self._read_git()
        if self.opened is not None:  # the file's own commit, not this checkout's
            from claimcheck.tui.opened import opened_git

            self.command_center.post_message(GitInfoRead(opened_git(self.opened)))
        if self.handle_signals:
            self._take_ending_signals()
        if self.autostart:
            self.start_services()
            # The first phase may already run (`launch` started it ahead): the plan takes it
            # over once the first frame is out (`_run_plan`), and a quit from then on stops it
            # as a running phase; one before that ends it with the app (`abandon_started`).
            self.start_phases(self._selected_phases())

    def on_ready(self) -> None:
        self._first_frame.set()

    # ------------------------------------------------------------------ evidence in

    def ingest(self, event: object) -> None:
        """Take one engine event (phase event, ServiceSample or StreamEvent).

        Folded into the live model at once; handed to the screen with the next frame, or now
        for anything but a test result or a stream frame.
        """
        self.evidence.fold(event, self._change)
        self._pending.append(event)
        if isinstance(event, PhaseFinished):  # stored as the live model holds it (merged)
            self.over_time.phase_finished(self.evidence.phase(event.phase).run)
        if isinstance(event, ServiceSample) and event.name in self._sampled:
            self._sampled[event.name].set()
        if not isinstance(event, (TestFinished, StreamEvent)):
            self._hand_over()

    def flush(self) -> None:
        """Hand everything over and have it drawn now, failure list included (tests, the
        benchmark and the end of a plan)."""
        self._hand_over(flush=True)

    def _hand_over(self, flush: bool = False) -> None:
        if not (self._pending or self._change or flush):
            return
        events, self._pending = tuple(self._pending), []
        change, self._change = self._change, Change()
        self.command_center.post_message(EvidenceArrived(events, change, flush))

    def _ingest_for(self, generation: int) -> Callable[[object], None]:
        """An on_event for one plan; events of a plan that was replaced are dropped."""

        def on_event(event: object) -> None:
            if generation == self._generation:
                self.ingest(event)

        return on_event

    # ------------------------------------------------------------------ over time

    def _assemble(self, config: Config, runs: Sequence[PhaseRun],
                  samples: Sequence[ServiceSample], started_at: float, *,
                  interrupted: bool = False, interrupted_at: float | None = None,
                  now: float | None = None) -> RunReport:
        """The engine's judgement, then the judgement over time (the screen's judge thread):
        the first judgement of a finished plan records it in the history."""
        report = self.engine.assemble(config, runs, samples, started_at, interrupted=interrupted,
                                      interrupted_at=interrupted_at, now=now)
        return self.over_time.judge(report, runs)

    def _scope(self, names: Sequence[str], extra_args: Sequence[str]) -> str:
        """"full" for every configured phase run afresh (what verify calls the last full run);
        a rerun of some phases, or of what failed, is "partial"."""
        every = [phase.name for phase in self.config.phases]
        if extra_args or self.options.phases or sorted(names) != sorted(every):
            return "partial"
        return "full"

    def _start_recording(self, names: Sequence[str], scope: str,
                         left: tuple[list[PhaseRun], list[ServiceSample]]) -> None:
        replaced = self.over_time.start_plan(names, scope, self.run_state.started_at)
        if replaced is not None:
            self._record_in_background(replaced, *left)
        recording = self.over_time.recording
        if recording is not None:
            self._read_baseline(recording, self._generation)

    @work(thread=True, group="history", exit_on_error=False)
    def _record_in_background(self, recording: Recording, runs: list[PhaseRun],
                              samples: list[ServiceSample]) -> None:
        self._record_unended(recording, runs, samples)

    def _record_unended(self, recording: Recording, runs: list[PhaseRun],
                        samples: list[ServiceSample]) -> None:
        """Blocking: record a plan that was replaced or stopped by a quit (or that ended and
        whose judgement has not recorded it yet) with the evidence it left."""
        now = self.clock()
        stopped = not recording.ended
        final = recording.final
        if final is not None:  # it ended: its own runs, whatever a newer plan did since
            runs = [final.get(run.name, run) for run in runs]
        report = self.engine.assemble(self.config, runs, samples, recording.started_at,
                                      interrupted=stopped, interrupted_at=now if stopped else None,
                                      now=now)
        self.over_time.finish_unended(recording, report)

    @work(thread=True, group="history", exit_on_error=False)
    def _read_baseline(self, recording: Recording, generation: int) -> None:
        baseline = self.over_time.read_baseline(recording)

        def show() -> None:
            if generation == self._generation and recording is self.over_time.recording:
                self.over_time.baseline = baseline
                self.command_center.show_over_time()

        self.call_from_thread(show)

    def _warn_from_thread(self, text: str) -> None:
        """The history's warnings come from its thread: a notification on the loop, handed
        over without waiting (a thread blocked on a loop that is shutting down never ends)."""
        loop = self._main_loop
        if loop is None:
            return
        notify = functools.partial(self.notify, clean(text, self.redactor), title="history",
                                   severity="warning", markup=False, timeout=10)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody left to tell
            loop.call_soon_threadsafe(notify)

    def action_show_history(self) -> None:
        from claimcheck.tui.widgets.history_view import HistoryScreen

        self.push_screen(HistoryScreen(self.over_time, lambda: self.report, self.redactor))

    def action_show_map(self) -> None:
        from claimcheck.tui.widgets.map_view import MapScreen

        self.push_screen(MapScreen(self.config, lambda: self.report, self.redactor))

    @work(thread=True, group="git", exit_on_error=False)
    def _read_git(self) -> None:
        self.command_center.post_message(GitInfoRead(read_git_info(self.config.root)))

    # ------------------------------------------------------------------ phases

    def _selected_phases(self) -> list[PhaseConfig]:
        if self.options.services_only:
            return []
        from claimcheck.collectors.session import select_phases

        return list(select_phases(self.config, self.options.phases or None))

    def on_rerun_requested(self, message: RerunRequested) -> None:
        if self.opened is not None:
            self.notify(OPENED_RUNS_NOTHING, severity="warning", markup=False)
            return
        if message.phases is None:
            self.start_phases(self._selected_phases())
        else:
            plan = [self.config.phase(name) for name in message.phases]
            self.start_phases(plan, extra_args=("--lf",) if message.failed_only else ())

    def start_phases(self, plan: Sequence[PhaseConfig], extra_args: Sequence[str] = ()) -> None:
        """Run `plan` in order, replacing (and first stopping) whatever plan runs now.

        With `extra_args` (`--lf`) each phase's results are kept, and the rerun's are laid over
        them by node id.
        """
        if self._quitting or not plan:
            return
        self._generation += 1
        previous = self._phase_worker
        # What a plan that never ended leaves, before the new plan forgets it: it is recorded.
        left = (self.evidence.runs(unfinished=True), self.evidence.service_samples())
        names = [phase.name for phase in plan]
        change = self.evidence.plan(names, merge=bool(extra_args))
        self._change.update(change)
        everything = {phase.name for phase in self._selected_phases()}
        # A first phase started ahead (`launch`) is taken over by this plan: its time counts.
        now = run_started_at(self.clock(), names[0])
        self.run_state.begin(names, now, failed_only=bool(extra_args),
                             partial=bool(extra_args) or set(names) != everything)
        if self.opened is not None:
            self.run_state.started_at = self.opened.started_at
        self.command_center.report = None
        self._start_recording(names, self._scope(names, extra_args), left)
        self._hand_over()
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
        # The runner's first step imports the record's modules (40 ms): after the first frame,
        # not before it. A first phase started ahead runs meanwhile; its output waits in files.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_FRAME_WAIT_S):
                await self._first_frame.wait()
        try:
            await self.engine.plan(self.config, plan, self._ingest_for(generation),
                                   required=self._first_samples, extra_args=extra_args,
                                   force=self.options.force)
        finally:
            if generation == self._generation:
                self.call_later(self._plan_ended)

    def _plan_ended(self) -> None:
        state = self.run_state
        state.running = False
        state.finished_at = self.clock()
        if self.opened is not None:
            state.finished_at = self.opened.started_at + self.opened.duration_s
        if any(live.status == "interrupted" for live in self.evidence.phases.values()
               if live.run is not None):
            state.interrupted = True
        self.over_time.end_plan(self.evidence.runs())  # the judgement of these records the run
        self.flush()
        self.command_center.post_message(PlanEnded(state.interrupted))

    async def _first_samples(self, names: Sequence[str]) -> Iterable[ServiceSample]:
        """The required services' latest samples, waiting (bounded) for each one's first."""
        waits = [event.wait() for name in names
                 if (event := self._sampled.get(name)) is not None and not event.is_set()]
        if waits:
            budget = max((s.timeout_s * 2 + 2 for s in self.config.services), default=5.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(budget + FIRST_PROBE_WAIT_S):
                    await asyncio.gather(*waits)
        return [self.evidence.samples[name] for name in names if name in self.evidence.samples]

    async def stop_phases(self) -> None:
        """Cancel the running plan and wait until its runner has killed its processes."""
        worker = self._phase_worker
        if worker is None or worker.state not in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        worker.cancel()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await worker.wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "phases" or event.state != WorkerState.ERROR:
            return
        error = worker.error
        self.notify(clean(f"{worker.name}: {type(error).__name__}: {error}", self.redactor),
                    title="claimcheck internal error", severity="error", markup=False,
                    timeout=15)
        change = Change()
        for live in self.evidence.phases.values():
            if live.status == "running":
                live.status, live.note = "crashed", "claimcheck's runner failed"
                change.phases.add(live.name)
        self.run_state.running = False
        self._change.update(change)
        self._hand_over()

    # ------------------------------------------------------------------ services

    def start_services(self) -> None:
        for service in self.config.services:
            self._probe_service(service)
            if service.stream:
                self.run_worker(self.engine.stream(service, self.ingest, self.redactor),
                                group="streams", exit_on_error=False,
                                name=f"stream {service.name}")

    def on_probe_requested(self, message: ProbeRequested) -> None:
        if self.opened is not None:
            self.notify(OPENED_RUNS_NOTHING, severity="warning", markup=False)
            return
        for service in self.config.services:
            timer = self._probe_timers.pop(service.name, None)
            if timer is not None:
                timer.stop()
            self._probe_service(service)

    def _probe_service(self, service: ServiceConfig) -> None:
        """Probe now unless a probe of it is in flight; the next is armed when this one ends."""
        if service.name in self._probing or self._quitting:
            return
        self._probing.add(service.name)
        self.run_worker(self._probe_once(service), group="probes", exit_on_error=False,
                        name=f"probe {service.name}")

    async def _probe_once(self, service: ServiceConfig) -> None:
        try:
            for sample in await self.engine.probe([service], self.redactor):
                self.ingest(sample)
        finally:
            self._probing.discard(service.name)
            if not self._quitting:
                self._probe_timers[service.name] = self.set_timer(
                    service.interval_s, lambda: self._probe_service(service))

    def probe_scheduled(self, name: str) -> bool:
        """A next probe of the service is armed (it re-arms after each probe completes)."""
        return name in self._probe_timers

    # ------------------------------------------------------------------ quitting and signals

    def _take_ending_signals(self) -> None:
        """SIGINT, SIGTERM and SIGHUP (a closed terminal) quit as `q` does, with exit code 2.

        Taken with Python-level handlers, not the event loop's, because a terminal that is gone
        can block the loop itself: the handler only arms the watchdog (which ends the process
        after QUIT_DEADLINE_S, HANGUP_DEADLINE_S for SIGHUP) and asks the loop to quit.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        self._watchdog.start()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            hangup = signum == getattr(signal, "SIGHUP", None)
            self._watchdog.arm(HANGUP_DEADLINE_S if hangup else QUIT_DEADLINE_S)
            loop.call_soon_threadsafe(self._on_ending_signal)

        for name in INTERRUPTING_SIGNALS:
            number = getattr(signal, name, None)
            if number is not None:
                self._signals_before[number] = signal.signal(number, on_signal)

    def _give_back_signals(self) -> None:
        for number, handler in self._signals_before.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(number, handler)
        self._signals_before.clear()

    def _on_ending_signal(self) -> None:
        self.run_state.interrupted = True
        if self._quitting:
            return
        self._signal_quit = asyncio.get_running_loop().create_task(self.action_quit())

    async def action_quit(self) -> None:
        """Stop every phase (the runner kills its process tree), then leave."""
        if self._quitting:
            return
        self._quitting = True
        if self.run_state.running:
            self.run_state.interrupted = True
        await self.stop_phases()
        recording = self.over_time.recording
        if recording is not None and not recording.finished:
            # The plan ended (its judgement may be under way) or was stopped by this quit:
            # either way the run is recorded before claimcheck leaves.
            left = (self.evidence.runs(unfinished=True), self.evidence.service_samples())
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._record_unended, recording, *left)
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
        await asyncio.to_thread(kill_what_we_started)
        self.exit(self.exit_code_now())

    def exit_code_now(self) -> int:
        if self.opened is not None and self._signal_quit is None:
            return self.opened.exit_code  # what the file says, judged, whatever is on screen
        if self.run_state.interrupted:
            return ExitCode.INTERRUPTED
        if self.report is not None:
            return self.report.exit_code
        return ExitCode.NO_EVIDENCE

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """`S` and the palette's "Screenshot": saved where a person finds it, the path said
        (Textual's default, ~/Downloads, is missing on most servers). In a browser (`serve`)
        the browser gets the file, as Textual does it."""
        if self.is_web:
            return super().deliver_screenshot(filename, path, time_format)
        from claimcheck.tui.screenshot import save_svg, screenshot_dir

        folder = screenshot_dir() if path is None else Path(path)
        try:
            saved = save_svg(self.export_screenshot(), self.command_center.project_name,
                             folder=folder)
        except OSError as error:
            self.notify(clean(f"could not save a screenshot in {folder}: "
                              f"{error.strerror or error}", self.redactor),
                        title="screenshot", severity="error", markup=False, timeout=10)
            return None
        self.notify(clean(str(saved), self.redactor), title="screenshot saved", markup=False,
                    timeout=8)
        return str(saved)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, CommandCenter):
            yield from screen.system_commands()

    async def on_unmount(self) -> None:
        self._generation += 1
        self._give_back_signals()
        await asyncio.to_thread(kill_what_we_started)


def breakpoint_classes(size: tuple[int, int], horizontal: Sequence[tuple[int, str]],
                       vertical: Sequence[tuple[int, str]]) -> dict[str, bool]:
    """The breakpoint classes a screen of `size` gets on its first resize (Textual's rule: the
    largest breakpoint each dimension reaches), given before the screen is first styled: the
    resize then changes nothing, where it restyled every widget (a third of the time to the
    first frame). Textual's driver reads the size with the same `shutil.get_terminal_size`."""
    classes = {name: False for _, name in (*horizontal, *vertical)}
    for dimension, points in zip(size, (horizontal, vertical)):
        reached = [(at, name) for at, name in points if dimension >= at]
        if reached:
            classes[max(reached)[1]] = True
    return classes


def run_to_exit(app: ClaimcheckApp) -> int:
    """Run the app; its exit code, and nothing it started left running."""
    try:
        result = app.run()
    finally:
        kill_what_we_started()
    if isinstance(result, int):
        return result
    return app.exit_code_now()
