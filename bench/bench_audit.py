"""How long the static audits add to a run: cold (no cache), warm, and one file changed.

The goal: a 2,000-file project audited in under 1 s. Measured on a generated tree (default) or a
real one (`--tree DIR`, e.g. an unpacked sdist), in this process, after the imports. Beside it,
in the same run, the naive way (one `ast.parse` of every file) as the ratio's denominator, so a
busy machine moves both sides alike.

The uncollected-tests audit (`discovery.uncollected_tests`, run after every phase on the files
pytest collects) keeps no cache: it is timed as it runs, and with its quick look switched off
(every test file parsed whole), in the same rounds, with the findings checked equal.

    python bench/bench_audit.py                      # 2,000 generated files, 200 test files
    python bench/bench_audit.py --files 5000
    python bench/bench_audit.py --tree /tmp/django-5.2.19 --repeat 5
    python bench/bench_audit.py --tree /tmp/django-5.2.8/tests --python-files "tests.py,test_*.py"
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from claimcheck.collectors import discovery
from claimcheck.collectors.config import parse_config
from claimcheck.collectors.models import PytestSettings
from claimcheck.collectors.source_audit import audit_findings
from claimcheck.collectors.source_index import CACHE_DIR, walk_sources

GOAL_S = 1.0


def generate(root: Path, files: int, seed: int = 7) -> None:
    """A package tree of `files` modules (~5 KB each) that import each other, with a few
    duplicated classes and a deprecated module that some still import."""
    rng = random.Random(seed)
    per_package = 25
    packages = max(1, files // per_package)
    names = [f"pkg{p}.mod{m}" for p in range(packages) for m in range(per_package)][:files]
    for index, module in enumerate(names):
        package, _, stem = module.partition(".")
        folder = root / "src" / "proj" / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
        lines = [f'"""Module {module}: generated for the audit benchmark."""', "",
                 "from __future__ import annotations", ""]
        for other in rng.sample(names, 5):
            lines.append(f"from proj.{other} import helper_{other.replace('.', '_')}_0")
        if index % 97 == 0:
            lines.append("from proj.legacy import old_helper")
        lines.append("")
        duplicated = index % 150 == 0
        for number in range(2):
            cls = "ConnectionManager" if duplicated and number == 0 else f"C{index}_{number}"
            lines.append(f"class {cls}:")
            lines.append(f'    """A class of {module}."""')
            for method in range(6):
                lines += [f"    def method_{method}(self, value: int) -> int:",
                          f"        total = value * {method}",
                          "        for step in range(3):",
                          "            total += step",
                          "        return total", ""]
        for number in range(4):
            lines += [f"def helper_{module.replace('.', '_')}_{number}(x: int) -> int:",
                      f'    """Helper {number}."""',
                      f"    return x + {number}", ""]
        (folder / f"{stem}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    legacy = root / "src" / "proj" / "legacy.py"
    legacy.write_text('"""Old helpers."""\nimport warnings\n\nwarnings.warn("proj.legacy is '
                      'deprecated; use proj.pkg0.mod0 instead", DeprecationWarning)\n\n\n'
                      "def old_helper(): ...\n", encoding="utf-8")
    (root / "src" / "proj" / "__init__.py").touch()


def generate_tests(root: Path, files: int) -> None:
    """`files` test modules as a Django project has them: unittest classes named `*Tests`
    (pytest collects them through their base), a helper with a constructor, and in every 50th
    a class of tests pytest never collects (the audit's finding)."""
    folder = root / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        lines = ['"""Tests generated for the audit benchmark."""', "",
                 "from unittest import TestCase", "",
                 "from proj.pkg0.mod0 import helper_pkg0_mod0_0", "", "",
                 "class FakeClient:", "    def __init__(self, base):", "        self.base = base",
                 "", ""]
        classes = [f"Module{index}Tests", f"Module{index}ViewTests", f"Module{index}ApiTests"]
        for name in classes:
            lines.append(f"class {name}(TestCase):")
            for method in range(10):
                lines += [f"    def test_case_{method}(self):",
                          f"        client = FakeClient({method})",
                          f"        self.assertEqual(helper_pkg0_mod0_0(client.base), {method})",
                          ""]
            lines.append("")
        if index % 50 == 0:
            lines += ["class CriticalChecks:", "    def test_never_collected(self):",
                      "        assert True", ""]
        (folder / f"test_mod{index}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def uncollected(root: Path, settings: PytestSettings, quick: bool) -> tuple[float, list[str]]:
    """The uncollected-tests audit's time and findings, with or without its quick look."""
    original = discovery._QuickLook.bases_if_silent
    if not quick:
        discovery._QuickLook.bases_if_silent = lambda *args: None  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        findings = discovery.uncollected_tests(root, settings)
        return time.perf_counter() - started, [finding.message for finding in findings]
    finally:
        discovery._QuickLook.bases_if_silent = original  # type: ignore[method-assign]


def audit(root: Path) -> tuple[float, int]:
    config = parse_config({}, root=root, source=root / "pyproject.toml")
    started = time.perf_counter()
    findings = audit_findings(config, [], [])
    return time.perf_counter() - started, len(findings)


def naive_parse(root: Path) -> float:
    started = time.perf_counter()
    for relpath, _, _ in walk_sources(root):
        try:
            ast.parse((root / relpath).read_bytes())
        except (SyntaxError, ValueError):
            pass
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--tree", type=Path, help="a real source tree instead of a generated one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--test-files", type=int, default=200,
                        help="test modules in the generated tree")
    parser.add_argument("--python-files", default="test_*.py,*_test.py",
                        help="pytest's python_files for the uncollected-tests audit")
    parser.add_argument("--python-classes", default="Test",
                        help="pytest's python_classes for the uncollected-tests audit")
    args = parser.parse_args()

    work = None
    if args.tree:
        root = args.tree.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="claimcheck-bench-audit-"))
        root = work / "project"
        generate(root, args.files)
        generate_tests(root, args.test_files)
    settings = PytestSettings(rootdir=str(root), inifile=None,
                              python_files=tuple(args.python_files.split(",")),
                              python_classes=tuple(args.python_classes.split(",")))
    count = sum(1 for _ in walk_sources(root))
    try:
        cold, warm, changed, naive, quick, whole = [], [], [], [], [], []
        findings = 0
        uncollected_findings = 0
        one = next(root / relpath for relpath, _, _ in walk_sources(root))
        for _ in range(args.repeat):
            shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
            seconds, findings = audit(root)
            cold.append(seconds)
            warm.append(audit(root)[0])
            stamp = time.time_ns()
            os.utime(one, ns=(stamp, stamp))
            changed.append(audit(root)[0])
            naive.append(naive_parse(root))
            seconds, quick_findings = uncollected(root, settings, quick=True)
            quick.append(seconds)
            seconds, whole_findings = uncollected(root, settings, quick=False)
            whole.append(seconds)
            if quick_findings != whole_findings:
                print("the quick look's findings differ from the whole parse's:",
                      sorted(set(quick_findings) ^ set(whole_findings)), file=sys.stderr)
                return 1
            uncollected_findings = len(quick_findings)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(root / CACHE_DIR, ignore_errors=True)

    naive_s = statistics.median(naive)
    print(f"tree: {args.tree or 'generated'}, {count} files, {findings} findings; "
          f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}")
    # The median is the figure; the best run is what an idle machine approaches (other load
    # only ever adds time), printed because a shared box rarely is idle.
    print(f"{'case':<24}{'median s':>9}{'best s':>8}{'vs ast.parse all':>18}{'goal':>6}")
    for label, values in (("cold (no cache)", cold), ("warm (nothing changed)", warm),
                          ("one file changed", changed)):
        seconds = statistics.median(values)
        verdict = "ok" if seconds < GOAL_S else "MISS"
        print(f"{label:<24}{seconds:>9.3f}{min(values):>8.3f}{seconds / naive_s:>17.2f}x"
              f"{verdict:>6}")
    print(f"{'ast.parse every file':<24}{naive_s:>9.3f}{min(naive):>8.3f}{1:>17.2f}x")
    whole_s = statistics.median(whole)
    print(f"\nuncollected-tests audit ({settings.python_files}, {settings.python_classes}; "
          f"{uncollected_findings} findings, the same both ways)")
    print(f"{'case':<24}{'median s':>9}{'best s':>8}{'vs whole parse':>18}")
    print(f"{'as it runs':<24}{statistics.median(quick):>9.3f}{min(quick):>8.3f}"
          f"{statistics.median(quick) / whole_s:>17.2f}x")
    print(f"{'every test file parsed':<24}{whole_s:>9.3f}{min(whole):>8.3f}{1:>17.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
