"""Benchmark: `claimcheck merge` of 10 shard reports holding 20,000 tests in total.

Run: python bench/bench_merge.py [--shards 10] [--tests 20000] [--repeat 5] [--format all]

Shards are written by claimcheck's own writers (JSON, JUnit) or shaped as pytest-json-report
writes them, split the way pytest-split splits a suite: contiguous groups of the same
collection, each shard naming every test it left to the others (`deselected_ids`, or
json-report's deselected collectors), the worst case for a merge: 10 shards x 18,000 names.
1% of the tests fail with a traceback, 2% are skipped.

Measured: the wall time of the whole command (`python -m claimcheck merge ... --format json
--output merged.json`, interpreter start-up included), median of `--repeat` runs, with the CPU
time it used (single-threaded: on an idle machine wall and CPU time agree; on a shared one the
CPU time is the steadier figure), and an in-process breakdown (read, merge and judge, render).
Goal: under 2 s for the whole command.
The result is checked too: every test once, nothing missing or overlapping.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claimcheck.collectors.config import Config  # noqa: E402
from claimcheck.collectors.merge import merge_reports  # noqa: E402
from claimcheck.collectors.models import (  # noqa: E402
    Counts,
    PhaseRun,
    Provenance,
    PytestSession,
    RunReport,
    TestResult,
)
from claimcheck.collectors.readers import read_report, source_labels  # noqa: E402
from claimcheck.collectors.report.json_report import render_json  # noqa: E402
from claimcheck.collectors.report.junit import render_junit  # noqa: E402

GOAL_S = 2.0
TESTS_PER_FILE = 250
TRACEBACK = ("    def test_value():\n>       assert compute(3) == {'a': 1, 'b': 2}\nE       "
             "AssertionError: assert {'a': 1, 'b': 3} == {'a': 1, 'b': 2}\n") * 8


def suite(tests: int) -> list[tuple[str, str]]:
    """(nodeid, outcome) for the whole collection: 1% failed, 2% skipped."""
    out = []
    for index in range(tests):
        nodeid = f"tests/test_mod_{index // TESTS_PER_FILE:03d}.py::test_case_{index}"
        outcome = "failed" if index % 100 == 7 else "skipped" if index % 50 == 3 else "passed"
        out.append((nodeid, outcome))
    return out


def groups(collection: list[tuple[str, str]], shards: int) -> list[list[tuple[str, str]]]:
    size = -(-len(collection) // shards)
    return [collection[i:i + size] for i in range(0, len(collection), size)]


def claimcheck_shard(part: list[tuple[str, str]], others: list[str], total: int,
                     index: int) -> RunReport:
    tests = tuple(
        TestResult(nodeid=nodeid, outcome=outcome, phase="unit", duration_s=0.001,
                   message="AssertionError: assert {'a': 1, 'b': 3} == {'a': 1, 'b': 2}"
                   if outcome == "failed" else None,
                   longrepr=TRACEBACK if outcome == "failed" else None,
                   path=nodeid.split("::")[0], line=12)
        for nodeid, outcome in part)
    failed = sum(1 for _, outcome in part if outcome == "failed")
    skipped = sum(1 for _, outcome in part if outcome == "skipped")
    counts = Counts(collected=total, passed=len(part) - failed - skipped, failed=failed,
                    skipped=skipped, deselected=len(others))
    run = PhaseRun(name="unit", status="failed" if failed else "passed",
                   exit_code=1 if failed else 0, duration_s=30.0, counts=counts, tests=tests,
                   sessions=(PytestSession(pid=100 + index, exit_status=1 if failed else 0,
                                           collected=total, deselected=len(others)),),
                   argv=("python", "-m", "pytest", "--splits", "10", "--group", str(index + 1)),
                   started_at=1_700_000_000.0, deselected_ids=tuple(others))
    return RunReport(project="/ci/proj", started_at=1_700_000_000.0, duration_s=31.0,
                     phases=(run,), gaps=(), findings=(), services=(),
                     verdict="red" if failed else "green", exit_code=1 if failed else 0,
                     tool_version="bench", provenance=Provenance(
                         commit="c" * 40, branch="main", host=f"ci-{index}",
                         config_digest="d" * 64))


def json_report_shard(part: list[tuple[str, str]], others: list[str], total: int) -> dict:
    def stage(outcome: str) -> dict:
        return {"duration": 0.0003, "outcome": outcome}

    tests = []
    for nodeid, outcome in part:
        call = stage("failed" if outcome == "failed" else "passed")
        if outcome == "failed":
            call["crash"] = {"path": f"/ci/proj/{nodeid.split('::')[0]}", "lineno": 12,
                             "message": "AssertionError: assert 3 == 2"}
            call["longrepr"] = TRACEBACK
        entry = {"nodeid": nodeid, "lineno": 11, "outcome": outcome,
                 "keywords": [nodeid.split("::")[1], nodeid.split("/")[1], "tests", "proj"],
                 "setup": stage("skipped" if outcome == "skipped" else "passed")}
        if outcome == "skipped":
            entry["setup"]["longrepr"] = f"('/ci/proj/{nodeid.split('::')[0]}', 11, " \
                                         "'Skipped: no db')"
        else:
            entry["call"] = call
        entry["teardown"] = stage("passed")
        tests.append(entry)
    collectors = [{"nodeid": "", "outcome": "passed", "result": [
        {"nodeid": nodeid, "type": "Function", "lineno": 11} for nodeid, _ in part
    ] + [{"nodeid": nodeid, "type": "Function", "lineno": 11, "deselected": True}
         for nodeid in others]}]
    failed = sum(1 for _, outcome in part if outcome == "failed")
    return {"created": 1_700_000_030.0, "duration": 30.0, "exitcode": 1 if failed else 0,
            "root": "/ci/proj", "environment": {}, "summary": {
                "passed": len(part), "total": len(part), "collected": total,
                "deselected": len(others)},
            "collectors": collectors, "tests": tests}


def write_shards(folder: Path, fmt: str, shards: int, tests: int) -> list[Path]:
    collection = suite(tests)
    every = [nodeid for nodeid, _ in collection]
    paths = []
    for index, part in enumerate(groups(collection, shards)):
        mine = {nodeid for nodeid, _ in part}
        others = [nodeid for nodeid in every if nodeid not in mine]
        if fmt == "pytest-json-report":
            path = folder / f"shard-{index + 1}.json"
            path.write_text(json.dumps(json_report_shard(part, others, len(every))))
        else:
            report = claimcheck_shard(part, others, len(every), index)
            if fmt == "junit":
                path = folder / f"shard-{index + 1}.xml"
                path.write_text(render_junit(report))
            else:
                path = folder / f"shard-{index + 1}.json"
                path.write_text(render_json(report))
        paths.append(path)
    return paths


def measure(folder: Path, fmt: str, shards: int, tests: int, repeat: int) -> dict:
    paths = write_shards(folder, fmt, shards, tests)
    size_mb = sum(path.stat().st_size for path in paths) / 1e6
    output = folder / "merged.json"
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "claimcheck", "merge", *map(str, paths),
                               "--project", str(folder), "--format", "json", "--output",
                               str(output)], capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"merge failed ({done.returncode}): {done.stderr}")
    merged = json.loads(output.read_text())
    kinds = sorted({finding["kind"] for finding in merged["findings"]})
    tests_seen = sum(len(phase["tests"]) for phase in merged["phases"])

    config = Config(root=folder, source=None, python=sys.executable, phases=(), gaps=())
    started = time.perf_counter()
    labels = source_labels(paths)
    reads = [read_report(path, label=label, project_root=folder)
             for path, label in zip(paths, labels)]
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    report = merge_reports(config, reads)
    merge_s = time.perf_counter() - started
    started = time.perf_counter()
    render_json(report)
    render_s = time.perf_counter() - started
    return {"format": fmt, "shards": shards, "tests": tests, "input_mb": round(size_mb, 1),
            "wall_s": walls, "median_s": statistics.median(walls), "cpu_s": cpus,
            "median_cpu_s": statistics.median(cpus), "read_s": read_s,
            "merge_s": merge_s, "render_s": render_s, "tests_in_merged": tests_seen,
            "totals": merged["totals"], "finding_kinds": kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--format", choices=("claimcheck", "pytest-json-report", "junit", "all"),
                        default="all")
    parser.add_argument("--work", type=Path, default=None, help="keep the shards in DIR")
    parser.add_argument("--save", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    formats = (["claimcheck", "pytest-json-report", "junit"] if args.format == "all"
               else [args.format])
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        base = args.work or Path(scratch)
        for fmt in formats:
            folder = base / fmt
            folder.mkdir(parents=True, exist_ok=True)
            results.append(measure(folder, fmt, args.shards, args.tests, args.repeat))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    failed = False
    for result in results:
        ok = result["median_s"] < GOAL_S and result["tests_in_merged"] == result["tests"]
        failed |= not ok
        print(f"{result['format']:>19}: {result['shards']} shards, {result['tests']:,} tests, "
              f"{result['input_mb']} MB: merge command median {result['median_s']:.2f} s "
              f"(min {min(result['wall_s']):.2f}, goal < {GOAL_S:.0f} s) "
              f"{'PASS' if ok else 'FAIL'}, CPU {result['median_cpu_s']:.2f} s; "
              f"in-process read {result['read_s']:.2f} s, "
              f"merge+judge {result['merge_s']:.2f} s, render {result['render_s']:.2f} s; "
              f"{result['tests_in_merged']:,} tests merged, findings: "
              f"{', '.join(result['finding_kinds']) or 'none'}")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(results, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
