"""Generate a realistic pytest suite for benchmarking claimcheck's engine against bare pytest.

    python bench/gen_suite.py DIR --tests 20000 --fail-ratio 0.01

The suite looks like a real project's: a small `app` package the tests import, a conftest with a
fixture, files of a few hundred tests each, plain and parametrized tests, captured output, skips,
xfails, failures with assertion messages of several shapes (ints, dicts, strings, an exception
from inside the code under test) and a few files that fail to import. The outcome of every test
is fixed by `--seed`, so two runs of the same suite do exactly the same work.

`--tests` counts collected tests; the import-error files add collection errors on top. Because a
collection error stops pytest before any test runs, the generated pyproject sets
`--continue-on-collection-errors` in `addopts` (bare pytest and claimcheck both read it).

When the environment variable `BENCH_LAST_TEST_FILE` is set, the generated conftest writes two
wall-clock times (`time.time()`) to that file as the pytest process exits (atexit): when the last
test finished (`pytest_runtest_logfinish`) and when pytest was about to exit. `bench_engine.py`
compares them with the moment the report landed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

PARAM_GROUP = 10  # tests per parametrized function
SKIP_RATIO = 0.02
XFAIL_RATIO = 0.005
PRINT_EVERY = 9  # every 9th test prints something (captured; shown only for failures)

PYPROJECT = """\
[project]
name = "benchsuite"
version = "0.0.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "--continue-on-collection-errors"
markers = [
    "slow: marks a slow test",
    "db: needs the database fixture",
]
"""

APP_CORE = '''\
"""The code under test: small, so the suite measures the test engine, not the app."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    return a + b


def normalize(record: dict) -> dict:
    return {key.lower(): value for key, value in record.items()}


def slug(text: str) -> str:
    return "-".join(text.lower().split())


def parse_port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return port
'''

CONFTEST = '''\
from __future__ import annotations

import atexit
import os
import time

import pytest

_LAST_TEST_END = 0.0


@pytest.fixture
def db() -> dict:
    return {"users": [{"id": 1, "name": "ada"}], "open": True}


def pytest_runtest_logfinish(nodeid, location):
    global _LAST_TEST_END
    _LAST_TEST_END = time.time()


def _write_times(target: str) -> None:
    # "<last test's end> <this pytest process about to exit>", both time.time()
    with open(target, "w", encoding="ascii") as handle:
        handle.write(f"{_LAST_TEST_END!r} {time.time()!r}")


def pytest_configure(config):
    target = os.environ.get("BENCH_LAST_TEST_FILE")
    if target and not hasattr(config, "workerinput"):
        atexit.register(_write_times, target)
'''


HEADER = '''\
"""Generated test module {index}: {count} tests."""

from __future__ import annotations

import pytest

from app.core import add, normalize, parse_port, slug
'''

BROKEN = '''\
"""Generated module that fails to import, like a test left behind after a refactor."""

from __future__ import annotations

from app.auth import create_auth_handler  # app.auth was removed


def test_handler_exists():
    assert create_auth_handler() is not None
'''


@dataclass(frozen=True)
class Plan:
    """What the suite will contain, decided up front so the counts are exact."""

    outcomes: tuple[str, ...]  # one of "pass", "fail", "skip", "xfail" per test, in order
    per_file: int
    import_errors: int

    @property
    def counts(self) -> dict[str, int]:
        return {kind: self.outcomes.count(kind) for kind in ("pass", "fail", "skip", "xfail")}


def plan_suite(tests: int, fail_ratio: float, *, per_file: int = 250, import_errors: int = 2,
               seed: int = 0, xfail_ratio: float = XFAIL_RATIO) -> Plan:
    """Choose exactly round(tests * fail_ratio) failures, spread at random over the suite."""
    rng = random.Random(seed)
    failures = round(tests * fail_ratio)
    skips = round(tests * SKIP_RATIO)
    xfails = round(tests * xfail_ratio)
    if failures + skips + xfails > tests:
        raise ValueError("fail ratio too high: failures, skips and xfails exceed the test count")
    chosen = rng.sample(range(tests), failures + skips + xfails)
    outcomes = ["pass"] * tests
    for position, index in enumerate(chosen):
        outcomes[index] = ("fail" if position < failures
                           else "skip" if position < failures + skips else "xfail")
    return Plan(tuple(outcomes), per_file, import_errors)


def _plain_test(name: str, outcome: str, index: int) -> str:
    body: list[str] = []
    decorator = ""
    if outcome == "skip":
        decorator = '@pytest.mark.skip(reason="not on this platform")\n'
    elif outcome == "xfail":
        decorator = '@pytest.mark.xfail(reason="known bug #123", strict=False)\n'
    elif index % 13 == 0:
        decorator = "@pytest.mark.slow\n"
    if index % PRINT_EVERY == 0:
        body.append(f'print("checking case {index}: " + "x" * 40)')
    failing = outcome in ("fail", "xfail")
    shape = index % 4
    if shape == 0:
        expected = f"{index} + 2" if not failing else f"{index} + 3"
        body.append(f"assert add({index}, 2) == {expected}, \"add is off by one for {index}\"")
    elif shape == 1:
        expected = '{"id": 1, "name": "Ada"}' if not failing else '{"id": 1, "name": "ada"}'
        body.append('result = normalize({"ID": 1, "NAME": "Ada"})')
        body.append(f"assert result == {expected}")
    elif shape == 2:
        expected = '"hello-world"' if not failing else '"hello_world"'
        body.append(f'assert slug("Hello   World") == {expected}')
    else:
        port = "8080" if not failing else "70000"
        body.append(f'assert parse_port("{port}") == {port}')
    params = "db" if index % 17 == 0 else ""
    if params:
        body.insert(0, 'assert db["open"]')
    lines = "\n    ".join(body)
    return f"{decorator}def {name}({params}):\n    {lines}\n"


def _param_test(name: str, outcomes: Sequence[str], index: int) -> str:
    fails = {i for i, o in enumerate(outcomes) if o == "fail"}
    skips = {i for i, o in enumerate(outcomes) if o == "skip"}
    xfails = {i for i, o in enumerate(outcomes) if o == "xfail"}
    cases = []
    for i in range(len(outcomes)):
        if i in xfails:
            cases.append(f'pytest.param({i}, marks=pytest.mark.xfail(reason="flaky upstream"))')
        else:
            cases.append(str(i))
    prints = 'print(f"case {n}")\n    ' if index % 3 == 0 else ""
    return (
        f"@pytest.mark.parametrize(\"n\", [{', '.join(cases)}])\n"
        f"def {name}(n):\n"
        f"    {prints}if n in {sorted(skips) or 'set()'}:\n"
        f"        pytest.skip(\"needs the staging database\")\n"
        f"    expected = n * 2 + (1 if n in {sorted(fails | xfails) or 'set()'} else 0)\n"
        f"    assert add(n, n) == expected, f\"add({{n}}, {{n}}) should be {{expected}}\"\n"
    )


def render_module(index: int, outcomes: Sequence[str]) -> str:
    """One test file: about 40% plain tests, the rest in parametrized groups of ten."""
    parts = [HEADER.format(index=index, count=len(outcomes))]
    position = 0
    function = 0
    while position < len(outcomes):
        remaining = len(outcomes) - position
        if function % 5 < 2 or remaining < PARAM_GROUP:
            parts.append(_plain_test(f"test_case_{index:04d}_{function:04d}",
                                     outcomes[position], position))
            position += 1
        else:
            group = outcomes[position:position + PARAM_GROUP]
            parts.append(_param_test(f"test_group_{index:04d}_{function:04d}", group, position))
            position += PARAM_GROUP
        function += 1
    return "\n\n".join(parts)


def write_suite(root: Path, plan: Plan) -> dict[str, int]:
    """Write the project; returns the counts it promises (bench_engine checks them)."""
    (root / "tests").mkdir(parents=True)
    (root / "app").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "core.py").write_text(APP_CORE, encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (root / "tests" / "__init__.py").write_text("", encoding="utf-8")
    files = 0
    for start in range(0, len(plan.outcomes), plan.per_file):
        chunk = plan.outcomes[start:start + plan.per_file]
        path = root / "tests" / f"test_mod_{files:04d}.py"
        path.write_text(render_module(files, chunk), encoding="utf-8")
        files += 1
    for broken in range(plan.import_errors):
        (root / "tests" / f"test_legacy_{broken:02d}.py").write_text(BROKEN, encoding="utf-8")
    counts = plan.counts
    return {"tests": len(plan.outcomes), "files": files, "passed": counts["pass"],
            "failed": counts["fail"], "skipped": counts["skip"], "xfailed": counts["xfail"],
            "collection_errors": plan.import_errors}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder to create the suite in")
    parser.add_argument("--tests", type=int, required=True, help="number of collected tests")
    parser.add_argument("--fail-ratio", type=float, default=0.01,
                        help="share of tests that fail (default 0.01)")
    parser.add_argument("--per-file", type=int, default=250, help="tests per file (default 250)")
    parser.add_argument("--import-errors", type=int, default=2,
                        help="files that fail to import (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="replace DIR if it exists")
    args = parser.parse_args(argv)
    if args.tests < 1 or args.per_file < 1 or not 0 <= args.fail_ratio <= 1:
        parser.error("--tests and --per-file must be positive, --fail-ratio within 0..1")
    if args.dir.exists():
        if not args.force:
            parser.error(f"{args.dir} exists; pass --force to replace it")
        shutil.rmtree(args.dir)
    plan = plan_suite(args.tests, args.fail_ratio, per_file=args.per_file,
                      import_errors=args.import_errors, seed=args.seed)
    counts = write_suite(args.dir, plan)
    print(" ".join(f"{key}={value}" for key, value in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
