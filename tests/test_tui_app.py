"""The command center driven through Pilot with injected collector events.

The events go through `app.ingest`, the same door the real runner and probes use; a fake
`run_phase` (same signature, same event order) stands in only where a test needs the keys that
start phases without paying for a pytest subprocess. Real subprocesses: test_tui_live.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest
from claimcheck.collectors.config import Config, GapConfig, PhaseConfig, ServiceConfig
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
from claimcheck.tui import app as app_module
from claimcheck.tui.app import ClaimcheckApp, counts_of, merge_runs
from claimcheck.tui.widgets.detail import FailureDetailScreen
from claimcheck.tui.widgets.events import EventStream
from claimcheck.tui.widgets.failures import MORE_KEY, FailureList, failure_key
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.help import HelpScreen
from claimcheck.tui.widgets.matrix import GapMatrix
from claimcheck.tui.widgets.phases import PhaseStrip
from claimcheck.tui.widgets.services import ServicesPanel
from rich.text import Text
from textual.widgets import Input, Static

from tests.conftest import workers_done

T0 = 1_700_000_000.0
NOW = T0 + 42.0
SECRET = "s3cr3t-token-value"
MARKUP_ID = "tests/unit/test_auth.py::test_login[bold red]"
ESCAPE_OUTPUT = "before\x1b[2J\x1b[H\x1b]0;pwned\x07after\r\n"



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
            _service("auth", "http://auth.internal:8081/health"),
            _service("api", "http://api.internal:8000/health"),
            _service("events", "ws://api.internal:8000/ws", kind="websocket", stream=True),
        ),
        secrets=(SECRET,),
    )


def _service(name: str, url: str, kind: str = "http", stream: bool = False) -> ServiceConfig:
    return ServiceConfig(name=name, url=url, kind=kind, display_url=url, stream=stream,
                         interval_s=5.0)


def new_app(config: Config | None = None, **kwargs: Any) -> ClaimcheckApp:
    kwargs.setdefault("autostart", False)
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("read_git", False)
    kwargs.setdefault("started_at", T0)
    return ClaimcheckApp(config or make_config(), **kwargs)


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


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (Textual renders Text into Content)."""
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


async def settle(app: ClaimcheckApp, pilot: Any) -> None:
    """Let the ~10 Hz flush, the message handlers and the judge thread finish."""
    app.flush()
    await pilot.pause()
    await workers_done(app)
    await pilot.pause()


async def inject_scenario(app: ClaimcheckApp, pilot: Any, *, integration_running: bool = True,
                          ) -> None:
    """The picture the snapshots show: unit red, integration running, e2e blocked by auth."""
    for sample in samples():
        app.ingest(sample)
    app.ingest(PhaseStarted("unit", ("python", "-m", "pytest", "tests/unit"), T0))
    app.ingest(TestsCollected("unit", len(UNIT_RESULTS)))
    app.ingest(CollectionErrored("unit", IMPORT_ERROR))
    for item in UNIT_RESULTS:
        app.ingest(TestFinished("unit", item))
    app.ingest(PhaseFinished("unit", unit_run()))
    blocked = PhaseRun(name="e2e", status="blocked", exit_code=None, duration_s=0.0,
                       counts=Counts(), reason="blocked by auth: connection refused",
                       started_at=T0)
    app.ingest(PhaseStarted("e2e", (), T0))
    app.ingest(PhaseFinished("e2e", blocked))
    if integration_running:
        app.ingest(PhaseStarted("integration", (), T0 + 20))
        app.ingest(TestsCollected("integration", 30))
        for i in range(11):
            app.ingest(TestFinished("integration", result(
                f"tests/integration/test_auth_flow.py::test_step_{i}", phase="integration")))
        app.ingest(TestFinished("integration", failing(
            "tests/integration/test_websocket_events.py::test_order_paid_event",
            phase="integration", message="TimeoutError: no 'order.paid' event within 10 s")))
    for frame in frames():
        app.ingest(frame)
    await settle(app, pilot)


# ----------------------------------------------------------------------------------------


async def test_injected_run_fills_every_panel() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        strip = app.query_one(PhaseStrip)
        assert strip.get_cell("unit", "status").plain == "failed"
        assert strip.get_cell("unit", "failed").plain == "2"
        assert strip.get_cell("unit", "errors").plain == "2"  # one test error + one import error
        assert strip.get_cell("integration", "status").plain == "running"
        assert "12/30" in strip.get_cell("integration", "progress").plain
        assert "blocked by auth" in strip.get_cell("e2e", "note").plain
        assert strip.get_cell("e2e", "status").plain == "blocked by auth"

        matrix = app.query_one(GapMatrix)
        assert matrix.get_cell("auth", "unit").plain == "✖ 1/7"
        assert matrix.get_cell("auth", "integration").plain == "✔ 11"
        assert matrix.get_cell("auth", "e2e").plain == "no evidence"
        assert matrix.get_cell("router", "unit").plain == "✖ 1/1"  # the import error; a skip never ran
        assert matrix.get_cell("websocket", "integration").plain == "✖ 1/1"

        failures = app.query_one(FailureList)
        assert set(failures.keys) == {
            failure_key("unit", MARKUP_ID),
            failure_key("unit", "tests/unit/test_factory.py::test_two_factories_conflict"),
            failure_key("unit", "tests/unit/test_ws_manager.py::test_broadcast"),
            failure_key("unit", IMPORT_ERROR.path),
            failure_key("integration",
                        "tests/integration/test_websocket_events.py::test_order_paid_event"),
        }

        findings = app.query_one(FindingsPanel)
        labels = [str(node.label) for node in findings.root.children]
        assert labels and labels[0].startswith("import / collection errors")
        module_node = findings.root.children[0].children[0]
        assert "app.routers.v2" in str(module_node.label)
        assert [str(leaf.label) for leaf in module_node.children] == [IMPORT_ERROR.path]

        services = app.query_one(ServicesPanel)
        assert services.status_of("auth") == "down"
        auth = services.line_of("auth")
        assert "connection refused" in auth and SECRET not in auth and "***" in auth
        api = services.line_of("api")
        assert "12 ms" in api and "0:30" in api and "\n" not in api  # up: no detail line
        assert SECRET not in app.export_screenshot()

        events = "\n".join(line.plain for line in app.query_one(EventStream).kept)
        assert "order.created" in events and "unit failed" in events
        assert "auth down" in events
        header = app.query_one(VerdictHeader)
        assert header.verdict == "running"
        assert "services 1/3 up" in header.detail  # api up, auth down, events not sampled


async def test_verdict_comes_from_the_assembled_report() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot, integration_running=False)
        app._mark_plan_done()
        await settle(app, pilot)
        assert app.report is not None
        assert app.query_one(VerdictHeader).verdict == app.report.verdict == "red"
        assert app.exit_code_now() == app.report.exit_code == 1


async def test_markup_in_a_node_id_shows_verbatim() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        table = app.query_one(FailureList)
        cell = table.get_cell(failure_key("unit", MARKUP_ID), "test")
        assert isinstance(cell, Text) and cell.plain.endswith("test_login[bold red]")
        assert "test_login[bold&#160;red]" in app.export_screenshot()
        events = "\n".join(line.plain for line in app.query_one(EventStream).kept)
        assert "[bold red]not markup[/]" in events


async def test_escape_sequences_in_captured_output_are_neutralised() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        app.open_failure(app._failures[failure_key("unit", MARKUP_ID)])
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FailureDetailScreen)
        section = screen.query(".detail-section").first(Static)
        shown = plain(section)
        assert "before" in shown and "after" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]0;pwned\\x07" in shown  # data, shown as typed: nothing hidden
        assert "\x1b" not in app.export_screenshot()


async def enter_on_failure(app: ClaimcheckApp, pilot: Any, key: str) -> FailureList:
    """Focus the failure list (3), move to `key` and press Enter; the list."""
    await pilot.press("3")
    table = app.query_one(FailureList)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.press("enter")
    return table


async def test_enter_on_a_failure_opens_the_detail_and_esc_goes_back() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        await enter_on_failure(app, pilot, failure_key("unit", MARKUP_ID))
        assert isinstance(app.screen, FailureDetailScreen)
        assert app.screen.result.nodeid == MARKUP_ID
        traceback = plain(app.screen.query_one("#detail-traceback", Static))
        assert "E       assert 401 == 200" in traceback
        assert "auth" in app.screen.gaps
        await pilot.press("c")
        assert app.clipboard == MARKUP_ID
        # Evidence keeps arriving while the detail is open; keys for the main screen rest.
        app.ingest(TestFinished("integration", failing(
            "tests/integration/test_auth_flow.py::test_late", phase="integration")))
        await settle(app, pilot)
        await pilot.press("slash", "p")
        assert isinstance(app.screen, FailureDetailScreen)
        assert not app.query_one(EventStream).paused
        await pilot.press("escape")
        assert not isinstance(app.screen, FailureDetailScreen)
        assert failure_key("integration", "tests/integration/test_auth_flow.py::test_late") in (
            app.query_one(FailureList).keys)


async def test_a_collection_error_detail_shows_no_run_time() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        table = await enter_on_failure(app, pilot, failure_key("unit", IMPORT_ERROR.path))
        assert isinstance(app.screen, FailureDetailScreen)
        facts = plain(app.screen.query_one("#detail-facts", Static))
        assert "stage collect" in facts and "took" not in facts
        await pilot.press("escape")
        table.set_wide(True)  # the time column of a wide screen stays empty for it too
        assert table.get_cell(failure_key("unit", IMPORT_ERROR.path), "time").plain == ""


async def test_matrix_cell_filters_the_failure_list_and_esc_clears_it() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        await pilot.press("2")
        matrix = app.query_one(GapMatrix)
        assert app.focused is matrix
        matrix.move_cursor(row=matrix.get_row_index("websocket"),
                           column=matrix.get_column_index("integration"))
        await pilot.press("enter")
        await pilot.pause()
        failures = app.query_one(FailureList)
        assert app.focused is failures
        assert list(failures.keys) == [failure_key(
            "integration", "tests/integration/test_websocket_events.py::test_order_paid_event")]
        assert "websocket" in str(failures.border_title)
        await pilot.press("escape")
        assert len(failures.keys) == 5


async def test_slash_filters_failures_and_events() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"factor")  # 'f' and 'r' type into the box, they rerun nothing
        await pilot.pause(0.3)
        assert app._phase_worker is None
        failures = app.query_one(FailureList)
        assert list(failures.keys) == [
            failure_key("unit", "tests/unit/test_factory.py::test_two_factories_conflict")]
        events = app.query_one(EventStream)
        assert events.filter_text == "factor"
        assert events.shown and all("factor" in line.plain.lower() for line in events.shown)
        await pilot.press("escape")
        assert not box.display and events.filter_text == "" and len(failures.keys) == 5


def first_row_text(widget: FailureList) -> str:
    return "".join(segment.text for segment in widget.render_line(1))


async def test_an_empty_failure_list_says_why_it_is_empty() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        failures = app.query_one(FailureList)
        await settle(app, pilot)
        assert "no failed or errored test so far" in first_row_text(failures)
        await inject_scenario(app, pilot)
        assert "no failed" not in first_row_text(failures)  # a failure is on the first row
        await pilot.press("slash", *"zzz-nothing")
        await pilot.pause(0.3)
        assert failures.row_count == 0
        assert "nothing matches the filter" in first_row_text(failures)


async def test_p_pauses_the_event_stream_and_resume_shows_what_arrived() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        events = app.query_one(EventStream)
        assert events.paused
        before = len(events.shown)
        app.ingest(PhaseStarted("unit", (), T0))
        await settle(app, pilot)
        assert len(events.shown) == before and events.unseen == 1
        assert "PAUSED" in str(events.border_subtitle)
        await pilot.press("p")
        assert not events.paused
        assert any("unit started" in line.plain for line in events.shown)
        assert "started" in app.export_screenshot()


async def test_number_keys_focus_panels_and_narrow_shows_the_chosen_side_panel() -> None:
    app = new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await inject_scenario(app, pilot)
        for key, name in zip("123456", app_module.PANELS):
            await pilot.press(key)
            assert app.focused is not None and app.focused.id == name
        await pilot.press("5")
        assert app.query_one(ServicesPanel).display
        assert app.query_one(ServicesPanel).region.height > 0
        assert app.query_one(EventStream).region.height == 0
        await pilot.press("6")
        assert app.query_one(EventStream).region.height > 0
        assert app.query_one(ServicesPanel).region.height == 0


async def test_help_screen_lists_every_key() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shot = app.export_screenshot()
        for word in ("rerun only what failed", "filter the failure list", "copy the highlighted",
                     "probe every service now", "pause or resume", "focus a panel"):
            assert word.replace(" ", "&#160;") in shot
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_every_action() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Rerun", "Failed", "Phase", "Filter", "Pause", "Copy", "Probe", "Help",
                "Focus failures", "Quit"} <= titles


# ----------------------------------------------------------------------------------------
# Keys that start work: a stand-in runner with run_phase's signature and event order.


class FakeRunner:
    """Records calls; each phase streams its `plan` and finishes, or waits until cancelled."""

    def __init__(self, outcomes: dict[str, list[TestResult]], block: bool = False) -> None:
        self.outcomes = outcomes
        self.block = block
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.cancelled: list[str] = []

    async def __call__(self, phase: PhaseConfig, config: Config, on_event: Callable[[Any], None],
                       extra_args: Sequence[str]) -> PhaseRun:
        self.calls.append((phase.name, tuple(extra_args)))
        on_event(PhaseStarted(phase.name, (), T0))
        tests = self.outcomes.get(phase.name, [])  # with --lf, the test sets the subset
        on_event(TestsCollected(phase.name, len(tests)))
        for test in tests:
            on_event(TestFinished(phase.name, test))
        status = "failed" if any(t.outcome in ("failed", "error") for t in tests) else "passed"
        try:
            if self.block:
                await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.append(phase.name)
            run = PhaseRun(phase.name, "interrupted", None, 0.1, Counts(), tests=tuple(tests))
            on_event(PhaseFinished(phase.name, run))
            raise
        run = PhaseRun(phase.name, status, 1 if status == "failed" else 0, 0.1,
                       counts_of(tests, 0), tests=tuple(tests))
        on_event(PhaseFinished(phase.name, run))
        return run


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeRunner]:
    def install(outcomes: dict[str, list[TestResult]], block: bool = False) -> FakeRunner:
        runner = FakeRunner(outcomes, block)
        monkeypatch.setattr(app_module, "_run_phase", runner)
        return runner

    return install


def two_phase_config() -> Config:
    return Config(root=Path("/srv/shop"), source=None, python="python",
                  phases=(PhaseConfig("unit", pytest=()), PhaseConfig("integration", pytest=())),
                  gaps=())


async def test_r_reruns_every_phase_and_f_reruns_only_failures_merged(fake_runner) -> None:
    runner = fake_runner({
        "unit": [result("tests/unit/test_a.py::test_ok"), failing("tests/unit/test_a.py::test_x")],
        "integration": [result("tests/integration/test_b.py::test_ok", phase="integration")],
    })
    app = new_app(two_phase_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        assert runner.calls == [("unit", ()), ("integration", ())]
        assert app.phases["unit"].status == "failed"
        # The flaky test passes on the rerun: --lf, merged by node id.
        runner.outcomes["unit"] = [result("tests/unit/test_a.py::test_x")]
        await pilot.press("f")
        await settle(app, pilot)
        assert runner.calls[2:] == [("unit", ("--lf",))]
        unit = app.phases["unit"]
        assert unit.status == "passed" and unit.run is not None
        assert {t.nodeid for t in unit.run.tests} == {"tests/unit/test_a.py::test_ok",
                                                        "tests/unit/test_a.py::test_x"}
        assert unit.run.counts.passed == 2 and unit.run.counts.failed == 0
        assert app.query_one(FailureList).keys == ()
        assert app.query_one(VerdictHeader).verdict == "green"
        await pilot.press("f")
        await settle(app, pilot)
        assert len(runner.calls) == 3  # nothing failed: nothing rerun


async def test_shift_r_reruns_the_highlighted_phase(fake_runner) -> None:
    runner = fake_runner({})
    app = new_app(two_phase_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "down", "R")
        await settle(app, pilot)
        assert runner.calls == [("integration", ())]


async def test_r_while_a_phase_runs_stops_it_first(fake_runner) -> None:
    runner = fake_runner({"unit": [result("tests/unit/test_a.py::test_ok")]}, block=True)
    app = new_app(two_phase_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause(0.2)
        assert app.phases["unit"].status == "running"
        await pilot.press("r")
        await pilot.pause(0.3)
        assert runner.cancelled == ["unit"]
        assert [c[0] for c in runner.calls] == ["unit", "unit"]
        assert app.phases["unit"].status == "running"  # the new run, not the old interrupt
        await pilot.press("q")
    assert runner.cancelled == ["unit", "unit"]
    assert app.return_value == 2


async def test_a_required_service_down_blocks_the_phase(fake_runner, monkeypatch) -> None:
    runner = fake_runner({})

    async def probe(services: Sequence[ServiceConfig], redactor: Any) -> list[ServiceSample]:
        return [s for s in samples() if s.name in {svc.name for svc in services}]

    monkeypatch.setattr(app_module, "_probe", probe)
    monkeypatch.setattr(app_module, "_stream", lambda *a: asyncio.sleep(3600))
    app = new_app(autostart=True)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await pilot.pause(0.05)
            if app.phases["e2e"].status == "blocked":
                break
        assert [c[0] for c in runner.calls] == ["unit", "integration"]
        assert app.phases["e2e"].status == "blocked"
        assert "blocked by auth" in app.query_one(PhaseStrip).get_cell("e2e", "note").plain
        await pilot.press("q")


async def test_probes_rearm_after_completion_and_s_never_overlaps(monkeypatch) -> None:
    in_flight = 0
    most = 0
    calls = 0
    release = asyncio.Event()

    async def probe(services: Sequence[ServiceConfig], redactor: Any) -> list[ServiceSample]:
        nonlocal in_flight, most, calls
        calls += 1
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return [s for s in samples() if s.name == services[0].name]

    monkeypatch.setattr(app_module, "_probe", probe)
    config = make_config()
    config = Config(**{**config.__dict__, "services": config.services[:1], "phases": ()})
    app = new_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.press("s", "s")  # a probe is in flight: no second one
        await pilot.pause(0.1)
        assert calls == 1 and most == 1
        release.set()
        await pilot.pause(0.1)
        assert "auth" in app._probe_timers  # re-armed after the probe completed
        await pilot.press("s")  # cancels the timer and probes now
        await pilot.pause(0.1)
        assert calls == 2 and most == 1
        assert app.query_one(ServicesPanel).status_of("auth") == "down"
        await pilot.press("q")


async def test_failure_list_is_bounded_with_a_more_row() -> None:
    app = new_app(two_phase_config())
    app_limit = 50
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(FailureList).limit = app_limit
        app.ingest(PhaseStarted("unit", (), T0))
        for i in range(120):
            app.ingest(TestFinished("unit", failing(f"tests/unit/test_many.py::test_{i}")))
        await settle(app, pilot)
        table = app.query_one(FailureList)
        assert len(table.keys) == app_limit and table.hidden == 70
        assert table.has_more_row
        table.move_cursor(row=table.get_row_index(MORE_KEY))
        await pilot.press("3", "enter")
        await pilot.pause()
        assert len(table.keys) == 120 and not table.has_more_row


def test_merge_runs_lays_the_rerun_over_the_previous_by_nodeid() -> None:
    old = PhaseRun("unit", "failed", 1, 2.0, Counts(collected=3), tests=(
        result("a::ok"), failing("a::flaky"), failing("a::broken")))
    new = PhaseRun("unit", "failed", 1, 0.5, Counts(collected=2), tests=(
        result("a::flaky"), failing("a::broken")))
    merged = merge_runs(old, new)
    assert [t.outcome for t in merged.tests] == ["passed", "passed", "failed"]
    assert merged.counts.passed == 2 and merged.counts.failed == 1
    assert merged.counts.collected == 3 and merged.status == "failed"
    assert merged.duration_s == 2.5
    interrupted = replace_status(new, "interrupted")
    assert merge_runs(old, interrupted).status == "interrupted"


def replace_status(run: PhaseRun, status: str) -> PhaseRun:
    from dataclasses import replace

    return replace(run, status=status)


# ----------------------------------------------------------------------------------------
# Layout at the sizes people use: the demo's four phases, progress, footers.


def four_phase_config() -> Config:
    """The demo's shape: four phases, gap titles as long as the demo's."""
    return Config(
        root=Path("/srv/agent-backend"), source=None, python="python",
        phases=tuple(PhaseConfig(name, pytest=(f"tests/{name}",))
                     for name in ("unit", "integration", "staging", "e2e")),
        gaps=(GapConfig("factory", "Factory conflicts", match=("*factor*",)),
              GapConfig("router", "Router fragmentation", match=("*router*",)),
              GapConfig("websocket", "WebSocket interface mismatches", match=("*websocket*",)),
              GapConfig("auth", "Service auth breakdown", match=("*auth*",))),
    )


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 24)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_phase_column_of_the_matrix_stays_in_view(size: tuple[int, int]) -> None:
    app = new_app(four_phase_config())
    async with app.run_test(size=size) as pilot:
        tests = [failing("tests/unit/test_factory.py::test_a"),
                 result("tests/unit/test_router.py::test_b"),
                 result("tests/unit/test_websocket_x.py::test_c"),
                 failing("tests/unit/test_auth.py::test_d")]
        app.ingest(PhaseStarted("unit", (), T0))
        for test in tests:
            app.ingest(TestFinished("unit", test))
        app.ingest(PhaseFinished("unit", PhaseRun("unit", "failed", 1, 1.0, counts_of(tests, 0),
                                                  tests=tuple(tests))))
        await settle(app, pilot)
        matrix = app.query_one(GapMatrix)
        assert [column.key.value for column in matrix.ordered_columns][1:] == [
            "unit", "integration", "staging", "e2e"]
        assert matrix.virtual_size.width <= matrix.scrollable_content_region.width
        assert matrix.get_cell("auth", "unit").plain == "✖ 1/1"
        assert matrix.get_cell("router", "unit").plain == "✔ 1"
        nothing = matrix.get_cell("auth", "e2e")
        assert nothing.plain in ("no evidence", "no ev.")
        assert "dim" in str(nothing.style) and "#3fb950" not in str(nothing.style)
        if nothing.plain == "no ev.":  # the short form is explained where it is shown
            shot = app.export_screenshot()  # the panel title: "no ev." (dim italic) " = no evidence"
            assert ">no&#160;ev.<" in shot and ">&#160;=&#160;no&#160;evidence<" in shot
        title = matrix.get_cell("websocket", matrix.ordered_columns[0].key).plain
        full = "● WebSocket interface mismatches"
        assert title == full or (title.endswith("…") and full.startswith(title[:-1]))
        if size[0] < 80:
            assert title != full and len(title) >= 10


async def test_progress_is_done_over_selected_so_a_finished_phase_looks_finished() -> None:
    """A runner's second pytest session with every test deselected adds nothing to do."""
    config = Config(root=Path("/srv/shop"), source=None, python="python",
                    phases=(PhaseConfig("staging", command=("python", "run.py")),), gaps=())
    tests = [result(f"tests/staging/test_s.py::test_{i}", phase="staging") for i in range(4)]
    app = new_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        strip = app.query_one(PhaseStrip)
        app.ingest(PhaseStarted("staging", (), T0))
        app.ingest(TestsCollected("staging", 5, deselected=1))
        for test in tests[:2]:
            app.ingest(TestFinished("staging", test))
        await settle(app, pilot)
        assert strip.get_cell("staging", "progress").plain.endswith(" 2/4")
        for test in tests[2:]:
            app.ingest(TestFinished("staging", test))
        app.ingest(TestsCollected("staging", 4, deselected=4))  # the smoke subset: none
        run = PhaseRun("staging", "passed", 0, 1.0,
                       Counts(collected=9, passed=4, deselected=5), tests=tuple(tests))
        app.ingest(PhaseFinished("staging", run))
        await settle(app, pilot)
        assert strip.get_cell("staging", "progress").plain.endswith(" 4/4")


async def test_detail_and_help_footers_show_only_the_keys_that_work_there() -> None:
    from textual.widgets._footer import FooterKey

    def footer() -> set[str]:
        return {key.description for key in app.screen.query(FooterKey)}

    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await inject_scenario(app, pilot)
        assert {"rerun", "filter", "pause", "probe"} <= footer()
        app.open_failure(app._failures[failure_key("unit", MARKUP_ID)])
        await pilot.pause()
        assert footer() == {"back", "copy node id", "quit"}
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert footer() == {"close"}
