"""What `claimcheck --report` does before its first pytest starts and after its last one ends.

Speed itself is measured in `bench/bench_overhead.py`; these tests hold the structure that
makes it fast: until the first phase's pytest is spawned, only the config and what starts a
phase are imported (no event loop, runner, live model, judge, history, report writer, HTTP or
WebSocket client); git is read
once per run; the history starts once the phase is on its way; a straggler of the last phase
keeps its priority while one of an earlier phase yields to the next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QUIET = "-p no:hypothesispytest -p no:textual-snapshot -p no:syrupy -p no:anyio -p no:asyncio"

# claimcheck's console entry point, with an audit hook that records, at the moment the phase's
# pytest is spawned (the `subprocess.Popen` or `os.posix_spawn` event, before the spawn), every
# module loaded so far, and every command claimcheck itself starts (git).
WATCH = """\
import sys
out = sys.argv[1]
seen = {"commands": []}
def audit(event, args):
    if event not in ("subprocess.Popen", "os.posix_spawn"):
        return
    argv = [str(a) for a in (args[1] or ())]
    seen["commands"].append(argv)
    if "modules" not in seen and "claimcheck_stream" in argv:
        seen["modules"] = sorted(sys.modules)
sys.addaudithook(audit)
from claimcheck.tui.cli import main
try:
    code = main(sys.argv[2:])
finally:
    seen["at_exit"] = sorted(sys.modules)
    import json
    with open(out, "w") as handle:
        json.dump(seen, handle)
sys.exit(code)
"""

# Not one of these is needed to start a phase: each is imported while pytest starts, or never.
NOT_BEFORE_SPAWN = (
    "asyncio", "claimcheck.collectors.pytest_run", "textual", "rich", "httpx", "websockets", "sqlite3", "psutil", "tomlkit",
    "claimcheck.collectors.models", "claimcheck.collectors.live",
    "claimcheck.collectors.judge", "claimcheck.collectors.history",
    "claimcheck.collectors.phase_record", "claimcheck.collectors.discovery",
    "claimcheck.collectors.source_audit", "claimcheck.collectors.depmap",
    "claimcheck.collectors.health", "claimcheck.collectors.report.text",
    "claimcheck.collectors.report.json_report", "claimcheck.collectors.changes",
    "claimcheck.collectors.claims",
    # the config's digest is taken after the spawn (hashlib loads OpenSSL)
    "hashlib", "json",
)


def project(root: Path, body: str = "def test_one():\n    assert True\n",
            claimcheck: str = "") -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_one.py").write_text(body, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\naddopts = "{QUIET}"\n{claimcheck}', encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run([*git, *argv], cwd=root, check=True, capture_output=True)
    return root


def watched_run(root: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess,
                                                                 dict]:
    facts = tmp_path / "facts.json"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-c", WATCH, str(facts), "--report", "--project",
                           str(root), *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)
    return done, json.loads(facts.read_text(encoding="utf-8"))


def test_nothing_but_the_config_and_the_phase_command_is_imported_before_pytest_starts(
        tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    done, seen = watched_run(root, tmp_path, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = set(seen["modules"])
    early = sorted(name for name in loaded
                   if any(name == banned or name.startswith(banned + ".")
                          for banned in NOT_BEFORE_SPAWN))
    assert early == []
    assert {"claimcheck.collectors.config", "claimcheck.collectors.phase_command"} <= loaded
    # ... and yet the run was judged and written in full
    report = json.loads(done.stdout)
    assert report["verdict"] == "green"
    assert report["provenance"]["commit"]


# Never loaded by a `--report` run without services, in any format: the command center's UI
# and the network clients cost a run that needs neither, and tomlkit edits the claims ledger
# (`claimcheck claim`), which a run only reads, with tomllib.
NEVER_ON_THE_REPORT_PATH = ("textual", "httpx", "websockets", "claimcheck.tui.app",
                            "claimcheck.collectors.health", "tomlkit")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "junit"])
def test_a_report_run_without_services_never_loads_textual_or_network_clients(
        tmp_path: Path, fmt: str) -> None:
    root = project(tmp_path / "proj")
    done, seen = watched_run(root, tmp_path, "--format", fmt)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = [name for name in seen["at_exit"]
              if any(name == banned or name.startswith(banned + ".")
                     for banned in NEVER_ON_THE_REPORT_PATH)]
    assert loaded == []
    assert "claimcheck.collectors.judge" in seen["at_exit"]  # it did judge the run


def test_git_is_read_once_per_run_after_pytest_started(tmp_path: Path) -> None:
    root = project(tmp_path / "proj")
    done, seen = watched_run(root, tmp_path, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    commands = seen["commands"]
    spawn = next(i for i, argv in enumerate(commands) if "claimcheck_stream" in argv)
    git = [i for i, argv in enumerate(commands) if argv[:1] == ["git"]]
    # one `git status` answers branch, commit and dirtiness; the history and the report share it
    assert len(git) == 1 and "status" in commands[git[0]], [commands[i] for i in git]
    assert min(git) > spawn
    report = json.loads(done.stdout)
    assert report["history_id"] is not None  # the history was written all the same


STRAGGLER_BODY = """\
import atexit, os, time

def test_one():
    assert True

def _niceness_after_a_while():
    time.sleep(1.5)  # the next phase (if any) starts meanwhile
    path = os.environ["NICENESS_FILE"] + "." + os.environ["PHASE_NAME"]
    with open(path, "w") as handle:
        handle.write(str(os.nice(0)))

atexit.register(_niceness_after_a_while)
"""


def test_a_straggler_yields_to_the_next_phase_and_the_last_one_keeps_its_priority(
        tmp_path: Path) -> None:
    phases = "".join(
        f'\n[[tool.claimcheck.phases]]\nname = "{name}"\npytest = ["tests"]\n'
        f'env = {{ PHASE_NAME = "{name}" }}\n' for name in ("first", "last"))
    root = project(tmp_path / "proj", STRAGGLER_BODY, claimcheck=phases)
    niceness = tmp_path / "niceness"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "NICENESS_FILE": str(niceness)}
    done = subprocess.run([sys.executable, "-m", "claimcheck", "--report", "--no-history",
                           "--project", str(root)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    base = os.nice(0)
    first = int(Path(f"{niceness}.first").read_text())
    last = int(Path(f"{niceness}.last").read_text())
    assert first > base  # it tore down while the last phase ran
    assert last == base  # claimcheck waited for it: lowering it would only make the run later


def test_the_command_center_starts_the_first_phase_before_it_imports_textual(
        tmp_path: Path) -> None:
    """The app takes over a pytest that started while Textual was still being imported, and
    shows its result as from any other."""
    import pty
    import re
    import select
    import time

    root = project(tmp_path / "proj")
    facts = tmp_path / "facts.json"
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1",
           "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    process = subprocess.Popen([sys.executable, "-c", WATCH, str(facts), "--project", str(root),
                                "--no-history"], cwd=root, env=env, stdin=secondary,
                               stdout=secondary, stderr=secondary, start_new_session=True)
    os.close(secondary)
    shown = b""
    try:
        deadline = time.monotonic() + 120
        while b"GREEN" not in re.sub(rb"\x1b\[[0-9;?<>=]*[a-zA-Z]", b" ", shown):  # judged
            assert process.poll() is None and time.monotonic() < deadline, shown[-2000:]
            if select.select([primary], [], [], 0.1)[0]:
                shown += os.read(primary, 65536)
        os.write(primary, b"q")
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([primary], [], [], 0.1)[0]:
                try:
                    os.read(primary, 65536)
                except OSError:
                    break
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
        os.close(primary)
    seen = json.loads(facts.read_text(encoding="utf-8"))
    assert "modules" in seen, seen["commands"]  # the phase's pytest was started
    early = {name.split(".")[0] for name in seen["modules"]}
    assert "textual" not in early and "asyncio" not in early
