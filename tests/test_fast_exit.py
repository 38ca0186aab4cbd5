"""The fast exit of a pytest process claimcheck runs (collectors/_plugin/claimcheck_exit.py).

Real claimcheck runs on a fixture project, under this venv's pytest and the newest: the phase's
pytest leaves its heap to the kernel (the heap frozen by its last exit function), and nothing a
test or a plugin did at the end is lost: a file a test never closed, an exit function's file, a
module global's `__del__`; a file left open in a reference cycle is flushed, where CPython's own
exit may lose its buffer. A probe in the conftest, whose `__del__` runs as
the interpreter clears the conftest's globals (after every exit function), writes what the
garbage collector then holds frozen; `CLAIMCHECK_FAST_EXIT=off` and bare pytest hold none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.realrun import claimcheck_json, claimcheck_table, phase_of

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "collectors" / "_plugin"

CONFTEST = """
    import atexit, builtins, gc, os

    OUT = os.environ["FAST_EXIT_OUT"]

    class AtModuleClear:
        '''Writes, as the interpreter clears this module's globals, how many objects the
        garbage collector holds frozen and which process it is (nothing looked up then).'''

        def __init__(self):
            self.write, self.close, self.count = os.write, os.close, gc.get_freeze_count
            self.pid = os.getpid()
            self.fd = os.open(os.path.join(OUT, f"frozen-{self.pid}"),
                              os.O_WRONLY | os.O_CREAT | os.O_TRUNC)

        def __del__(self):
            self.write(self.fd, str(self.count()).encode())
            self.close(self.fd)

    _probe = AtModuleClear()

    class Cycle:
        pass

    def pytest_unconfigure(config):
        # A file never closed, written last, in a reference cycle that only the interpreter's
        # exit makes garbage (as it clears the builtins): CPython's collections may lose its
        # buffer (they finalize the file's layers in any order, the raw file first); the fast
        # exit flushes it before.
        held = Cycle()
        held.me = held
        held.file = open(os.path.join(OUT, "in-a-cycle.txt"), "w")
        held.file.write("written at unconfigure, never closed\\n")
        builtins._claimcheck_fast_exit_kept = held

    @atexit.register
    def _at_exit():
        with open(os.path.join(OUT, "at-exit.txt"), "w") as out:
            out.write("an exit function ran\\n")
"""

TESTS = """
    import os

    KEPT = open(os.path.join(os.environ["FAST_EXIT_OUT"], "module-global.txt"), "w")

    def test_writes_to_a_file_it_never_closes():
        KEPT.write("written by a test, never closed\\n")

    def test_fails():
        assert 1 == 2
"""


def _project(make_project, python: str, pytest_args: list[str] | None = None) -> Path:
    phase = {"name": "unit", "pytest": ["-p", "no:cacheprovider", *(pytest_args or [])]}
    return make_project({"conftest.py": CONFTEST, "tests/test_files.py": TESTS,
                         "pyproject.toml": claimcheck_table(python, [phase])})


def _left_behind(out: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(out.iterdir())}


def _assert_nothing_lost(files: dict[str, str]) -> None:
    assert files["module-global.txt"] == "written by a test, never closed\n"
    assert files["at-exit.txt"] == "an exit function ran\n"


def test_the_phase_pytest_exits_without_collecting_and_loses_nothing(
        make_project, phase_python: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    root = _project(make_project, phase_python)
    code, report, stderr = claimcheck_json(root, env={"FAST_EXIT_OUT": str(out)})
    assert code == 1, stderr
    phase = phase_of(report, "unit")
    counts = phase["counts"]
    assert (phase["exit_code"], counts["passed"], counts["failed"]) == (1, 1, 1), phase
    files = _left_behind(out)
    _assert_nothing_lost(files)
    assert files["in-a-cycle.txt"] == "written at unconfigure, never closed\n"
    (frozen,) = [int(text) for name, text in files.items() if name.startswith("frozen-")]
    assert frozen > 1000, "the phase's pytest ended with CPython's own collections"


def test_switched_off_the_phase_pytest_exits_as_bare_pytest_does(
        make_project, phase_python: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    root = _project(make_project, phase_python)
    code, report, stderr = claimcheck_json(
        root, env={"FAST_EXIT_OUT": str(out), "CLAIMCHECK_FAST_EXIT": "off"})
    assert code == 1, stderr
    assert phase_of(report, "unit")["exit_code"] == 1
    files = _left_behind(out)
    _assert_nothing_lost(files)
    assert [text for name, text in files.items() if name.startswith("frozen-")] == ["0"]

    bare_out = tmp_path / "bare"
    bare_out.mkdir()
    done = subprocess.run([phase_python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env=clean_env(FAST_EXIT_OUT=str(bare_out)))
    assert done.returncode == 1, done.stdout + done.stderr
    bare = _left_behind(bare_out)
    _assert_nothing_lost(bare)
    assert [text for name, text in bare.items() if name.startswith("frozen-")] == ["0"]


def test_xdist_workers_exit_without_collecting_too(make_project, tmp_path: Path) -> None:
    from tests.realrun import latest_pytest_python

    out = tmp_path / "out"
    out.mkdir()
    root = _project(make_project, latest_pytest_python(), ["-p", "xdist.plugin", "-n", "2"])
    code, report, stderr = claimcheck_json(root, env={"FAST_EXIT_OUT": str(out)})
    assert code == 1, stderr
    phase = phase_of(report, "unit")
    assert (phase["counts"]["passed"], phase["counts"]["failed"]) == (1, 1), phase
    files = _left_behind(out)
    assert files["at-exit.txt"] == "an exit function ran\n"
    frozen = {name: int(text) for name, text in files.items() if name.startswith("frozen-")}
    assert len(frozen) == 3, files  # the controller and its two workers
    assert all(count > 1000 for count in frozen.values()), frozen


FORKED = """
import gc, json, os, sys
sys.path.insert(0, sys.argv[1])
import claimcheck_exit

armed_before = claimcheck_exit._armed_pid
claimcheck_exit.arm()
read, write = os.pipe()
if os.fork() == 0:  # a test's forked child that ends through the exit functions
    claimcheck_exit._leave_heap_to_kernel()
    os.write(write, str(gc.get_freeze_count()).encode())
    os._exit(0)
os.close(write)
child = int(os.read(read, 100))
os.wait()
claimcheck_exit._leave_heap_to_kernel()
print(json.dumps({"armed_before": armed_before, "child": child,
                  "parent": gc.get_freeze_count()}))
"""


def test_only_the_process_that_armed_it_freezes_its_heap() -> None:
    done = subprocess.run([sys.executable, "-c", FORKED, str(PLUGIN_DIR)], capture_output=True,
                          text=True, timeout=60, env=clean_env())
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["armed_before"] is None  # importing the module arms nothing
    assert figures["child"] == 0
    assert figures["parent"] > 0


@pytest.mark.parametrize("setting", ["off", "OFF", " off "])
def test_the_switch_reads_off_in_any_case(monkeypatch, setting: str) -> None:
    from claimcheck.collectors._plugin import claimcheck_exit

    monkeypatch.setattr(claimcheck_exit, "_armed_pid", None)
    monkeypatch.setenv("CLAIMCHECK_FAST_EXIT", setting)
    claimcheck_exit.arm()
    assert claimcheck_exit._armed_pid is None
    monkeypatch.setenv("CLAIMCHECK_FAST_EXIT", "")
    claimcheck_exit.arm()
    assert claimcheck_exit._armed_pid == os.getpid()


def test_flushing_takes_open_writers_and_leaves_the_rest(tmp_path: Path) -> None:
    import io

    from claimcheck.collectors._plugin.claimcheck_exit import flush_open_files

    class RecordingWriter(io.BytesIO):
        flushed = False

        def flush(self) -> None:
            self.flushed = True
            super().flush()

    class RecordingReader(io.BufferedReader):
        flushed = False

        def flush(self) -> None:
            self.flushed = True
            super().flush()

    writer, closed_writer = RecordingWriter(), RecordingWriter()
    closed_writer.close()
    closed_writer.flushed = False
    reader = RecordingReader(io.BytesIO(b"x"))
    written = open(tmp_path / "written.txt", "w")  # noqa: SIM115 - left open on purpose
    written.write("pending")
    failing = open(tmp_path / "failing.txt", "w")  # noqa: SIM115
    failing.write("lost")
    os.close(failing.fileno())  # its flush fails: skipped, nothing raised
    try:
        assert (tmp_path / "written.txt").read_text() == ""
        flush_open_files()
        assert (tmp_path / "written.txt").read_text() == "pending"
        assert (writer.flushed, closed_writer.flushed, reader.flushed) == (True, False, False)
    finally:
        written.close()
        try:
            failing.close()
        except OSError:
            pass
