"""One phase run through `run_phase` on a fixture project, as the runner's tests need it.

Shared by tests/test_pytest_run.py and tests/test_xdist_gateways.py, with the project both
count under pytest-xdist (`XDIST_SUITE`: every outcome, a broken file and a deselection).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.models import Counts, PhaseRun
from claimcheck.collectors.pytest_run import run_phase

from tests.conftest import UNUSED_PLUGINS, clean_env

PYTEST_INI = f"[pytest]\naddopts = {UNUSED_PLUGINS}\n"

XDIST_SUITE = {
    "pytest.ini": PYTEST_INI + "markers =\n    api: api tests\n",
    "tests/test_one.py": """
        import pytest
        @pytest.mark.api
        def test_a(): pass
        def test_b(): assert False
        def test_c(): pytest.skip("no")
        def test_dropped(): pass
    """,
    "tests/test_two.py": "def test_d(): pass\ndef test_e(): pass\n",
    "tests/test_bad.py": "import missing_module_xyz\n",
}
XDIST_SELECTION = ("tests", "-k", "not dropped")
XDIST_COUNTS = Counts(collected=6, passed=3, failed=1, error=1, skipped=1, deselected=1)


def config_for(root: Path) -> Config:
    return Config(root=root, source=None, python=sys.executable, phases=(), gaps=())


async def run(root: Path, *, pytest_args: tuple[str, ...] | None = None,
              command: tuple[str, ...] | None = None, timeout: float | None = 120,
              events: list[Any] | None = None, **kwargs: Any) -> PhaseRun:
    """The phase `unit` of `root` (pytest arguments or a command), its events into `events`."""
    phase = PhaseConfig(name="unit", pytest=pytest_args, command=command, timeout=timeout)
    sink = events if events is not None else []
    return await run_phase(phase, config_for(root), sink.append, env=clean_env(), **kwargs)


def outcomes(run_: PhaseRun) -> dict[str, str]:
    return {test.nodeid: test.outcome for test in run_.tests}
