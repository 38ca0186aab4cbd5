"""The collectors/TUI boundary: the headless core never loads Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import claimcheck.collectors
import pytest

ROOT = Path(__file__).resolve().parents[1]
COLLECTOR_MODULES = sorted(
    f"claimcheck.collectors.{info.name}"
    for info in pkgutil.iter_modules(claimcheck.collectors.__path__)
    if not info.name.startswith("_")
)


def loads_textual(*statements: str) -> bool:
    code = "; ".join(statements) + "; import sys; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip() == "True"


def test_the_collector_list_is_not_empty() -> None:
    assert "claimcheck.collectors.config" in COLLECTOR_MODULES
    assert "claimcheck.collectors.session" in COLLECTOR_MODULES


@pytest.mark.parametrize("module", COLLECTOR_MODULES)
def test_collector_module_does_not_import_textual(module: str) -> None:
    assert not loads_textual(f"import {module}")


def test_report_path_does_not_import_textual() -> None:
    assert not loads_textual("import claimcheck.tui.cli", "import claimcheck.tui.headless")


def test_the_check_itself_can_see_textual() -> None:
    assert loads_textual("import textual.app")
