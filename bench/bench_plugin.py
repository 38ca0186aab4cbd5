"""The per-test cost of claimcheck's plugin inside pytest, measured against bare pytest.

    python bench/bench_engine.py --plugin-cost 8 [--tests 3000]

    python bench/bench_engine.py --plugin-instructions [--tests 1000]

A suite of passing tests (the case where nothing the plugin writes is read) runs in
interleaved pairs: bare `python -m pytest -q`, then the same with the plugin writing its stream
(`-p claimcheck_stream`, CLAIMCHECK_STREAM_DIR set), and once more with pytest-json-report
beside it, the second record claimcheck used to keep. The medians give the plugin's cost per
test in microseconds; the write that names the running test (one `pwrite` at each test's
start) is timed on its own, since it is what makes a crash name its test.

On a shared 2-core VM the wall time of the same run moves by more than the plugin costs, so
`--plugin-instructions` counts instructions instead, under valgrind's callgrind (the count does
not depend on what else the machine does): bare and with the plugin, on one passing test (the
plugin's fixed cost: its import, registration and session lines) and on the suite (the rest,
per test), with PYTHONHASHSEED fixed, since string hashing moves the count by about 1%.

    python bench/bench_engine.py --plugin-gc [--tests 20000]

counts the garbage collections of the pytest process (`gc.callbacks`), bare and with the
plugin, on a generated suite (`gen_suite.py`: its skips and xfails, no failures): how many of
each generation, and the time in full ones. Those counts do not depend on the machine's load
either, and a full collection walks every object the process holds (at 20,000 tests over 0.3
s at the end of the run): an object the plugin keeps alive that bare pytest lets go shows here
as more full collections, where wall time only shows noise.

    python bench/bench_engine.py --plugin-replay [--tests 3000]

replays a real run's reports through the plugin's per-test hooks in a tight loop, beside the
same hooks timed inside a run: the gap is what cold caches cost them between tests.
"""

from __future__ import annotations

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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DIR = REPO / "collectors" / "_plugin"
FILES = 30


def write_passing_suite(root: Path, tests: int) -> None:
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    per_file = max(1, tests // FILES)
    for number in range(0, tests, per_file):
        count = min(per_file, tests - number)
        body = "".join(f"def test_{i}():\n    assert {i} == {i}\n\n" for i in range(count))
        (root / "tests" / f"test_{number:06d}.py").write_text(body)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _plugin_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for a pytest that loads the plugin by `-p claimcheck_stream`: its folder on
    PYTHONPATH, and no PYTEST_ADDOPTS of the caller's."""
    plugin_env = {**env, "PYTHONPATH": str(PLUGIN_DIR)}
    plugin_env.pop("PYTEST_ADDOPTS", None)
    return plugin_env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + system of the child) is what a loaded
    machine disturbs least."""
    cpu = _cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return wall, _cpu() - cpu


def pwrite_cost(calls: int = 200_000) -> float:
    """Microseconds per os.pwrite of a node id record, as the plugin writes at each test."""
    record = b"Rtests/test_000123.py::test_4567\n-\n"
    with tempfile.TemporaryDirectory() as folder:
        fd = os.open(os.path.join(folder, "x.running"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            start = time.perf_counter()
            for _ in range(calls):
                os.pwrite(fd, record, 0)
            elapsed = time.perf_counter() - start
        finally:
            os.close(fd)
    return elapsed / calls * 1e6


# Runs pytest in this process with the plugin's per-test hooks timed from inside: the plugin's
# own time per test, which a loaded machine disturbs far less than whole-run times.
HOOK_TIMER = """
import functools, json, sys, time
import claimcheck_writer, pytest
spent = {}
def timed(name, function):
    @functools.wraps(function)
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
    return run
for name in ("pytest_runtest_logstart", "pytest_runtest_logreport", "pytest_runtest_teardown"):
    setattr(claimcheck_writer._Writer, name, timed(name, getattr(claimcheck_writer._Writer, name)))
code = pytest.main(["-q", "-p", "no:randomly", "-p", "claimcheck_stream"])
print("HOOKS " + json.dumps(spent))
sys.exit(code)
"""


# Runs the suite once in this process, keeping every test's reports and item, then replays
# them through a fresh session writer in a tight loop (`rounds` times, into a temporary stream
# folder): the hooks' time with their code and data hot, to set beside HOOK_TIMER's time inside
# a real run, where they are cold after each test's own work. The terminal reporter's `stats`
# are refilled as pytest files the reports (the writer reads each report's category there).
HOOK_REPLAY = """
import io, json, os, statistics, sys, tempfile, time, contextlib
import claimcheck_writer, pytest
rounds = int(sys.argv[1])
tests, seen = [], {}
class Keep:
    def pytest_configure(self, config):
        seen["config"] = config
    def pytest_runtest_logstart(self, nodeid, location):
        tests.append([nodeid, location, None, []])
    def pytest_runtest_teardown(self, item):
        tests[-1][2] = item
    def pytest_runtest_logreport(self, report):
        tests[-1][3].append(report)
with contextlib.redirect_stdout(io.StringIO()):
    code = pytest.main(["-q", "-p", "no:randomly"], plugins=[Keep()])
config = seen["config"]
def category(report):
    status = config.hook.pytest_report_teststatus(report=report, config=config)
    return status[0] if status else ""
cats = [[category(report) for report in reports] for _, _, _, reports in tests]
spent = {"logstart": [], "teardown": [], "setup": [], "call": [], "teardown report": []}
clock = time.perf_counter
for _ in range(rounds):
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as folder:
        writer = claimcheck_writer._Writer(config, folder)
        stats = writer.terminal_stats = {}
        one = dict.fromkeys(spent, 0.0)
        for (nodeid, location, item, reports), kinds in zip(tests, cats):
            start = clock(); writer.pytest_runtest_logstart(nodeid, location)
            one["logstart"] += clock() - start
            for report, kind in zip(reports, kinds):
                if report.when == "teardown":
                    start = clock(); writer.pytest_runtest_teardown(item)
                    one["teardown"] += clock() - start
                stats.setdefault(kind, []).append(report)
                start = clock(); writer.pytest_runtest_logreport(report)
                one["teardown report" if report.when == "teardown" else report.when] += \
                    clock() - start
        writer.pytest_unconfigure(config)
    os.environ.clear(); os.environ.update(saved)
    for name, seconds in one.items():
        spent[name].append(seconds / len(tests) * 1e6)
print("REPLAY " + json.dumps({name: statistics.median(values) for name, values in spent.items()}))
sys.exit(code)
"""


def plugin_replay(work: Path, env: dict[str, str], *, tests: int, rounds: int = 15,
                  python: str = sys.executable) -> list[str]:
    """The plugin's per-test hooks replayed hot over a real run's reports, and timed inside
    that run (HOOK_TIMER): how much of their cost in a run is their code, how much the
    caches they find cold."""
    root = work / f"passing-{tests}"
    write_passing_suite(root, tests)
    plugin_env = _plugin_env(env)
    with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
        done = subprocess.run([python, "-c", HOOK_REPLAY, str(rounds)], cwd=root,
                              capture_output=True, text=True, check=False,
                              env={**plugin_env, "CLAIMCHECK_STREAM_DIR": stream})
    hot = tagged_json(done, "REPLAY", "hook replay")
    cold = hook_time(root, plugin_env, python, tests, 5)
    return [
        f"{tests} passing tests, median us per test of {rounds} replays (hot) and of 5 runs "
        "(inside the run):",
        "  replayed: " + ", ".join(f"{name} {value:.2f}" for name, value in hot.items())
        + f"; total {sum(hot.values()):.2f}",
        "  in a run: " + ", ".join(f"{name.replace('pytest_runtest_', '')} {value:.2f}"
                                   for name, value in cold.items())
        + f"; total {sum(cold.values()):.2f}",
    ]


def tagged_json(done: subprocess.CompletedProcess[str], tag: str, what: str) -> dict:
    """The JSON a measuring script printed after `TAG ` on its stdout; what it printed
    instead, if it did not."""
    line = next((line for line in done.stdout.splitlines() if line.startswith(tag + " ")), None)
    if line is None:
        raise SystemExit(f"{what} failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    return json.loads(line[len(tag) + 1:])


def hook_time(root: Path, env: dict[str, str], python: str, tests: int,
              rounds: int) -> dict[str, float]:
    """Median microseconds per test spent inside each of the plugin's per-test hooks."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
            done = subprocess.run([python, "-c", HOOK_TIMER], cwd=root, capture_output=True,
                                  text=True, check=False,
                                  env={**env, "CLAIMCHECK_STREAM_DIR": stream})
        for name, seconds in tagged_json(done, "HOOKS", "hook timing").items():
            samples.setdefault(name, []).append(seconds / tests * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def plugin_cost(work: Path, env: dict[str, str], *, tests: int, pairs: int,
                python: str = sys.executable) -> list[str]:
    root = work / f"passing-{tests}"
    write_passing_suite(root, tests)
    base = [python, "-m", "pytest", "-q", "-p", "no:randomly"]
    plugin_env = _plugin_env(env)
    has_json_report = subprocess.run(
        [python, "-c", "import pytest_jsonreport"], capture_output=True,
        check=False).returncode == 0
    version = subprocess.run([python, "-c", "import pytest; print(pytest.__version__)"],
                             capture_output=True, text=True, check=False).stdout.strip()
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    both: list[tuple[float, float]] = []
    for attempt in range(pairs):
        print(f"  [{attempt + 1}/{pairs}] bare, plugin"
              + (", plugin + json-report" if has_json_report else ""), flush=True)
        bare.append(_run(base, root, env))
        with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
            ours.append(_run([*base, "-p", "claimcheck_stream"], root,
                             {**plugin_env, "CLAIMCHECK_STREAM_DIR": stream}))
        if has_json_report:
            with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
                both.append(_run([*base, "-p", "claimcheck_stream", "--json-report",
                                  f"--json-report-file={stream}/r.json"], root,
                                 {**plugin_env, "CLAIMCHECK_STREAM_DIR": stream}))
    lines = [
        f"pytest {version}, {tests} passing tests, {pairs} interleaved runs each, medians, "
        f"load average {os.getloadavg()[0]:.1f}",
        f"{'':<25} {'wall s':>8} {'ratio':>6} {'us/test':>8} | {'CPU s':>7} {'ratio':>6} "
        f"{'us/test':>8}",
    ]
    bare_wall = statistics.median(w for w, _ in bare)
    bare_cpu = statistics.median(c for _, c in bare)
    for label, runs in (("bare pytest", bare), ("with claimcheck's plugin", ours),
                        ("plugin + json-report", both)):
        if not runs:
            continue
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        lines.append(f"{label:<25} {wall:8.3f} {wall / bare_wall:5.3f}x "
                     f"{(wall - bare_wall) / tests * 1e6:+8.1f} | {cpu:7.3f} "
                     f"{cpu / bare_cpu:5.3f}x {(cpu - bare_cpu) / tests * 1e6:+8.1f}")
    hooks = hook_time(root, plugin_env, python, tests, max(3, pairs // 2))
    lines.append("time inside the plugin's per-test hooks (median us per test): "
                 + ", ".join(f"{name.replace('pytest_runtest_', '')} {value:.1f}"
                             for name, value in hooks.items())
                 + f"; total {sum(hooks.values()):.1f}")
    lines.append(f"one pwrite of the running-test record: {pwrite_cost():.2f} us "
                 "(one per test, at its start)")
    return lines


GC_COUNTER = r"""
import gc, json, sys, time
import pytest

counts = {"young": 0, "middle": 0, "full": 0, "full_s": 0.0}
started = [0.0]
NAMES = ("young", "middle", "full")


def count(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
        return
    counts[NAMES[info["generation"]]] += 1
    if info["generation"] == 2:
        counts["full_s"] += time.perf_counter() - started[0]


gc.callbacks.append(count)
code = pytest.main(sys.argv[1:])
print("GC " + json.dumps(counts))
sys.exit(code)
"""


def _collections(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return tagged_json(done, "GC", "counting collections")


def plugin_collections(work: Path, env: dict[str, str], *, tests: int,
                       python: str = sys.executable) -> list[str]:
    """Garbage collections in pytest, bare and with the plugin (see the module's docstring)."""
    from gen_suite import plan_suite, write_suite

    root = work / f"generated-{tests}"
    if not root.exists():
        write_suite(root, plan_suite(tests, 0.0, import_errors=0))
    env = {**env, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the rewrite cache, as users have it
    from claimcheck.collectors.phase_command import QUIET_ARGS

    counter = [python, "-c", GC_COUNTER]
    common = ["-p", "no:cacheprovider", "-p", "no:randomly"]
    # the plugin with the arguments claimcheck gives a pytest phase (phase_command)
    ours = [*counter, *common, "-p", "claimcheck_stream", "--continue-on-collection-errors",
            *QUIET_ARGS]
    subprocess.run([*counter, "--collect-only", "-q"], cwd=root, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    bare = _collections([*counter, *common, "-q"], root, env)
    with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
        plugin = _collections(ours, root, {**env, "PYTHONPATH": str(PLUGIN_DIR),
                                           "CLAIMCHECK_STREAM_DIR": stream})
    return [f"garbage collections in pytest on {tests} generated tests (young / middle / full "
            "generation, seconds in full ones; PYTHONHASHSEED=0):"] + [
        f"  {label:<25} {c['young']:6.0f} / {c['middle']:4.0f} / {c['full']:3.0f}   "
        f"{c['full_s']:.2f} s" for label, c in (("bare pytest", bare),
                                                ("with claimcheck's plugin", plugin))]


def _instructions(argv: list[str], cwd: Path, env: dict[str, str], out: Path) -> int:
    """Instructions one run executes, counted by callgrind (after one warm run that fills
    pytest's rewrite cache)."""
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                           *argv], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"callgrind: {' '.join(argv)} exited {done.returncode}: "
                         f"{done.stderr[-500:]}")
    return int(match.group(1))


def plugin_instructions(work: Path, env: dict[str, str], *, tests: int,
                        python: str = sys.executable) -> list[str]:
    """The plugin's fixed and per-test cost in instructions (see the module's docstring)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--plugin-instructions needs valgrind (Debian: apt-get install valgrind)")
    env = {**env, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the rewrite cache, as users have it
    base = [python, "-m", "pytest", "-q", "-p", "no:randomly"]
    counts: dict[tuple[int, bool], int] = {}
    for size in (1, tests):
        root = work / f"passing-{size}"
        write_passing_suite(root, size)
        for plugin in (False, True):
            with tempfile.TemporaryDirectory(prefix="claimcheck-bench-") as stream:
                run_env = {**env, "PYTHONPATH": str(PLUGIN_DIR),
                           "CLAIMCHECK_STREAM_DIR": stream} if plugin else env
                argv = [*base, "-p", "claimcheck_stream"] if plugin else base
                counts[size, plugin] = _instructions(argv, root, run_env,
                                                     work / f"callgrind.{size}.{plugin}")
    fixed = counts[1, True] - counts[1, False]
    total = counts[tests, True] - counts[tests, False]
    return [
        f"instructions (callgrind, PYTHONHASHSEED=0): bare pytest {counts[tests, False]:,} and "
        f"with the plugin {counts[tests, True]:,} on {tests} passing tests "
        f"({counts[tests, True] / counts[tests, False]:.3f}x)",
        f"the plugin: {fixed:,} fixed (one test: {counts[1, False]:,} bare), then "
        f"{(total - fixed) / max(1, tests - 1):,.0f} per test",
    ]
