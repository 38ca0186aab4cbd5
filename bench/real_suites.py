"""Do claimcheck's counts equal pytest's own on real projects' test suites?

    python bench/real_suites.py --python ENV/bin/python SRC [SRC ...]
    python bench/real_suites.py --python /envs/p9/bin/python --python /envs/p8/bin/python \\
        --xdist --json bench/results/real.json dist/*.tar.gz /src/attrs-26.1.0

Each SRC is an unpacked project folder or an sdist (`.tar.gz`, e.g. from `pip download
--no-deps --no-binary :all: more-itertools`). For every interpreter given with `--python` (a
virtualenv with pytest, the project and its test dependencies installed) the project is copied
to a scratch folder (the original is never written) and run twice, back to back:

    bare        python -m pytest -q -p no:randomly --continue-on-collection-errors [ARG...] [-n 2]
    claimcheck  claimcheck --report --format json --config <scratch>/claimcheck.toml
                (python = that interpreter, one phase with the same pytest arguments)

and pytest's final summary line is compared with claimcheck's JSON totals: passed, failed,
skipped, xfailed, xpassed, errors (pytest counts a failed setup/teardown report and a broken
file each as one error; claimcheck's `error` counts errored tests and broken files) and the
total; and claimcheck's verdict must be green exactly when pytest exited 0 with nothing failed.
Where pytest ran nothing to count (an INTERNALERROR, a usage error) claimcheck must not read
green. `--continue-on-collection-errors` is in the bare run because claimcheck always passes it.
Exit status 1 when any count differs. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

FIELDS = ("passed", "failed", "skipped", "xfailed", "xpassed", "errors", "total")
_SUMMARY = re.compile(r"^=*\s*(?P<body>(?:\d+ [\w ]+?(?:, )?)+) in [\d.]+s(?: \([^)]*\))?\s*=*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # a project's addopts may say --color=yes
_PAIR = re.compile(r"(\d+) ([a-z][a-z ]*?)(?:,|$)")
_WORDS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "xfailed": "xfailed",
          "xpassed": "xpassed", "error": "errors", "errors": "errors"}
TIMEOUT_S = 1800


@dataclass
class Comparison:
    suite: str
    pytest_version: str
    xdist: bool
    pytest_counts: dict[str, int] = field(default_factory=dict)
    claimcheck_counts: dict[str, int] = field(default_factory=dict)
    pytest_line: str = ""
    problem: str = ""  # why no comparison could be made
    note: str = ""  # a documented difference the comparison allowed for
    verdict: str = ""  # claimcheck's verdict

    @property
    def differs(self) -> list[str]:
        return [name for name in FIELDS
                if self.pytest_counts.get(name, 0) != self.claimcheck_counts.get(name, 0)]

    @property
    def matches(self) -> bool:
        return not self.problem and not self.differs


def summary_counts(output: str) -> tuple[dict[str, int], str] | None:
    """pytest's last summary line ("3 failed, 760 passed, 2 skipped in 1.2s"), as counts;
    subtest figures ("5 subtests passed") and warnings are not test outcomes and are left out."""
    for line in reversed(_ANSI.sub("", output).splitlines()):
        match = _SUMMARY.match(line.strip())
        if match is None:
            continue
        counts = dict.fromkeys(FIELDS, 0)
        for number, word in _PAIR.findall(match.group("body")):
            name = _WORDS.get(word.strip())
            if name is not None:
                counts[name] += int(number)
        counts["total"] = sum(counts[name] for name in FIELDS[:-1])
        return counts, line.strip()
    return None


def claimcheck_counts(report: dict) -> tuple[dict[str, int], str]:
    """claimcheck's totals, and a note where they are read as pytest counts on purpose.

    Its `error` already holds the collection errors, one per broken file; under xdist pytest
    counts a broken file once per worker that hit it, a difference the README documents and the
    JSON shows as `pytest_collection_errors`: that figure is compared, and the note says so.
    """
    totals = report["totals"]
    counts = {name: int(totals[name]) for name in FIELDS[:5]}
    counts["errors"] = int(totals["error"])
    notes = []
    for phase in report["phases"]:
        pytest_figure = phase.get("pytest_collection_errors")
        if pytest_figure is not None:
            ours = len(phase["collection_errors"])
            counts["errors"] += int(pytest_figure) - ours
            notes.append(f"{phase['name']}: {ours} broken file(s), pytest counted {pytest_figure}")
    counts["total"] = sum(counts[name] for name in FIELDS[:-1])
    return counts, "; ".join(notes)


def unpack(source: Path, into: Path) -> Path:
    """A fresh copy of the project, so neither run writes into the original."""
    if source.is_dir():
        target = into / source.name
        shutil.copytree(source, target, symlinks=True)
        return target
    with tarfile.open(source) as archive:
        archive.extractall(into, filter="data")
        top = {Path(name).parts[0] for name in archive.getnames() if name}
    if len(top) != 1:
        raise ValueError(f"{source}: expected one top-level folder, found {sorted(top)}")
    return into / top.pop()


def pytest_version(python: str) -> str:
    result = subprocess.run([python, "-c", "import pytest; print(pytest.__version__)"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or "?"


def compare(source: Path, python: str, xdist: bool, scratch: Path,
            extra: Sequence[str] = ()) -> Comparison:
    version = pytest_version(python)
    result = Comparison(source.name.removesuffix(".tar.gz"), version, xdist)
    work = Path(tempfile.mkdtemp(dir=scratch))
    project = unpack(source, work)
    args = ["-p", "no:randomly", "--continue-on-collection-errors", *extra] + (
        ["-n", "2"] if xdist else [])
    bare = subprocess.run([python, "-m", "pytest", "-q", *args], cwd=project, capture_output=True,
                          text=True, timeout=TIMEOUT_S, check=False)
    parsed = summary_counts(bare.stdout)
    if parsed is not None:
        result.pytest_counts, result.pytest_line = parsed
    config = work / "claimcheck.toml"
    config.write_text(
        f"python = {json.dumps(python)}\n\n[[phases]]\nname = \"tests\"\n"
        f"pytest = {json.dumps(args)}\ntimeout = {TIMEOUT_S}\n", encoding="utf-8")
    output = work / "report.json"
    checked = subprocess.run(
        [sys.executable, "-m", "claimcheck", "--project", str(project), "--config", str(config),
         "--no-history", "--report", "--format", "json", "--output", str(output)],
        capture_output=True, text=True, timeout=TIMEOUT_S + 60, check=False)
    if not output.exists():
        result.problem = f"claimcheck wrote no report (exit {checked.returncode}): " \
                         f"{checked.stderr.strip().splitlines()[-1:]}"
        return result
    report = json.loads(output.read_text(encoding="utf-8"))
    result.claimcheck_counts, result.note = claimcheck_counts(report)
    result.verdict = str(report["verdict"])
    if parsed is None:
        # pytest ran no test to count (an INTERNALERROR, a usage error): nothing to compare,
        # but claimcheck must not read green.
        last = (bare.stdout + bare.stderr).strip().splitlines()[-1:]
        result.note = f"pytest exit {bare.returncode}, no summary {last}; " \
                      f"claimcheck {result.verdict}"
        if result.verdict == "green":
            result.problem = "claimcheck green where pytest " \
                             f"ran nothing to count (exit {bare.returncode})"
        return result
    pytest_green = bare.returncode == 0 and not (result.pytest_counts["failed"]
                                                 or result.pytest_counts["errors"])
    if (result.verdict == "green") != pytest_green:
        result.problem = f"claimcheck {result.verdict}, pytest exit {bare.returncode}"
    return result


def _cell(counts: dict[str, int]) -> str:
    return " ".join(f"{counts.get(name, 0)}" for name in FIELDS)


def table(rows: Sequence[Comparison]) -> str:
    head = "p/f/s/xf/xp/err/total"
    lines = [f"{'suite':<28} {'pytest':<7} {'-n':<3} {'pytest ' + head:<36} "
             f"{'claimcheck ' + head:<36} match"]
    for row in rows:
        verdict = (f"yes ({row.note})" if row.matches and row.note else "yes" if row.matches else
                   f"NO: {row.problem}" if row.problem else "NO: " + ", ".join(row.differs))
        lines.append(f"{row.suite:<28} {row.pytest_version:<7} {'2' if row.xdist else '-':<3} "
                     f"{_cell(row.pytest_counts):<36} {_cell(row.claimcheck_counts):<36} "
                     f"{verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="project folders or sdists")
    parser.add_argument("--python", action="append", required=True,
                        help="interpreter of a virtualenv with pytest and the projects "
                             "installed (repeatable: one comparison per interpreter)")
    parser.add_argument("--xdist", action="store_true",
                        help="also compare with -n 2 (pytest-xdist in that environment)")
    parser.add_argument("--arg", action="append", default=[], dest="extra",
                        help="one more pytest argument for both runs (repeatable), e.g. "
                             "--arg=--reruns --arg=2")
    parser.add_argument("--json", type=Path, help="write every comparison to this file")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    scratch = args.work or Path(tempfile.mkdtemp(prefix="claimcheck-real-"))
    scratch.mkdir(parents=True, exist_ok=True)
    rows: list[Comparison] = []
    for source in args.sources:
        for python in args.python:
            for xdist in (False, True) if args.xdist else (False,):
                row = compare(source.resolve(), python, xdist, scratch, args.extra)
                rows.append(row)
                print(table([row]).splitlines()[1], flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            [{**asdict(row), "matches": row.matches, "differs": row.differs} for row in rows],
            indent=2), encoding="utf-8")
    if args.work is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if all(row.matches for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
