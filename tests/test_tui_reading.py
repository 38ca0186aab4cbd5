"""Reading the command center at a glance, and the keys that read it (issue 15), through Pilot.

Each test is something a person saw: a node id cut from the left, a message cut at 14
characters, a finding no screen showed whole, a blocked phase's reason cut and said twice,
titles that read "1 phases", agent frames pushing every test line out of view, `f` saying
"4/4 phases done", keys that did not do what k9s or less do, `c` copying the wrong thing, a
screenshot that could not be saved. The shared scenario (`scenario` fixture) feeds the screen
through `app.ingest`, as the real workers do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.live import counts_of
from claimcheck.collectors.models import (
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    StreamEvent,
    TestFinished,
    TestResult,
    TestsCollected,
)
from claimcheck.tui.screen import CommandCenter
from claimcheck.tui.widgets.detail import FailureDetailScreen
from claimcheck.tui.widgets.events import EventLane, EventStream
from claimcheck.tui.widgets.failures import FailureList
from claimcheck.tui.widgets.finding_detail import FindingDetailScreen
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.help import HelpScreen
from claimcheck.tui.widgets.matrix import GapMatrix
from claimcheck.tui.widgets.phases import PhaseStrip
from claimcheck.tui.widgets.services import ServicesPanel
from rich.text import Text
from textual.widgets import Static

SIZES = [(80, 24), (120, 40), (200, 50)]
size_ids = [f"{w}x{h}" for w, h in SIZES]
LONG_ID = ("tests/integration/websocket/test_agent_events.py::TestGoldenPath::"
           "test_agent_emits_every_event_in_order")
LONG_MESSAGE = ("AssertionError: expected agent_started, agent_thinking, tool_executing, "
                "tool_completed, agent_completed in that order; got agent_started, "
                "agent_thinking, tool_executing and then nothing for 10 s")


def row_text(widget: Any, y: int) -> str:
    return "".join(segment.text for segment in widget.render_line(y))


def rows_text(widget: Any) -> list[str]:
    return [row_text(widget, y) for y in range(widget.size.height)]


def toasts(app: Any) -> list[tuple[str, str]]:
    """(title, message) of the notifications raised so far and not yet expired."""
    return [(n.title, n.message) for n in app._notifications]


def title_of(widget: Any) -> str:
    return Text.from_markup(str(widget.border_title)).plain


def many_failures(count: int, phase: str = "unit", nodeid: str = LONG_ID,
                  message: str = LONG_MESSAGE) -> list[TestResult]:
    from tui_scenario import failing

    return [failing(f"{nodeid}_{i}", phase=phase, message=message) for i in range(count)]


async def feed(app: Any, pilot: Any, scenario: Any, results: Sequence[TestResult],
               phase: str = "unit") -> None:
    app.ingest(PhaseStarted(phase, (), scenario.T0))
    for result in results:
        app.ingest(TestFinished(phase, result))
    await scenario.settle(app, pilot)


# ----------------------------------------------------------------------------------------
# The failure list: the file, the test name and the message


def failure_rows(widget: FailureList) -> list[str]:
    """The rows' own lines (phase, outcome, node id), not the message lines beneath."""
    return [line for line in rows_text(widget)[1:] if " FAIL " in line]


def open_message(widget: FailureList) -> str:
    """The lines open beneath the highlighted failure, joined as they read."""
    lines = rows_text(widget)[1:]
    top = widget.cursor_row  # one line a row above it
    below = []
    for line in lines[top + 1:]:
        if " FAIL " in line or not line.strip():
            break
        below.append(line.strip().removeprefix("└ ").strip())
    return " ".join(below)


# (size, what shows of the file, of the test name) for LONG_ID's 103 characters
SHOWN = {(80, 24): ("test_agent_events.py", "in_order_"),
         (120, 40): ("test_agent_event", "order_"),
         (200, 50): ("test_agent_events.py", "_event_in_order_")}


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
async def test_a_node_id_keeps_its_file_and_its_test_name_at_every_size(scenario, size) -> None:
    app = scenario.new_app()
    async with app.run_test(size=size) as pilot:
        await feed(app, pilot, scenario, many_failures(30))
        table = app.query_one(FailureList)
        file, name = SHOWN[size]
        rows = failure_rows(table)
        assert rows
        for row in rows:
            test = row.split(" FAIL ", 1)[1].strip()
            assert test.startswith(file)  # the file, from its start: never cut from the left
            assert name in test  # the end of the test's name
        assert LONG_ID + "_0" in open_message(table).replace(" ", "")  # whole, beneath it


async def test_few_failures_take_two_lines_each_with_the_whole_message(scenario) -> None:
    app = scenario.new_app()
    nodeid = "tests/integration/test_agent.py::test_emits"
    message = "AssertionError: expected agent_completed, got nothing"
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot, scenario, many_failures(3, nodeid=nodeid, message=message))
        table = app.query_one(FailureList)
        assert table.lines_per_row == 2
        lines = rows_text(table)
        assert nodeid + "_1" in lines[3]  # the node id whole, on its own line
        assert message in lines[4]  # the message whole, on the line beneath
        assert message in lines[6]


async def test_the_highlighted_failure_opens_its_whole_message(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await feed(app, pilot, scenario, many_failures(40))
        table = app.query_one(FailureList)
        assert table.lines_per_row == 1
        await pilot.press("3", "j", "j")
        assert table.cursor_row == 2
        assert LONG_MESSAGE in open_message(table)  # wrapped beneath the third failure
        assert LONG_MESSAGE not in rows_text(table)[2]
        await pilot.press("enter")  # the row under the cursor, not the message line's
        assert isinstance(app.screen, FailureDetailScreen)
        assert app.screen.result.nodeid == LONG_ID + "_2"


async def test_short_node_ids_leave_the_message_the_rest_of_the_line(scenario) -> None:
    app = scenario.new_app()
    message = "E" * 40 + " the end"
    async with app.run_test(size=(200, 50)) as pilot:
        await feed(app, pilot, scenario, many_failures(40, nodeid="tests/t.py::test",
                                                       message=message))
        table = app.query_one(FailureList)
        assert table.lines_per_row == 1
        rows = failure_rows(table)
        assert all(message in row for row in rows[1:])  # 48 characters whole, on the row


# ----------------------------------------------------------------------------------------
# Findings, whole


async def focus_finding(app: Any, pilot: Any) -> FindingsPanel:
    await pilot.press("4")
    panel = app.query_one(FindingsPanel)
    panel.cursor_line = 1  # the first finding, beneath its group's title
    await pilot.pause()
    return panel


@pytest.mark.parametrize("close", ["escape", "q"])
async def test_enter_on_a_finding_shows_it_whole_and_esc_or_q_go_back(scenario, close) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scenario.inject(app, pilot)
        panel = await focus_finding(app, pilot)
        finding = panel.selected.finding
        assert finding.kind == "import-error" and len(finding.message) > 120  # longer than a row
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, FindingDetailScreen) and screen.finding == finding
        shown = str(screen.query_one("#finding-message", Static).render())
        assert " ".join(shown.split()) == " ".join(finding.message.split())  # whole, wrapped
        files = str(screen.query_one("#finding-files", Static).render())
        assert scenario.IMPORT_ERROR.path in files
        await pilot.press(close)
        assert isinstance(app.screen, CommandCenter) and app.is_running


async def test_enter_on_a_group_title_folds_it(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        panel = await focus_finding(app, pilot)
        panel.cursor_line = 0
        await pilot.press("enter")
        assert isinstance(app.screen, CommandCenter)
        assert not panel.root.children[0].is_expanded


# ----------------------------------------------------------------------------------------
# Phases, titles


@pytest.mark.parametrize("size", SIZES, ids=size_ids)
async def test_a_blocked_phase_says_why_whole_and_once(scenario, size) -> None:
    app = scenario.new_app()
    async with app.run_test(size=size) as pilot:
        await scenario.inject(app, pilot)
        strip = app.query_one(PhaseStrip)
        assert strip.get_cell("e2e", "status").plain == "blocked by auth"
        assert strip.note_shown("e2e") == "connection refused"
        drawn = "\n".join(rows_text(strip))
        assert "connection refused" in drawn and "connection refus…" not in drawn
        assert drawn.count("blocked by auth") == 1


async def test_a_long_note_wraps_beneath_its_phase_instead_of_being_cut(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        reason = ("pytest refused the arguments: error: unrecognized arguments: --reruns 2 "
                  "(pytest-rerunfailures is not installed in the phase's interpreter)")
        run = PhaseRun("unit", "error", 4, 0.2, counts_of((), 0), reason=reason)
        app.ingest(PhaseStarted("unit", (), scenario.T0))
        app.ingest(PhaseFinished("unit", run))
        await scenario.settle(app, pilot)
        strip = app.query_one(PhaseStrip)
        assert strip.note_shown("unit") == reason
        assert not any(line.rstrip().endswith("…") for line in rows_text(strip))


async def test_panel_titles_show_the_key_as_a_key_and_counts_as_counts(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        titles = {widget.id: title_of(widget) for widget in (
            app.query_one(PhaseStrip), app.query_one(GapMatrix), app.query_one(FailureList),
            app.query_one(FindingsPanel), app.query_one(ServicesPanel),
            app.query_one(EventStream))}
        assert titles["phases"] == "[1] phases (3)"
        assert titles["matrix"].startswith("[2] gaps × phases (4 × 3)")
        assert titles["failures"] == "[3] failures (5)"
        assert titles["findings"] == "[4] findings (1)"
        assert titles["services"] == "[5] services (3)"
        assert titles["events"] == "[6] events"


# ----------------------------------------------------------------------------------------
# Events beside a flood of frames


def in_view(lane: EventLane) -> list[str]:
    top = round(lane.scroll_y)
    return [line.plain for line in lane.shown[top:top + lane.scrollable_content_region.height]]


async def test_a_flood_of_frames_never_pushes_the_run_out_of_view(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        for batch in range(120):  # 120 frames of 10: far more lines than either lane holds
            for i in range(10):
                app.ingest(StreamEvent(scenario.NOW, "events", "recv", "agent_thinking",
                                       f'{{"type": "agent_thinking", "seq": {batch * 10 + i}}}',
                                       is_json=True))
            app.flush()
            await pilot.pause()
        await scenario.settle(app, pilot)
        events = app.query_one(EventStream)
        run = "\n".join(in_view(events.run_lane))
        assert "failed [integration]" in run and "integration started" in run
        assert "events connected" in run  # a stream connecting is news about the run
        frames = in_view(events.frame_lane)
        assert frames and all("agent_thinking" in line or "frames" in line for line in frames)
        assert events.frame_lane.display
        assert not any("agent_thinking" in line.plain for line in events.run_lane.kept)


async def test_a_blocked_phase_never_started(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        logged = "\n".join(line.plain for line in app.query_one(EventStream).kept)
        assert "e2e started" not in logged
        assert "e2e not run: blocked by auth: connection refused" in logged
        assert "unit started" in logged and "integration started" in logged


# ----------------------------------------------------------------------------------------
# `f`: the header counts the rerun, the clock carries on


class GatedRunner:
    """`run_phase`'s shape: starts the phase, then waits for `gate` before its results."""

    def __init__(self, outcomes: dict[str, list[TestResult]]) -> None:
        self.outcomes = outcomes
        self.gate = asyncio.Event()
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    async def __call__(self, phase: PhaseConfig, config: Config,
                       on_event: Callable[[Any], None] | None = None, *,
                       extra_args: Sequence[str] = ()) -> PhaseRun:
        from tui_scenario import T0

        emit = on_event or (lambda event: None)
        self.calls.append((phase.name, tuple(extra_args)))
        emit(PhaseStarted(phase.name, (), T0))
        await self.gate.wait()
        tests = self.outcomes[phase.name]
        emit(TestsCollected(phase.name, len(tests)))
        for test in tests:
            emit(TestFinished(phase.name, test))
        failed = any(t.outcome == "failed" for t in tests)
        run = PhaseRun(phase.name, "failed" if failed else "passed", int(failed), 0.1,
                       counts_of(tests, 0), tests=tuple(tests))
        emit(PhaseFinished(phase.name, run))
        return run


async def test_during_f_the_header_counts_the_rerun_and_the_clock_carries_on(scenario) -> None:
    import functools

    from claimcheck.collectors.session import assemble_report, run_plan
    from claimcheck.tui.app import ClaimcheckApp
    from claimcheck.tui.engine import Engine

    now = [scenario.T0]
    runner = GatedRunner({
        "unit": [scenario.failing("tests/unit/test_a.py::test_x")],
        "integration": [scenario.result("tests/integration/test_b.py::test_ok",
                                        phase="integration")],
    })
    config = Config(root=Path("/srv/shop"), source=None, python="python",
                    phases=(PhaseConfig("unit", pytest=()),
                            PhaseConfig("integration", pytest=())), gaps=())
    engine = Engine(plan=functools.partial(run_plan, runner=runner),
                    probe=scenario.probe_from_samples, stream=scenario.idle_stream,
                    assemble=assemble_report)
    app = ClaimcheckApp(config, engine=engine, autostart=False, clock=lambda: now[0],
                        read_git=False, started_at=scenario.T0)
    header = None
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one(VerdictHeader)
        await pilot.press("r")
        await pilot.pause()
        now[0] += 20  # the full run takes 20 s
        runner.gate.set()
        await scenario.settle(app, pilot)
        assert header.elapsed_s == 20 and header.detail == "2/2 phases"
        runner.gate.clear()
        now[0] += 300  # five minutes later, `f`
        runner.outcomes["unit"] = [scenario.result("tests/unit/test_a.py::test_x")]
        await pilot.press("f")
        await pilot.pause()
        now[0] += 3
        app.flush()
        await pilot.pause()
        assert header.detail == "rerunning what failed in unit · 0/1 phases done"
        assert header.elapsed_s == 23  # the run's 20 s and the rerun's 3 so far
        runner.gate.set()
        await scenario.settle(app, pilot)
        assert runner.calls[-1] == ("unit", ("--lf",))
        assert header.detail == "2/2 phases" and header.verdict == "green"
        assert header.elapsed_s == 23
        await pilot.press("r")  # a full rerun starts the clock again
        await pilot.pause()
        assert header.elapsed_s == 0
        runner.gate.set()
        await scenario.settle(app, pilot)


# ----------------------------------------------------------------------------------------
# Keys


async def test_j_k_g_and_G_move_as_the_arrows_home_and_end_do(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        failures = app.query_one(FailureList)
        await pilot.press("3", "j", "j")
        assert failures.cursor_row == 2
        await pilot.press("k")
        assert failures.cursor_row == 1
        await pilot.press("G")
        assert failures.cursor_row == failures.row_count - 1
        await pilot.press("g")
        assert failures.cursor_row == 0

        await pilot.press("1", "j")
        assert app.query_one(PhaseStrip).selected_phase == "integration"
        await pilot.press("G")
        assert app.query_one(PhaseStrip).selected_phase == "e2e"
        await pilot.press("g")
        assert app.query_one(PhaseStrip).selected_phase == "unit"

        matrix = app.query_one(GapMatrix)
        await pilot.press("2", "j", "j")
        assert matrix.cursor_coordinate.row == 2
        await pilot.press("G")
        assert matrix.cursor_coordinate.row == matrix.row_count - 1
        await pilot.press("g")
        assert matrix.cursor_coordinate.row == 0

        findings = app.query_one(FindingsPanel)
        await pilot.press("4", "j")
        assert findings.cursor_line == 1
        await pilot.press("G")
        assert findings.cursor_line == findings.last_line
        await pilot.press("k", "g")
        assert findings.cursor_line == 0

        services = app.query_one(ServicesPanel)
        await pilot.press("5", "j")
        assert services.selected == "api"
        await pilot.press("G")
        assert services.selected == "events"
        await pilot.press("g")
        assert services.selected == "auth"


async def test_j_and_G_scroll_a_detail_and_the_help(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one("#help-body")
        assert body.max_scroll_y > 0
        await pilot.press("j")
        assert body.scroll_y == 1
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("q")
        assert isinstance(app.screen, CommandCenter)


async def test_q_closes_a_failure_detail_and_quits_only_from_the_main_screen(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("3", "enter")
        assert isinstance(app.screen, FailureDetailScreen)
        await pilot.press("q")
        assert isinstance(app.screen, CommandCenter) and app.is_running
        await pilot.press("q")
    assert app.return_value is not None  # the main screen's q quit


async def test_after_a_filter_the_cursor_starts_on_the_first_match(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        failures = app.query_one(FailureList)
        await pilot.press("3", "G")
        assert failures.cursor_row == 4
        await pilot.press("slash", *"::test_", "enter")
        await pilot.pause()
        assert failures.row_count == 4 and failures.cursor_row == 0  # (the import error goes)
        await pilot.press("enter")
        assert isinstance(app.screen, FailureDetailScreen)
        assert app.screen.result.nodeid == scenario.MARKUP_ID  # the first match, as listed


@pytest.mark.parametrize(("key", "moves", "what", "copied"), [
    ("3", (), "node id", "tests/unit/test_router_mount.py"),
    ("4", ("j",), "finding", "[unit] No module named 'app.routers.v2'"),
    ("4", ("j", "j"), "file", "tests/unit/test_router_mount.py"),
    ("5", (), "service",
     "auth http://auth.internal:8081/health down: connection refused (token *** rejected)"),
    ("1", ("G",), "phase", "e2e blocked by auth: connection refused"),
    ("2", ("j",), "gap", "websocket (WebSocket interface): red"),
    ("2", ("right",), "cell", "auth (Service auth) × unit: ✖ 1/7"),
], ids=["failure", "finding", "file", "service", "phase", "gap", "cell"])
async def test_c_copies_what_the_focused_panel_highlights(scenario, key, moves, what,
                                                          copied) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press(key, *moves, "c")
        assert app.clipboard.startswith(copied)
        assert "\n" not in app.clipboard and scenario.SECRET not in app.clipboard
        assert toasts(app)[-1] == (f"copied {what}", app.clipboard)


async def test_c_on_the_events_copies_the_newest_line_in_view(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("6", "c")
        assert app.clipboard == app.query_one(EventStream).run_lane.shown[-1].plain
        assert toasts(app)[-1][0] == "copied event"


async def test_s_says_it_is_probing_and_what_came_back(scenario) -> None:
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        assert ("probing now", "probing 3 services: auth, api, events") in toasts(app)
        for _ in range(100):
            if toasts(app)[-1][0].startswith("probed"):
                break
            await pilot.pause(0.05)
        title, message = toasts(app)[-1]
        assert title == "probed: 1/3 up"
        assert message.splitlines() == [
            "auth: down (connection refused (token *** rejected))",
            "api: up 12 ms",
            "events: degraded (2 of 3 expected events within 10 s; missing: order.paid)",
        ]


# ----------------------------------------------------------------------------------------
# Screenshots


async def wait_for_file(folder: Path, pilot: Any) -> list[Path]:
    for _ in range(100):
        found = sorted(folder.glob("claimcheck-*.svg"))
        if found:
            return found
        await pilot.pause(0.05)
    return []


async def test_S_saves_a_screenshot_where_a_person_finds_it_and_says_where(
        scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    monkeypatch.setenv("CLAIMCHECK_SCREENSHOTS", str(tmp_path / "shots"))
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        await pilot.press("S")
        saved = await wait_for_file(tmp_path / "shots", pilot)
        assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
        assert toasts(app)[-1] == ("screenshot saved", str(saved[0]))
        # The command palette's own "Screenshot" saves there too (Textual's would try
        # ~/Downloads, which this HOME does not have).
        command = next(c for c in app.get_system_commands(app.screen)
                       if c.title == "Screenshot")
        command.callback()
        for _ in range(100):
            if len(list((tmp_path / "shots").glob("*.svg"))) == 2:
                break
            await pilot.pause(0.05)
        assert len(list((tmp_path / "shots").glob("*.svg"))) == 2


async def test_S_without_a_folder_configured_saves_in_the_working_folder(
        scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMCHECK_SCREENSHOTS", raising=False)
    monkeypatch.chdir(tmp_path)
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("S")
        saved = await wait_for_file(tmp_path, pilot)
        assert saved and saved[0].parent == tmp_path
        assert toasts(app)[-1] == ("screenshot saved", str(saved[0]))


async def test_a_screenshot_that_cannot_be_saved_says_why(
        scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("CLAIMCHECK_SCREENSHOTS", str(blocker))
    app = scenario.new_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("S")
        await pilot.pause()
        title, message = toasts(app)[-1]
        assert title == "screenshot" and message.startswith(f"could not save a screenshot in "
                                                            f"{blocker}")
        assert app.is_running


# ----------------------------------------------------------------------------------------
# Teardown


async def test_timers_and_late_evidence_never_look_for_a_panel_that_is_gone(scenario) -> None:
    """The flake of issue 15 (`NoMatches: No nodes match 'VerdictHeader'` from the tick at
    teardown) came from drawing through queries while the screen was being taken down. The
    screen now draws through the panels it made: a tick, a flush or late evidence after its
    panels are gone draws into nothing, and raises nothing."""
    app = scenario.new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await scenario.inject(app, pilot)
        screen = app.command_center
        await screen.query_one("#body").remove()
        await screen.query_one(VerdictHeader).remove()
        await screen.query_one(PhaseStrip).remove()
        screen._tick()
        screen.feed.on_timer()
        app.ingest(TestFinished("integration", scenario.failing(
            "tests/integration/test_auth_flow.py::test_late", phase="integration")))
        app.flush()
        await pilot.pause()
        assert app.is_running
