"""SVG snapshots of the command center with injected evidence and a frozen clock.

The shared scenario (`scenario` fixture): unit red (with an import error and a node id that
looks like markup), integration running, e2e blocked by a down auth service, a WebSocket
stream. No git, a fixed project name and a fixed elapsed time, so a diff means the screen
changed. Review the SVG diff before `--snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from claimcheck.tui.widgets.failures import failure_key


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, scenario: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await scenario.inject(pilot.app, pilot)

    assert snap_compare(scenario.new_app(), terminal_size=size, run_before=run_before)


def test_failure_detail(snap_compare: Any, scenario: Any) -> None:
    async def detail(pilot: Any) -> None:
        app = pilot.app
        await scenario.inject(app, pilot)
        app.command_center.open_failure(
            app.evidence.failures[failure_key("unit", scenario.MARKUP_ID)])
        await pilot.pause()

    assert snap_compare(scenario.new_app(), terminal_size=(120, 40), run_before=detail)


def test_finding_detail(snap_compare: Any, scenario: Any) -> None:
    """A finding whole at 80x24: the message wrapped, every file, where it points."""
    async def detail(pilot: Any) -> None:
        app = pilot.app
        await scenario.inject(app, pilot)
        app.command_center.open_finding(app.report.findings[0])
        await pilot.pause()

    assert snap_compare(scenario.new_app(), terminal_size=(80, 24), run_before=detail)


def test_narrow_services_panel(snap_compare: Any, scenario: Any) -> None:
    async def services(pilot: Any) -> None:
        await scenario.inject(pilot.app, pilot)
        await pilot.press("5")

    assert snap_compare(scenario.new_app(), terminal_size=(80, 24), run_before=services)


def test_help_screen(snap_compare: Any, scenario: Any) -> None:
    assert snap_compare(scenario.new_app(), terminal_size=(120, 40), press=["question_mark"])
