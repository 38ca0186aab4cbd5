"""The command center's shared scenario, handed to tests by the `scenario` fixture (conftest).

An incident in miniature: unit red (an import error, a node id that looks like markup, captured
output full of terminal escapes), integration running, e2e blocked by a down auth service, a
WebSocket stream. Events enter through `app.ingest`, the door the real workers use. The app gets
a stand-in engine: the real plan loop (`session.run_plan`) over a `FakeRunner` with
`run_phase`'s shape and event order, probes that answer from `samples()`, a stream that idles,
and the real judge.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any, Callable, Sequence

from claimcheck.collectors.config import Config, GapConfig, PhaseConfig, ServiceConfig
from claimcheck.collectors.live import counts_of
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    ServiceSample,
    StreamEvent,
    TestFinished,
    TestResult,
    TestsCollected,
)
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.session import assemble_report, run_plan
from claimcheck.tui.app import ClaimcheckApp
from claimcheck.tui.engine import Engine

T0 = 1_700_000_000.0
NOW = T0 + 42.0
SECRET = "s3cr3t-token-value"
MARKUP_ID = "tests/unit/test_auth.py::test_login[bold red]"
ESCAPE_OUTPUT = "before\x1b[2J\x1b[H\x1b]0;pwned\x07after\r\n"
WEBSOCKET_FAILURE = "tests/integration/test_websocket_events.py::test_order_paid_event"


def make_config(root: Path = Path("/srv/shop")) -> Config:
    return Config(
        root=root,
        source=None,
        python="python",
        phases=(
            PhaseConfig("unit", pytest=("tests/unit",)),
            PhaseConfig("integration", pytest=("tests/integration",)),
            PhaseConfig("e2e", pytest=("tests/e2e",), requires=("auth",)),
        ),
        gaps=(
            GapConfig("auth", "Service auth", match=("*auth*",)),
            GapConfig("websocket", "WebSocket interface", match=("*websocket*", "*ws_*")),
            GapConfig("factory", "Factory conflicts", match=("*factory*",)),
            GapConfig("router", "Router fragmentation", match=("*router*",)),
        ),
        services=(
            service("auth", "http://auth.internal:8081/health"),
            service("api", "http://api.internal:8000/health"),
            service("events", "ws://api.internal:8000/ws", kind="websocket", stream=True),
        ),
        secrets=(SECRET,),
    )


def service(name: str, url: str, kind: str = "http", stream: bool = False) -> ServiceConfig:
    return ServiceConfig(name=name, url=url, kind=kind, display_url=url, stream=stream,
                         interval_s=5.0)


def result(nodeid: str, outcome: str = "passed", phase: str = "unit", **kw: Any) -> TestResult:
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase, duration_s=0.01, **kw)


def failing(nodeid: str, phase: str = "unit", message: str = "AssertionError: assert 401 == 200",
            **kw: Any) -> TestResult:
    path = nodeid.split("::")[0]
    longrepr = (
        "    def test_it(client):\n"
        "        response = client.get('/login')\n"
        ">       assert response.status_code == 200\n"
        "E       assert 401 == 200\n"
        "E        +  where 401 = <Response [401]>.status_code\n\n"
        f"{path}:14: AssertionError"
    )
    kw.setdefault("sections", (("Captured stdout call", "GET /login -> 401\n"),))
    return result(nodeid, "failed", phase, message=message, path=path, line=14,
                  longrepr=longrepr, **kw)


UNIT_RESULTS: list[TestResult] = [
    *(result(f"tests/unit/test_auth.py::test_token_{i}") for i in range(6)),
    failing(MARKUP_ID, sections=(("Captured stdout call", ESCAPE_OUTPUT),)),
    *(result(f"tests/unit/test_factory.py::test_build_{i}") for i in range(5)),
    failing("tests/unit/test_factory.py::test_two_factories_conflict",
            message="ValueError: app factory registered twice"),
    result("tests/unit/test_router.py::test_routes", "skipped"),
    *(result(f"tests/unit/test_ws_manager.py::test_connect_{i}") for i in range(4)),
    result("tests/unit/test_ws_manager.py::test_broadcast", "error",
           message="fixture 'redis' not found", longrepr="fixture 'redis' not found",
           when="setup"),
]

IMPORT_ERROR = CollectionError(
    path="tests/unit/test_router_mount.py",
    error_type="ModuleNotFoundError",
    message="No module named 'app.routers.v2'",
    longrepr="ImportError while importing test module 'tests/unit/test_router_mount.py'.\n"
             "E   ModuleNotFoundError: No module named 'app.routers.v2'",
)


def unit_run() -> PhaseRun:
    return PhaseRun(
        name="unit", status="failed", exit_code=1, duration_s=3.4,
        counts=Counts(collected=len(UNIT_RESULTS), passed=15, failed=2, error=2, skipped=1),
        tests=tuple(UNIT_RESULTS), collection_errors=(IMPORT_ERROR,), started_at=T0,
    )


def samples() -> list[ServiceSample]:
    base = dict(kind="http", checked_at=NOW - 30)
    return [
        ServiceSample(name="auth", url="http://auth.internal:8081/health", status="down",
                      detail=f"connection refused (token {SECRET} rejected)", **base),
        ServiceSample(name="api", url="http://api.internal:8000/health", status="up",
                      detail="200 OK", http_status=200, latency_ms=12.0, **base),
        ServiceSample(name="events", url="ws://api.internal:8000/ws", status="degraded",
                      detail="2 of 3 expected events within 10 s; missing: order.paid",
                      latency_ms=48.0, **{**base, "kind": "websocket"}),
    ]


def frames() -> list[StreamEvent]:
    return [
        StreamEvent(NOW - 5, "events", "state", None, "connected"),
        StreamEvent(NOW - 4, "events", "recv", "order.created", '{"type": "order.created", '
                    '"id": 41, "note": "[bold red]not markup[/]"}', is_json=True),
        StreamEvent(NOW - 3, "events", "recv", "order.shipped", '{"type": "order.shipped"}',
                    is_json=True),
    ]


class FakeRunner:
    """`run_phase`'s shape and event order: each phase streams `outcomes[phase]` and finishes,
    or, with `block`, waits until cancelled. Records every call."""

    def __init__(self, outcomes: dict[str, list[TestResult]] | None = None,
                 block: bool = False) -> None:
        self.outcomes = outcomes if outcomes is not None else {}
        self.block = block
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.cancelled: list[str] = []

    async def __call__(self, phase: PhaseConfig, config: Config,
                       on_event: Callable[[Any], None] | None = None, *,
                       extra_args: Sequence[str] = ()) -> PhaseRun:
        emit = on_event or (lambda event: None)
        self.calls.append((phase.name, tuple(extra_args)))
        emit(PhaseStarted(phase.name, (), T0))
        tests = self.outcomes.get(phase.name, [])  # with --lf, the test sets the subset
        emit(TestsCollected(phase.name, len(tests)))
        for test in tests:
            emit(TestFinished(phase.name, test))
        status = "failed" if any(t.outcome in ("failed", "error") for t in tests) else "passed"
        try:
            if self.block:
                await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.append(phase.name)
            run = PhaseRun(phase.name, "interrupted", None, 0.1, Counts(), tests=tuple(tests))
            emit(PhaseFinished(phase.name, run))
            raise
        run = PhaseRun(phase.name, status, 1 if status == "failed" else 0, 0.1,
                       counts_of(tests, 0), tests=tuple(tests))
        emit(PhaseFinished(phase.name, run))
        return run


async def probe_from_samples(services: Sequence[ServiceConfig],
                             redactor: Redactor) -> list[ServiceSample]:
    names = {svc.name for svc in services}
    return [sample for sample in samples() if sample.name in names]


async def idle_stream(service: ServiceConfig, on_event: Callable[[StreamEvent], None],
                      redactor: Redactor) -> None:
    await asyncio.sleep(3600)


def engine(runner: FakeRunner | None = None, probe: Any = probe_from_samples) -> Engine:
    """The real plan loop and judge over stand-ins for pytest and the network."""
    return Engine(plan=functools.partial(run_plan, runner=runner or FakeRunner()),
                  probe=probe, stream=idle_stream, assemble=assemble_report)


def new_app(config: Config | None = None, *, runner: FakeRunner | None = None,
            probe: Any = probe_from_samples, **kwargs: Any) -> ClaimcheckApp:
    kwargs.setdefault("autostart", False)
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("read_git", False)
    kwargs.setdefault("started_at", T0)
    return ClaimcheckApp(config or make_config(), engine=engine(runner, probe), **kwargs)


def blocked_e2e() -> PhaseRun:
    return PhaseRun(name="e2e", status="blocked", exit_code=None, duration_s=0.0,
                    counts=Counts(), reason="blocked by auth: connection refused",
                    started_at=T0)


def scenario_events(*, integration_running: bool = True) -> list[object]:
    """Everything the picture shows, in the order the engine would report it."""
    events: list[object] = [*samples()]
    events += [PhaseStarted("unit", ("python", "-m", "pytest", "tests/unit"), T0),
               TestsCollected("unit", len(UNIT_RESULTS)),
               CollectionErrored("unit", IMPORT_ERROR)]
    events += [TestFinished("unit", item) for item in UNIT_RESULTS]
    events += [PhaseFinished("unit", unit_run()),
               PhaseStarted("e2e", (), T0), PhaseFinished("e2e", blocked_e2e())]
    if integration_running:
        events += [PhaseStarted("integration", (), T0 + 20), TestsCollected("integration", 30)]
        events += [TestFinished("integration", result(
            f"tests/integration/test_auth_flow.py::test_step_{i}", phase="integration"))
            for i in range(11)]
        events.append(TestFinished("integration", failing(
            WEBSOCKET_FAILURE, phase="integration",
            message="TimeoutError: no 'order.paid' event within 10 s")))
    events += frames()
    return events


async def settle(app: ClaimcheckApp, pilot: Any) -> None:
    """Let the frame, the message handlers and the judge thread finish."""
    app.flush()
    await pilot.pause()
    # One worker manager serves the app and its screens: wait for all but the streams, which
    # run until the app quits.
    for _ in range(2):  # the phase plan's end starts the judge
        await asyncio.gather(*(worker.wait() for worker in list(app.workers)
                               if worker.group != "streams"), return_exceptions=True)
        await pilot.pause()


async def inject(app: ClaimcheckApp, pilot: Any, *, integration_running: bool = True) -> None:
    """Feed the scenario through `app.ingest` and wait until it is drawn and judged."""
    for event in scenario_events(integration_running=integration_running):
        app.ingest(event)
    await settle(app, pilot)
