"""The command center over time: its runs recorded, compared and judged as `--report`'s are.

Pilot on the real app, with the scenario's stand-in runner (the real plan loop and the real
judge) and a real history database in tmp_path: each plan is a run in the history, the second
run is compared with the first (newly failing marked in the failure list, a cell that got
worse in the matrix, vanished tests red), a test that flips is marked flaky, a broken claim is
the first thing on the screen at 80x24, and the history view reads the store.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from claimcheck.collectors.claims import CLAIMS_FILE
from claimcheck.collectors.config import Config, GapConfig, PhaseConfig
from claimcheck.collectors.history import HistoryStore
from claimcheck.collectors.report.text import render_text
from claimcheck.tui.app import ClaimcheckApp
from claimcheck.tui.options import Options
from claimcheck.tui.widgets.claims_banner import ClaimsBanner
from claimcheck.tui.widgets.failures import FailureList, failure_key
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.history_view import HistoryScreen
from claimcheck.tui.widgets.matrix import GapMatrix

AUTH_A = "tests/unit/test_auth.py::test_a"
AUTH_B = "tests/unit/test_auth.py::test_b"
ROUTER = "tests/unit/test_router.py::test_routes"
FLOW = "tests/integration/test_flow.py::test_flow"


def config_in(root: Path) -> Config:
    return Config(root=root, source=None, python="python",
                  phases=(PhaseConfig("unit", pytest=("tests/unit",)),
                          PhaseConfig("integration", pytest=("tests/integration",))),
                  gaps=(GapConfig("auth", "Service auth", match=("*auth*",)),
                        GapConfig("router", "Router fragmentation", match=("*router*",))))


def outcomes(scenario: Any, *, auth_a: str = "passed", router: bool = True) -> dict[str, list]:
    unit = [scenario.result(AUTH_A) if auth_a == "passed" else scenario.failing(AUTH_A),
            scenario.result(AUTH_B)]
    if router:
        unit.append(scenario.result(ROUTER))
    return {"unit": unit, "integration": [scenario.result(FLOW, phase="integration")]}


def recording_app(scenario: Any, root: Path, runner: Any, **options: Any) -> ClaimcheckApp:
    options.setdefault("history", root / "history.db")
    return scenario.new_app(config_in(root), runner=runner,
                            options=Options(project=root, **options))


async def run_plan(app: ClaimcheckApp, pilot: Any, key: str = "r") -> None:
    """Press `key` and wait until the plan it starts has been judged over time."""
    before = app.report
    await pilot.press(key)
    deadline = time.monotonic() + 30
    while True:
        await pilot.pause(0.05)
        recording = app.over_time.recording
        report = app.report
        if (not app.run_state.running and recording is not None and recording.finished
                and report is not None and report is not before
                and report.history_id == recording.judged.history_id):
            break
        assert time.monotonic() < deadline, "the plan was never recorded and judged"
    await pilot.pause()


async def until(pilot: Any, condition: Any, what: str = "the screen never got there") -> None:
    """Wait (bounded, never a timed assertion) for what a worker thread brings."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        await pilot.pause(0.05)
    await pilot.pause()


def stored_runs(path: Path) -> list:
    with HistoryStore(path, create=False) as store:
        return store.recent_runs(limit=20)


async def test_each_plan_is_a_run_in_the_history_compared_with_the_last(scenario,
                                                                       tmp_path) -> None:
    runner = scenario.FakeRunner(outcomes(scenario))
    app = recording_app(scenario, tmp_path, runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_plan(app, pilot)
        first = app.report
        assert first.verdict == "green" and app.query_one(VerdictHeader).verdict == "green"
        runs = stored_runs(tmp_path / "history.db")
        assert [(run.ref.run_id, run.scope, run.verdict) for run in runs] == [
            (first.history_id, "full", "green")]
        assert first.changes is not None and all(c.baseline is None for c in first.changes.phases)

        # The auth test breaks and the router test vanishes.
        runner.outcomes.update(outcomes(scenario, auth_a="failed", router=False))
        await run_plan(app, pilot)
        report = app.report
        assert report.verdict == "red" and report.exit_code == 1
        assert app.query_one(VerdictHeader).verdict == "red"
        unit = next(change for change in report.changes.phases if change.phase == "unit")
        assert unit.newly_failing == (AUTH_A,) and unit.disappeared == (ROUTER,)
        kinds = [finding.kind for finding in report.findings]
        assert kinds[0] == "tests-disappeared"
        assert "unit: 1 test disappeared" in report.reasons

        # What the store says is what the screen and the report say.
        runs = stored_runs(tmp_path / "history.db")
        assert [(run.ref.run_id, run.verdict) for run in runs][0] == (report.history_id, "red")
        assert runs[0].changes["newly_failing"] == 1 and runs[0].changes["disappeared"] == 1
        assert "What changed since" in render_text(report, width=120)

        # Marked where a person looks: the failure and the matrix cell.
        failures = app.query_one(FailureList)
        message = failures.get_cell(failure_key("unit", AUTH_A), "message").plain
        assert message.startswith("NEW ")
        matrix = app.query_one(GapMatrix)
        assert matrix.get_cell("auth", "unit").plain == "✖ 1/2 worse"
        assert matrix.get_cell("router", "unit").plain == "no evidence worse"
        assert matrix.get_cell("auth", "integration").plain == "no evidence"  # no change

        # Fixed again: still compared with the run before, now better.
        runner.outcomes.update(outcomes(scenario, router=False))
        await run_plan(app, pilot)
        assert matrix.get_cell("auth", "unit").plain == "✔ 2 better"
        assert app.report.verdict == "green"
        await pilot.press("q")
    assert app.return_value == 0


async def test_a_failure_still_failing_and_a_flaky_one_are_told_apart(scenario, tmp_path) -> None:
    runner = scenario.FakeRunner(outcomes(scenario, auth_a="failed"))
    app = recording_app(scenario, tmp_path, runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_plan(app, pilot)
        failures = app.query_one(FailureList)
        key = failure_key("unit", AUTH_A)
        assert not failures.get_cell(key, "message").plain.startswith(("NEW", "still"))
        await run_plan(app, pilot)
        assert failures.get_cell(key, "message").plain.startswith("still ")
        # fail, fail, pass, fail, pass, fail: flips three times and more in ten runs.
        for auth_a in ("passed", "failed", "passed", "failed"):
            runner.outcomes.update(outcomes(scenario, auth_a=auth_a))
            await run_plan(app, pilot)
        flaky = app.report.changes.flaky
        assert [(test.phase, test.nodeid) for test in flaky] == [("unit", AUTH_A)]
        assert failures.get_cell(key, "message").plain.startswith("NEW flaky ")
        await pilot.press("q")


async def test_a_rerun_of_one_phase_stores_only_that_phase(scenario, tmp_path) -> None:
    runner = scenario.FakeRunner(outcomes(scenario))
    app = recording_app(scenario, tmp_path, runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await run_plan(app, pilot)
        await pilot.press("1")
        await run_plan(app, pilot, "R")  # the highlighted phase: unit
        assert runner.calls[-1] == ("unit", ())
        await pilot.press("q")
    runs = stored_runs(tmp_path / "history.db")
    assert [run.scope for run in runs] == ["partial", "full"]
    with sqlite3.connect(tmp_path / "history.db") as db:
        phases = db.execute("SELECT name FROM phases WHERE run_id = ?",
                            (runs[0].ref.run_id,)).fetchall()
    assert phases == [("unit",)]


async def test_no_history_records_nothing_and_says_so(scenario, tmp_path) -> None:
    runner = scenario.FakeRunner(outcomes(scenario))
    app = recording_app(scenario, tmp_path, runner, history=None, no_history=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_plan(app, pilot)
        assert app.report.verdict == "green" and app.report.changes is None
        await pilot.press("h")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, HistoryScreen)
        assert "off (--no-history)" in view.title_text().plain
        assert "history is off" in str(view.changes_text().renderables[1])
        await pilot.press("q")  # closes the view, does not quit
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen) and app.is_running
        await pilot.press("q")
    assert not (tmp_path / "history.db").exists()
    assert not (tmp_path / ".claimcheck" / "history.db").exists()


def write_claim(root: Path, gap: str) -> None:
    (root / CLAIMS_FILE).write_text(
        "[[claim]]\n"
        f'gap = "{gap}"\n'
        'by = "Ada Lovelace"\n'
        'at = "2026-12-01T10:02:11+00:00"\n'
        'commit = "81c0a1f2e6d5c4b3a29180706f5e4d3c2b1a0f9e"\n'
        'evidence = "ev-3f2a9c"\n'
        "tests = { unit = 2 }\n", encoding="utf-8")


async def test_a_broken_claim_is_the_first_thing_on_screen_at_80x24(scenario, tmp_path) -> None:
    write_claim(tmp_path, "auth")
    runner = scenario.FakeRunner(outcomes(scenario))
    app = recording_app(scenario, tmp_path, runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_plan(app, pilot)
        banner = app.query_one(ClaimsBanner)
        assert not banner.display  # holding: nothing to shout about
        assert [check.state for check in app.report.claims] == ["holding"]

        runner.outcomes.update(outcomes(scenario, auth_a="failed"))
        await run_plan(app, pilot)
        assert banner.display and banner.region.y == 0
        text = banner.text().plain
        assert text.startswith("✖ CLAIM BROKEN  auth: claimed fixed on 2026-12-01 at 81c0a1f "
                               "by ev-3f2a9c (Ada Lovelace); red since ")
        assert ": 1 failing (unit 1)" in text
        assert banner.region.height >= 2  # every word of it, wrapped, at 80 columns
        assert app.query_one(VerdictHeader).verdict == "red" and app.report.verdict == "red"
        first_group = app.query_one(FindingsPanel).root.children[0]
        assert str(first_group.label).startswith("CLAIMS BROKEN")

        # A later judgement of the same evidence keeps the claim broken (laid over again).
        judged = app.report
        app.command_center.judge()
        await until(pilot, lambda: app.report is not judged)
        assert app.report.findings[0].kind == "claim-broken" and app.report.verdict == "red"
        assert app.report.history_id == judged.history_id

        # While a rerun is under way the banner says what the last run found.
        runner.block = True
        await pilot.press("r")
        await until(pilot, lambda: "as of the last run; rerunning" in banner.text().plain)
        assert banner.display and "auth: claimed fixed" in banner.text().plain
        await pilot.press("q")
    assert app.return_value == 2  # quit during the rerun
    runs = stored_runs(tmp_path / "history.db")
    assert [run.state for run in runs] == ["interrupted", "complete", "complete"]


async def test_the_history_view_shows_the_trend_and_what_changed(scenario, tmp_path) -> None:
    runner = scenario.FakeRunner(outcomes(scenario))
    app = recording_app(scenario, tmp_path, runner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, HistoryScreen)
        await until(pilot, lambda: view.stored is not None)
        assert "no run judged yet" in str(view.changes_text().renderables[1])
        trend = view.trend_text().renderables[1].plain
        assert "no runs recorded yet on this branch" in trend
        await pilot.press("escape")

        await run_plan(app, pilot)
        runner.outcomes.update(outcomes(scenario, auth_a="failed"))
        await run_plan(app, pilot)
        await pilot.press("h")
        await pilot.pause()
        view = app.screen
        await until(pilot, lambda: view.stored is not None)
        changes = "\n".join(str(line) for line in view.changes_text().renderables)
        assert "unit: 1 newly failing" in changes
        assert f"newly failing: {AUTH_A}" in changes
        rows = {row.split()[0]: row for row in _grid_rows(view.trend_text())}
        assert rows["auth"].split()[1:] == ["✓✗", "red"]
        assert rows["router"].split()[1:] == ["✓✓", "green"]
        runs = _grid_rows(view.runs_text())
        assert len(runs) == 3 and "1 newly failing" in runs[1]  # header, newest, oldest
        await pilot.press("escape")
        assert not isinstance(app.screen, HistoryScreen)
        await pilot.press("q")


def _grid_rows(group: Any) -> list[str]:
    """The rows of the table in a view's block, as plain text lines."""
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None)
    console.print(group)
    return [line.strip() for line in console.export_text().splitlines()[1:] if line.strip()]
