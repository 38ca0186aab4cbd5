"""Real runs of claimcheck on fixture projects, under this venv's pytest and the newest.

The test extras hold pytest back (syrupy, through pytest-textual-snapshot), so this venv runs
an older pytest than a fresh `pip install` gets. Findings must be true under both: a phase picks
its interpreter with `tool.claimcheck.python`, so a fixture project can run under either.

The newest pytest is the engine environment `newest` (tests/engine_envs.py): one place makes
the pytest versions the suite proves claimcheck under.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def latest_pytest_python() -> str:
    """A python whose pytest is the newest: the engine environment `newest` (engine_envs.py),
    made once per machine. Provisioning that fails fails the test; offline, the opt-out of the
    engine environments skips it, saying so."""
    from tests import engine_envs as envs

    if envs.opted_out():
        pytest.skip(f"{envs.OPT_OUT}=off: the newest pytest is not provisioned")
    try:
        (env,) = envs.provision(("newest",))
    except envs.ProvisioningFailed as error:
        pytest.fail(f"cannot provision the newest pytest in {envs.CACHE}: {error}",
                    pytrace=False)
    return env.python



def phase_python_for(param: str) -> str:
    """`pytest-here` (this venv's pytest) or `pytest-latest` (the newest), as an interpreter."""
    return sys.executable if param == "pytest-here" else latest_pytest_python()


# Entry-point plugins installed in this venv (textual snapshots...) cost seconds per pytest start
# on a loaded machine; the phases load what they use with -p.
QUIET_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def claimcheck_json(root: Path, *args: str, env: dict[str, str] | None = None,
                    timeout: float = 300) -> tuple[int, dict[str, Any], str]:
    """`claimcheck --report --format json` on `root`: (exit code, the report, stderr)."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTEST_", "CLAIMCHECK_"))}
    done = subprocess.run(
        [sys.executable, "-m", "claimcheck", "--project", str(root), "--report",
         "--format", "json", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**environ, **QUIET_ENV, **(env or {})},
    )
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        raise AssertionError(f"not a JSON report: {done.stdout[:2000]}\n{done.stderr}") from None
    return done.returncode, report, done.stderr


def findings_of(report: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [finding for finding in report.get("findings", ())
            if kind is None or finding["kind"] == kind]


def phase_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(phase for phase in report["phases"] if phase["name"] == name)


def claimcheck_table(python: str, phases: list[dict[str, Any]], *,
                     top_level: bool = False) -> str:
    """`[tool.claimcheck]` for a fixture's pyproject.toml (with `top_level`, the same keys for
    a file given with --config): the interpreter and the phases."""
    prefix = "" if top_level else "tool.claimcheck."
    lines = ([] if top_level else ["[tool.claimcheck]"]) + [f"python = {json.dumps(python)}", ""]
    for phase in phases:
        lines.append(f"[[{prefix}phases]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in phase.items()]
        lines.append("")
    return "\n".join(lines)


def apply_advice(root: Path, message: str) -> None:
    """Edit the config as a person following a finding's advice ('To fix, ...', or the
    '..., or <advice>.' after a rename) would: the real check that the advice works."""
    advice = message.split("To fix, ", 1)[1] if "To fix, " in message else \
        message.rsplit(", or ", 1)[1]
    created = re.match(r"(?:pytest found no config file: )?create (?P<file>\S+) with a "
                       r"(?P<table>\[\w+\]) section holding (?:a '(?P<key>\w+) =' line followed "
                       r"by the indented line '(?P<line>[^']+)'|the line '(?P<whole>[^']+)')",
                       advice)
    if created:
        body = created["whole"] or f"{created['key']} =\n{created['line']}"
        (root / created["file"]).write_text(f"{created['table']}\n{body}\n")
        return
    found = re.search(r"(?:under (?P<table>\[[^\]]+\]) in|in a new (?P<new>\[[^\]]+\]) "
                      r"(?:table|section) of) (?P<file>\S+?)\.(?: |$)", advice)
    assert found, advice
    path = root / found["file"]
    text = path.read_text() if path.exists() else ""
    new_toml = re.match(r"(?:add|set) (?P<key>\w+) = (?P<value>\[.*?\]) (?:under|in a new)",
                        advice)
    new_ini = re.match(r"add a '(?P<key>\w+) =' line followed by the indented line "
                       r"'(?P<line>[^']+)'", advice)
    set_ini = re.match(r"set '(?P<whole>[^']+)'", advice)
    add_toml = re.match(r'add (?P<item>"[^"]+") to the (?P<key>\w+) list', advice)
    add_ini_line = re.match(r"add the indented line '(?P<line>[^']+)' to (?P<key>\w+) ", advice)
    add_ini_word = re.match(r"add (?P<word>\S+) to the (?P<key>\w+) line", advice)
    if add_toml:
        text = re.sub(rf"^({add_toml['key']} = \[)", rf"\g<1>{add_toml['item']}, ", text,
                      count=1, flags=re.MULTILINE)
    elif add_ini_line:
        text = re.sub(rf"^({add_ini_line['key']} =[^\n]*\n)", rf"\g<1>{add_ini_line['line']}\n",
                      text, count=1, flags=re.MULTILINE)
    elif add_ini_word:
        text = re.sub(rf"^({add_ini_word['key']} =[^\n]*)", rf"\g<1> {add_ini_word['word']}",
                      text, count=1, flags=re.MULTILINE)
    else:
        if new_toml:
            line = f"{new_toml['key']} = {new_toml['value']}"
        elif new_ini:
            line = f"{new_ini['key']} =\n{new_ini['line']}"
        else:
            assert set_ini, advice
            line = set_ini["whole"]
        if found["new"]:
            text = text.rstrip("\n") + f"\n\n{found['new']}\n{line}\n"
        else:
            assert f"{found['table']}\n" in text, (found["table"], text)
            text = text.replace(f"{found['table']}\n", f"{found['table']}\n{line}\n", 1)
    path.write_text(text)
