"""How the command center holds up while a 20,000-test phase streams in.

Two modes, each pressing `p` (pause/resume the event stream) every ~50 ms while results arrive,
timing each press from the key event being posted until the screen has repainted with the
change, and printing total time, peak RSS and key-response figures:

- default: streams TestFinished events (5% failures with a realistic traceback) through
  `app.ingest` - the door the real runner uses - into the headless app (`run_test`), as fast as
  a fast pytest run produces them. Measures the app alone.
- `--suite`: generates a real 20,000-test suite (`gen_suite.py`), runs it once with
  `claimcheck --report` and once through the app (real pytest subprocess, real plugin stream),
  and compares the two wall times: what the live screen costs over the headless report.

    python bench/bench_tui.py [--tests 20000] [--fail-rate 0.05] [--rate 20000]
    python bench/bench_tui.py --suite [--tests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# claimcheck as installed (a regular or an editable install): the checkout's own folder on
# sys.path would shadow a regular install with the bare `claimcheck/` package it holds.
ROOT = Path(__file__).resolve().parents[1]

from claimcheck.collectors.config import Config, GapConfig, PhaseConfig, load_config  # noqa: E402
from claimcheck.collectors.models import (  # noqa: E402
    Counts,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    TestFinished,
    TestResult,
    TestsCollected,
)
from claimcheck.tui.app import ClaimcheckApp  # noqa: E402
from claimcheck.tui.widgets.events import EventStream  # noqa: E402
from claimcheck.tui.widgets.failures import FailureList  # noqa: E402

LONGREPR = "\n".join(
    ["    def test_it(client):"]
    + [f"        step_{i} = client.get('/api/{i}')" for i in range(20)]
    + [">       assert response.status_code == 200", "E       assert 500 == 200",
       "", "tests/unit/test_mod.py:42: AssertionError"]
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_results(count: int, fail_rate: float) -> list[TestResult]:
    every = max(1, round(1 / fail_rate)) if fail_rate > 0 else 0
    areas = ("auth", "websocket", "factory", "router", "billing")
    results = []
    for i in range(count):
        nodeid = f"tests/unit/test_{areas[i % 5]}_{i // 100}.py::test_case_{i}"
        if every and i % every == every - 1:
            results.append(TestResult(nodeid, "failed", "unit", 0.01,
                                      message="AssertionError: assert 500 == 200",
                                      path=nodeid.split("::")[0], line=42, longrepr=LONGREPR,
                                      sections=(("Captured stdout call", "GET /api -> 500\n"),)))
        else:
            results.append(TestResult(nodeid, "passed", "unit", 0.001))
    return results


def key_timer(app: ClaimcheckApp, events: EventStream):  # type: ignore[no-untyped-def]
    """A coroutine function that presses `p` and returns the ms until the screen showed it.

    Records when the screen finishes each repaint, to time "key -> screen shows it".
    """
    screen = app.screen
    painted: list[float] = []
    original = screen._compositor_refresh

    def compositor_refresh() -> None:
        original()
        painted.append(time.perf_counter())

    screen._compositor_refresh = compositor_refresh  # type: ignore[method-assign]

    async def press_and_time() -> float:
        before = events.paused
        t0 = time.perf_counter()
        app.simulate_key("p")  # posted like a real key, no Pilot idle-wait
        while events.paused == before:
            await asyncio.sleep(0.0005)
        flipped = time.perf_counter()
        while not painted or painted[-1] < flipped:
            await asyncio.sleep(0.0005)
        return (painted[-1] - t0) * 1000

    return press_and_time


def key_figures(latencies: list[float]) -> dict:
    return {
        "presses": len(latencies),
        "key_ms_max": max(latencies) if latencies else float("nan"),
        "key_ms_p50": statistics.median(latencies) if latencies else float("nan"),
        "key_ms_p95": (statistics.quantiles(latencies, n=20)[18]
                       if len(latencies) >= 20 else max(latencies, default=float("nan"))),
    }


async def bench(count: int, fail_rate: float, rate: float, size: tuple[int, int]) -> dict:
    config = Config(
        root=Path("/srv/bench"), source=None, python=sys.executable,
        phases=(PhaseConfig("unit", pytest=("tests/unit",)),),
        gaps=tuple(GapConfig(a, a.title(), match=(f"*{a}*",))
                   for a in ("auth", "websocket", "factory", "router", "billing")),
    )
    gc.collect()
    gc.freeze()  # as `claimcheck` does once its imports are done (tui/launch.py); results come later
    results = make_results(count, fail_rate)
    rss_before = peak_rss_mb()
    app = ClaimcheckApp(config, autostart=False, read_git=False)
    latencies: list[float] = []
    async with app.run_test(size=size) as pilot:
        events = app.query_one(EventStream)
        chunk = max(1, int(rate / 200))  # 200 wakeups a second, like a busy runner
        streamed = asyncio.Event()

        async def stream() -> None:
            app.ingest(PhaseStarted("unit", (), time.time()))
            app.ingest(TestsCollected("unit", count))
            for start in range(0, count, chunk):
                for result in results[start:start + chunk]:
                    app.ingest(TestFinished("unit", result))
                await asyncio.sleep(chunk / rate)
            failed = sum(1 for r in results if r.outcome == "failed")
            run = PhaseRun("unit", "failed", 1, 0.0,
                           Counts(collected=count, passed=count - failed, failed=failed),
                           tests=tuple(results))
            app.ingest(PhaseFinished("unit", run))
            streamed.set()

        press_and_time = key_timer(app, events)
        started = time.perf_counter()
        task = asyncio.create_task(stream())
        while not streamed.is_set():
            latencies.append(await press_and_time())
            await asyncio.sleep(0.05)
        await task
        while app.evidence.phase("unit").status != "failed":
            await pilot.pause(0.01)
        await pilot.pause()
        total = time.perf_counter() - started
        shown = len(app.query_one(FailureList).keys)
        done = len(app.evidence.phase("unit").results)
        # A key after the stream, for comparison with the keys during it.
        await pilot.pause(0.3)
        idle_ms = await press_and_time()
    return {
        "tests": count,
        "failures": sum(1 for r in results if r.outcome == "failed"),
        "done": done,
        "failure_rows": shown,
        "total_s": total,
        "stream_rate": rate,
        "peak_rss_mb": peak_rss_mb(),
        "rss_growth_mb": peak_rss_mb() - rss_before,
        **key_figures(latencies),
        "key_ms_idle": idle_ms,
    }


async def bench_suite(count: int, size: tuple[int, int]) -> dict:
    """One generated suite through `claimcheck --report`, then through the app, same machine."""
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # both sides rewrite asserts every run
    work = Path(tempfile.mkdtemp(prefix="claimcheck-tui-bench-"))
    suite = work / "suite"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_suite.py"), str(suite),
                    "--tests", str(count)], check=True, stdout=subprocess.DEVNULL)
    # Both sides are timed to the moment the evidence is there: the JSON report on disk, and
    # the app's assembled report (either may still be reaping pytest's teardown after that).
    started = time.time()
    subprocess.run([sys.executable, "-m", "claimcheck", "--report", "--format", "json",
                    "--output", str(work / "report.json"), "--project", str(suite)],
                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    report_s = (work / "report.json").stat().st_mtime - started

    config = load_config(suite)
    gc.collect()
    rss_before = peak_rss_mb()
    app = ClaimcheckApp(config, read_git=False)  # autostart: the real runner, real pytest
    latencies: list[float] = []
    slow: list[str] = []
    started = time.time()
    async with app.run_test(size=size) as pilot:
        press_and_time = key_timer(app, app.query_one(EventStream))
        while app.report is None or app.run_state.running:
            if app.run_state.running and any(live.results
                                                for live in app.evidence.phases.values()):
                latencies.append(await press_and_time())  # only while results stream in
                if latencies[-1] >= 100:
                    done = sum(len(live.results) for live in app.evidence.phases.values())
                    slow.append(f"{latencies[-1]:.0f} ms at {time.time() - started:.1f} s "
                                f"({done:,} results in)")
            await asyncio.sleep(0.05)
        app_s = time.time() - started
        done = sum(len(live.results) for live in app.evidence.phases.values())
        verdict = app.report.verdict
        await pilot.press("q")
    return {
        "tests": count, "done": done, "verdict": verdict, "report_s": report_s,
        "app_s": app_s, "peak_rss_mb": peak_rss_mb(),
        "rss_growth_mb": peak_rss_mb() - rss_before, **key_figures(latencies),
        "slow_keys": slow,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--fail-rate", type=float, default=0.05)
    parser.add_argument("--rate", type=float, default=20_000.0, help="events per second")
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--suite", action="store_true",
                        help="a real generated suite through --report and through the app")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as one JSON object (bench_overhead.py reads it)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.json:
        run = bench_suite if args.suite else bench
        extra = () if args.suite else (args.fail_rate, args.rate)
        print(json.dumps(asyncio.run(run(args.tests, *extra, (width, height)))))
        return
    if args.suite:
        figures = asyncio.run(bench_suite(args.tests, (width, height)))
        print(f"claimcheck TUI bench, real suite ({width}x{height}, headless, textual run_test)")
        print(f"  suite: {figures['tests']:,} tests (gen_suite.py); the app counted "
              f"{figures['done']:,} results, verdict {figures['verdict']}")
        print(f"  until the evidence is there: claimcheck --report {figures['report_s']:.2f} s "
              f"(JSON on disk), the app {figures['app_s']:.2f} s (report assembled): "
              f"{figures['app_s'] / figures['report_s']:.2f}x")
        for line in figures["slow_keys"]:
            print(f"  slow key: {line}")
    else:
        figures = asyncio.run(bench(args.tests, args.fail_rate, args.rate, (width, height)))
        print(f"claimcheck TUI bench ({width}x{height}, headless, textual run_test)")
        print(f"  streamed {figures['tests']:,} TestFinished ({figures['failures']:,} failures) "
              f"at up to {figures['stream_rate']:,.0f}/s")
        print(f"  shown: {figures['done']:,} results counted, {figures['failure_rows']:,} "
              "failure rows")
        print(f"  total time until the phase shows finished: {figures['total_s']:.2f} s")
    print(f"  peak RSS: {figures['peak_rss_mb']:.0f} MB "
          f"(+{figures['rss_growth_mb']:.0f} MB for the app; goal < 400 MB)")
    print(f"  key 'p' while streaming ({figures['presses']} presses): "
          f"max {figures['key_ms_max']:.0f} ms, p95 {figures['key_ms_p95']:.0f} ms, "
          f"median {figures['key_ms_p50']:.0f} ms (goal: max < 100 ms)")
    if "key_ms_idle" in figures:
        print(f"  key 'p' when idle: {figures['key_ms_idle']:.0f} ms")


if __name__ == "__main__":
    main()
