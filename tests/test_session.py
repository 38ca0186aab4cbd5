"""`session.run_plan`, the one loop over a plan (for --report and the TUI alike), and the one
place findings are made unique. A stand-in runner with `run_phase`'s shape; real pytest runs in
test_pytest_run.py, test_cli.py and test_interruptions.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.live import LiveEvidence
from claimcheck.collectors.models import (
    Counts,
    Finding,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    ServiceSample,
)
from claimcheck.collectors.session import dedupe_findings, run_plan

CONFIG = Config(root=Path("/srv/shop"), source=None, python="python",
                phases=(PhaseConfig("unit", pytest=()),
                        PhaseConfig("e2e", pytest=(), requires=("auth",)),
                        PhaseConfig("smoke", pytest=())),
                gaps=())


class Runner:
    def __init__(self, statuses: dict[str, str] | None = None) -> None:
        self.statuses = statuses or {}
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    async def __call__(self, phase: PhaseConfig, config: Config,
                       on_event: Callable[[Any], None] | None = None, *,
                       extra_args: Sequence[str] = ()) -> PhaseRun:
        self.calls.append((phase.name, tuple(extra_args)))
        run = PhaseRun(phase.name, self.statuses.get(phase.name, "passed"), 0, 0.1,  # type: ignore[arg-type]
                       Counts(collected=1, passed=1))
        assert on_event is not None
        on_event(PhaseStarted(phase.name, (), 0.0))
        on_event(PhaseFinished(phase.name, run))
        return run


def sample(status: str) -> ServiceSample:
    return ServiceSample("auth", "http", "http://auth", status, "connection refused", 1.0)  # type: ignore[arg-type]


async def test_a_phase_whose_required_service_is_down_is_blocked_not_run() -> None:
    runner, asked, live = Runner(), [], LiveEvidence.for_config(CONFIG)

    async def required(names: Sequence[str]) -> list[ServiceSample]:
        asked.append(tuple(names))
        return [sample("down")]

    runs = await run_plan(CONFIG, CONFIG.phases, live.fold, required=required, runner=runner,
                          extra_args=("--lf",))
    assert [c for c in runner.calls] == [("unit", ("--lf",)), ("smoke", ("--lf",))]
    assert asked == [("auth",)]
    assert [(run.name, run.status) for run in runs] == [
        ("unit", "passed"), ("e2e", "blocked"), ("smoke", "passed")]
    assert runs[1].reason == "blocked by auth: connection refused"
    assert live.phase("e2e").status == "blocked"  # started and finished like any phase


async def test_force_runs_a_phase_whatever_its_services_say() -> None:
    runner = Runner()

    async def required(names: Sequence[str]) -> list[ServiceSample]:
        raise AssertionError("not asked when forced")

    await run_plan(CONFIG, CONFIG.phases, lambda event: None, required=required,
                   runner=runner, force=True)
    assert [name for name, _ in runner.calls] == ["unit", "e2e", "smoke"]


async def test_an_interrupted_phase_ends_the_plan() -> None:
    runner = Runner({"unit": "interrupted"})
    runs = await run_plan(CONFIG, CONFIG.phases, lambda event: None, runner=runner)
    assert [run.name for run in runs] == ["unit"]


async def test_cancelling_the_plan_stops_it_where_it_is() -> None:
    started = asyncio.Event()

    async def hanging(phase: PhaseConfig, config: Config, on_event: Any = None, *,
                      extra_args: Sequence[str] = ()) -> PhaseRun:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("never")

    task = asyncio.ensure_future(run_plan(CONFIG, CONFIG.phases, lambda event: None,
                                          runner=hanging))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_same_static_problem_seen_from_two_phases_is_one_finding() -> None:
    a = Finding("uncollected-tests", "unit", "tests/test_ws.py", 2, "Class X ...",
                ("tests/test_ws.py",))
    b = Finding("uncollected-tests", "integration", "tests/test_ws.py", 2, "Class X, again",
                ("tests/test_ws.py",))
    c = Finding("uncollected-tests", "integration", "tests/test_ws.py", 9, "Class Y ...",
                ("tests/test_ws.py",))
    d = Finding("deprecation", "unit", "app.py", 3, "old", count=2)
    e = Finding("deprecation", "integration", "app.py", 3, "old", count=5)
    assert dedupe_findings([a, b, c, d, e]) == [a, c, d]
