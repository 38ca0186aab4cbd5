"""The first phase started from the command the same invocation started last time
(`collectors/remembered_start.py`), held at the plugin's gate until the config confirms it.

Real `claimcheck` processes (the console entry, with an audit hook that notes every phase
spawned and what was imported by then) on fixture projects; the project's conftest files write
a line to a file when pytest loads them, which is how a test sees whether a held process ever
ran any of the project's code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from claimcheck.collectors import remembered_start
from claimcheck.collectors._plugin import claimcheck_protocol as protocol

from tests.conftest import UNUSED_PLUGINS, clean_env
from tests.processes import all_gone, wait_for

# The console entry (tui/entry.py) as it runs, with an audit hook noting each phase's spawn:
# its argv, how it was started (`kind`), whether the config had been read by then, and what
# was imported.
WATCH = """\
import json, sys
out = sys.argv[1]
seen = {"spawns": []}
HEAVY = ("dataclasses", "inspect", "tempfile", "shutil")  # ~11 ms the config path does without
def audit(event, args):
    if event == "subprocess.Popen":
        argv, env = args[1], args[3]
    elif event == "os.posix_spawn":
        argv, env = args[1], args[2]
    else:
        return
    argv, env = [str(a) for a in (argv or ())], env or {}
    if "claimcheck_stream" in argv or "claimcheck_prestart" in argv:
        seen["spawns"].append({"argv": argv, "held": "CLAIMCHECK_GATE" in env,
                               "prestarted": "CLAIMCHECK_PRESTART" in env,
                               "config_read": "claimcheck.collectors.config" in sys.modules,
                               "loaded": sorted(name for name in sys.modules
                                                if name.startswith("claimcheck")
                                                or name in ("argparse", "subprocess")
                                                or name in HEAVY)})
sys.addaudithook(audit)
sys.argv = [sys.argv[0], *sys.argv[2:]]
def write():
    with open(out, "w") as handle:
        json.dump(seen, handle)
import atexit
atexit.register(write)  # the entry ends with os._exit, after the atexit functions
from claimcheck.tui.entry import run
run()
"""

CONFTEST = """
import os
with open(os.environ["LOADED_LOG"], "a") as log:
    log.write("{name}\\n")
"""


def fixture_project(root: Path, first_args: str = '["tests/a"]') -> Path:
    files = {
        "tests/a/conftest.py": CONFTEST.format(name="a"),
        "tests/a/test_a.py": "def test_a_one():\n    pass\n\ndef test_a_two():\n    pass\n",
        "tests/b/conftest.py": CONFTEST.format(name="b"),
        "tests/b/test_b.py": "def test_b():\n    assert 1 == 2\n",
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    set_first_phase(root, first_args)
    return root


def set_first_phase(root: Path, args: str, extra: str = "") -> None:
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [tool.pytest.ini_options]
        addopts = "{UNUSED_PLUGINS}"

        [tool.claimcheck]
        [[tool.claimcheck.phases]]
        name = "first"
        pytest = {args}
        {extra}
    """), encoding="utf-8")


class Runs:
    """`claimcheck --report --format json` in one project, again and again, with one folder of
    remembered starts."""

    def __init__(self, root: Path, tmp_path: Path) -> None:
        self.root = root
        self.tmp = tmp_path
        self.cache = tmp_path / "starts"
        self.loaded = tmp_path / "loaded.log"
        self.tmpdir = tmp_path / "tmp"  # the runs' stream folders, and nobody else's
        self.tmpdir.mkdir()
        self.count = 0

    def entries(self) -> list[Path]:
        """The remembered starts (the folder also holds the plugin's `statements` folder)."""
        return [path for path in self.cache.iterdir() if path.is_file()]

    def env(self) -> dict[str, str]:
        return clean_env(CLAIMCHECK_START_CACHE=str(self.cache), LOADED_LOG=str(self.loaded),
                         PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", TMPDIR=str(self.tmpdir))

    def run(self, *args: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
        self.count += 1
        facts = self.tmp / f"facts-{self.count}.json"
        done = subprocess.run(
            [sys.executable, "-c", WATCH, str(facts), "--report", "--no-history",
             "--format", "json", *args],
            cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=300)
        return done, json.loads(facts.read_text(encoding="utf-8"))["spawns"]

    def loads(self) -> list[str]:
        if not self.loaded.exists():
            return []
        return self.loaded.read_text(encoding="utf-8").split()


# All of claimcheck's that is loaded when a pytest is started before the config is read (and
# neither argparse nor subprocess).
LOADED_AT_THE_SPAWN = [
    "claimcheck", "claimcheck.collectors", "claimcheck.collectors._plugin",
    "claimcheck.collectors._plugin.claimcheck_protocol", "claimcheck.collectors.early_spawn",
    "claimcheck.collectors.phase_command", "claimcheck.collectors.remembered_start",
    "claimcheck.tui", "claimcheck.tui.entry"]


def kinds(spawns: list[dict]) -> list[str]:
    """How each phase process was started: from the remembered command ("remembered"), as a
    first run's pytest before the config was read ("first run"), or from the config."""
    return ["remembered" if spawn["held"] else "first run" if spawn["prestarted"]
            else "from the config" for spawn in spawns]


def counts(done: subprocess.CompletedProcess[str]) -> tuple[str, list[tuple[str, int, int]]]:
    report = json.loads(done.stdout)
    return report["verdict"], [(phase["name"], phase["counts"]["passed"],
                                phase["counts"]["failed"]) for phase in report["phases"]]


def test_a_second_run_starts_pytest_before_reading_its_config_and_judges_the_same(
        tmp_path: Path) -> None:
    runs = Runs(fixture_project(tmp_path / "proj"), tmp_path)
    first, spawns = runs.run()
    assert first.returncode == 0, first.stderr
    assert kinds(spawns) == ["first run"]  # one pytest, started before the config was read
    assert len(runs.entries()) == 1  # remembered
    assert not spawns[0]["config_read"]
    assert spawns[0]["loaded"] == LOADED_AT_THE_SPAWN

    second, spawns = runs.run()
    assert second.returncode == 0, second.stderr
    assert kinds(spawns) == ["remembered"]  # one pytest, the remembered one
    assert not spawns[0]["config_read"]
    assert spawns[0]["loaded"] == LOADED_AT_THE_SPAWN
    assert counts(second) == counts(first) == ("green", [("first", 2, 0)])
    for done in (first, second):  # the run began when its pytest was spawned, before the config
        report = json.loads(done.stdout)
        assert report["started_at"] == report["phases"][0]["started_at"]
        assert report["duration_s"] >= report["phases"][0]["duration_s"]
    assert runs.loads() == ["a", "a"]


@pytest.mark.parametrize("closed", [">&-", "<&- >&- 2>&-"])
def test_a_claimcheck_started_with_standard_streams_closed_counts_the_same(
        tmp_path: Path, closed: str) -> None:
    """`claimcheck --report --output F >&-`: a pipe made while descriptor 1 was closed took its
    number, and the held pytest's gate, passed on as fd 1, became that pytest's stdout: the
    phase read as crashed, 0 tests. A first run, then a remembered one, count the tests."""
    runs = Runs(fixture_project(tmp_path / "proj"), tmp_path)
    output = tmp_path / "report.json"
    for _ in ("first run", "remembered"):
        output.unlink(missing_ok=True)
        done = subprocess.run(
            ["sh", "-c", f'exec "$@" {closed}', "sh", sys.executable, "-m", "claimcheck",
             "--report", "--no-history", "--format", "json", "--output", str(output)],
            cwd=runs.root, env=runs.env(), timeout=300)
        assert done.returncode == 0
        report = json.loads(output.read_text(encoding="utf-8"))
        assert (report["verdict"], [(phase["name"], phase["counts"]["passed"])
                                    for phase in report["phases"]]) == ("green", [("first", 2)])
    assert len(runs.entries()) == 1  # the second run was the remembered start
    assert runs.loads() == ["a", "a"]


def test_a_changed_config_ends_the_held_pytest_before_it_loads_any_of_the_project(
        tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    runs = Runs(root, tmp_path)
    assert runs.run()[0].returncode == 0
    assert runs.loads() == ["a"]

    set_first_phase(root, '["tests/b"]')
    changed, spawns = runs.run()
    assert changed.returncode == 1, changed.stderr
    assert [(kind, spawn["argv"][-1]) for kind, spawn in zip(kinds(spawns), spawns)] == [
        ("remembered", "tests/a"), ("from the config", "tests/b")]
    assert counts(changed) == ("red", [("first", 0, 1)])
    assert runs.loads() == ["a", "b"]  # the held pytest for tests/a never loaded its conftest

    again, spawns = runs.run()  # the new command is the one remembered now
    assert [(kind, spawn["argv"][-1]) for kind, spawn in zip(kinds(spawns), spawns)] == [
        ("remembered", "tests/b")]
    assert counts(again) == ("red", [("first", 0, 1)])


def test_other_arguments_are_another_invocation(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    set_first_phase(root, '["tests/a"]', extra='[[tool.claimcheck.phases]]\nname = "second"\n'
                                              'pytest = ["tests/b"]')
    runs = Runs(root, tmp_path)
    runs.run()
    only_second, spawns = runs.run("--phase", "second")
    assert kinds(spawns) == ["first run"]  # nothing remembered for these arguments
    assert counts(only_second) == ("red", [("second", 0, 1)])
    assert len(runs.entries()) == 2
    _, spawns = runs.run("--phase", "second")
    assert kinds(spawns) == ["remembered"]


@pytest.mark.parametrize("args", [("--project", "."), ("--project", ".", "--phase", "first"),
                                  ("--phase", "first", "--project", str(Path("proj")))])
def test_every_command_line_finds_what_it_remembered(tmp_path: Path, args: tuple[str, ...]
                                                     ) -> None:
    runs = Runs(fixture_project(tmp_path / "proj"), tmp_path)
    if args[-1] == "proj":
        runs.root = tmp_path
    first, spawns = runs.run(*args)
    assert first.returncode == 0, first.stderr
    assert kinds(spawns) == ["first run"]
    for _ in range(2):
        again, spawns = runs.run(*args)
        assert again.returncode == 0, again.stderr
        assert kinds(spawns) == ["remembered"]
    assert len(runs.entries()) == 1


def test_a_run_that_never_confirms_ends_the_held_pytest_and_forgets_it(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    runs = Runs(root, tmp_path)
    runs.run()
    (root / "pyproject.toml").write_text("[tool.claimcheck\n", encoding="utf-8")  # broken
    broken, spawns = runs.run()
    assert broken.returncode == 4, broken.stderr
    assert "pyproject.toml" in broken.stderr
    assert kinds(spawns) == ["remembered"]
    assert runs.loads() == ["a"]
    assert runs.entries() == []  # forgotten
    assert os.listdir(runs.tmpdir) == []  # the held pytest's stream folder went with it


def test_an_interpreter_gone_since_ends_the_held_pytest_and_forgets_it(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    runs = Runs(root, tmp_path)
    runs.run()
    set_first_phase(root, '["tests/a"]', extra="")
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    (root / "pyproject.toml").write_text(
        text.replace("[tool.claimcheck]\n", '[tool.claimcheck]\npython = "no-such-python"\n'),
        encoding="utf-8")
    done, spawns = runs.run()
    assert done.returncode != 0
    assert "no-such-python" in done.stdout + done.stderr
    assert kinds(spawns) == ["remembered"]
    assert runs.loads() == ["a"]
    assert runs.entries() == []


@pytest.mark.parametrize("extra, args", [
    ('env = { API_MODE = "test" }', '["tests/a"]'),  # a phase's own env is never written down
    ('', '["tests/a", "-k", "${CC_TEST_TOKEN}"]'),  # nor a secret in its arguments
])
def test_what_would_write_a_secret_down_is_not_remembered(tmp_path: Path, extra: str,
                                                           args: str) -> None:
    root = fixture_project(tmp_path / "proj")
    set_first_phase(root, args, extra=extra)
    runs = Runs(root, tmp_path)
    os.environ["CC_TEST_TOKEN"] = "test_a_one"
    try:
        done, _ = runs.run()
    finally:
        del os.environ["CC_TEST_TOKEN"]
    assert done.returncode == 0, done.stderr
    assert not runs.cache.exists() or runs.entries() == []


def test_switched_off_nothing_is_remembered(tmp_path: Path, monkeypatch) -> None:
    runs = Runs(fixture_project(tmp_path / "proj"), tmp_path)
    runs.cache = Path("off")
    runs.run()
    _, spawns = runs.run()
    assert kinds(spawns) == ["from the config"]  # nor a first run's pytest started ahead
    # pytest waited for the config: what that path imports, it imports without these
    assert spawns[0]["config_read"] and "argparse" in spawns[0]["loaded"]
    assert not {"dataclasses", "inspect", "tempfile", "shutil"} & set(spawns[0]["loaded"])
    monkeypatch.delenv(remembered_start.ENV_CACHE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert remembered_start.cache_folder() == str(tmp_path / "xdg" / "claimcheck" / "starts")
    monkeypatch.setenv(remembered_start.ENV_CACHE, "OFF")
    assert remembered_start.cache_folder() is None


# A first run's pytest (claimcheck_prestart): started before the config is read, with the
# interpreter and folder the config most likely names

FACTS_TEST = """\
import json, os, sys

def test_facts():
    main = sys.modules["__main__"]
    with open(os.environ["FACTS_OUT"], "a") as out:
        out.write(json.dumps({
            "argv0": sys.argv[0], "path0": sys.path[0], "main_spec": main.__spec__.name,
            "main_file": main.__file__, "orig_argv": sys.orig_argv[1:3],
            "ours": sorted(k for k in os.environ if k in ("CLAIMCHECK_PRESTART",
                                                         "CLAIMCHECK_GATE")),
        }) + "\\n")
"""


def test_a_first_run_pytest_runs_the_tests_as_python_m_pytest_does(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    (root / "tests" / "a" / "test_facts.py").write_text(FACTS_TEST, encoding="utf-8")
    facts = tmp_path / "facts.jsonl"
    runs = Runs(root, tmp_path)
    os.environ["FACTS_OUT"] = str(facts)
    try:
        done, spawns = runs.run()
        subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/a/test_facts.py"],
                       cwd=root, env=runs.env(), check=True, capture_output=True)
    finally:
        del os.environ["FACTS_OUT"]
    assert kinds(spawns) == ["first run"]
    assert counts(done) == ("green", [("first", 3, 0)])
    under_claimcheck, bare = (json.loads(line) for line in facts.read_text().splitlines())
    assert under_claimcheck["orig_argv"] == ["-m", "claimcheck_prestart"]  # it ran the tests
    assert bare["orig_argv"] == ["-m", "pytest"]
    for facts_of in (under_claimcheck, bare):
        del facts_of["orig_argv"]
    assert under_claimcheck == bare
    assert bare["main_spec"] == "pytest.__main__"
    assert bare["ours"] == []


def test_a_first_run_pytest_for_another_command_ends_before_it_loads_the_project(
        tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    set_first_phase(root, '["tests/a"]', extra='env = { API_MODE = "test" }')
    runs = Runs(root, tmp_path)
    done, spawns = runs.run()
    assert done.returncode == 0, done.stderr
    assert kinds(spawns) == ["first run", "from the config"]  # its environment is another
    assert runs.loads() == ["a"]  # loaded once: by the second
    assert counts(done) == ("green", [("first", 2, 0)])
    assert os.listdir(runs.tmpdir) == []


def through_gate(command: list[str], root: Path, variable: str,
                 word: bytes | None) -> subprocess.CompletedProcess[str]:
    """`command` in `root` with claimcheck's plugin folder on PYTHONPATH and `variable`
    naming a gate's read end, sent `word` there (None: closed without a word); conftest files
    note their loading in `root/loaded.log`."""
    read_end, write_end = os.pipe()
    env = clean_env(LOADED_LOG=str(root / "loaded.log"), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
                    PYTHONPATH=str(Path(protocol.__file__).parent),
                    **{variable: str(read_end)})
    process = subprocess.Popen(command, cwd=root, env=env, pass_fds=(read_end,),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    os.close(read_end)
    if word is not None:
        os.write(write_end, word)
    os.close(write_end)
    out, _ = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out)


def prestarted(python: str, root: Path, word: bytes | None) -> subprocess.CompletedProcess[str]:
    """`python -m claimcheck_prestart` in `root`, sent `word` at its gate."""
    return through_gate([python, "-m", "claimcheck_prestart"], root, protocol.ENV_PRESTART,
                        word)


def test_a_first_run_pytest_runs_the_argv_sent_at_its_gate_or_nothing(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    command = [sys.executable, "-m", "pytest", "-p", "claimcheck_stream", "-q", "tests/a"]
    turned_back = prestarted(sys.executable, root, None)
    assert turned_back.returncode == protocol.GATE_CLOSED_EXIT, turned_back.stdout
    not_pytest = prestarted(sys.executable, root, protocol.GATE_OPEN + b"\0".join(
        part.encode() for part in [sys.executable, "-c", "print(1)"]))
    assert not_pytest.returncode == protocol.GATE_CLOSED_EXIT, not_pytest.stdout
    assert not (root / "loaded.log").exists()
    let_through = prestarted(sys.executable, root, protocol.GATE_OPEN + b"\0".join(
        part.encode() for part in command))
    assert let_through.returncode == 0, let_through.stdout
    assert "2 passed" in let_through.stdout
    assert (root / "loaded.log").read_text(encoding="utf-8").split() == ["a"]


def test_a_first_run_pytest_without_pytest_runs_the_command_to_say_so(tmp_path: Path) -> None:
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    root = fixture_project(tmp_path / "proj")
    done = prestarted(python, root, protocol.GATE_OPEN + b"\0".join(
        part.encode() for part in [python, "-m", "pytest", "-q"]))
    assert done.returncode == 1
    assert done.stdout.strip() == f"{python}: No module named pytest"  # as `-m pytest` says


def test_the_first_run_guess_reads_the_interpreter_and_folder_the_config_names(
        tmp_path: Path) -> None:
    guess = remembered_start.first_run_guess
    here = str(tmp_path)
    assert guess(["--report"], here) == (sys.executable, here)  # no pyproject.toml: default
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\npython = "x"\n\n[tool.claimcheck]  # ours\npython = ".venv/bin/python"'
        '\n[[tool.claimcheck.phases]]\nname = "unit"\n', encoding="utf-8")
    assert guess([], here) == (f"{here}/.venv/bin/python", here)
    (tmp_path / "cc.toml").write_text("python = './env/bin/python3.11'  # the project's\n",
                                      encoding="utf-8")
    for arguments in (["--config", "cc.toml"], ["--config=cc.toml", "--report"],
                      ["--project", here, "--config", f"{here}/cc.toml"]):
        assert guess(arguments, here) == (f"{here}/env/bin/python3.11", here), arguments
    (tmp_path / "sub").mkdir()
    assert guess(["--project=sub"], here) == (sys.executable, str(tmp_path / "sub"))
    for runs_no_phase in (["history"], ["--report", "init"], ["--services-only"], ["-h"]):
        assert guess(runs_no_phase, here) is None
    assert guess(["--config", "absent.toml"], here) is None  # an error to report, not to run
    assert guess(["--config"], here) is None
    for named in ('"./run-tests.sh"', '"${VENV}/bin/python"', "[1]", '"a\\\\python"'):
        (tmp_path / "odd.toml").write_text(f"python = {named}\n", encoding="utf-8")
        assert guess(["--config", "odd.toml"], here) is None, named
    (tmp_path / "bare.toml").write_text('python = "pypy3.10"\n', encoding="utf-8")
    assert guess(["--config", "bare.toml"], here) == ("pypy3.10", here)  # found on PATH


def test_the_first_run_guess_names_the_interpreter_as_the_config_reads_it(
        tmp_path: Path) -> None:
    """The guess spells the interpreter as `load_config` leaves it (`confirm` compares the
    two as strings): relative, `./`, doubled slashes, absolute, a bare name."""
    from claimcheck.collectors.config import load_config

    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python3").symlink_to(sys.executable)
    for written in (".venv/bin/python3", "./.venv//bin/python3", f"{venv}/python3", "python3"):
        (tmp_path / "pyproject.toml").write_text(
            f'[tool.claimcheck]\npython = "{written}"\n', encoding="utf-8")
        assert remembered_start.first_run_guess([], str(tmp_path)) == (
            load_config(tmp_path).python, str(tmp_path.resolve())), written


def test_every_command_that_runs_no_phase_starts_no_first_run_pytest() -> None:
    from claimcheck.tui.cli import COMMANDS

    assert remembered_start.NO_PHASE_ARGUMENTS == {command.name for command in COMMANDS} | {
        "-h", "--help", "--version", "--open", "--services-only"}


# The held process on its own: the gate in claimcheck's plugin

HOLDER = """\
import os, sys, time
from claimcheck.collectors import remembered_start
remembered_start.start_remembered(sys.argv[1:])
held = remembered_start.held()
print(held.started.process.pid if held else 0, flush=True)
time.sleep(600)
"""


def test_a_claimcheck_that_dies_ends_the_pytest_it_held(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    runs = Runs(root, tmp_path)
    runs.run()  # remembered
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "--report", "--no-history",
                               "--format", "json"],
                              cwd=root, env=runs.env(), stdout=subprocess.PIPE, text=True)
    try:
        held_pid = int(holder.stdout.readline())
        assert held_pid > 0
        held = psutil.Process(held_pid)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)
        wait_for(lambda: all_gone([held]), "the held pytest to end")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
    assert runs.loads() == ["a"]  # only the first run's


def test_the_gate_opens_on_its_word_and_the_tests_never_see_it(tmp_path: Path) -> None:
    root = fixture_project(tmp_path / "proj")
    (root / "tests" / "a" / "test_env.py").write_text(
        "import os\n\ndef test_no_gate():\n    assert 'CLAIMCHECK_GATE' not in os.environ\n",
        encoding="utf-8")
    loaded = root / "loaded.log"

    def held_pytest(word: bytes | None) -> subprocess.CompletedProcess[str]:
        return through_gate([sys.executable, "-m", "pytest", "-p", "claimcheck_stream", "-q",
                             "tests/a"], root, protocol.ENV_GATE, word)

    turned_back = held_pytest(None)
    assert turned_back.returncode == protocol.GATE_CLOSED_EXIT, turned_back.stdout
    assert not loaded.exists()
    let_through = held_pytest(protocol.GATE_OPEN)
    assert let_through.returncode == 0, let_through.stdout
    assert loaded.read_text(encoding="utf-8").split() == ["a"]


def test_an_entry_is_read_only_for_its_own_invocation(tmp_path: Path) -> None:
    mine = ("/usr/bin/python3", "/proj", ("--report",))
    path = remembered_start.entry_path(str(tmp_path), mine)
    remembered_start.write_entry(path, mine, "unit", ["python", "-m", "pytest"], "/proj")
    assert remembered_start.read_entry(path, mine) == ("unit", ["python", "-m", "pytest"],
                                                       "/proj")
    other = ("/usr/bin/python3", "/proj", ("--report", "--phase", "unit"))
    assert remembered_start.read_entry(path, other) is None
    Path(path).write_bytes(b"\x00not marshal")
    assert remembered_start.read_entry(path, mine) is None
    assert remembered_start.read_entry(str(tmp_path / "absent"), mine) is None


def test_an_entry_is_named_by_what_the_invocation_says_not_by_its_objects(
        tmp_path: Path) -> None:
    """The name is computed when the run starts and again when it remembers, with other
    references to the same strings in between (the parsed arguments, the held phase): two
    equal invocations always name one file."""
    words = ["--config", "cc.toml", "--project", ".", "--report"]
    held = list(words)  # a second reference to each string, as sys.argv and argparse hold
    cwd = "".join(["/pro", "j"])
    shared = ("/usr/bin/python3", cwd, tuple(held))
    keep = [cwd, *held]  # and to the folder's (a held phase's folder)
    alone = ("/usr/bin/python3", "/proj".encode().decode(),
             tuple(word.encode().decode() for word in words))  # each string held once
    assert shared == alone and keep
    assert (remembered_start.entry_path(str(tmp_path), shared)
            == remembered_start.entry_path(str(tmp_path), alone))
    odd = ("/usr/bin/python3", "/proj", ("--output", "r\udcff\u00e9.txt"))  # any str at all
    assert remembered_start.entry_path(str(tmp_path), odd).startswith(str(tmp_path))


def test_only_the_most_recent_entries_are_kept(tmp_path: Path) -> None:
    for number in range(7):
        path = tmp_path / f"entry-{number}"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
    remembered_start.prune(str(tmp_path), keep=3)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["entry-4", "entry-5", "entry-6"]
