"""The map view, gap notes beside the matrix, and `--open` in the command center.

Pilot on the real app: the map at 80x24 from the scenario (a down service blocking a phase);
notes from the real source audit of a project holding two definitions of one single-source
class; and reports made by real pytest runs (claimcheck's JSON, pytest-json-report's, pytest's
JUnit XML) opened without running anything.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from claimcheck.collectors.config import Config, GapConfig, PhaseConfig
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.app import ClaimcheckApp, breakpoint_classes
from claimcheck.tui.open_report import load_opened
from claimcheck.tui.opened import opened_app
from claimcheck.tui.options import Options
from claimcheck.tui.widgets.gap_notes import GapNotes
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.map_view import MapScreen
from claimcheck.tui.widgets.matrix import GapMatrix
from claimcheck.tui.widgets.phases import PhaseStrip
from textual.containers import VerticalScroll


async def judged(app: ClaimcheckApp, pilot: Any) -> None:
    """Wait until the plan on screen has ended and been judged."""
    deadline = time.monotonic() + 60
    while app.report is None or app.run_state.running or app.evidence.running:
        await pilot.pause(0.05)
        assert time.monotonic() < deadline, "never judged"
    await pilot.pause()


async def test_the_map_shows_which_phases_a_down_service_blocks_at_80x24(scenario) -> None:
    runner = scenario.FakeRunner({"unit": [scenario.result("tests/unit/test_auth.py::test_a")]})
    app = scenario.new_app(runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        for sample in scenario.samples():  # auth is down: e2e, which requires it, is blocked
            app.ingest(sample)
        await pilot.press("r")
        await judged(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, MapScreen)
        texts = [line.text for line in view.lines]
        auth = texts.index(next(t for t in texts if t.startswith("✗ auth  down")))
        assert texts[auth + 1] == "  └─ blocks ✗ e2e (blocked)"
        assert view.lines[auth + 1].tone == "bad"
        assert all(len(text) <= 80 for text in texts)
        assert not any(scenario.SECRET in text for text in texts)  # the probe detail is masked
        assert "✓ unit  passed" in texts
        body = view.query_one("#map-body", VerticalScroll)
        await pilot.resize_terminal(80, 14)  # more than a screen: it scrolls
        await pilot.pause()
        assert body.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("escape")
        assert not isinstance(app.screen, MapScreen)
        await pilot.press("m", "q")  # q closes the map, it does not quit
        await pilot.pause()
        assert not isinstance(app.screen, MapScreen) and app.is_running
        await pilot.press("q")


async def test_a_gap_whose_files_hold_a_duplicate_says_so_beside_the_matrix(scenario,
                                                                           make_project) -> None:
    root = make_project({
        "app/websocket_manager.py": '"""Fans events out."""\n\nclass WebSocketManager:\n'
                                    '    def send(self):\n        pass\n',
        "app/legacy_websocket.py": '"""The old one."""\n\nclass WebSocketManager:\n'
                                   '    def send(self):\n        pass\n',
    })
    config = Config(root=root, source=None, python="python",
                    phases=(PhaseConfig("unit", pytest=("tests",)),),
                    gaps=(GapConfig("websocket", "WebSocket interface", match=("*websocket*",)),
                          GapConfig("auth", "Service auth", match=("*auth*",))),
                    single_source=("WebSocketManager",))
    runner = scenario.FakeRunner({"unit": [
        scenario.result("tests/test_websocket.py::test_send"),
        scenario.result("tests/test_auth.py::test_login")]})
    app = scenario.new_app(config, runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await judged(app, pilot)
        kinds = [finding.kind for finding in app.report.findings]
        assert "duplicate-definition" in kinds
        notes = app.query_one(GapNotes)
        assert notes.display and notes.region.height == 1
        assert notes.render().plain.startswith(
            "⚠ websocket: duplicate definition: WebSocketManager")
        matrix = app.query_one(GapMatrix)
        assert matrix.get_cell("websocket", "__gap__").plain.startswith("● ⚠ ")
        assert not matrix.get_cell("auth", "__gap__").plain.startswith("● ⚠")
        await pilot.press("q")


OPENED_PROJECT = {
    "pyproject.toml": """
        [tool.claimcheck]
        phases = [{ name = "unit", pytest = ["tests", "-q"] }]

        [tool.claimcheck.gaps.auth]
        title = "Service auth"
        match = ["*auth*"]
    """,
    "tests/test_auth.py": """
        def test_login():
            pass

        def test_logout():
            assert 1 == 2, "the session stayed open"

        def test_refresh():
            pass
    """,
}


@pytest.fixture(scope="module")
def made_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A project and the reports two real pytest runs made of it."""
    from conftest import write_project

    root = write_project(tmp_path_factory.mktemp("opened") / "proj", OPENED_PROJECT)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for step in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "tests"]):
        subprocess.run([*git, *step], cwd=root, check=True, capture_output=True)
    junit, pytest_json = root / "junit.xml", root / "pytest-report.json"
    subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={junit}", "--json-report", f"--json-report-file={pytest_json}"],
                   cwd=root, capture_output=True, check=False)
    cc = root / "cc.json"
    done = subprocess.run([sys.executable, "-m", "claimcheck", "--report", "--no-history",
                           "--format", "json", "--output", str(cc)], cwd=root,
                          capture_output=True, text=True, check=False)
    assert done.returncode == ExitCode.RED, done.stderr
    return root, {"claimcheck": cc, "junit": junit, "pytest-json-report": pytest_json}


@pytest.mark.parametrize("kind", ["claimcheck", "pytest-json-report", "junit"])
async def test_open_shows_a_report_and_runs_nothing(made_reports, kind) -> None:
    root, reports = made_reports
    options = Options(project=root, open=reports[kind])
    config, report = load_opened(options)
    assert report.verdict == "red" and report.exit_code == ExitCode.RED
    app = opened_app(config, report, options)
    async with app.run_test(size=(80, 24)) as pilot:
        await judged(app, pilot)
        header = app.query_one(VerdictHeader)
        assert header.verdict == "red"
        assert f"opened from {reports[kind]}" in header.project
        # The commit the report is about, as the file says (JUnit and pytest-json-report
        # do not say): not this checkout's.
        commit = report.provenance.short_commit if report.provenance else None
        assert (header.git.commit if header.git else None) == commit
        assert (commit is not None) == (kind == "claimcheck")
        strip = app.query_one(PhaseStrip)
        phase = report.phases[0]
        assert strip.get_cell(phase.name, "passed").plain == "2"
        assert strip.get_cell(phase.name, "failed").plain == "1"
        assert app.query_one(GapMatrix).get_cell("auth", phase.name).plain == "✖ 1/3"
        for key in ("r", "f", "s"):
            await pilot.press(key)
            await pilot.pause()
        said = [notification.message for notification in app._notifications]
        assert len(said) == 3 and all("nothing runs here" in text for text in said)
        assert app.run_state.running is False and app.over_time.recording is None
        await pilot.press("q")
    assert app.return_value == report.exit_code == ExitCode.RED
    assert not (root / ".claimcheck" / "history.db").exists()  # opening records nothing


def test_open_in_a_terminal_draws_the_report_and_q_exits_with_its_code(made_reports) -> None:
    """`claimcheck --open FILE` end to end: the CLI, the command center in a real terminal."""
    root, reports = made_reports
    primary, secondary = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "100",
           "LINES": "30"}
    process = subprocess.Popen(
        [sys.executable, "-m", "claimcheck", "--project", str(root), "--open",
         str(reports["claimcheck"])],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, start_new_session=True)
    os.close(secondary)
    shown = b""
    deadline = time.monotonic() + 60

    def read() -> bytes:
        ready, _, _ = select.select([primary], [], [], 0.1)
        try:
            return os.read(primary, 65536) if ready else b""
        except OSError:  # the terminal closed with the process
            return b""

    try:
        while b"opened from" not in shown:  # the header, drawn
            assert process.poll() is None, shown[-2000:]
            assert time.monotonic() < deadline, "the command center was never drawn"
            shown += read()
        os.write(primary, b"q")
        while process.poll() is None:
            assert time.monotonic() < deadline, "q did not quit"
            read()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(primary)
    assert process.returncode == ExitCode.RED


@pytest.mark.parametrize("size, expected", [
    ((80, 24), {"-narrow", "-short"}), ((99, 33), {"-narrow", "-short"}),
    ((100, 34), {"-normal", "-tall"}), ((179, 40), {"-normal", "-tall"}),
    ((200, 50), {"-wide", "-tall"}),
])
def test_the_breakpoint_classes_given_before_the_first_resize_are_the_ones_it_would_set(
        size, expected) -> None:
    classes = breakpoint_classes(size, ClaimcheckApp.HORIZONTAL_BREAKPOINTS,
                                 ClaimcheckApp.VERTICAL_BREAKPOINTS)
    assert {name for name, on in classes.items() if on} == expected
    assert set(classes) == {"-narrow", "-normal", "-wide", "-short", "-tall"}


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_textuals_first_resize_sets_what_breakpoint_classes_said(tmp_path,
                                                                      size) -> None:
    from claimcheck.collectors.config import default_config

    app = ClaimcheckApp(default_config(tmp_path), autostart=False, read_git=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        said = breakpoint_classes(size, app.HORIZONTAL_BREAKPOINTS, app.VERTICAL_BREAKPOINTS)
        assert {name for name, on in said.items() if on} == \
            set(said) & set(app.screen.classes)
