"""The command center driven through Pilot: the shared scenario (`scenario` fixture), injected
through `app.ingest`, the door the real workers use; keys that start work run the real plan
loop over a stand-in runner. Assertions are on what the screen shows and on public state.
Real subprocesses: test_tui_live.py. Agreement with the report: test_tui_agreement.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Sequence

import pytest
from claimcheck.collectors.config import Config, GapConfig, PhaseConfig, ServiceConfig
from claimcheck.collectors.live import counts_of
from claimcheck.collectors.models import (
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    ServiceSample,
    TestFinished,
    TestsCollected,
)
from claimcheck.tui.panels import PANELS
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


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (Textual renders Text into Content)."""
    rendered = widget.render()
    return getattr(rendered, "plain", str(rendered))


def events_text(app: Any) -> str:
    return "\n".join(line.plain for line in app.query_one(EventStream).kept)


async def test_injected_run_fills_every_panel(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        strip = app.query_one(PhaseStrip)
        assert strip.get_cell("unit", "status").plain == "failed"
        assert strip.get_cell("unit", "failed").plain == "2"
        assert strip.get_cell("unit", "errors").plain == "2"  # one test error + one import error
        assert strip.get_cell("integration", "status").plain == "running"
        assert "12/30" in strip.get_cell("integration", "progress").plain
        assert strip.get_cell("e2e", "status").plain == "blocked by auth"
        assert strip.get_cell("e2e", "note").plain == "connection refused"  # not said twice

        matrix = app.query_one(GapMatrix)
        assert matrix.get_cell("auth", "unit").plain == "✖ 1/7"
        assert matrix.get_cell("auth", "integration").plain == "✔ 11"
        assert matrix.get_cell("auth", "e2e").plain == "no evidence"
        assert matrix.get_cell("router", "unit").plain == "✖ 1/1"  # the import error; a skip never ran
        assert matrix.get_cell("websocket", "integration").plain == "✖ 1/1"

        failures = app.query_one(FailureList)
        assert set(failures.keys) == {
            failure_key("unit", scenario.MARKUP_ID),
            failure_key("unit", "tests/unit/test_factory.py::test_two_factories_conflict"),
            failure_key("unit", "tests/unit/test_ws_manager.py::test_broadcast"),
            failure_key("unit", scenario.IMPORT_ERROR.path),
            failure_key("integration", scenario.WEBSOCKET_FAILURE),
        }

        findings = app.query_one(FindingsPanel)
        labels = [str(node.label) for node in findings.root.children]
        assert labels and labels[0].startswith("import / collection errors")
        module_node = findings.root.children[0].children[0]
        assert "app.routers.v2" in str(module_node.label)
        assert [str(leaf.label) for leaf in module_node.children] == [scenario.IMPORT_ERROR.path]

        services = app.query_one(ServicesPanel)
        assert services.status_of("auth") == "down"
        auth = services.line_of("auth")
        assert "connection refused" in auth and scenario.SECRET not in auth and "***" in auth
        api = services.line_of("api")
        assert "12 ms" in api and "0:30" in api and "\n" not in api  # up: no detail line
        assert scenario.SECRET not in app.export_screenshot()

        logged = events_text(app)
        assert "order.created" in logged and "unit failed" in logged
        assert "auth down" in logged
        header = app.query_one(VerdictHeader)
        assert header.verdict == "running"
        assert "services 1/3 up" in header.detail  # api up, auth down, events degraded


async def test_the_verdict_comes_from_the_assembled_report(scenario) -> None:
    runner = scenario.FakeRunner({"unit": scenario.UNIT_RESULTS[:8]})
    config = scenario.make_config()
    config = config._replace(phases=config.phases[:1])
    app = scenario.new_app(config, runner=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await scenario.settle(app, pilot)
        assert app.report is not None
        assert app.query_one(VerdictHeader).verdict == app.report.verdict == "red"
        assert app.exit_code_now() == app.report.exit_code == 1


async def test_markup_in_a_node_id_shows_verbatim(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        table = app.query_one(FailureList)
        cell = table.get_cell(failure_key("unit", scenario.MARKUP_ID), "test")
        assert isinstance(cell, Text) and cell.plain.endswith("test_login[bold red]")
        assert "test_login[bold&#160;red]" in app.export_screenshot()
        assert "[bold red]not markup[/]" in events_text(app)


async def enter_on_failure(app: Any, pilot: Any, key: str) -> FailureList:
    """Focus the failure list (3), move to `key` and press Enter; the list."""
    await pilot.press("3")
    table = app.query_one(FailureList)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.press("enter")
    return table


async def test_escape_sequences_in_captured_output_are_neutralised(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await enter_on_failure(app, pilot, failure_key("unit", scenario.MARKUP_ID))
        screen = app.screen
        assert isinstance(screen, FailureDetailScreen)
        shown = plain(screen.query(".detail-section").first(Static))
        assert "before" in shown and "after" in shown
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]0;pwned\\x07" in shown  # data, shown as typed: nothing hidden
        assert "\x1b" not in app.export_screenshot()


async def test_enter_on_a_failure_opens_the_detail_and_esc_goes_back(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await enter_on_failure(app, pilot, failure_key("unit", scenario.MARKUP_ID))
        assert isinstance(app.screen, FailureDetailScreen)
        assert app.screen.result.nodeid == scenario.MARKUP_ID
        traceback = plain(app.screen.query_one("#detail-traceback", Static))
        assert "E       assert 401 == 200" in traceback
        assert "auth" in app.screen.gaps
        await pilot.press("c")
        assert app.clipboard == scenario.MARKUP_ID
        # Evidence keeps arriving while the detail is open; keys for the main screen rest.
        late = "tests/integration/test_auth_flow.py::test_late"
        app.ingest(TestFinished("integration", scenario.failing(late, phase="integration")))
        await scenario.settle(app, pilot)
        await pilot.press("slash", "p")
        assert isinstance(app.screen, FailureDetailScreen)
        assert not app.query_one(EventStream).paused
        await pilot.press("escape")
        assert not isinstance(app.screen, FailureDetailScreen)
        assert failure_key("integration", late) in app.query_one(FailureList).keys


async def test_a_collection_error_detail_shows_no_run_time(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        key = failure_key("unit", scenario.IMPORT_ERROR.path)
        table = await enter_on_failure(app, pilot, key)
        assert isinstance(app.screen, FailureDetailScreen)
        facts = plain(app.screen.query_one("#detail-facts", Static))
        assert "stage collect" in facts and "took" not in facts
        assert app.screen.gaps == ("router",)  # the gaps the matrix counted it in
        await pilot.press("escape")
        table.set_wide(True)  # the time column of a wide screen stays empty for it too
        assert table.get_cell(key, "time").plain == ""


async def test_matrix_cell_filters_the_failure_list_and_esc_clears_it(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("2")
        matrix = app.query_one(GapMatrix)
        assert app.focused is matrix
        matrix.move_cursor(row=matrix.get_row_index("websocket"),
                           column=matrix.get_column_index("integration"))
        await pilot.press("enter")
        await pilot.pause()
        failures = app.query_one(FailureList)
        assert app.focused is failures
        assert list(failures.keys) == [failure_key("integration", scenario.WEBSOCKET_FAILURE)]
        assert "websocket" in str(failures.border_title)
        await pilot.press("escape")
        assert len(failures.keys) == 5


async def test_slash_filters_failures_and_events(scenario) -> None:
    runner = scenario.FakeRunner()
    app = scenario.new_app(runner=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"factor")  # 'f' and 'r' type into the box, they rerun nothing
        await pilot.pause(0.3)
        assert runner.calls == []
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


async def test_an_empty_failure_list_says_why_it_is_empty(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        failures = app.query_one(FailureList)
        await scenario.settle(app, pilot)
        assert "no failed or errored test so far" in first_row_text(failures)
        await scenario.inject(app, pilot)
        assert "no failed" not in first_row_text(failures)  # a failure is on the first row
        await pilot.press("slash", *"zzz-nothing")
        await pilot.pause(0.3)
        assert failures.row_count == 0
        assert "nothing matches the filter" in first_row_text(failures)


async def test_p_pauses_the_event_stream_and_resume_shows_what_arrived(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        events = app.query_one(EventStream)
        assert events.paused
        before = len(events.shown)
        app.ingest(PhaseStarted("unit", (), scenario.T0))
        await scenario.settle(app, pilot)
        assert len(events.shown) == before and events.unseen == 1
        assert "PAUSED" in str(events.border_subtitle)
        await pilot.press("p")
        assert not events.paused
        assert any("unit started" in line.plain for line in events.shown)
        assert "started" in app.export_screenshot()


async def test_number_keys_focus_panels_and_narrow_shows_the_chosen_side_panel(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scenario.inject(app, pilot)
        for number, panel in enumerate(PANELS, 1):
            await pilot.press(str(number))
            focused = app.command_center.focused_panel()  # (the events' run lane for 6)
            assert focused is not None and focused.id == panel.id
            assert Text.from_markup(str(focused.border_title)).plain.startswith(f"[{number}] ")
        await pilot.press("5")
        assert app.query_one(ServicesPanel).display
        assert app.query_one(ServicesPanel).region.height > 0
        assert app.query_one(EventStream).region.height == 0
        await pilot.press("6")
        assert app.query_one(EventStream).region.height > 0
        assert app.query_one(ServicesPanel).region.height == 0


async def shown(app: Any, pilot: Any, *words: str, timeout: float = 20.0) -> str:
    """The screenshot once every word is on screen: a pushed screen fills itself on mount and
    is laid out on a later frame, which a loaded machine can take a while to reach. Waits
    (bounded) instead of asserting on the first frame; fails with what was on screen."""
    deadline = time.monotonic() + timeout
    while True:
        shot = app.export_screenshot()
        if all(word.replace(" ", "&#160;") in shot for word in words):
            return shot
        if time.monotonic() > deadline:
            missing = [word for word in words if word.replace(" ", "&#160;") not in shot]
            raise AssertionError(f"never shown: {missing}")
        await pilot.pause(0.05)


async def test_help_lists_every_key_and_every_panel(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await shown(app, pilot, "rerun only what failed", "filter the failure list",
                    "copy what the focused panel highlights", "probe every service now",
                    "pause or resume", "focus a panel", "save a screenshot",
                    "move down, up, to the first and the last line",
                    *(panel.label for panel in PANELS))
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_every_action(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Rerun", "Failed", "Phase", "Filter", "Pause", "Copy", "Probe", "Help",
                "Quit"} <= titles
        assert {f"Focus {panel.id}" for panel in PANELS} <= titles


async def test_detail_and_help_footers_show_only_the_keys_that_work_there(scenario) -> None:
    from textual.widgets._footer import FooterKey

    def footer() -> set[str]:
        return {key.description for key in app.screen.query(FooterKey)}

    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        assert {"quit", "rerun", "filter", "pause", "probe", "help"} <= footer()
        await enter_on_failure(app, pilot, failure_key("unit", scenario.MARKUP_ID))
        assert footer() == {"back", "copy node id", "screenshot"}
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert footer() == {"close"}


# ----------------------------------------------------------------------------------------
# Keys that start work: the real plan loop over a stand-in runner.


def two_phase_config() -> Config:
    return Config(root=Path("/srv/shop"), source=None, python="python",
                  phases=(PhaseConfig("unit", pytest=()), PhaseConfig("integration", pytest=())),
                  gaps=())


async def test_r_reruns_every_phase_and_f_reruns_only_failures_merged(scenario) -> None:
    result, failing = scenario.result, scenario.failing
    runner = scenario.FakeRunner({
        "unit": [result("tests/unit/test_a.py::test_ok"), failing("tests/unit/test_a.py::test_x")],
        "integration": [result("tests/integration/test_b.py::test_ok", phase="integration")],
    })
    app = scenario.new_app(two_phase_config(), runner=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await scenario.settle(app, pilot)
        assert runner.calls == [("unit", ()), ("integration", ())]
        strip = app.query_one(PhaseStrip)
        assert strip.get_cell("unit", "status").plain == "failed"
        # The flaky test passes on the rerun: --lf, merged by node id.
        runner.outcomes["unit"] = [result("tests/unit/test_a.py::test_x")]
        await pilot.press("f")
        await scenario.settle(app, pilot)
        assert runner.calls[2:] == [("unit", ("--lf",))]
        unit = app.evidence.phase("unit").run
        assert unit is not None and unit.status == "passed"
        assert {t.nodeid for t in unit.tests} == {"tests/unit/test_a.py::test_ok",
                                                   "tests/unit/test_a.py::test_x"}
        assert (unit.counts.passed, unit.counts.failed) == (2, 0)
        assert strip.get_cell("unit", "status").plain == "passed"
        assert strip.get_cell("unit", "passed").plain == "2"
        assert app.query_one(FailureList).keys == ()
        assert app.query_one(VerdictHeader).verdict == "green"
        await pilot.press("f")
        await scenario.settle(app, pilot)
        assert len(runner.calls) == 3  # nothing failed: nothing rerun


@pytest.mark.parametrize("keys", [("f",), ("1", "R")], ids=["f", "R"])
async def test_no_matrix_cell_stays_running_after_a_partial_rerun(scenario, keys) -> None:
    """`f` and `R` rerun part of the plan; once it ends, no cell may still say `…`."""
    result, failing = scenario.result, scenario.failing
    config = scenario.make_config()
    config = config._replace(phases=config.phases[:2], services=())
    runner = scenario.FakeRunner({
        "unit": [failing("tests/unit/test_auth.py::test_a"),
                 result("tests/unit/test_router.py::test_b")],
        "integration": [result("tests/integration/test_auth.py::test_c", phase="integration")],
    })
    app = scenario.new_app(config, runner=runner)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("r")
        await scenario.settle(app, pilot)
        matrix = app.query_one(GapMatrix)
        assert matrix.get_cell("websocket", "integration").plain == "no evidence"
        await pilot.press(*keys)
        await scenario.settle(app, pilot)
        assert len(runner.calls) == 3
        cells = {(gap, phase): matrix.get_cell(gap, phase).plain
                 for gap in matrix.rows for phase in ("unit", "integration")}
        assert "…" not in cells.values()
        assert cells[("websocket", "integration")] == "no evidence"


async def test_shift_r_reruns_the_highlighted_phase(scenario) -> None:
    runner = scenario.FakeRunner()
    app = scenario.new_app(two_phase_config(), runner=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("1", "down", "R")
        await scenario.settle(app, pilot)
        assert runner.calls == [("integration", ())]


async def test_r_while_a_phase_runs_stops_it_first(scenario) -> None:
    runner = scenario.FakeRunner({"unit": [scenario.result("tests/unit/test_a.py::test_ok")]},
                                 block=True)
    app = scenario.new_app(two_phase_config(), runner=runner)
    async with app.run_test(size=(120, 40)) as pilot:
        strip = app.query_one(PhaseStrip)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert strip.get_cell("unit", "status").plain == "running"
        await pilot.press("r")
        await pilot.pause(0.3)
        assert runner.cancelled == ["unit"]
        assert [c[0] for c in runner.calls] == ["unit", "unit"]
        assert strip.get_cell("unit", "status").plain == "running"  # the new run, not the old
        await pilot.press("q")
    assert runner.cancelled == ["unit", "unit"]
    assert app.return_value == 2


async def test_a_required_service_down_blocks_the_phase(scenario) -> None:
    runner = scenario.FakeRunner()
    app = scenario.new_app(runner=runner, autostart=True)
    async with app.run_test(size=(120, 40)) as pilot:
        strip = app.query_one(PhaseStrip)
        for _ in range(40):
            await pilot.pause(0.05)
            if strip.get_cell("e2e", "status").plain.startswith("blocked"):
                break
        assert [c[0] for c in runner.calls] == ["unit", "integration"]
        assert strip.get_cell("e2e", "status").plain == "blocked by auth"
        assert strip.note_shown("e2e") == "connection refused (token *** rejected)"
        for _ in range(100):
            app.flush()
            await pilot.pause(0.05)
            if "e2e not run" in events_text(app):
                break
        logged = events_text(app)  # the plan loop's own PhaseStarted + blocked PhaseFinished
        assert "e2e started" not in logged  # a blocked phase never started
        assert "e2e not run: blocked by auth: connection refused" in logged
        await pilot.press("q")


async def test_probes_rearm_after_completion_and_s_never_overlaps(scenario) -> None:
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
        return [s for s in scenario.samples() if s.name == services[0].name]

    config = scenario.make_config()
    config = config._replace(services=config.services[:1], phases=())
    app = scenario.new_app(config, probe=probe)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.press("s", "s")  # a probe is in flight: no second one
        await pilot.pause(0.1)
        assert calls == 1 and most == 1
        release.set()
        await pilot.pause(0.1)
        assert app.probe_scheduled("auth")  # re-armed after the probe completed
        await pilot.press("s")  # cancels the timer and probes now
        await pilot.pause(0.1)
        assert calls == 2 and most == 1
        assert app.query_one(ServicesPanel).status_of("auth") == "down"
        await pilot.press("q")


async def test_failure_list_is_bounded_with_a_more_row(scenario) -> None:
    app = scenario.new_app(two_phase_config())
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(FailureList)
        table.limit = 50
        app.ingest(PhaseStarted("unit", (), scenario.T0))
        for i in range(120):
            app.ingest(TestFinished("unit", scenario.failing(f"tests/unit/test_many.py::test_{i}")))
        await scenario.settle(app, pilot)
        assert len(table.keys) == 50 and table.hidden == 70
        assert table.has_more_row
        table.move_cursor(row=table.get_row_index(MORE_KEY))
        await pilot.press("3", "enter")
        await pilot.pause()
        assert len(table.keys) == 120 and not table.has_more_row


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
async def test_every_phase_column_of_the_matrix_stays_in_view(scenario,
                                                              size: tuple[int, int]) -> None:
    app = scenario.new_app(four_phase_config())
    async with app.run_test(size=size) as pilot:
        tests = [scenario.failing("tests/unit/test_factory.py::test_a"),
                 scenario.result("tests/unit/test_router.py::test_b"),
                 scenario.result("tests/unit/test_websocket_x.py::test_c"),
                 scenario.failing("tests/unit/test_auth.py::test_d")]
        app.ingest(PhaseStarted("unit", (), scenario.T0))
        for test in tests:
            app.ingest(TestFinished("unit", test))
        app.ingest(PhaseFinished("unit", PhaseRun("unit", "failed", 1, 1.0, counts_of(tests, 0),
                                                  tests=tuple(tests))))
        await scenario.settle(app, pilot)
        matrix = app.query_one(GapMatrix)
        assert [column.key.value for column in matrix.ordered_columns][1:] == [
            "unit", "integration", "staging", "e2e"]
        assert matrix.virtual_size.width <= matrix.scrollable_content_region.width
        assert matrix.get_cell("auth", "unit").plain == "✖ 1/1"
        assert matrix.get_cell("router", "unit").plain == "✔ 1"
        nothing = matrix.get_cell("auth", "e2e")
        assert nothing.plain in ("no evidence", "no ev.")
        assert nothing.style.dim and nothing.style.color is None  # never a colour, never green
        if nothing.plain == "no ev.":  # the short form is explained where it is shown
            shot = app.export_screenshot()  # the panel title: "no ev." (dim italic) " = no evidence"
            assert ">no&#160;ev.<" in shot and ">&#160;=&#160;no&#160;evidence<" in shot
        title = matrix.get_cell("websocket", matrix.ordered_columns[0].key).plain
        full = "● WebSocket interface mismatches"
        assert title == full or (title.endswith("…") and full.startswith(title[:-1]))
        if size[0] < 80:
            assert title != full and len(title) >= 10


async def test_focus_goes_straight_to_the_failure_list(scenario, monkeypatch) -> None:
    """Each focus change recomposes the footer and lays the screen out again: at start there
    is one, onto the failure list, not one onto the first focusable widget and another."""
    from textual.screen import Screen

    moves: list[str] = []
    set_focus = Screen.set_focus

    def counted(self: Screen, widget: Any, *args: Any, **kwargs: Any) -> None:
        if widget is not self.focused:
            moves.append(type(widget).__name__)
        set_focus(self, widget, *args, **kwargs)

    monkeypatch.setattr(Screen, "set_focus", counted)
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.settle(app, pilot)
        assert isinstance(app.focused, FailureList)
        assert moves == ["FailureList"]


async def test_the_plan_starts_after_the_first_frame(scenario, monkeypatch) -> None:
    """The runner's first step imports the record's modules (tens of milliseconds): it waits
    until the screen has been drawn once, so the first frame does not wait for it."""
    from textual.screen import Screen

    frames: list[int] = []
    refresh = Screen._compositor_refresh

    def counted(self: Screen) -> None:
        refresh(self)
        frames.append(1)

    monkeypatch.setattr(Screen, "_compositor_refresh", counted)
    frames_when_called: list[int] = []

    class Runner(scenario.FakeRunner):
        async def __call__(self, *args: Any, **kwargs: Any) -> PhaseRun:
            frames_when_called.append(len(frames))
            return await super().__call__(*args, **kwargs)

    runner = Runner({"unit": [scenario.result("tests/unit/test_a.py::test_ok")]})
    app = scenario.new_app(runner=runner, autostart=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.settle(app, pilot)
        assert app.evidence.phase("unit").status == "passed"
    assert frames_when_called and frames_when_called[0] >= 1  # the first phase's call


@pytest.mark.parametrize("size", [(200, 50), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_running_phase_column_is_not_rebuilt_each_time_its_counts_gain_a_digit(
        scenario, size: tuple[int, int]) -> None:
    """Each rebuild of the matrix lays the whole screen out again (tens of ms at 20,000 results
    a second): where there is room, a running phase's column is as wide as `✖ T/T` for its T
    tests from the start; where there is not, the columns fit as before."""
    app = scenario.new_app(four_phase_config())
    async with app.run_test(size=size) as pilot:
        matrix = app.query_one(GapMatrix)
        rebuilt: list[tuple[int, ...]] = []
        rebuild = matrix._rebuild

        def counted() -> None:
            rebuild()
            rebuilt.append(matrix._layout.widths)

        matrix._rebuild = counted  # type: ignore[method-assign]
        app.ingest(PhaseStarted("unit", (), scenario.T0))
        app.ingest(TestsCollected("unit", 2000))
        await scenario.settle(app, pilot)
        settled = len(rebuilt)
        done = 0
        for total in (1, 10, 100, 1000):  # "✔ 1", "✔ 10", "✔ 100", "✔ 1000"
            while done < total:
                app.ingest(TestFinished("unit", scenario.result(f"tests/unit/test_auth.py::t{done}")))
                done += 1
            await scenario.settle(app, pilot)
            assert matrix.get_cell("auth", "unit").plain == f"✔ {total}"
            assert matrix.virtual_size.width <= matrix.scrollable_content_region.width
        unit = [column.key.value for column in matrix.ordered_columns].index("unit") - 1
        if size == (200, 50):
            assert len(rebuilt) == settled  # the column was wide enough from the start
            assert matrix._layout.widths[unit] == len("✖ 2000/2000")
        else:  # no room to spare: the column grows with its counts, as before
            assert len(rebuilt) > settled
        tests = tuple(scenario.result(f"tests/unit/test_auth.py::t{n}") for n in range(done))
        app.ingest(PhaseFinished("unit", PhaseRun("unit", "passed", 0, 1.0,
                                                  counts_of(list(tests), 0), tests=tests)))
        await scenario.settle(app, pilot)
        assert matrix.get_cell("auth", "unit").plain == "✔ 1000"
        said = [matrix.get_cell(gap.name, "unit").plain for gap in four_phase_config().gaps]
        assert "✔ 1000" in said and "…" not in said  # finished: as wide as its words again
        assert matrix._layout.widths[unit] == max(len("unit"), *map(len, said))


async def test_progress_is_done_over_selected_so_a_finished_phase_looks_finished(scenario) -> None:
    """A runner's second pytest session with every test deselected adds nothing to do."""
    result = scenario.result
    config = Config(root=Path("/srv/shop"), source=None, python="python",
                    phases=(PhaseConfig("staging", command=("python", "run.py")),), gaps=())
    tests = [result(f"tests/staging/test_s.py::test_{i}", phase="staging") for i in range(4)]
    app = scenario.new_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        strip = app.query_one(PhaseStrip)
        app.ingest(PhaseStarted("staging", (), scenario.T0))
        app.ingest(TestsCollected("staging", 5, deselected=1))
        for test in tests[:2]:
            app.ingest(TestFinished("staging", test))
        await scenario.settle(app, pilot)
        assert strip.get_cell("staging", "progress").plain.endswith(" 2/4")
        for test in tests[2:]:
            app.ingest(TestFinished("staging", test))
        app.ingest(TestsCollected("staging", 4, deselected=4))  # the smoke subset: none
        from claimcheck.collectors.models import Counts

        run = PhaseRun("staging", "passed", 0, 1.0,
                       Counts(collected=9, passed=4, deselected=5), tests=tuple(tests))
        app.ingest(PhaseFinished("staging", run))
        await scenario.settle(app, pilot)
        assert strip.get_cell("staging", "progress").plain.endswith(" 4/4")


# ----------------------------------------------------------------------------------------
# Textual's own attributes are not ours to reuse


def test_no_class_of_the_tui_shadows_a_private_attribute_of_textual() -> None:
    """GapMatrix once kept its running phases in `self._running`, Textual's flag for a live
    message pump: while the set was empty the widget never asked to be repainted, and after
    `f` or `R` its cells showed `…` for good although its data said otherwise."""
    import ast
    import importlib
    import inspect
    import pkgutil

    import claimcheck.tui
    from textual.dom import DOMNode

    clashes: list[str] = []
    modules = [info.name for info in pkgutil.walk_packages(claimcheck.tui.__path__,
                                                           "claimcheck.tui.")]
    for name in modules:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and issubclass(cls, DOMNode)
                    and cls.__module__ == name):
                continue
            base = next(klass for klass in cls.__mro__
                        if klass.__module__.split(".")[0] == "textual")
            try:
                instance = base()
            except TypeError:
                instance = base("x")
            theirs = set(dir(base)) | set(vars(instance))
            tree = ast.parse(inspect.getsource(cls))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                        and isinstance(node.value, ast.Name) and node.value.id == "self"
                        and node.attr.startswith("_") and node.attr in theirs):
                    clashes.append(f"{name}.{cls.__name__}.{node.attr}")
    assert modules and clashes == []


async def test_the_findings_panel_says_yet_only_before_a_judgement() -> None:
    """Before a judgement there are no findings *yet*; a judgement with none says so plainly."""
    from textual.app import App

    class One(App[None]):
        def compose(self):
            yield FindingsPanel()

    async with One().run_test(size=(80, 10)) as pilot:
        panel = pilot.app.query_one(FindingsPanel)
        labels = lambda: [str(node.label) for node in panel.root.children]  # noqa: E731
        assert labels() == ["no findings yet"]
        panel.show_findings(())
        await pilot.pause()
        assert labels() == ["no findings: nothing wrong with the evidence"]
