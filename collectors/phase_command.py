"""How a phase is started: its interpreter's check, its argv and environment, its stream folder,
and, for `--report` and the command center, the first phase started before the event loop exists.

Nothing here imports asyncio or anything the record of a run needs: `--report` spawns its first
phase's pytest from here (`start_ahead`) as soon as the config is read, and imports the event
loop, the runner and the rest while pytest starts, which takes far longer. The runner
(`pytest_run.run_phase`) then takes that process over (`take_started`) instead of spawning one.
Earlier still, `remembered_start` may have started that pytest from the command the same
invocation started last time, before the config was read: `start_ahead` confirms it or ends it.
This module is imported on that path, so its own imports are the standard library's lightest.
"""

from __future__ import annotations

import os
import time

from claimcheck.collectors import remembered_start
from claimcheck.collectors._plugin import claimcheck_protocol as protocol

TYPE_CHECKING = False  # typing itself is not imported on this path: it takes milliseconds
if TYPE_CHECKING:
    import subprocess
    from pathlib import Path
    from typing import Mapping, Sequence

    from claimcheck.collectors.config import Config, PhaseConfig
    from claimcheck.collectors.early_spawn import EarlySpawned

    PhaseProcess = subprocess.Popen[bytes] | EarlySpawned  # what `spawn` returns

PLUGIN_DIR = os.path.join(os.path.dirname(os.path.realpath(__file__)), "_plugin")
PLUGIN_NAME = protocol.PLUGIN_NAME
ENV_DIR = protocol.ENV_DIR
ENV_ADDOPTS_BEFORE = protocol.ENV_ADDOPTS_BEFORE
ENV_OWNER = protocol.ENV_OWNER  # the plugin ends the phase's process group when we die

# pytest's short options that take a value: in a cluster such as `-rfE` the rest is that value.
_SHORT_WITH_VALUE = frozenset("kmpcoWrn")
_VERBOSITY_LONG = ("--verbose", "--quiet", "--verbosity", "--no-summary")
# pytest's terminal output when the phase's arguments leave it to claimcheck: nobody reads it
# but claimcheck (the tail of a phase that broke), which prints its own summary from the
# record. Dots without the progress column: pytest's default `progress` style measures the
# terminal line's display width (wcswidth) after every test, about 56,000 instructions per
# test under callgrind, 1.2% of a 1,000-test generated suite's run; a user's own
# `-o console_output_style` comes later and wins.
QUIET_ARGS = ("-q", "--no-summary", "-o", "console_output_style=classic")
_TMP_VARIABLES = ("TMPDIR", "TEMP", "TMP")  # tempfile's, in its order
STATEMENTS_FOLDER = "statements"  # in the folder of remembered starts


class EnvironmentProblem(Exception):
    """The project's interpreter cannot run claimcheck's phases; the message says what to do."""


# ----------------------------------------------------------------------------------------
# The interpreter


def check_interpreter(config: Config) -> None:
    """Fail early, with what to do, when `config.python` is no program at all.

    Only a look at the file system (microseconds): whether the interpreter can import pytest
    is learned from the first phase itself (`missing_pytest`), never from an interpreter
    started in series before it.
    """
    python = config.python
    if not _is_program(python):
        if os.path.exists(python) and not os.path.isdir(python):
            raise EnvironmentProblem(
                f"interpreter {python!r} is not executable; check tool.claimcheck.python")
        raise EnvironmentProblem(
            f"interpreter {python!r} does not exist; set tool.claimcheck.python to a Python "
            f"that has pytest, then run: {install_line(python)}")


def _is_program(python: str) -> bool:
    """`shutil.which(python)` found it: a path is looked at alone, a bare name on PATH. (A path
    without shutil, which imports bz2 and lzma: ~2 ms before the first pytest is spawned.)"""
    if os.path.dirname(python):
        return os.access(python, os.F_OK | os.X_OK) and not os.path.isdir(python)
    import shutil

    return shutil.which(python) is not None


def install_line(python: str) -> str:
    import shlex

    return f"{shlex.quote(python)} -m pip install pytest"


# ----------------------------------------------------------------------------------------
# Stream folders: <tmp>/claimcheck-<owner pid>-<random>/

_stale_cleared = False


def clear_stale_stream_folders(tmp: str) -> list[str]:
    """Remove the stream folders in `tmp` of claimcheck processes that died without cleaning
    up (SIGKILL, the OOM killer): they hold raw messages, captured output, maybe secrets."""
    removed: list[str] = []
    try:
        names = os.listdir(tmp)
    except OSError:
        return removed
    for name in names:
        owner = protocol.folder_owner(name)
        if owner is None or owner == os.getpid() or protocol.pid_alive(owner):
            continue
        path = os.path.join(tmp, name)
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _clear_stale_once(tmp: str) -> None:
    global _stale_cleared
    if not _stale_cleared:
        _stale_cleared = True
        clear_stale_stream_folders(tmp)


# ----------------------------------------------------------------------------------------
# Command line and environment


def build_command(
    phase: PhaseConfig,
    config: Config,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    stream_dir: str,
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run `phase` with claimcheck's plugin inside every session.

    `env` is the environment to start from (the current one by default, like subprocess's
    `env=`); the phase's own `env` goes on top of it, claimcheck's variables last.
    """
    environ = phase_environ(os.environ if env is None else env, phase.env, stream_dir)
    if phase.pytest is not None:
        user_args = [*phase.pytest, *extra_args]
        argv = [config.python, "-m", "pytest", "-p", PLUGIN_NAME,
                "--continue-on-collection-errors"]
        if not _sets_verbosity(user_args):
            argv += QUIET_ARGS
        return argv + user_args, environ

    assert phase.command is not None, f"phase {phase.name!r} has neither pytest nor command"
    argv = list(phase.command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = config.python  # the project's interpreter, as for pytest phases
    if os.path.isabs(config.python):
        bindir = os.path.dirname(config.python)  # so `pytest` inside the runner is the venv's
        environ["PATH"] = bindir + os.pathsep + environ.get("PATH", "")
    import shlex

    before = environ.get("PYTEST_ADDOPTS", "")
    ours = ["-p", PLUGIN_NAME, "--continue-on-collection-errors", *extra_args]
    environ[ENV_ADDOPTS_BEFORE] = before
    environ["PYTEST_ADDOPTS"] = " ".join(part for part in (before, shlex.join(ours)) if part)
    return argv, environ


def phase_environ(base: Mapping[str, str], phase_env: Mapping[str, str],
                  stream_dir: str) -> dict[str, str]:
    """`base` with the phase's own `env` on top and claimcheck's variables last: the stream
    folder, the plugin on PYTHONPATH, this claimcheck as the phase's owner, and the folder
    where the plugin keeps test modules' statement lines between runs (beside the remembered
    starts; none when those are switched off)."""
    environ = dict(base)
    environ.update(phase_env)
    environ[ENV_DIR] = stream_dir
    starts = remembered_start.cache_folder(environ)
    if starts is None:
        environ.pop(protocol.ENV_STATEMENTS, None)
    else:
        # absolute: the phase's pytest runs in another folder than this claimcheck
        environ[protocol.ENV_STATEMENTS] = os.path.abspath(os.path.join(starts,
                                                                        STATEMENTS_FOLDER))
    previous = environ.get("PYTHONPATH", "")
    environ["PYTHONPATH"] = PLUGIN_DIR + (os.pathsep + previous if previous else "")
    environ.pop(ENV_ADDOPTS_BEFORE, None)
    environ.pop(protocol.ENV_GATE, None)
    environ.pop(protocol.ENV_PRESTART, None)
    environ.pop(protocol.ENV_WAKE, None)
    environ[ENV_OWNER] = str(os.getpid())
    return environ


def _sets_verbosity(args: Sequence[str]) -> bool:
    for arg in args:
        if arg.startswith("--"):
            if arg.split("=", 1)[0] in _VERBOSITY_LONG:
                return True
        elif arg.startswith("-") and len(arg) > 1:
            for letter in arg[1:]:
                if letter in ("v", "q"):
                    return True
                if letter in _SHORT_WITH_VALUE or not letter.isalpha():
                    break
    return False


# ----------------------------------------------------------------------------------------
# The first phase, started before the event loop


class StartedPhase:
    """A phase's process started ahead of the runner (by `start_ahead`, or by
    `remembered_start` and confirmed), waiting for the runner to take it over."""

    __slots__ = ("phase", "argv", "stream_dir", "process", "wake", "started_at", "clock")

    def __init__(self, phase: str, argv: list[str], stream_dir: str,
                 process: PhaseProcess, wake: int | None, started_at: float,
                 clock: float) -> None:
        self.phase = phase
        self.argv = argv
        self.stream_dir = stream_dir
        self.process = process
        self.wake = wake  # the read end of its wake pipe (see `spawn`)
        self.started_at = started_at  # time.time() at the spawn
        self.clock = clock  # time.monotonic() at the spawn


_started: StartedPhase | None = None


def make_stream_dir() -> str:
    """A new stream folder for one phase, named for this claimcheck, in the temporary folder
    (after clearing the ones that dead claimchecks left there, once per process).

    As `tempfile.mkdtemp` makes it, without importing tempfile (and shutil and random) before
    a first pytest is spawned: `$TMPDIR` (`$TEMP`, `$TMP`) or /tmp when it takes a folder;
    anywhere else, tempfile's own choice."""
    prefix = protocol.stream_folder_prefix(os.getpid())
    tmp = next((os.path.abspath(value) for value in map(os.environ.get, _TMP_VARIABLES)
                if value), "/tmp")
    for _ in range(3):
        folder = os.path.join(tmp, prefix + os.urandom(6).hex())
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        except OSError:
            break
        _clear_stale_once(tmp)
        return folder
    import tempfile

    folder = tempfile.mkdtemp(prefix=prefix)
    _clear_stale_once(os.path.dirname(folder))
    return folder


def spawn(argv: Sequence[str], environ: Mapping[str, str], cwd: Path | str,
          pass_fds: Sequence[int] = (), *, wake: bool = False, before_threads: bool = False
          ) -> tuple[PhaseProcess, int | None]:
    """The phase's process: its own session (so its whole group can be ended), stdout and
    stderr on one pipe, no stdin; and with `wake`, the read end of its wake pipe.

    `wake` is for a `pytest` phase only, whose process is the session's: the plugin writes a
    byte to the pipe's write end (`CLAIMCHECK_WAKE`) when the session ends, so the runner reads
    the stream then, not at its next poll. (A command phase's pytest is a grandchild, which
    does not inherit the pipe; the variable's inode tells it so.)

    `before_threads`: the caller runs before claimcheck starts any thread (`remembered_start`,
    `start_ahead`), and the process is spawned without importing subprocess (`early_spawn`,
    which leaves it to Popen should a thread exist after all)."""
    env = dict(environ)
    fds = tuple(pass_fds)
    read_end = write_end = None
    if wake:
        read_end, write_end = os.pipe()
        env[protocol.ENV_WAKE] = protocol.wake_value(write_end)
        fds += (write_end,)
    try:
        process: PhaseProcess | None = None
        if before_threads:
            from claimcheck.collectors.early_spawn import spawn_before_threads

            process = spawn_before_threads(list(argv), env, str(cwd), fds)
        if process is None:
            import subprocess

            process = subprocess.Popen(list(argv), cwd=str(cwd), env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       pass_fds=fds)
    except BaseException:
        if read_end is not None:
            os.close(read_end)
        raise
    finally:
        if write_end is not None:
            os.close(write_end)
    if read_end is not None:
        os.set_blocking(read_end, False)
    return process, read_end


def start_ahead(phase: PhaseConfig, config: Config) -> None:
    """Start `phase` now, before the event loop, the runner or Textual are imported.

    The runner takes this process over when it runs `phase` with no extra arguments or
    environment (`take_started`); should it never do so, `abandon_started` ends it. Any
    problem (an interpreter that is no program, a spawn that fails) is left for the runner
    to meet and report as it always does: nothing is started then.

    A process `remembered_start` started before the config was read is this one if its
    command is exactly the one built here (argv, environment, folder), or, for a first run's
    pytest, if the command is its interpreter's `-m pytest` in its folder and environment: it
    is let through its gate; otherwise it is ended, having run none of the project's code,
    and this one spawned. Either way this command is remembered for the next start.
    """
    global _started
    if _started is not None:
        return
    try:
        check_interpreter(config)
    except EnvironmentProblem:
        _start_nothing()
        return
    held = remembered_start.held()
    stream_dir = held.started.stream_dir if held is not None else make_stream_dir()
    argv, environ = build_command(phase, config, stream_dir=stream_dir)
    if held is not None:
        _started = remembered_start.confirm(phase.name, argv, environ, str(config.root))
        if _started is None:
            stream_dir = make_stream_dir()  # the held one went with its process
            argv, environ = build_command(phase, config, stream_dir=stream_dir)
    if _started is None:
        started_at, clock = time.time(), time.monotonic()
        try:
            process, wake = spawn(argv, environ, config.root, wake=phase.pytest is not None,
                                  before_threads=True)
        except OSError:
            import shutil

            shutil.rmtree(stream_dir, ignore_errors=True)
            remembered_start.forget()
            return
        _started = StartedPhase(phase.name, argv, stream_dir, process, wake, started_at, clock)
    if _may_remember(phase, config, argv):
        remembered_start.remember(phase.name, argv, str(config.root))
    else:
        remembered_start.forget()


def _may_remember(phase: PhaseConfig, config: Config, argv: Sequence[str]) -> bool:
    """Only what needs no secret: a pytest phase with no `env` of its own (the rest of its
    environment is claimcheck's, taken afresh at each start), no secret in its arguments."""
    if phase.pytest is None or phase.env:
        return False
    return not any(secret and secret in arg for secret in config.secrets for arg in argv)


def start_first_ahead(config: Config, phase_names: Sequence[str] | None,
                      services_only: bool = False) -> None:
    """`start_ahead` the first of the selected phases when nothing comes before it: no service
    to probe first (a phase may require one), a phase selected, a valid selection (an unknown
    name is left for the run to report). A remembered start that is not this one is ended."""
    from claimcheck.collectors.config import ConfigError, select_phases

    if services_only or config.services:
        _start_nothing()
        return
    try:
        phases = select_phases(config, phase_names or None)
    except ConfigError:
        phases = ()
    if phases:
        start_ahead(phases[0], config)
    else:
        _start_nothing()


def _start_nothing() -> None:
    """This run starts no phase ahead: nor does a remembered start, now or next time."""
    remembered_start.discard()
    remembered_start.forget()


def take_started(phase: PhaseConfig, extra_args: Sequence[str],
                 env: Mapping[str, str] | None) -> StartedPhase | None:
    """The process `start_ahead` started for `phase`, handed over once, if it is the one this
    run of `phase` would start; one started for another run is ended."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    if started.phase == phase.name and not extra_args and env is None:
        return started
    _end(started)
    return None


def run_started_at(now: float, first_phase: str | None) -> float:
    """When a run starting `now` with `first_phase` began: when that phase's process was
    started ahead of it (`start_ahead`, or before the config was read), if it was, so the
    run's time is never shorter than its first phase's."""
    started = _started
    if started is not None and started.phase == first_phase:
        return min(now, started.started_at)
    return now


def abandon_started() -> None:
    """End the process `start_ahead` started, if the runner never took it over (a run
    stopped before its first phase), and one `remembered_start` still holds: no pytest
    outlives claimcheck."""
    global _started
    started, _started = _started, None
    remembered_start.discard()
    if started is not None:
        _end(started)


def _end(started: StartedPhase) -> None:
    from claimcheck.collectors.phase_process import end_phase_tree

    end_phase_tree(started.process.pid)
    reap_started(started)


def reap_started(started: StartedPhase) -> None:
    """After its process tree was ended: reap it, close its pipe, remove its stream folder."""
    import shutil

    started.process.wait()
    if started.process.stdout is not None:
        started.process.stdout.close()
    close_wake(started.wake)
    shutil.rmtree(started.stream_dir, ignore_errors=True)


def close_wake(fd: int | None) -> None:
    """Close a wake pipe's read end (`spawn`), if there is one."""
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
