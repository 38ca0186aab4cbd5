"""`claimcheck --report`: the collectors under `asyncio.run`, a report on stdout, an exit code.

Never imports Textual. Progress goes to stderr only when stderr is a terminal, so CI logs and
piped output stay clean. The report is written as soon as the phases are judged; only then does
claimcheck wait for pytest processes still tearing down after their session ended (stragglers),
so the report is not late by pytest's teardown and no pytest outlives claimcheck.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from pathlib import Path
from typing import TextIO

from claimcheck.collectors.config import Config, ConfigError, load_config
from claimcheck.collectors.files import destination_problem, write_atomic
from claimcheck.collectors.models import (
    CollectionErrored,
    PhaseEvent,
    PhaseFinished,
    PhaseStarted,
    RunReport,
    ServiceSample,
    TestFinished,
    TestsCollected,
)
from claimcheck.collectors.pytest_run import (
    EnvironmentProblem,
    Straggler,
    kill_stragglers,
    wait_for_stragglers,
)
from claimcheck.collectors.report import render as render_report
from claimcheck.collectors.secrets import Redactor, escape_line
from claimcheck.collectors.session import run_evidence, test_gaps
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.cli import color_enabled
from claimcheck.tui.options import Options


class Progress:
    """One status line on stderr, rewritten at most ten times a second."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redactor = redactor
        self.phase = ""
        self.collected = 0
        self.outcomes: dict[str, int] = {}
        self.last_draw = 0.0

    def __call__(self, event: PhaseEvent) -> None:
        if isinstance(event, PhaseStarted):
            self.phase, self.collected, self.outcomes = event.phase, 0, {}
            self._line(f"{event.phase}: starting", force=True)
        elif isinstance(event, TestsCollected):
            self.collected += event.count
        elif isinstance(event, TestFinished):
            outcome = event.result.outcome
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            self._line(self._counts())
        elif isinstance(event, CollectionErrored):
            self.outcomes["collection error"] = self.outcomes.get("collection error", 0) + 1
        elif isinstance(event, PhaseFinished):
            run = event.run
            reason = f" ({run.reason})" if run.reason else ""
            self._line(f"{run.name}: {run.status}{reason} {self._counts(final=True)}", force=True)
            self.stream.write("\n")
            self.stream.flush()

    def service(self, sample: ServiceSample) -> None:
        self._line(f"service {sample.name}: {sample.status} - {sample.detail}", force=True)
        self.stream.write("\n")

    def _counts(self, final: bool = False) -> str:
        done = sum(v for k, v in self.outcomes.items() if k != "collection error")
        parts = [f"{done}/{self.collected}" if not final else f"{done} done"]
        parts += [f"{count} {name}" for name, count in sorted(self.outcomes.items())]
        return f"{self.phase}: " + ", ".join(parts) if not final else ", ".join(parts)

    def _line(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        text = escape_line(self.redactor(text))  # one status line, whatever a test is called
        self.stream.write("\r\x1b[2K" + text[:200])
        self.stream.flush()


def render(report: RunReport, config: Config, fmt: str, *, color: bool) -> str:
    return render_report(report, fmt, redactor=Redactor(config.secrets),
                         gaps_of=test_gaps(config), color=color)


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

    progress = Progress(sys.stderr, redactor) if sys.stderr.isatty() else None
    try:
        return asyncio.run(_run_and_report(config, options, progress))
    except (ConfigError, EnvironmentProblem) as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("claimcheck: interrupted before any evidence was gathered", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: exit 3, not a traceback
        print(f"claimcheck: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        if os.environ.get("CLAIMCHECK_DEBUG"):
            traceback.print_exc()
        else:
            print("claimcheck: set CLAIMCHECK_DEBUG=1 to see the traceback", file=sys.stderr)
        return ExitCode.INTERNAL


async def _run_and_report(config: Config, options: Options, progress: Progress | None) -> int:
    """Gather and judge the evidence, write the report, then wait for the stragglers."""
    try:
        report = await run_evidence(
            config,
            phases=options.phases or None,
            on_event=progress,
            on_service=progress.service if progress else None,
            force=options.force,
            services_only=options.services_only,
        )
        code = write_outputs(report, config, options)
    except BaseException:
        await kill_stragglers()  # no report to stand for them: end them now
        raise
    try:
        stragglers = await wait_for_stragglers()
    except asyncio.CancelledError:
        # Ctrl-C while pytest tears down: the stragglers are killed, and the report already
        # written stands, so its exit code does too.
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
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
