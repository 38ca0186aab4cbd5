"""Benchmark claimcheck's engine against bare pytest on generated suites, in one run.

    python bench/bench_engine.py                      # all three suites, once each
    python bench/bench_engine.py --suites 2k --repeat 3
    python bench/bench_engine.py --pyc                # with .pyc caching on for both sides
    python bench/bench_engine.py --plugin-cost 8      # the plugin's own per-test cost only
    python bench/bench_engine.py --plugin-instructions --tests 1000   # the same, in instructions
    python bench/bench_engine.py --plugin-gc --tests 20000   # garbage collections in pytest
    python bench/bench_engine.py --plugin-replay      # the hooks hot, and inside a run

For each suite it runs (a) `python -m pytest -q` and (b) `claimcheck --report --format json
--output FILE --project DIR` back to back, with the same environment, and prints ratios against
the bare run measured here, never against a number from another day. See bench/README.md for
what each figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_suite import plan_suite, write_suite  # noqa: E402

# name: (tests, fail ratio, goal). "many" is the shape of pytest #13360: 10,000 tests, 500
# failures, where pytest's own summary dominates; there claimcheck must beat bare pytest.
SUITES: dict[str, tuple[int, float, str]] = {
    "2k": (2_000, 0.01, "mostly-passing"),
    "20k": (20_000, 0.01, "mostly-passing"),
    "many": (10_000, 0.05, "many-failures"),
}
GOAL_WALL_RATIO = 1.10  # mostly passing suites
GOAL_JSON_AFTER_LAST_S = 1.0
GOAL_OWN_RSS_MB = 200.0
RUN_TIMEOUT_S = 3600
WATCH_INTERVAL_S = 0.01

# Runs claimcheck's real entry point (what the `claimcheck` console script calls) and records
# this process's own peak RSS and its waited-for children's (the pytest phase) separately.
CLAIMCHECK_WRAPPER = """\
import json, os, resource, sys
from claimcheck.tui.cli import exit_now, main
try:
    code = main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as handle:
        json.dump({"self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, handle)
exit_now(code)  # as the console script ends
"""


@dataclass
class Measure:
    """One process run: wall time, peak memory, and when it finished relative to the last test."""

    wall_s: float
    exit_code: int
    peak_rss_mb: float  # from wait4: max RSS of the process and of the children it waited for
    end_after_last_test_s: float | None  # process exit (seen by the bench) minus last test end
    pytest_exit_after_last_s: float | None = None  # pytest's atexit minus the last test's end
    child_gone_after_last_s: float | None = None  # claimcheck's pytest child last seen alive
    child_started_after_s: float | None = None  # claimcheck's start until its child first seen
    own_rss_mb: float | None = None  # claimcheck only: its own process
    child_rss_mb: float | None = None  # claimcheck only: the pytest phase it ran
    json_after_last_test_s: float | None = None  # claimcheck only: output mtime minus last test
    json_at_s: float | None = None  # claimcheck only: output mtime minus claimcheck's start
    json_ok: str = ""  # claimcheck only: "" when the JSON matched the suite, else what differed
    started_at: float | None = None  # wall clock when the bench started the process


@dataclass
class SuiteResult:
    name: str
    kind: str
    tests: int
    failures: int
    bare: list[Measure] = field(default_factory=list)
    claimcheck: list[Measure] = field(default_factory=list)
    bare_no_summary: list[Measure] = field(default_factory=list)


def run_measured(argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path,
                 last_test_file: Path, watch_children: bool = False) -> Measure:
    """Start, wait with wait4 (exact peak RSS of this child), and time from the outside.

    While waiting it also watches the child's own children (claimcheck's pytest phase) and
    notes the last moment one was alive, so pytest's exit and claimcheck's work after it can
    be told apart.
    """
    last_test_file.unlink(missing_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        started = time.time()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            status, usage, (first_seen, child_seen) = _wait4(proc.pid, RUN_TIMEOUT_S,
                                                             watch_children)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
        ended = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    last, pytest_exit = read_test_times(last_test_file)
    return Measure(
        wall_s=wall, exit_code=proc.returncode, peak_rss_mb=usage.ru_maxrss / 1024,
        started_at=started,
        end_after_last_test_s=None if last is None else ended - last,
        pytest_exit_after_last_s=(None if last is None or pytest_exit is None
                                  else pytest_exit - last),
        child_gone_after_last_s=None if last is None or child_seen is None else child_seen - last,
        child_started_after_s=None if first_seen is None else first_seen - started,
    )


def _wait4(pid: int, timeout: float, watch_children: bool
           ) -> tuple[int, resource.struct_rusage, tuple[float | None, float | None]]:
    """Reap `pid`; return its status, its rusage and when a child was first and last seen."""
    deadline = time.monotonic() + timeout
    parent: psutil.Process | None = None
    if watch_children:
        try:
            parent = psutil.Process(pid)
        except psutil.Error:
            pass
    first_seen: float | None = None
    child_seen: float | None = None
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited:
            return status, usage, (first_seen, child_seen)
        if parent is not None:
            try:
                if any(child.status() != psutil.STATUS_ZOMBIE for child in parent.children()):
                    child_seen = time.time()
                    first_seen = first_seen or child_seen
            except psutil.Error:
                pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {pid} still running after {timeout} s")
        time.sleep(WATCH_INTERVAL_S)


def read_test_times(path: Path) -> tuple[float | None, float | None]:
    """(last test's end, pytest about to exit) as the generated conftest wrote them."""
    try:
        last, exiting = (float(part) for part in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return None, None
    return (last or None), exiting


def bench_environment(pyc: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)  # both sides run the suite's own settings, nothing else
    if pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_report(path: Path, expected: dict[str, int]) -> str:
    """claimcheck must have seen the tests bare pytest ran, or its time means nothing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"no readable JSON: {exc}"
    totals = data.get("totals") or {}
    wanted = {"collected": expected["tests"], "failed": expected["failed"],
              "passed": expected["passed"]}
    wrong = [f"{key} {totals.get(key)} != {value}" for key, value in wanted.items()
             if totals.get(key) != value]
    tests = sum(len(phase.get("tests", [])) for phase in data.get("phases", []))
    if tests != expected["tests"]:
        wrong.append(f"tests listed {tests} != {expected['tests']}")
    return "; ".join(wrong)


def check_bare_log(log: Path, expected: dict[str, int]) -> str:
    """pytest's own summary line must show exactly the suite the generator promised."""
    text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    line = text[-1] if text else ""
    found = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", line)}
    wanted = {"failed": expected["failed"], "passed": expected["passed"],
              "skipped": expected["skipped"], "xfailed": expected["xfailed"],
              "errors": expected["collection_errors"]}
    wrong = [f"{key} {found.get(key, 0)} != {value}" for key, value in wanted.items()
             if found.get(key, 0) != value]
    return f"bare pytest summary {line!r}: " + "; ".join(wrong) if wrong else ""


def bench_suite(name: str, root: Path, expected: dict[str, int], *, env: dict[str, str],
                repeat: int, no_summary: bool, scratch: Path) -> SuiteResult:
    result = SuiteResult(name, SUITES[name][2], expected["tests"], expected["failed"])
    env = dict(env)
    last = scratch / f"{name}.last-test"
    env["BENCH_LAST_TEST_FILE"] = str(last)
    python = sys.executable
    for attempt in range(repeat):
        print(f"  [{name} {attempt + 1}/{repeat}] bare pytest ...", flush=True)
        bare = run_measured([python, "-m", "pytest", "-q"], cwd=root, env=env,
                            log=scratch / f"{name}.bare.log", last_test_file=last)
        problem = check_bare_log(scratch / f"{name}.bare.log", expected)
        if problem:
            raise SystemExit(f"suite {name} is not what was generated: {problem}")
        result.bare.append(bare)
        if no_summary:
            print(f"  [{name} {attempt + 1}/{repeat}] bare pytest --no-summary ...", flush=True)
            result.bare_no_summary.append(run_measured(
                [python, "-m", "pytest", "-q", "--no-summary"], cwd=root, env=env,
                log=scratch / f"{name}.nosummary.log", last_test_file=last))
        print(f"  [{name} {attempt + 1}/{repeat}] claimcheck --report ...", flush=True)
        measure = run_claimcheck(name, root, expected, env=env, scratch=scratch, last=last)
        result.claimcheck.append(measure)
    return result


def run_claimcheck(name: str, root: Path, expected: dict[str, int], *, env: dict[str, str],
                   scratch: Path, last: Path) -> Measure:
    output = scratch / f"{name}.report.json"
    output.unlink(missing_ok=True)
    rss_file = scratch / f"{name}.rss.json"
    rss_file.unlink(missing_ok=True)
    argv = [sys.executable, "-c", CLAIMCHECK_WRAPPER, str(rss_file), "--report", "--format",
            "json", "--output", str(output), "--project", str(root)]
    measure = run_measured(argv, cwd=scratch, env=env, log=scratch / f"{name}.cc.log",
                           last_test_file=last, watch_children=True)
    if rss_file.exists():
        rss = json.loads(rss_file.read_text(encoding="utf-8"))
        measure.own_rss_mb = rss["self_kb"] / 1024
        measure.child_rss_mb = rss["children_kb"] / 1024
    last_end, _ = read_test_times(last)
    if output.exists():
        written = output.stat().st_mtime
        if last_end is not None:
            measure.json_after_last_test_s = written - last_end
        if measure.started_at is not None:
            measure.json_at_s = written - measure.started_at
    measure.json_ok = check_report(output, expected)
    if measure.exit_code not in (0, 1, 5) or measure.json_ok:
        log = (scratch / f"{name}.cc.log").read_text(encoding="utf-8", errors="replace")
        print(f"  claimcheck exit {measure.exit_code}: {measure.json_ok}\n{log[-2000:]}",
              file=sys.stderr)
    return measure


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def summarize(results: Sequence[SuiteResult], pyc: bool) -> list[str]:
    """The table and the goal checks; every ratio uses bare pytest from this same run."""
    lines = [
        f"pytest plugins auto-loaded for both sides: {', '.join(autoloaded_plugins()) or 'none'}",
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end; "
        + ("pyc caching ON for both (warm __pycache__)" if pyc else
           "PYTHONDONTWRITEBYTECODE=1 for both (no .pyc: pytest rewrites asserts every run)"),
        "",
        f"{'suite':<6} {'tests':>6} {'fail':>5} | {'bare s':>7} {'cc s':>7} {'ratio':>6} "
        f"{'cc JSON s':>9} | "
        f"{'bare MB':>7} {'cc own MB':>9} {'cc pytest MB':>12} | {'JSON after last':>15} "
        f"{'cc pytest exit':>14} {'bare pytest exit':>16}",
    ]
    checks: list[str] = []
    for res in results:
        bare = _median([m.wall_s for m in res.bare])
        cc = _median([m.wall_s for m in res.claimcheck])
        ratio = cc / bare if bare and cc else None
        own = max((m.own_rss_mb or 0 for m in res.claimcheck), default=None)
        child = max((m.child_rss_mb or 0 for m in res.claimcheck), default=None)
        bare_rss = max((m.peak_rss_mb for m in res.bare), default=None)
        json_after = _median([m.json_after_last_test_s for m in res.claimcheck])
        json_at = _median([m.json_at_s for m in res.claimcheck])
        bare_tail = _median([m.end_after_last_test_s for m in res.bare])
        cc_child_tail = _median([m.child_gone_after_last_s for m in res.claimcheck])
        lines.append(
            f"{res.name:<6} {res.tests:>6} {res.failures:>5} | {_fmt(bare):>7} {_fmt(cc):>7} "
            f"{_fmt(ratio, 'x'):>6} {_fmt(json_at):>9} | {_fmt(bare_rss, '', 0):>7} "
            f"{_fmt(own, '', 0):>9} "
            f"{_fmt(child, '', 0):>12} | {_fmt(json_after, ' s'):>15} "
            f"{_fmt(cc_child_tail, ' s'):>14} "
            f"{_fmt(bare_tail, ' s'):>16}"
        )
        startup = _median([m.child_started_after_s for m in res.claimcheck])
        if startup is not None and cc_child_tail is not None and json_after is not None:
            gap = json_after - cc_child_tail
            when = (f"{gap:.2f} s after its pytest child exited" if gap >= 0 else
                    f"{-gap:.2f} s before its pytest child exited (teardown in the background)")
            lines.append(f"{'':<6} claimcheck: {startup:.2f} s from start to its pytest child; "
                         f"JSON written {when}")
        if res.bare_no_summary:
            no_summary = _median([m.wall_s for m in res.bare_no_summary])
            lines.append(f"{'':<6} bare pytest -q --no-summary: {_fmt(no_summary, ' s')}")
        if ratio is not None:
            if res.kind == "many-failures":
                checks.append(_check(f"{res.name}: claimcheck faster than bare pytest",
                                     ratio < 1.0, f"{ratio:.2f}x"))
            else:
                checks.append(_check(f"{res.name}: wall <= {GOAL_WALL_RATIO:.2f}x bare pytest",
                                     ratio <= GOAL_WALL_RATIO, f"{ratio:.2f}x"))
        if json_after is not None:
            checks.append(_check(f"{res.name}: JSON within {GOAL_JSON_AFTER_LAST_S:.0f} s of "
                                 "the last test", json_after <= GOAL_JSON_AFTER_LAST_S,
                                 f"{json_after:.2f} s"))
        if own:
            checks.append(_check(f"{res.name}: claimcheck's own peak RSS < "
                                 f"{GOAL_OWN_RSS_MB:.0f} MB", own < GOAL_OWN_RSS_MB,
                                 f"{own:.0f} MB"))
        bad = [m.json_ok for m in res.claimcheck if m.json_ok]
        if bad:
            checks.append(f"FAIL  {res.name}: claimcheck's JSON does not match the suite: {bad[0]}")
    return lines + [""] + checks


def autoloaded_plugins() -> list[str]:
    """Installed pytest11 plugins load into both runs and can dominate a suite's tail."""
    from importlib.metadata import entry_points

    return sorted({ep.dist.name if ep.dist else ep.name for ep in entry_points(group="pytest11")})


def _check(label: str, ok: bool, figure: str) -> str:
    return f"{'ok  ' if ok else 'MISS'}  {label}: {figure}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default=",".join(SUITES),
                        help=f"comma-separated, from {', '.join(SUITES)} (default: all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per side; figures are medians (default 1)")
    parser.add_argument("--work", type=Path, help="folder for suites and outputs (default: temp)")
    parser.add_argument("--pyc", action="store_true",
                        help="allow .pyc caching for both sides (a warm-up collection fills "
                             "the cache first); default is the sandbox's PYTHONDONTWRITEBYTECODE=1")
    parser.add_argument("--no-summary", action="store_true",
                        help="also time bare `pytest -q --no-summary`, to separate the cost of "
                             "pytest's own failure summary (pytest #13360)")
    parser.add_argument("--plugin-cost", type=int, metavar="PAIRS", default=0,
                        help="measure only claimcheck's plugin inside pytest: PAIRS interleaved "
                             "runs of a passing suite, bare and with the plugin")
    parser.add_argument("--plugin-instructions", action="store_true",
                        help="the plugin's fixed and per-test cost in instructions, under "
                             "valgrind's callgrind (steady where wall time is not)")
    parser.add_argument("--plugin-replay", action="store_true",
                        help="the plugin's per-test hooks replayed in a tight loop over a real "
                             "run's reports, beside the same hooks timed inside a run")
    parser.add_argument("--plugin-gc", action="store_true",
                        help="garbage collections in pytest, bare and with the plugin, on a "
                             "generated suite of --tests tests (counts, steady under load)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the --plugin-cost runs (e.g. an engine "
                             "environment's, for the newest pytest)")
    parser.add_argument("--tests", type=int, default=3000,
                        help="passing tests of the --plugin-cost and --plugin-instructions "
                             "suites (default 3000; 1000 keeps callgrind under 2 minutes)")
    parser.add_argument("--save", type=Path, help="write every measurement as JSON to PATH")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.suites.split(",") if name.strip()]
    unknown = [name for name in names if name not in SUITES]
    if unknown or args.repeat < 1:
        parser.error(f"unknown suite(s) {unknown}; choose from {', '.join(SUITES)}"
                     if unknown else "--repeat must be at least 1")

    work = args.work or Path(tempfile.mkdtemp(prefix="claimcheck-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = bench_environment(args.pyc)
    if args.plugin_instructions:
        from bench_plugin import plugin_instructions

        print("\n".join(plugin_instructions(work, env, tests=args.tests, python=args.python)))
        return 0
    if args.plugin_replay:
        from bench_plugin import plugin_replay

        print("\n".join(plugin_replay(work, env, tests=args.tests, python=args.python)))
        return 0
    if args.plugin_gc:
        from bench_plugin import plugin_collections

        print("\n".join(plugin_collections(work, env, tests=args.tests, python=args.python)))
        return 0
    if args.plugin_cost:
        from bench_plugin import plugin_cost

        print("\n".join(plugin_cost(work, env, tests=args.tests, pairs=args.plugin_cost,
                                     python=args.python)))
        return 0
    print(f"work folder: {work}", flush=True)
    results = []
    for name in names:
        tests, fail_ratio, _ = SUITES[name]
        root = work / f"suite-{name}"
        if root.exists():
            shutil.rmtree(root)
        expected = write_suite(root, plan_suite(tests, fail_ratio))
        print(f"suite {name}: {expected}", flush=True)
        if args.pyc:  # fill __pycache__ (assert rewriting cache) so neither side pays it
            subprocess.run([sys.executable, "-m", "pytest", "-q", "--co"], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        results.append(bench_suite(name, root, expected, env=env, repeat=args.repeat,
                                   no_summary=args.no_summary, scratch=work))
    print()
    print("\n".join(summarize(results, args.pyc)))
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps([asdict(r) for r in results], indent=2),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
