"""`claimcheck --report`: the collectors under `asyncio.run`, a report on stdout, an exit code.

Never imports Textual. Progress goes to stderr only when stderr is a terminal, so CI logs and
piped output stay clean; it reads the same live model as the command center. The report is
written as soon as the phases are judged; only then does claimcheck wait for pytest processes
still tearing down after their session ended (stragglers), so the report is not late by
pytest's teardown and no pytest outlives claimcheck.

Ctrl-C, SIGINT, SIGTERM and SIGHUP are taken on the event loop: the first stops the run, and
the report is still judged and written, with the interrupted phase and every result it
streamed; a second one only hurries the clean-up (what claimcheck started is killed at once).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TextIO

from claimcheck.collectors.config import Config, ConfigError, load_config
from claimcheck.collectors.files import destination_problem, write_atomic
from claimcheck.collectors.phase_command import abandon_started, start_first_ahead
from claimcheck.collectors.secrets import Redactor, escape_line
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.cli import color_enabled
from claimcheck.tui.options import Options
from claimcheck.tui.signals import delivered_on_loop

if TYPE_CHECKING:
    import asyncio

    from claimcheck.collectors.live import LiveEvidence
    from claimcheck.collectors.models import PhaseEvent, RunReport, ServiceSample
    from claimcheck.collectors.stragglers import Straggler

# Until the first phase's pytest is spawned, `--report` loads the config and the runner and
# nothing else: the live model when the first event arrives, the history on its own thread
# once the phase has started, the report's writer (rich, for text) while the phase runs
# (`_prepare_writers`), so none of them is in series before pytest starts or after it ends.
COUNT_WORDS = ("error", "failed", "passed", "skipped", "xfailed", "xpassed")


class Progress:
    """One status line on stderr, read from the live model, rewritten at most ten times a second."""

    def __init__(self, stream: TextIO, redactor: Redactor,
                 live: Callable[[], LiveEvidence]) -> None:
        self.stream = stream
        self.redactor = redactor
        self.live_model = live
        self.last_draw = 0.0

    @property
    def live(self) -> LiveEvidence:
        return self.live_model()

    def __call__(self, event: PhaseEvent) -> None:
        from claimcheck.collectors.models import (
            CollectionErrored,
            PhaseFinished,
            PhaseStarted,
            TestFinished,
            TestsCollected,
        )

        if isinstance(event, PhaseStarted):
            self._line(f"{event.phase}: starting", force=True)
        elif isinstance(event, (TestFinished, TestsCollected, CollectionErrored)):
            self._line(f"{event.phase}: {self.counts(event.phase)}")
        elif isinstance(event, PhaseFinished):
            run = event.run
            reason = f" ({run.reason})" if run.reason else ""
            self._line(f"{run.name}: {run.status}{reason} {self.counts(run.name, final=True)}",
                       force=True)
            self.stream.write("\n")
            self.stream.flush()

    def service(self, sample: ServiceSample) -> None:
        self._line(f"service {sample.name}: {sample.status} - {sample.detail}", force=True)
        self.stream.write("\n")

    def counts(self, phase: str, final: bool = False) -> str:
        """"12/40, 1 failed, 11 passed": the phase's counts as the strip and the report say."""
        live = self.live.phase(phase)
        counts = live.counts
        parts = [f"{live.done} done" if final else f"{live.done}/{live.total}"]
        parts += [f"{getattr(counts, word)} {word}" for word in COUNT_WORDS
                  if getattr(counts, word)]
        return ", ".join(parts)

    def _line(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        text = escape_line(self.redactor(text))  # one status line, whatever a test is called
        self.stream.write("\r\x1b[2K" + text[:200])
        self.stream.flush()


def render(report: RunReport, config: Config, fmt: str, *, color: bool) -> str:
    from claimcheck.collectors.report import render as render_report

    return render_report(report, fmt, redactor=Redactor(config.secrets), color=color)


def run_headless(options: Options) -> int:
    try:
        config = load_config(options.project, options.config)
    except ConfigError as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    redactor = Redactor(config.secrets)
    for warning in config.warnings:
        print(f"claimcheck: warning: {warning}", file=sys.stderr)
    problem = check_destinations(options)
    if problem:  # before the run, not after it: a long run's report must have somewhere to go
        print(f"claimcheck: {problem}", file=sys.stderr)
        return ExitCode.USAGE

    live = LazyLive(config)
    progress = Progress(sys.stderr, redactor, live) if sys.stderr.isatty() else None
    start_first_ahead(config, options.phases, options.services_only)
    try:
        import asyncio  # while the first phase's pytest starts

        return asyncio.run(_run_and_report(config, options, progress, live))
    except ConfigError as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:  # before the event loop took over the signals, or after
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: exit 3, not a traceback
        from claimcheck.collectors.pytest_run import EnvironmentProblem

        if isinstance(error, EnvironmentProblem):
            print(f"claimcheck: {error}", file=sys.stderr)
            return ExitCode.USAGE
        from claimcheck.tui.guard import internal_error

        return internal_error(error)
    finally:
        abandon_started()  # a run stopped before its first phase took the process over


class _Stopper:
    """The first signal stops the run (cancels the task gathering evidence); any later one
    hurries the clean-up by killing what claimcheck started at once, and never cancels again,
    so the judgement and the writing of the report are never cut short."""

    def __init__(self, task: asyncio.Task[int]) -> None:
        self.task = task
        self.signals = 0

    def __call__(self, signum: int) -> None:
        self.signals += 1
        if self.signals == 1:
            self.task.cancel()
        else:
            from claimcheck.collectors.procs import kill_descendants

            kill_descendants(timeout=0)


class LazyLive:
    """The run's live model, built when first asked for: by the first event, which arrives
    once the first phase's pytest has been spawned (`run_evidence` calls it then)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.value: LiveEvidence | None = None

    def __call__(self) -> LiveEvidence:
        if self.value is None:
            from claimcheck.collectors.live import LiveEvidence

            self.value = LiveEvidence.for_config(self.config)
        return self.value


def writer_modules(options: Options) -> tuple[str, ...]:
    """The modules of the report writers this run will use, to import while it runs."""
    from claimcheck.collectors.report import WRITERS

    formats = dict.fromkeys([options.format, *(fmt for fmt, _ in options.writes)])
    return tuple(f"claimcheck.collectors.report.{WRITERS[fmt].target.partition(':')[0]}"
                 for fmt in formats if fmt in WRITERS)


async def _run_and_report(config: Config, options: Options, progress: Progress | None,
                          live: LazyLive) -> int:
    """Gather and judge the evidence, write the report, then wait for the stragglers."""
    import asyncio

    from claimcheck.collectors.recording import (
        RunRecorder,
        fan_out,
        history_location,
        run_scope,
    )
    from claimcheck.collectors.session import provenance_once, run_evidence

    # History: each finished phase is stored as it ends; the report is judged over time
    # (what changed, vanished and flaky tests, claims) before it is written. The recorder
    # starts with the first event (the first phase's pytest is then on its way), and shares
    # the one reading of git with the report.
    provenance = provenance_once(config)
    recorder = RunRecorder(
        config, history_location(config.root, options.history, options.no_history),
        scope=run_scope(options.phases, options.services_only),
        warn=lambda text: print(f"claimcheck: warning: {text}", file=sys.stderr),
        provenance=provenance)
    task = asyncio.current_task()
    assert task is not None
    with delivered_on_loop(asyncio.get_running_loop(), _Stopper(task)):
        try:
            report = await run_evidence(
                config,
                phases=options.phases or None,
                on_event=fan_out(progress, recorder.on_event),
                on_service=progress.service if progress else None,
                force=options.force,
                services_only=options.services_only,
                live=live,
                provenance=provenance,
                preload=writer_modules(options),
            )
            report = await asyncio.to_thread(recorder.finish, report)
        except BaseException:
            from claimcheck.collectors.stragglers import kill_stragglers

            await asyncio.to_thread(recorder.close)
            await kill_stragglers()  # no report to stand for them: end them now
            raise
        if progress is not None:
            progress.stream.write("\r\x1b[2K")
        if report.interrupted_at is not None:
            from claimcheck.collectors.report.common import interruption_text

            print(f"claimcheck: {interruption_text(report)}; the report keeps everything "
                  "gathered until then", file=sys.stderr)
        if options.services_only:
            # Nothing was meant to run: a matrix of "no evidence" rows (and its legend) would
            # only say so at length, in every format.
            from dataclasses import replace  # loaded by now (models); not before the spawn

            report = replace(report, gaps=())
        code = write_outputs(report, config, options)
        from claimcheck.collectors.stragglers import wait_for_stragglers

        try:
            stragglers = await wait_for_stragglers()
        except asyncio.CancelledError:
            # Ctrl-C while pytest tears down: the stragglers are killed, and the report already
            # written stands, so its exit code does too.
            task.uncancel()
            return code
    for straggler in stragglers:
        if straggler.contradicts_session:
            print(f"claimcheck: warning: {straggler_note(straggler)}", file=sys.stderr)
    return code


def straggler_note(straggler: Straggler) -> str:
    """Why a finished phase's pytest ended otherwise than its session said; the report keeps
    the session's result, because every test result was final when the session ended."""
    what = ("was still tearing down long after its session ended and was killed"
            if straggler.killed else f"exited with {straggler.returncode} in its teardown")
    return (f"phase {straggler.phase}: pytest (pid {straggler.pid}) {what}; the report keeps its "
            f"session's exit status {straggler.session_exit}")


def check_destinations(options: Options) -> str | None:
    """The first problem with `--output` and `--write` destinations, or None: a folder that is
    missing or read-only, a path that is a folder, one path given twice."""
    destinations = [(f"--write {fmt}={path}", path) for fmt, path in options.writes]
    if options.output is not None:
        destinations.append((f"--output {options.output}", options.output))
    seen: dict[Path, str] = {}
    for option, path in destinations:
        key = Path(os.path.abspath(path))
        if key in seen:
            return f"{option}: {path} is also given as {seen[key]}; expected one path per report"
        seen[key] = option
        problem = destination_problem(path)
        if problem:
            return f"{option}: cannot write {path}: {problem}"
    return None


def write_outputs(report: RunReport, config: Config, options: Options) -> int:
    """Write every requested format, then the main one to its file or stdout; the exit code.

    Destinations were checked before the run; should a write still fail (a full disk, a folder
    removed meanwhile), every other output is still written, the report goes to stdout too, so
    the run's evidence is never lost, and the exit code stays the verdict's, unless the verdict
    is green: a green exit must mean everything asked for was done, so that one is 4.
    """
    failures: list[str] = []
    for fmt, path in options.writes:
        try:
            write_atomic(path, render(report, config, fmt, color=False))
        except OSError as error:
            failures.append(f"cannot write {path}: {error.strerror or error}")

    to_terminal = options.output is None
    text = render(report, config, options.format,
                  color=options.format == "text" and to_terminal and color_enabled(sys.stdout))
    if options.output is not None:
        try:
            write_atomic(options.output, text)
        except OSError as error:
            failures.append(f"cannot write {options.output}: {error.strerror or error}")
        else:
            if sys.stderr.isatty():
                print(f"claimcheck: {report.verdict}: report written to {options.output}",
                      file=sys.stderr)
    if options.output is None or failures:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    if not failures:
        return report.exit_code
    code = report.exit_code if report.exit_code != ExitCode.GREEN else ExitCode.USAGE
    for failure in failures:
        print(f"claimcheck: {failure}; the report is on stdout; verdict {report.verdict} "
              f"(exit {int(report.exit_code)}), exiting {int(code)}", file=sys.stderr)
    return code
