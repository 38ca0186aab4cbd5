"""SVG snapshots of the command center with injected evidence and a frozen clock.

Same scenario as test_tui_app.py: unit red (with an import error and a node id that looks like
markup), integration running, e2e blocked by a down auth service, a WebSocket stream. No git, a
fixed project name and a fixed elapsed time, so a diff means the screen changed. Review the SVG
diff before `--snapshot-update`.
"""

from __future__ import annotations

from typing import Any

import pytest
from claimcheck.tui.widgets.failures import failure_key
from test_tui_app import MARKUP_ID, inject_scenario, new_app


async def _scenario(pilot: Any) -> None:
    await inject_scenario(pilot.app, pilot)


async def _detail(pilot: Any) -> None:
    await inject_scenario(pilot.app, pilot)
    pilot.app.open_failure(pilot.app._failures[failure_key("unit", MARKUP_ID)])
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(new_app(), terminal_size=size, run_before=_scenario)


def test_failure_detail(snap_compare: Any) -> None:
    assert snap_compare(new_app(), terminal_size=(120, 40), run_before=_detail)


def test_narrow_services_panel(snap_compare: Any) -> None:
    async def services(pilot: Any) -> None:
        await inject_scenario(pilot.app, pilot)
        await pilot.press("5")

    assert snap_compare(new_app(), terminal_size=(80, 24), run_before=services)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(new_app(), terminal_size=(120, 40), press=["question_mark"])
