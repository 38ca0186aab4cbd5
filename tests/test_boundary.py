"""The house's walls: what the distribution installs, and what the headless core may import.

* `claimcheck.collectors` never imports `claimcheck.tui` or Textual (each module checked in a
  fresh interpreter, the way harlequin guards its headless core), so `--report` on a CI box
  stays light and the core has no way to reach into the screen.
* Installing claimcheck adds one top-level import package, `claimcheck`: a wheel built from this
  repository holds nothing else, and a project with its own `collectors` or `tui` package keeps
  importing its own under plain pytest.
"""

from __future__ import annotations

import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import claimcheck.collectors
import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTOR_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(claimcheck.collectors.__path__, "claimcheck.collectors.")
    if not info.name.rsplit(".", 1)[-1].startswith("_")
)


def modules_after(*statements: str, cwd: Path = ROOT) -> set[str]:
    """The module names loaded in a fresh interpreter after `statements`."""
    code = "; ".join(statements) + "; import sys, json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def outside_the_core(modules: set[str]) -> set[str]:
    return {name for name in modules
            if name.split(".")[0] == "textual" or name.startswith("claimcheck.tui")}


def test_the_collector_list_is_not_empty() -> None:
    for name in ("config", "session", "live", "report", "report.text", "verdict"):
        assert f"claimcheck.collectors.{name}" in COLLECTOR_MODULES


@pytest.mark.parametrize("module", COLLECTOR_MODULES)
def test_collector_module_imports_neither_the_tui_nor_textual(module: str) -> None:
    assert outside_the_core(modules_after(f"import {module}")) == set()


def test_the_report_path_does_not_import_textual() -> None:
    loaded = modules_after("import claimcheck.tui.cli", "import claimcheck.tui.headless")
    assert {name for name in loaded if name.split(".")[0] == "textual"} == set()


def test_the_check_itself_can_see_textual_and_the_tui() -> None:
    loaded = modules_after("import claimcheck.tui.app")
    assert "textual" in loaded and "claimcheck.tui.app" in loaded


# ----------------------------------------------------------------------------------------
# One top-level import name


def repository_copy(destination: Path) -> Path:
    """The repository's tracked files, so a build leaves nothing behind in the checkout."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for relative in filter(None, tracked):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def test_a_wheel_holds_one_top_level_package_and_every_module(tmp_path: Path) -> None:
    source = repository_copy(tmp_path / "src")
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(source)], check=True,
                   capture_output=True)
    (wheel,) = out.glob("*.whl")
    assert wheel.name.startswith("pytest_claimcheck-")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if ".dist-info/" not in name}
    assert top == {"claimcheck"}
    # Every module of the checkout is in it, under claimcheck/ (a subpackage left out of the
    # package list would import in an editable install and be missing from a real one).
    expected = {f"claimcheck/{path.relative_to(ROOT).as_posix()}"
                for folder in ("collectors", "tui") for path in (ROOT / folder).rglob("*.py")
                if "demo-project" not in path.parts and "__pycache__" not in path.parts}
    expected |= {"claimcheck/__init__.py", "claimcheck/__main__.py", "claimcheck/tui/app.tcss"}
    assert expected - set(names) == set()
    assert any(name.startswith("claimcheck/tui/demo-project/") for name in names)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "claimcheck = claimcheck.tui.entry:run" in zipfile.ZipFile(wheel).read(
        entry_points).decode()


def test_installing_claimcheck_adds_no_collectors_or_tui_name(tmp_path: Path) -> None:
    loaded = modules_after(
        "import importlib.util as u",
        "assert u.find_spec('collectors') is None and u.find_spec('tui') is None",
        "assert u.find_spec('claimcheck.collectors') and u.find_spec('claimcheck.tui')",
        cwd=tmp_path)
    assert "collectors" not in loaded and "tui" not in loaded


def test_a_project_with_its_own_collectors_and_tui_keeps_them(tmp_path: Path) -> None:
    project = tmp_path / "project"
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        "collectors/__init__.py": "WHO = 'the project'\n",
        "tui/__init__.py": "WHO = 'the project'\n",
        "tests/test_own.py": """
            import collectors
            import tui

            import claimcheck.collectors.live


            def test_its_own_packages():
                assert collectors.WHO == tui.WHO == "the project"

            def test_claimcheck_stays_reachable_by_its_own_name():
                assert claimcheck.collectors.live.LiveEvidence
        """,
    }
    for relative, text in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    pytest_command = Path(sys.executable).with_name("pytest")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([str(pytest_command), "-q", "-p", "no:cacheprovider",
                             "-p", "no:randomly"], cwd=project, capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_module_pytest_registers_names_its_one_hook_only() -> None:
    """pytest reads every name of a plugin module for hooks and fixtures when it registers it
    (`-p claimcheck_stream`): that module holds `pytest_configure` and nothing else, the hooks
    of a session live in claimcheck_writer (7 M instructions at every pytest start)."""
    plugin = ROOT / "collectors" / "_plugin"
    listed = subprocess.run(
        [sys.executable, "-c", "import claimcheck_stream; print(sorted(n for n in "
         "vars(claimcheck_stream) if not n.startswith('__')))"],
        env={**os.environ, "PYTHONPATH": str(plugin)}, capture_output=True, text=True,
        check=True).stdout
    assert listed.strip() == "['pytest_configure']"
