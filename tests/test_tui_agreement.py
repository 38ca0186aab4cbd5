"""The command center and the report say the same about the same run.

A real pytest run through `--report`'s path (`session.run_evidence`) gives a RunReport; the
command center then replays that run's events through the engine `--open` uses
(`tui.engine.report_engine`), here with the live judge instead of the report as read. Its own
live model counts, classifies and draws them; its judge works on what it folded. Every count,
cell word and finding it shows must equal the report's.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace

from claimcheck.collectors.config import load_config
from claimcheck.collectors.gaps import cell_words
from claimcheck.collectors.pytest_run import wait_for_stragglers
from claimcheck.collectors.report.text import render_text
from claimcheck.collectors.session import assemble_report, run_evidence
from claimcheck.tui.app import ClaimcheckApp
from claimcheck.tui.engine import report_engine
from claimcheck.tui.options import Options
from claimcheck.tui.widgets.findings import FindingsPanel
from claimcheck.tui.widgets.header import VerdictHeader
from claimcheck.tui.widgets.matrix import GapMatrix
from claimcheck.tui.widgets.phases import PhaseStrip

PROJECT = {
    "pyproject.toml": """
        [tool.claimcheck]
        phases = [
            { name = "unit", pytest = ["tests/unit", "-q"] },
            { name = "integration", pytest = ["tests/integration", "-q"] },
        ]

        [tool.claimcheck.gaps.auth]
        title = "Service auth"
        match = ["*auth*"]

        [tool.claimcheck.gaps.billing]
        title = "Billing"
        match = ["*billing*"]
    """,
    "tests/unit/test_auth.py": """
        import warnings

        import pytest

        def test_login():
            pass

        def test_logout():
            assert 1 == 2, "the session stayed open"

        @pytest.mark.xfail(reason="known")
        def test_known():
            assert False

        @pytest.mark.xfail(reason="fixed already?")
        def test_surprise():
            pass

        @pytest.mark.skip(reason="later")
        def test_later():
            pass

        def test_old_api():
            warnings.warn("old_api() is deprecated", DeprecationWarning)

        def test_old_api_again():
            warnings.warn("old_api() is deprecated", DeprecationWarning)

        class CriticalAuthTests:
            def test_one(self):
                pass

            def test_two(self):
                pass
    """,
    "tests/unit/test_billing.py": """
        import pytest

        @pytest.mark.skip(reason="no sandbox")
        def test_charge():
            pass
    """,
    "tests/integration/test_flow.py": """
        from app.missing import thing

        def test_flow():
            assert thing
    """,
    "tests/integration/test_auth_ok.py": """
        def test_auth_ok():
            pass
    """,
}


async def test_the_command_center_shows_what_the_report_says(make_project) -> None:
    root = make_project(PROJECT)
    config = load_config(root)
    report = await run_evidence(config)
    await wait_for_stragglers()
    assert report.verdict == "red"

    # The replay, judged again by the command center's own judge (not the report as read).
    engine = replace(report_engine(report), assemble=assemble_report)
    app = ClaimcheckApp(config, Options(project=root, no_history=True), engine=engine,
                        read_git=False)
    async with app.run_test(size=(200, 50)) as pilot:
        deadline = time.monotonic() + 60
        while app.report is None or app.run_state.running:
            assert time.monotonic() < deadline, "the replayed run was never judged"
            await pilot.pause(0.05)
        await asyncio.gather(*(w.wait() for w in app.workers), return_exceptions=True)
        await pilot.pause()

        # The verdict and the findings: the same judge over the same evidence.
        assert app.query_one(VerdictHeader).verdict == report.verdict
        assert app.report.findings == report.findings and app.report.reasons == report.reasons

        # Phase counts: the report's columns, and a row adds up to its progress.
        strip = app.query_one(PhaseStrip)
        columns = {"passed": "passed", "failed": "failed", "errors": "error",
                   "skipped": "skipped", "xfailed": "xfailed", "xpassed": "xpassed"}
        for run in report.phases:
            for column, field in columns.items():
                assert strip.get_cell(run.name, column).plain == str(getattr(run.counts, field))
            progress = strip.get_cell(run.name, "progress").plain.split()[-1]
            assert progress == f"{run.counts.done}/{run.counts.done}"
        unit = next(run for run in report.phases if run.name == "unit")
        assert (unit.counts.xfailed, unit.counts.xpassed) == (1, 1)  # not folded into "pass"

        # Matrix: the same rows, and every cell in the same words.
        matrix = app.query_one(GapMatrix)
        assert [key.value for key in matrix.rows] == [row.name for row in report.gaps]
        for row in report.gaps:
            for run in report.phases:
                assert matrix.get_cell(row.name, run.name).plain == cell_words(
                    row.cells.get(run.name))
        billing = next(row for row in report.gaps if row.name == "billing")
        assert cell_words(billing.cells.get("unit")) == "no evidence (1 skip)"
        assert cell_words(billing.cells.get("integration")) == "no evidence"

        # Each test's gaps: the JSON's, counted once by the matrix.
        for run in report.phases:
            for test in run.tests:
                assert app.evidence.gaps_of(test) == report.test_gaps[run.name][test.nodeid]

        # Findings: one row per finding, every group's count its rows, the panel's the report's.
        panel = app.query_one(FindingsPanel)
        text = render_text(report, width=200)
        total = int(re.search(r"^Findings \((\d+)\)$", text, re.MULTILINE).group(1))
        assert panel.count == total == len(report.findings)
        assert str(panel.border_title) == f"4 findings ({total})"
        kinds = {finding.kind for finding in report.findings}
        assert {"uncollected-tests", "deprecation", "import-error"} <= kinds
        for group in panel.root.children:
            label = str(group.label)
            shown = int(label.rsplit(None, 1)[-1])
            assert shown == len(group.children), label
        uncollected = next(f for f in report.findings if f.kind == "uncollected-tests")
        assert uncollected.count == 2  # two methods, one finding: the group says 1
        await pilot.press("q")
