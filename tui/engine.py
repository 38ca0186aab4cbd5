"""The engine the command center runs, handed to it whole.

The app never reaches for a collector itself: it is given an `Engine` of four parts and calls
only those, so a test, a benchmark or another mode can hand it something else.

* `plan` runs a plan of phases, emitting phase events: `session.run_plan`'s shape
  `(config, phases, on_event, *, required, extra_args, force) -> runs`.
* `probe` samples services once: `(services, redactor) -> samples`.
* `stream` follows one service's event stream until cancelled: `(service, on_event, redactor)`.
* `assemble` judges evidence into a `RunReport` (blocking; the screen runs it on a thread):
  `session.assemble_report`'s shape.

`live_engine()` is the real thing. `report_engine(report)` shows a finished report read from a
file (`--open`) and needs no runner at all: its `plan` replays the report's phases as the
runner's events, its `probe` returns the report's samples, its `stream` does nothing, and its
`assemble` returns the report as read, so the screen shows exactly what the file says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Protocol, Sequence

from claimcheck.collectors.config import Config, PhaseConfig, ServiceConfig
from claimcheck.collectors.models import PhaseRun, RunReport, ServiceSample, StreamEvent
from claimcheck.collectors.secrets import Redactor

EventSink = Callable[[Any], None]
RequiredSamples = Callable[[Sequence[str]], Awaitable[Iterable[ServiceSample]]]


class PlanRunner(Protocol):
    def __call__(self, config: Config, phases: Sequence[PhaseConfig], on_event: EventSink, *,
                 required: RequiredSamples | None = ..., extra_args: Sequence[str] = ...,
                 force: bool = ...) -> Awaitable[list[PhaseRun]]: ...


class Assembler(Protocol):
    def __call__(self, config: Config, runs: Sequence[PhaseRun],
                 samples: Sequence[ServiceSample], started_at: float, *,
                 interrupted: bool = ..., interrupted_at: float | None = ...,
                 now: float | None = ...) -> RunReport: ...


Prober = Callable[[Sequence[ServiceConfig], Redactor], Awaitable[Sequence[ServiceSample]]]
Streamer = Callable[[ServiceConfig, Callable[[StreamEvent], None], Redactor], Awaitable[None]]


@dataclass(frozen=True)
class Engine:
    plan: PlanRunner
    probe: Prober
    stream: Streamer
    assemble: Assembler


def live_engine() -> Engine:
    """pytest subprocesses, network probes, WebSocket streams and the judge, for real.

    The runner is imported here, when an app is built to run, not when the TUI module is
    imported; the network clients (httpx, websockets: tens of milliseconds before the first
    frame) only when a service is first probed or followed.
    """
    from claimcheck.collectors import session

    async def probe(services: Sequence[ServiceConfig],
                    redactor: Redactor) -> Sequence[ServiceSample]:
        from claimcheck.collectors import health

        return await health.probe_all(services, redactor=redactor)

    async def stream(service: ServiceConfig, on_event: Callable[[StreamEvent], None],
                     redactor: Redactor) -> None:
        from claimcheck.collectors import health

        await health.stream_events(service, on_event, redactor=redactor)

    return Engine(plan=session.run_plan, probe=probe, stream=stream,
                  assemble=session.assemble_report)


def report_engine(report: RunReport) -> Engine:
    """Shows a finished report (`--open`) without running anything: its runs are replayed as
    the events the runner would have sent, its samples are the probes' answers, nothing
    streams, and the judgement is the report as read (judged when it was opened)."""

    async def plan(config: Config, phases: Sequence[PhaseConfig], on_event: EventSink,
                   **kwargs: Any) -> list[PhaseRun]:
        from claimcheck.collectors.models import (
            CollectionErrored,
            PhaseFinished,
            PhaseStarted,
            TestFinished,
        )

        for run in report.phases:
            on_event(PhaseStarted(run.name, run.argv, run.started_at))
            for error in run.collection_errors:
                on_event(CollectionErrored(run.name, error))
            for test in run.tests:
                on_event(TestFinished(run.name, test))
            on_event(PhaseFinished(run.name, run))
        return list(report.phases)

    async def probe(services: Sequence[ServiceConfig],
                    redactor: Redactor) -> Sequence[ServiceSample]:
        names = {service.name for service in services}
        return [sample for sample in report.services if sample.name in names]

    async def stream(service: ServiceConfig, on_event: Callable[[StreamEvent], None],
                     redactor: Redactor) -> None:
        return None

    def assemble(config: Config, runs: Sequence[PhaseRun], samples: Sequence[ServiceSample],
                 started_at: float, **kwargs: Any) -> RunReport:
        return report

    return Engine(plan=plan, probe=probe, stream=stream, assemble=assemble)
