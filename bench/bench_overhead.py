"""claimcheck --report against bare pytest: the issue's rows in ONE table, per pytest.

    python bench/bench_overhead.py                         # every row, newest pytest and 8.x
    python bench/bench_overhead.py --rows one,3k --pairs 5 --pytest newest
    python bench/bench_overhead.py --bytecode both         # .pyc caching on and off
    python bench/bench_overhead.py --python 8=/path/to/venv/bin/python

Each row is a generated suite (`gen_suite.py`, a git repository, as users' projects are) run
as pairs: bare `python -m pytest -q [-n 2]` and `claimcheck --report --output FILE` with the
phase's interpreter set to the same Python (`tool.claimcheck.python`, `pytest = ["-n", "2"]`
for the xdist rows). The two sides of a pair run back to back, their order alternating
between pairs so a machine getting busier or quieter favours neither; figures are medians,
and a row's verdict rests on the 95% interval of its median ratio (`median_interval`): ok when
all of it meets the goal, MISS when none of it does, open when the pairs cannot yet tell.
Wall time is what a developer waits; CPU time (user + system of the process and every child
it waited for) is what a loaded machine disturbs least, so both are printed with the load
average they were measured at. Every claimcheck run's counts are checked against the suite's
before its time is used. claimcheck keeps its history (`.claimcheck/history.db`), reads git
and audits the source as it does for a user.

Under the table, a line says where the fixed cost of the one-test row goes: the interpreter's
own start, claimcheck's imports before pytest is spawned (`-X importtime`, in a separate run),
the rest before the spawn (config, checks, event loop), the fork and exec, and what happens
after pytest's last test (report written, claimcheck exited) against bare pytest's own exit.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from gen_suite import CONFTEST, XFAIL_RATIO, plan_suite, write_suite  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    tests: int
    failures: int
    xdist: bool
    goal: float  # claimcheck wall / bare wall, at most
    xfails: bool = True  # the generated suite's xfails (one in 200 tests), or none
    cc_env: tuple[tuple[str, str], ...] = ()  # claimcheck's side only

    @property
    def suite(self) -> str:
        """The generated suite's name: a row and its `-n 2` twin (or its `-full` one) run the
        same suite."""
        return self.name.removesuffix("-n2").removesuffix("-full")


ROWS: dict[str, Row] = {row.name: row for row in (
    Row("one", "one passing test", 1, 0, False, 1.30),
    Row("3k", "3,000 passing", 3_000, 0, False, 1.05),
    Row("3k-n2", "3,000 passing, -n 2", 3_000, 0, True, 1.05),
    # pytest formats an xfail's traceback like a failure's, which claimcheck's plugin makes
    # cheaper than bare pytest does (claimcheck_trees): without xfails, only claimcheck's cost
    Row("3k-plain", "3,000 passing, no xfail", 3_000, 0, False, 1.05, xfails=False),
    # The same without the fast exit (claimcheck_exit): pytest's process ends as bare
    # pytest's does, CPython's collections at exit and all; claimcheck's own cost alone.
    Row("3k-plain-full", "  ... CPython's exit (FAST_EXIT=off)", 3_000, 0, False, 1.05,
        xfails=False, cc_env=(("CLAIMCHECK_FAST_EXIT", "off"),)),
    Row("20k", "20,000 passing", 20_000, 0, False, 1.05),
    Row("20k-n2", "20,000 passing, -n 2", 20_000, 0, True, 1.05),
    Row("red", "10,000 tests, 500 failing", 10_000, 500, False, 0.70),
)}
GOAL_SPAWN_S = 0.1  # claimcheck's own start-up before pytest is spawned
RUN_TIMEOUT_S = 1800

# claimcheck's installed console script itself (pip 23.2's imports `re` before it imports
# claimcheck, which every start through it pays; pip 26.3's does not), run as its file is. An
# audit hook notes when the phase's pytest is spawned (the `subprocess.Popen` or
# `os.posix_spawn` event, raised before the spawn) and how long the spawn took (until
# `_execute_child` or `early_spawn._spawn_here` returns); at exit (`exit_now` runs the atexit
# functions) it writes those moments and this process's own peak RSS. Nothing of claimcheck
# is patched.
WRAPPER = """\
import atexit, sys, time  # json and resource at the end: claimcheck's own start-up is measured
_out, _script = sys.argv[1], sys.argv[2]
_seen = {}
def _returned(frame, event, arg):
    if event == "return" and frame.f_code.co_name in ("_execute_child", "_spawn_here"):
        _seen["spawned"] = time.time()
        sys.setprofile(None)
def _audit(event, args):
    if event not in ("subprocess.Popen", "os.posix_spawn") or "spawn" in _seen:
        return
    env = (args[3] if event == "subprocess.Popen" else args[2]) or {}
    if any(str(a) in ("claimcheck_stream", "claimcheck_prestart") for a in (args[1] or ())):
        _seen["spawn"] = time.time()
        _seen["remembered"] = "CLAIMCHECK_GATE" in env
        _seen["prestarted"] = "CLAIMCHECK_PRESTART" in env
        import os
        if "BENCH_SPAWN_MARK" in os.environ:
            os.write(2, b"BENCH-SPAWN\\n")
        sys.setprofile(_returned)
def _facts():
    import json, resource
    _self = resource.getrusage(resource.RUSAGE_SELF)
    _seen["rss_kb"] = _self.ru_maxrss
    _seen["self_cpu"] = _self.ru_utime + _self.ru_stime
    _seen["exit"] = time.time()
    with open(_out, "w") as handle:
        json.dump(_seen, handle)
sys.addaudithook(_audit)
atexit.register(_facts)  # the first registered runs last
sys.argv = [_script, *sys.argv[3:]]
with open(_script, "rb") as _file:
    _code = compile(_file.read(), _script, "exec")
exec(_code, {"__name__": "__main__", "__file__": _script})
"""


def console_script() -> str:
    """The `claimcheck` command installed beside this interpreter."""
    found = shutil.which("claimcheck", path=os.path.dirname(sys.executable))
    if found is None:
        raise SystemExit(f"no `claimcheck` command beside {sys.executable}: install claimcheck "
                         "into this environment (pip install .)")
    return found

BYTECODE_ON = ".pyc caching ON (warm __pycache__), as users have it"
BYTECODE_OFF = ("PYTHONDONTWRITEBYTECODE=1, the suite's __pycache__ removed before every run "
                "(pytest rewrites every test module, as in this sandbox)")
ONE_TEST = "def test_one():\n    assert 1 + 1 == 2\n"


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    exit_code: int
    launched: float  # time.time() just before the process was started
    ended: float
    last_test: float | None = None  # the suite's conftest: when the last test finished
    pytest_exit: float | None = None  # ... and when that pytest was about to exit
    rss_mb: float | None = None  # claimcheck's own process only
    remembered: bool = False  # claimcheck: its first pytest started from the remembered command
    prestarted: bool = False  # claimcheck: ... as a first run's pytest (claimcheck_prestart)
    own_cpu_s: float | None = None  # claimcheck's own process only (pytest not included)
    spawn: float | None = None  # claimcheck: Popen of the phase's pytest
    spawned: float | None = None  # claimcheck: fork and exec done
    report_at: float | None = None  # claimcheck: report file's mtime
    exited: float | None = None  # claimcheck: main() returned


@dataclass
class Result:
    row: Row
    pytest: str
    version: str
    starts: str = "remembered"  # claimcheck's starts: "remembered", "first run" or "off"
    bare: list[Run] = field(default_factory=list)
    cc: list[Run] = field(default_factory=list)
    load: list[float] = field(default_factory=list)


# ----------------------------------------------------------------------------------------
# Suites


def make_suite(root: Path, row: Row) -> dict[str, int]:
    """The row's project, committed to git; returns the counts it promises."""
    if root.exists():
        shutil.rmtree(root)
    if row.tests == 1:
        (root / "tests").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[project]\nname = "one"\nversion = "0"\n')
        (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        (root / "tests" / "test_one.py").write_text(ONE_TEST, encoding="utf-8")
        expected = {"tests": 1, "passed": 1, "failed": 0, "skipped": 0, "xfailed": 0}
    else:
        expected = write_suite(root, plan_suite(row.tests, row.failures / row.tests,
                                                import_errors=0,
                                                xfail_ratio=XFAIL_RATIO if row.xfails else 0))
    (root / ".gitignore").write_text(".claimcheck/\n__pycache__/\n", encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "suite"]):
        subprocess.run([*git, *argv], cwd=root, check=True, stdout=subprocess.DEVNULL)
    return expected


def write_config(path: Path, python: str, xdist: bool) -> None:
    """claimcheck's configuration for one row and one interpreter (`--config PATH`)."""
    args = ', "-n", "2"' if xdist else ""
    path.write_text(f'python = "{python}"\n\n[[phases]]\nname = "tests"\n'
                    f'pytest = ["-p", "no:cacheprovider"{args}]\n', encoding="utf-8")


# ----------------------------------------------------------------------------------------
# Measuring


def run_process(argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path) -> Run:
    """Start, reap with wait4 (CPU of the process and every child it waited for), time it."""
    with log.open("wb") as out:
        launched = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"{' '.join(argv)}: still running after {RUN_TIMEOUT_S} s")
            time.sleep(0.002)
        wall = time.perf_counter() - start
        ended = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
               exit_code=proc.returncode, launched=launched, ended=ended)


def read_times(path: Path) -> tuple[float | None, float | None]:
    try:
        last, exiting = (float(part) for part in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return None, None
    return (last or None), exiting


def clear_pycache(root: Path) -> None:
    for folder in root.rglob("__pycache__"):
        shutil.rmtree(folder, ignore_errors=True)


def bare_run(root: Path, python: str, row: Row, env: dict[str, str], scratch: Path,
             expected: dict[str, int], pyc: bool) -> Run:
    if not pyc:
        clear_pycache(root)
    times = scratch / "bare.times"
    times.unlink(missing_ok=True)
    log = scratch / "bare.log"
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if row.xdist:
        argv += ["-n", "2"]
    run = run_process(argv, cwd=root, env={**env, "BENCH_LAST_TEST_FILE": str(times)},
                      log=log)
    run.last_test, run.pytest_exit = read_times(times)
    problem = check_bare(log, expected)
    if problem:
        raise SystemExit(f"{row.name}: bare pytest did not run the suite: {problem}")
    return run


def cc_run(root: Path, config: Path, env: dict[str, str], scratch: Path,
           expected: dict[str, int], pyc: bool, row: Row, *,
           extra_env: dict[str, str] | None = None, python_flags: Sequence[str] = ()) -> Run:
    if not pyc:
        clear_pycache(root)
    times = scratch / "cc.times"
    facts = scratch / "cc.facts.json"
    report = scratch / "cc.report.txt"
    for path in (times, facts, report):
        path.unlink(missing_ok=True)
    log = scratch / "cc.log"
    argv = [sys.executable, *python_flags, "-c", WRAPPER, str(facts), console_script(),
            "--report", "--output", str(report), "--project", str(root), "--config",
            str(config)]
    run = run_process(argv, cwd=root,
                      env={**env, "BENCH_LAST_TEST_FILE": str(times), **(extra_env or {})},
                      log=log)
    run.last_test, run.pytest_exit = read_times(times)
    try:
        seen = json.loads(facts.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seen = {}
    run.rss_mb = seen["rss_kb"] / 1024 if "rss_kb" in seen else None
    run.own_cpu_s = seen.get("self_cpu")
    run.spawn, run.spawned, run.exited = seen.get("spawn"), seen.get("spawned"), seen.get("exit")
    run.remembered = bool(seen.get("remembered"))
    run.prestarted = bool(seen.get("prestarted"))
    run.report_at = report.stat().st_mtime if report.exists() else None
    problem = check_report(report, expected)
    if problem or run.exit_code not in (0, 1):
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
        raise SystemExit(f"{row.name}: claimcheck exit {run.exit_code}: {problem}\n{tail}")
    return run


def check_bare(log: Path, expected: dict[str, int]) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    line = lines[-1] if lines else ""
    found = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}
    wrong = [f"{key} {found.get(key, 0)} != {expected[key]}"
             for key in ("passed", "failed", "skipped", "xfailed")
             if found.get(key, 0) != expected[key]]
    return f"{line!r}: " + "; ".join(wrong) if wrong else ""


def check_report(path: Path, expected: dict[str, int]) -> str:
    """The text report's first line must count exactly the suite's tests."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return "no report written"
    found = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped)", first)}
    wrong = [f"{key} {found.get(key)} != {expected[key]}"
             for key in ("passed", "failed", "skipped") if found.get(key) != expected[key]]
    return f"{first!r}: " + "; ".join(wrong) if wrong else ""


# ----------------------------------------------------------------------------------------
# Interpreters


def interpreters(wanted: Sequence[str], given: dict[str, str]) -> dict[str, str]:
    """name -> python: given ones, else the engine environments the test suite provisions."""
    found = {name: given[name] for name in wanted if name in given}
    missing = [name for name in wanted if name not in found]
    if missing:
        sys.path.insert(0, str(REPO / "tests"))
        from engine_envs import provision

        by_name = {"newest": "newest", "8": "floor"}
        for env in provision(tuple(by_name[name] for name in missing)):
            found[{"newest": "newest", "floor": "8"}[env.name]] = env.python
    return found


def install_line() -> str:
    """How the claimcheck measured here is installed: an editable install (a checkout's
    `pip install -e`) has every start of its interpreter import setuptools' finder (pathlib,
    urllib, ipaddress: about 12 ms here), which a regular install, as users have it, does not."""
    import claimcheck

    finders = sorted(name for name in sys.modules if name.startswith("__editable__"))
    where = Path(claimcheck.__file__).resolve().parent.parent
    if finders:
        return (f"claimcheck: an editable install ({where}): every start of its interpreter "
                f"imports {finders[0]}; run the bench from a `pip install .` for the figures "
                "users get")
    return f"claimcheck: a regular install ({where})"


def pytest_version(python: str) -> str:
    return subprocess.run([python, "-c", "import pytest; print(pytest.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


# ----------------------------------------------------------------------------------------
# The fixed cost, broken down


def interpreter_start(env: dict[str, str], runs: int = 9) -> float:
    """The console script's interpreter starting and exiting, with nothing imported."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def imports_before_spawn(root: Path, config: Path, env: dict[str, str], scratch: Path,
                         expected: dict[str, int], pyc: bool, row: Row) -> tuple[float, int]:
    """Seconds of imports (sum of `-X importtime` top-level entries) before the spawn, and how
    many modules; importtime's own bookkeeping makes this a slight overestimate."""
    cc_run(root, config, env, scratch, expected, pyc, row, python_flags=("-X", "importtime"),
           extra_env={"BENCH_SPAWN_MARK": "1", "CLAIMCHECK_START_CACHE": "off"})
    total = 0
    modules = 0
    for line in (scratch / "cc.log").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("BENCH-SPAWN"):
            break
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            modules += 1
            if len(match.group(3)) == 1:  # top level: its cumulative time covers its imports
                total += int(match.group(2))
    return total / 1e6, modules


def fixed_cost_line(result: Result, interpreter_s: float, imports: tuple[float, int]) -> str:
    runs = result.cc
    spawn = _median([r.spawn - r.launched for r in runs if r.spawn])
    fork = _median([r.spawned - r.spawn for r in runs if r.spawned and r.spawn])
    report = _median([r.report_at - r.last_test for r in runs if r.report_at and r.last_test])
    done = _median([r.ended - r.last_test for r in runs if r.last_test])
    bare_done = _median([r.ended - r.last_test for r in result.bare if r.last_test])
    import_s, modules = imports
    rest = spawn - interpreter_s - import_s if spawn is not None else None
    return (f"fixed cost ({result.row.name}, pytest {result.version}, starts switched off): "
            f"pytest spawned "
            f"{_ms(spawn)} after launch (goal < {GOAL_SPAWN_S * 1000:.0f} ms) = interpreter "
            f"{_ms(interpreter_s)} + imports {_ms(import_s)} ({modules} modules) + config, "
            f"checks and event loop {_ms(rest)}; fork+exec {_ms(fork)}. After the last test: "
            f"report written {_ms(report)}, claimcheck exited {_ms(done)} "
            f"(bare pytest exited {_ms(bare_done)} after its last test)")


# ----------------------------------------------------------------------------------------
# The table


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def median_interval(values: Sequence[float], confidence: float = 0.95
                    ) -> tuple[float, float, float] | None:
    """The median of `values` and an interval that holds the true median with at least
    `confidence`, assuming nothing about the noise's shape: the k-th lowest and k-th highest
    value, k the largest rank for which the chance that fewer than k of the n values fall
    below the true median (a binomial tail at 1/2), twice over for the two sides, stays
    within 1 - confidence. None when there are too few values for any such k (fewer than 6
    at 95%)."""
    ordered = sorted(values)
    n = len(ordered)
    k, below = 0, 0.0  # below: P(X <= k - 1) for X ~ Binomial(n, 1/2)
    while k < n:
        with_next = below + math.comb(n, k) / 2 ** n
        if 2 * with_next > 1 - confidence:
            break
        below, k = with_next, k + 1
    if k == 0:
        return None
    return statistics.median(ordered), ordered[k - 1], ordered[n - k]


def verdict(interval: tuple[float, float, float] | None, goal: float) -> str:
    """ok when the whole interval meets the goal, MISS when none of it does, open otherwise
    (a VM's run-to-run noise is larger than some goals: only more pairs decide those)."""
    if interval is None:
        return "open"
    _, low, high = interval
    return "ok" if high <= goal else "MISS" if low > goal else "open"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f} ms"


COLUMNS = (("suite", 36, "<"), ("pytest", 7, "<"), ("|", 1, "<"), ("bare", 8, ">"),
           ("claimcheck", 10, ">"), ("ratio", 6, ">"), ("pairs: 95%", 14, ">"),
           ("goal", 7, ">"),
           ("|", 1, "<"), ("bare CPU", 8, ">"), ("cc CPU", 7, ">"), ("ratio", 6, ">"),
           ("cc own", 7, ">"), ("|", 1, "<"), ("cc RSS", 7, ">"), ("|", 1, "<"),
           ("load", 9, ">"), ("|", 1, "<"), ("", 4, "<"))


def _cells(*values: str) -> str:
    return " ".join(f"{value:{align}{width}}" for value, (_, width, align)
                    in zip(values, COLUMNS)).rstrip()


def table_head() -> list[str]:
    head = _cells(*(name for name, _, _ in COLUMNS))
    return [head, "-" * len(head)]


def result_line(res: Result) -> str:
    bare = _median([r.wall_s for r in res.bare])
    cc = _median([r.wall_s for r in res.cc])
    ratios = [c.wall_s / b.wall_s for b, c in zip(res.bare, res.cc)]
    ratio = _median(ratios)
    interval = median_interval(ratios)
    bare_cpu = _median([r.cpu_s for r in res.bare])
    cc_cpu = _median([r.cpu_s for r in res.cc])
    cpu_ratio = _median([c.cpu_s / b.cpu_s for b, c in zip(res.bare, res.cc) if b.cpu_s])
    own_cpu = _median([r.own_cpu_s for r in res.cc if r.own_cpu_s is not None])
    rss = max((r.rss_mb or 0 for r in res.cc), default=0)
    spread = (f"{len(ratios)}: {interval[1]:.2f}-{interval[2]:.2f}" if interval
              else f"{len(ratios)}: too few")
    return _cells(_label(res, res.row.label), res.version, "|", f"{bare:.2f} s", f"{cc:.2f} s",
                  f"{ratio:.2f}x", spread, f"<={res.row.goal:.2f}x", "|", f"{bare_cpu:.2f} s",
                  f"{cc_cpu:.2f} s", f"{cpu_ratio:.2f}x",
                  "" if own_cpu is None else f"{own_cpu:.2f} s", "|", f"{rss:.0f} MB", "|",
                  _load(res.load), "|", verdict(interval, res.row.goal))


def _label(res: Result, label: str) -> str:
    """A row's label, saying how many of claimcheck's runs started pytest from what the same
    invocation ran last time, or as a first run's pytest (`remembered_start`), or that these
    starts were switched off."""
    if res.starts == "off":
        return "  ... starts switched off"  # the line above's figure, the config read first
    if res.starts == "first run":
        label, started, short = "  ... nothing remembered", sum(
            run.prestarted for run in res.cc), "pre."
    else:
        started, short = sum(run.remembered for run in res.cc), "rem."
    return label if started == len(res.cc) else f"{label} ({started}/{len(res.cc)} {short})"


def spawn_line(res: Result) -> str:
    """claimcheck's own start-up: launch until the phase's pytest is spawned (one-test row)."""
    spawn = _median([r.spawn - r.launched for r in res.cc if r.spawn])
    verdict = "ok" if spawn is not None and spawn < GOAL_SPAWN_S else "MISS"
    return _cells(_label(res, "start-up before pytest is spawned"), res.version, "|", "",
                  _ms(spawn), "",
                  "", f"<{GOAL_SPAWN_S * 1000:.0f} ms", "|", "", "", "", "", "|", "", "|",
                  _load(res.load), "|", verdict)


def tui_lines(first: dict[str, float] | None, stream: dict[str, float] | None,
              version: str) -> list[str]:
    """The command center's rows: its own figures, no bare side."""
    lines = []
    if first:
        load = f"{first['load_min']:.1f}-{first['load_max']:.1f}"
        for label, key, goal in (("TUI: launch -> first frame", "first_frame_s", 0.5),
                                 ("TUI: pytest reported -> on screen", "first_result_s", 0.3)):
            value = first[key]
            lines.append(_cells(label, version, "|", "", _ms(value), "", "",
                                f"<{goal * 1000:.0f} ms", "|", "", "", "", "", "|", "", "|",
                                load, "|", "ok" if value < goal else "MISS"))
        # No goal of its own: a pytest that reports before the first frame waits for it, so
        # the row above grows as pytest starts earlier; this one says when the result shows.
        lines.append(_cells("TUI: launch -> first result shown", version, "|", "",
                            _ms(first["result_shown_s"]), "", "", "", "|", "", "", "", "", "|",
                            "", "|", load, "|"))
    if stream:
        load = f"{stream['load']:.1f}"
        lines.append(_cells(f"TUI: {stream['tests']:,} results, RSS", "-", "|", "",
                            f"{stream['peak_rss_mb']:.0f} MB", "", "", "<400 MB", "|", "", "",
                            "", "", "|", f"{stream['peak_rss_mb']:.0f} MB", "|", load, "|",
                            "ok" if stream["peak_rss_mb"] < 400 else "MISS"))
        lines.append(_cells(f"TUI: keys while {stream['tests']:,} stream", "-", "|", "",
                            f"{stream['key_ms_max']:.0f} ms", "", "", "<100 ms", "|", "", "",
                            "", "", "|", "", "|", load, "|",
                            "ok" if stream["key_ms_max"] < 100 else "MISS"))
    return lines


def _load(loads: Sequence[float]) -> str:
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "n/a"


def tui_figures(runs: int, work: Path) -> tuple[dict[str, float], dict[str, float]]:
    """First frame and first result (`tui_first_screen.py`, a real terminal), then keys and
    RSS while 20,000 results stream into the app (`bench_tui.py`, in its own process)."""
    from tui_first_screen import measure

    first = measure(runs, work / "first-screen")
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, str(HERE / "bench_tui.py"), "--json"],
                          capture_output=True, text=True, check=True)
    stream = json.loads(done.stdout.strip().splitlines()[-1])
    stream["load"] = max(load, os.getloadavg()[0])
    return first, stream


# ----------------------------------------------------------------------------------------


def bench_row(row: Row, name: str, python: str, version: str, *, root: Path,
              expected: dict[str, int], env: dict[str, str], pairs: int, pyc: bool,
              scratch: Path, starts: str = "remembered") -> Result:
    config = scratch / f"claimcheck-{row.name}-{name}.toml"
    write_config(config, python, row.xdist)
    result = Result(row, name, version, starts)
    # Remembered starts in the scratch folder: the discarded pair below leaves what the
    # measured ones start from, as a developer's previous run does. A first run starts from
    # an empty folder every time.
    cache = scratch / ("starts" if starts == "remembered" else "starts-first-run")
    cc_env = {**env, **dict(row.cc_env),
              "CLAIMCHECK_START_CACHE": "off" if starts == "off" else str(cache)}

    def claimcheck_side() -> Run:
        if starts == "first run":
            shutil.rmtree(cache, ignore_errors=True)
        return cc_run(root, config, cc_env, scratch, expected, pyc, row)

    # One discarded pair first: file cache, history database, __pycache__ when pyc is on.
    bare_run(root, python, row, env, scratch, expected, pyc)
    claimcheck_side()
    for pair in range(pairs):
        result.load.append(os.getloadavg()[0])
        print(f"  {row.name} pytest {version} pair {pair + 1}/{pairs}", flush=True)
        sides = [("bare", lambda: bare_run(root, python, row, env, scratch, expected, pyc)),
                 ("cc", claimcheck_side)]
        if pair % 2:
            sides.reverse()
        for side, measure in sides:
            getattr(result, side).append(measure())
    result.load.append(os.getloadavg()[0])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"comma-separated, from {', '.join(ROWS)} (default: all)")
    parser.add_argument("--pytest", default="newest,8",
                        help="which pytest: newest, 8 (default both)")
    parser.add_argument("--python", action="append", default=[], metavar="NAME=PYTHON",
                        help="the interpreter for `newest` or `8` instead of the engine "
                             "environment tests/engine_envs.py provisions")
    parser.add_argument("--pairs", type=int, default=6,
                        help="measured pairs per row of more than 3,000 tests (default 6, "
                             "the fewest that give a 95%% interval)")
    parser.add_argument("--small-pairs", type=int, default=21,
                        help="measured pairs per row of at most 3,000 tests, which take "
                             "seconds and move most from run to run (default 21)")
    parser.add_argument("--bytecode", choices=("on", "off", "both"), default="on",
                        help="on: .pyc caching as users have it (warm); off: "
                             "PYTHONDONTWRITEBYTECODE=1 and the suite's __pycache__ removed "
                             "before each run, as in this sandbox")
    parser.add_argument("--work", type=Path, help="folder for suites and outputs")
    parser.add_argument("--tui-runs", type=int, default=5,
                        help="command center runs for the TUI rows (0: no TUI rows)")
    args = parser.parse_args(argv)
    rows = [ROWS[name.strip()] for name in args.rows.split(",") if name.strip()]
    wanted = [name.strip() for name in args.pytest.split(",") if name.strip()]
    given = dict(item.split("=", 1) for item in args.python)
    pythons = interpreters(wanted, given)
    versions = {name: pytest_version(python) for name, python in pythons.items()}
    work = args.work or Path(tempfile.mkdtemp(prefix="claimcheck-overhead-"))
    work.mkdir(parents=True, exist_ok=True)
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.bytecode]
    own_pyc = any((REPO / "collectors").glob("__pycache__/*.pyc"))
    out: list[str] = []
    tui: tuple[dict[str, float] | None, dict[str, float] | None] = (None, None)
    if args.tui_runs > 0:
        print("  command center: first frame, first result, keys and RSS", flush=True)
        tui = tui_figures(args.tui_runs, work)
    for pyc in modes:
        env = dict(os.environ)
        env.pop("PYTEST_ADDOPTS", None)
        if pyc:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        results: list[Result] = []
        fixed: list[str] = []
        spawns: list[str] = []
        for row in rows:
            root = work / f"suite-{row.suite}"
            expected = make_suite(root, row) if not (root / ".git").exists() else \
                json.loads((root.parent / f"{root.name}.expected.json").read_text())
            (root.parent / f"{root.name}.expected.json").write_text(json.dumps(expected))
            for name in wanted:
                scratch = work / f"scratch-{row.name}-{name}"
                scratch.mkdir(exist_ok=True)
                result = bench_row(row, name, pythons[name], versions[name], root=root,
                                   expected=expected, env=env, pyc=pyc,
                                   pairs=args.small_pairs if row.tests <= 3000 else args.pairs,
                                   scratch=scratch)
                results.append(result)
                if row.tests == 1:
                    # The same row with nothing remembered (a first run in a folder, every
                    # CI job on a fresh machine), and with these starts switched off (the
                    # config read before pytest is spawned).
                    first, off = (bench_row(row, name, pythons[name], versions[name],
                                            root=root, expected=expected, env=env, pyc=pyc,
                                            pairs=args.small_pairs, scratch=scratch,
                                            starts=starts)
                                  for starts in ("first run", "off"))
                    results += [first, off]
                    config = scratch / f"claimcheck-{row.name}-{name}.toml"
                    imports = imports_before_spawn(root, config, env, scratch, expected,
                                                   pyc, row)
                    fixed.append(fixed_cost_line(off, interpreter_start(env), imports))
                    spawns += [spawn_line(result), spawn_line(first), spawn_line(off)]
        out += [
            "",
            "bytecode: " + (BYTECODE_ON if pyc else BYTECODE_OFF) + "; claimcheck's own "
            f"modules {'have' if own_pyc or pyc else 'have no'} .pyc files",
            install_line(),
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; interleaved pairs "
            f"({args.small_pairs} for rows of at most 3,000 tests, {args.pairs} above); "
            "ratio = median of the pairs' ratios; pairs: 95% = how many, and the interval that "
            "holds the median ratio with 95% confidence whatever the noise's shape (the k-th "
            "lowest and highest ratio, binomial); ok = the whole interval meets the goal, MISS "
            "= none of it, open = more pairs needed; cc own = CPU of claimcheck's own process "
            "(pytest not included); load = 1-minute load average during the row",
            *table_head(),
            *spawns,
            *map(result_line, results),
            *tui_lines(*tui, pytest_version(sys.executable)),
            *fixed,
        ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
