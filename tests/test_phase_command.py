"""`--report` starts its first phase before the event loop exists (`phase_command.start_ahead`);
the runner takes that process over, or it is ended: real pytest processes on fixture projects."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from claimcheck.collectors import phase_command
from claimcheck.collectors.config import load_config
from claimcheck.collectors.pytest_run import run_phase, wait_for_stragglers

from tests.processes import all_gone, wait_for

SLOW = {"tests/test_slow.py": """
    import time

    def test_slow():
        time.sleep(600)
"""}
QUICK = {"tests/test_quick.py": """
    import pytest

    def test_one():
        pass

    def test_two():
        assert 1 == 2

    @pytest.mark.skip(reason="not today")
    def test_three():
        pass
"""}


@pytest.fixture(autouse=True)
def nothing_left_started():
    yield
    phase_command.abandon_started()


def started_process() -> psutil.Process:
    started = phase_command._started
    assert started is not None, "nothing was started ahead"
    return psutil.Process(started.process.pid)


def test_a_phase_started_ahead_is_taken_over_and_counted_in_full(make_project) -> None:
    root = make_project(QUICK)
    config = load_config(root)
    phase = config.phases[0]
    phase_command.start_ahead(phase, config)
    ahead = started_process()
    events: list[object] = []

    async def run():
        try:
            return await run_phase(phase, config, events.append)
        finally:
            await wait_for_stragglers()

    result = asyncio.run(run())
    assert phase_command._started is None
    assert result.argv[:3] == (config.python, "-m", "pytest")
    assert (result.counts.passed, result.counts.failed, result.counts.skipped) == (1, 1, 1)
    assert result.status == "failed"
    assert result.sessions and result.sessions[0].pid == ahead.pid  # the very process
    assert type(events[0]).__name__ == "PhaseStarted"
    assert type(events[-1]).__name__ == "PhaseFinished"


def test_a_run_starts_when_the_phase_it_takes_over_was_started_ahead(make_project) -> None:
    """The run's time is never shorter than its first phase's: a run whose first phase was
    started ahead began at that spawn; any other run, when it starts."""
    root = make_project(QUICK)
    config = load_config(root)
    phase = config.phases[0]
    later = time.time() + 60
    assert phase_command.run_started_at(later, phase.name) == later  # nothing started ahead
    phase_command.start_ahead(phase, config)
    spawned = phase_command._started.started_at
    assert phase_command.run_started_at(later, phase.name) == spawned
    assert phase_command.run_started_at(later, "another") == later
    assert phase_command.run_started_at(spawned - 1, phase.name) == spawned - 1


def test_a_phase_started_ahead_but_never_run_is_ended_with_its_stream_folder(
        make_project) -> None:
    root = make_project(SLOW)
    config = load_config(root)
    phase_command.start_ahead(config.phases[0], config)
    ahead = started_process()
    stream_dir = Path(phase_command._started.stream_dir)
    assert stream_dir.is_dir()
    phase_command.abandon_started()
    wait_for(lambda: all_gone([ahead]), "the phase started ahead to end", limit=10)
    assert not stream_dir.exists()


def test_a_run_with_other_arguments_ends_the_process_started_ahead_and_starts_its_own(
        make_project) -> None:
    root = make_project(QUICK)
    config = load_config(root)
    phase = config.phases[0]
    phase_command.start_ahead(phase, config)
    ahead = started_process()

    async def run():
        try:
            return await run_phase(phase, config, extra_args=["-k", "one"])
        finally:
            await wait_for_stragglers()

    result = asyncio.run(run())
    wait_for(lambda: all_gone([ahead]), "the phase started ahead to end", limit=10)
    assert result.argv[-2:] == ("-k", "one")
    assert (result.counts.passed, result.counts.failed) == (1, 0)
    assert all(session.pid != ahead.pid for session in result.sessions)


def test_an_interpreter_that_is_no_program_starts_nothing_ahead(make_project) -> None:
    root = make_project(QUICK)
    config = load_config(root)._replace(python=str(root / "no-such-python"))
    before = set(os.listdir(tempfile.gettempdir()))
    phase_command.start_ahead(config.phases[0], config)
    assert phase_command._started is None
    assert set(os.listdir(tempfile.gettempdir())) <= before  # no stream folder


SERVICE = """
[[tool.claimcheck.services]]
name = "auth"
url = "http://127.0.0.1:9/health"
"""


@pytest.mark.parametrize("case", ["services first", "services only", "unknown phase", "none"])
def test_nothing_is_started_ahead_when_something_comes_before_the_first_phase(
        make_project, case: str) -> None:
    root = make_project({**QUICK, "pyproject.toml": SERVICE if case == "services first" else ""})
    config = load_config(root)
    phase_command.start_first_ahead(config, ["nope"] if case == "unknown phase" else None,
                                    services_only=case == "services only")
    started = phase_command._started is not None
    assert started == (case == "none")


def test_a_stream_folder_is_made_where_tempfile_makes_it_and_clears_dead_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made without importing tempfile before the first spawn: in $TMPDIR, private to its
    owner, named for it; the folders of claimchecks that are gone are removed beside it."""
    dead = psutil.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{phase_command.protocol.stream_folder_prefix(dead.pid)}old"
    stale.mkdir()
    monkeypatch.setattr(phase_command, "_stale_cleared", False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    folder = Path(phase_command.make_stream_dir())
    assert folder.parent == tmp_path and folder.is_dir()
    assert folder.name.startswith(phase_command.protocol.stream_folder_prefix(os.getpid()))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert not stale.exists()
    assert Path(phase_command.make_stream_dir()) != folder
    monkeypatch.setenv("TMPDIR", str(tmp_path / "absent"))  # tempfile chooses another
    elsewhere = Path(phase_command.make_stream_dir())
    try:
        assert elsewhere.parent == Path(tempfile.gettempdir()) and elsewhere.is_dir()
    finally:
        elsewhere.rmdir()


@pytest.mark.parametrize(("start_cache", "statements"), [
    ("/cache/starts", "/cache/starts/statements"),
    ("off", None),  # remembering switched off: nothing kept between runs
    ("", "/home/dev/.cache/claimcheck/starts/statements"),
    ("relative/starts", os.path.join(os.getcwd(), "relative", "starts", "statements")),
])
def test_a_phase_keeps_its_statement_lines_beside_the_remembered_starts(
        start_cache: str, statements: str | None) -> None:
    base = {"XDG_CACHE_HOME": "/home/dev/.cache", "CLAIMCHECK_START_CACHE": start_cache,
            "CLAIMCHECK_STATEMENTS": "/from/an/outer/run"}
    environ = phase_command.phase_environ(base, {}, "/tmp/stream")
    assert environ.get("CLAIMCHECK_STATEMENTS") == statements
