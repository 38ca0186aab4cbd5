"""The event log's lines for a real phase run (a real pytest subprocess on a fixture project)."""

from __future__ import annotations

from typing import Any

from claimcheck.collectors.live import LiveEvidence
from claimcheck.tui.eventlog import EventLog

from tests.phase_runs import PYTEST_INI, run


async def test_a_finished_phase_tells_its_tests_from_the_files_pytest_could_not_collect(
        make_project) -> None:
    """pytest's summary counts a file that fails to import as one of its errors, and so do the
    phase strip's columns and progress (here 6/6); the log's closing line says what the six
    are, so it agrees with the report's `collected 5`."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_a.py": """
            import pytest
            def test_ok(): pass
            def test_fail(): assert 1 == 2
            @pytest.fixture
            def broken(): raise RuntimeError("db down")
            def test_err(broken): pass
            def test_skip(): pytest.skip("later")
            @pytest.mark.xfail
            def test_xf(): assert 0
        """,
        "tests/test_bad.py": "import missing_mod_xyz\ndef test_x(): pass\n",
    })
    events: list[Any] = []
    result = await run(root, pytest_args=("tests",), events=events)
    assert (result.counts.collected, result.counts.done, result.counts.error) == (5, 6, 2)

    evidence = LiveEvidence(["unit"])
    log = EventLog(evidence)
    lines = []
    for event in events:
        evidence.fold(event)
        lines += [line.plain for line in log.lines([event]).run]
    assert lines[-1] == "■ unit failed  5 tests, 1 collection error"


async def test_the_pass_summary_counts_each_outcome_under_its_own_word(make_project) -> None:
    """An xfail or an xpass is not a pass: the summary line says what the phase strip's
    columns say (1 passed, 1 skipped, 2 xfailed, 1 xpassed), not `+4 passed`."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_a.py": """
            import pytest
            def test_ok(): pass
            def test_skip(): pytest.skip("later")
            @pytest.mark.xfail
            def test_xf(): assert 0
            @pytest.mark.xfail
            def test_xf2(): assert 0
            @pytest.mark.xfail
            def test_xp(): pass
        """,
    })
    events: list[Any] = []
    result = await run(root, pytest_args=("tests",), events=events)
    counts = result.counts
    assert (counts.passed, counts.skipped, counts.xfailed, counts.xpassed) == (1, 1, 2, 1)

    evidence = LiveEvidence(["unit"])
    log = EventLog(evidence)
    for event in events:
        evidence.fold(event)
    lines = [line.plain for line in log.lines(events).run]  # one batch: one summary line
    lines += [line.plain for line in log.pass_summaries()]
    assert [line for line in lines if line.startswith("✔ ")] == [
        "✔ unit +1 passed, 1 skipped, 2 xfailed, 1 xpassed  (5/5)"]
