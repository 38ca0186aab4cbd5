"""The first phase's process spawned before claimcheck imports subprocess
(`collectors/early_spawn.py`): the same process `subprocess.Popen` starts from
`phase_command.spawn`'s arguments, and the same answers to the runner.

Each spawn happens in a fresh interpreter (`DRIVER`), one thread, as claimcheck's own start has
it: the early spawn changes its process's folder for a moment, which a test process with
threads of its own must not do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_env

# What the spawned child reports about itself, on its stdout and (its folder) on its stderr.
CHILD = """\
import json, os, sys
fds = sorted(int(name) for name in os.listdir("/proc/self/fd") if int(name) > 2)
open_fds = []
for fd in fds:
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
print(json.dumps({
    "own_session": os.getsid(0) == os.getpid(),
    "stdin": sys.stdin.read(),
    "fds": open_fds,
    "marker": os.environ.get("EARLY_MARKER"),
    "leaked": os.environ.get("NOT_PASSED"),
}), flush=True)
print(os.getcwd(), file=sys.stderr, flush=True)
sys.exit(int(sys.argv[1]))
"""

# One spawn, as `phase_command.spawn` makes it (`before_threads` or not), with one descriptor
# to pass and one inheritable descriptor not to: prints the child's output and exit status,
# the folder this interpreter is in afterwards, and which kind of object came back.
DRIVER = """\
import json, os, sys
from claimcheck.collectors import phase_command
how, argv_json, cwd = sys.argv[1], sys.argv[2], sys.argv[3]
if how == "early, a thread running":
    import threading, time
    threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
passed_read, passed_write = os.pipe()
stray = os.dup(0)
os.set_inheritable(stray, True)  # inherited from claimcheck's parent, say: not the child's
env = {"PATH": os.environ["PATH"], "EARLY_MARKER": "yes"}
os.environ["NOT_PASSED"] = "no"
try:
    process, wake = phase_command.spawn(json.loads(argv_json), env, cwd,
                                        pass_fds=(passed_read,),
                                        before_threads=how.startswith("early"))
except OSError as error:
    print(json.dumps({"error": type(error).__name__, "here": os.getcwd()}))
    raise SystemExit(0)
output = process.stdout.read().decode()
code = process.wait()
print(json.dumps({"output": output, "code": code, "again": process.wait(),
                  "passed": passed_read, "stray": stray, "here": os.getcwd(),
                  "kind": type(process).__name__}))
"""


def drive(how: str, argv: list[str], cwd: Path, here: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", DRIVER, how, json.dumps(argv), str(cwd)],
                          cwd=here, env=clean_env(), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"),
                                reason="the child lists its descriptors in /proc")


@pytest.mark.parametrize("code", [0, 3])
def test_the_early_spawn_starts_the_process_popen_starts(tmp_path: Path, code: int) -> None:
    there, here = tmp_path / "project", tmp_path / "claimcheck"
    there.mkdir()
    here.mkdir()
    argv = [sys.executable, "-c", CHILD, str(code)]
    early, popen = (drive(how, argv, there, here) for how in ("early", "popen"))
    assert early["kind"] == "EarlySpawned" and popen["kind"] == "Popen"
    for result in (early, popen):
        facts_line, folder = result["output"].splitlines()
        facts = json.loads(facts_line)
        assert facts == {"own_session": True, "stdin": "", "fds": [result["passed"]],
                         "marker": "yes", "leaked": None}
        assert folder == str(there)  # stderr on the same pipe, after stdout
        assert result["code"] == result["again"] == code
        assert result["here"] == str(here)  # claimcheck's own folder is its own again


def test_a_process_with_a_thread_leaves_the_spawn_to_popen(tmp_path: Path) -> None:
    """The early spawn changes its process's folder for a moment: never under a thread."""
    there = tmp_path / "project"
    there.mkdir()
    result = drive("early, a thread running", [sys.executable, "-c", CHILD, "0"], there,
                   tmp_path)
    assert result["kind"] == "Popen"
    assert result["output"].splitlines()[1] == str(there)


def test_the_signals_python_ignores_are_not_ignored_by_the_child(tmp_path: Path) -> None:
    """Python ignores SIGPIPE (and SIGXFSZ) at start-up, and an ignored signal stays ignored
    across exec: a child that is not Python shows what it was given. (glibc's posix_spawn
    leaves its own two internal signals, 32 and 33, ignored in the child, and glibc installs
    their handlers when it first uses them, a thread's cancel or a set*id with threads: no
    program can handle them, Python's `signal.valid_signals()` leaves them out.)"""
    argv = ["grep", "^SigIgn:", "/proc/self/status"]
    masks = [int(drive(how, argv, tmp_path, tmp_path)["output"].split()[1], 16)
             for how in ("early", "popen")]
    glibc_internal = (1 << (32 - 1)) | (1 << (33 - 1))
    early, popen = (mask & ~glibc_internal for mask in masks)
    assert early == popen
    assert not early & (1 << (13 - 1)) and not early & (1 << (25 - 1))  # SIGPIPE, SIGXFSZ


def test_a_signalled_process_reads_as_popen_reads_it(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"]
    for how in ("early", "popen"):
        assert drive(how, argv, tmp_path, tmp_path)["code"] == -15


def test_a_bare_name_is_found_on_the_childs_path(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    script = tools / "only-here"
    script.write_text(f"#!{sys.executable}\nprint('found')\n", encoding="utf-8")
    script.chmod(0o755)
    stub = tmp_path / "stub"
    stub.mkdir()
    driver = DRIVER.replace('{"PATH": os.environ["PATH"]', f'{{"PATH": {str(tools)!r}')
    done = subprocess.run([sys.executable, "-c", driver, "early", '["only-here"]',
                           str(tmp_path)], cwd=stub, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert json.loads(done.stdout)["output"] == "found\n", done.stderr


@pytest.mark.parametrize("how", ["early", "popen"])
def test_what_cannot_start_is_the_same_error_and_the_folder_stays(tmp_path: Path,
                                                                  how: str) -> None:
    missing_program = drive(how, ["no-such-program-anywhere"], tmp_path, tmp_path)
    missing_folder = drive(how, [sys.executable, "-c", "pass"], tmp_path / "gone", tmp_path)
    assert missing_program == {"error": "FileNotFoundError", "here": str(tmp_path)}
    assert missing_folder == {"error": "FileNotFoundError", "here": str(tmp_path)}
