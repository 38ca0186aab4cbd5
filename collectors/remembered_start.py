"""The first phase's pytest, started from the command the same invocation started last time,
before claimcheck has read its config, and held at a gate until the config confirms it.

A developer runs the same `claimcheck --report` in the same folder dozens of times a day, and
each time the command its first phase runs is the same. Reading the config to build that
command takes most of claimcheck's start-up (its imports above all), and pytest waits for it.
So `start_remembered`, the first thing the `claimcheck` command does, looks up what this
invocation (its folder, arguments and interpreter) started last time and spawns it at once.

That process runs pytest's own start-up, then waits at the gate in claimcheck's plugin
(`claimcheck_protocol.wait_at_gate`), before pytest loads the project's conftest files, its
installed plugins or its tests (pytest imports the plugins an ini file's `addopts` names with
`-p` before claimcheck's, so those alone may be imported by then). Once the config is read, `phase_command.start_ahead` builds the command as it
always does: if it is exactly the remembered one (argv, environment, folder) the gate opens
(`confirm`), and pytest has lost no time; if anything differs (the config, the environment,
the selection), the held process is ended, having run nothing of the project, and the new
command is spawned and remembered. A claimcheck that never confirms (a config error, an
interrupt) ends it too, and a claimcheck that dies closes the gate's pipe, which ends it.

What is remembered is the argv, the folder and the phase's name, in one small file per
invocation under `$XDG_CACHE_HOME/claimcheck/starts` (`~/.cache` without it); never an
environment: a phase with an `env` of its own, or a secret in its arguments, is not
remembered. `CLAIMCHECK_START_CACHE` names another folder, or `off` to switch this off.

With nothing remembered (a first run in a folder, a CI job on a fresh machine), what is
started instead is a first run's pytest (`_plugin/claimcheck_prestart.py`), under the
interpreter and in the folder the config most likely names (`first_run_guess`): it imports
pytest, most of pytest's start-up, and waits at its gate for the argv; `confirm` sends it
when the built command is that interpreter's `-m pytest` in that folder and environment.

This module runs before anything else of claimcheck's, so it imports only the lightest of the
standard library.
"""

from __future__ import annotations

import atexit
import marshal
import os
import sys
import time

TYPE_CHECKING = False  # typing itself is not imported on this path: it takes milliseconds
if TYPE_CHECKING:
    from typing import Any, Mapping, Sequence

    from claimcheck.collectors.phase_command import StartedPhase

ENV_CACHE = "CLAIMCHECK_START_CACHE"  # the folder of remembered starts, or "off"
PRESTART_MODULE = "claimcheck_prestart"  # a first run's pytest, in collectors/_plugin
KEEP_ENTRIES = 200  # the most recently written ones; older entries are removed
_FORMAT = 1  # the version of an entry's layout; another is ignored


class HeldPhase:
    """A phase's process started before the config was read (a remembered command, or a
    first run's pytest), held at its gate: what the runner takes over once confirmed, and
    what its command is compared by."""

    __slots__ = ("started", "cwd", "environ", "gate", "prestarted")

    def __init__(self, started: StartedPhase, cwd: str, environ: dict[str, str],
                 gate: int, prestarted: bool = False) -> None:
        self.started = started
        self.cwd = cwd
        self.environ = environ  # without the gate's variable, as a build of it has it
        self.gate = gate  # the write end of the gate's pipe
        # A first run's pytest (`claimcheck_prestart`): it runs `python -m pytest` with the
        # arguments sent at its gate; `started.argv` is that prefix until then.
        self.prestarted = prestarted


_invocation: tuple[str, str, tuple[str, ...]] | None = None  # (interpreter, folder, arguments)
_held: HeldPhase | None = None


# ----------------------------------------------------------------------------------------
# Where starts are remembered


def cache_folder(environ: Mapping[str, str] = os.environ) -> str | None:
    """The folder of remembered starts; None when switched off."""
    chosen = environ.get(ENV_CACHE, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return chosen
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "claimcheck", "starts")


def entry_path(folder: str, invocation: tuple[str, str, tuple[str, ...]]) -> str:
    """One file per invocation, named by a checksum of its text (the file holds the invocation
    itself, so two that share a checksum never take each other's command).

    The text is `repr`'s, which is the same for equal invocations. marshal's bytes are not:
    they mark a string that other objects also hold, so the name computed at the start and
    the one computed when the run remembers its command (the parsed arguments holding the
    same strings by then) differed, and no remembered start was ever found for many
    command lines (`--config FILE --project .`, for one)."""
    import zlib

    text = repr(invocation).encode("utf-8", "backslashreplace")
    return os.path.join(folder, f"{zlib.crc32(text):08x}")


def read_entry(path: str, invocation: tuple[str, str, tuple[str, ...]]
               ) -> tuple[str, list[str], str] | None:
    """(phase, argv, folder) remembered for `invocation`, or None: no entry, another
    invocation's, another layout, or anything unreadable."""
    try:
        with open(path, "rb") as handle:
            entry: Any = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(entry, tuple) or len(entry) != 5 or entry[0] != _FORMAT:
        return None
    _, key, phase, argv, cwd = entry
    if (key != invocation or not isinstance(phase, str) or not isinstance(cwd, str)
            or not isinstance(argv, list) or not argv
            or not all(isinstance(part, str) for part in argv)):
        return None
    return phase, argv, cwd


def write_entry(path: str, invocation: tuple[str, str, tuple[str, ...]], phase: str,
                argv: Sequence[str], cwd: str) -> None:
    """Written whole or not at all (a temporary file renamed over the entry); a folder that
    cannot be written leaves things as they were."""
    data = marshal.dumps((_FORMAT, invocation, phase, list(argv), cwd))
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


# ----------------------------------------------------------------------------------------
# A first run: where its pytest most likely runs

# What makes an invocation run no phase: `tui/cli.py`'s sub-commands and the options that
# stop before a run (a test holds this to the parser).
NO_PHASE_ARGUMENTS = frozenset({
    "-h", "--help", "--version", "--open", "--services-only",
    "demo", "init", "merge", "map", "serve", "verify", "show", "claim", "claims", "history",
})


def first_run_guess(arguments: Sequence[str], cwd: str) -> tuple[str, str] | None:
    """(interpreter, folder) the first phase of an invocation that remembers nothing most
    likely runs pytest with: the config's `python` (`--config FILE`, or `[tool.claimcheck]` in
    the project's pyproject.toml) or this interpreter, in the project's folder (`--project`,
    or here). None when it runs no phase, or the config cannot be read.

    A guess, read with a glance at the file and no TOML parser: the command built from the
    config confirms it or ends it (`confirm`), so a wrong guess costs only its start."""
    project, config = cwd, None
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        if argument in NO_PHASE_ARGUMENTS:
            return None
        name, equals, value = argument.partition("=")
        if name in ("--project", "--config"):
            if not equals:
                position += 1
                if position == len(arguments):
                    return None
                value = arguments[position]
            if name == "--project":
                project = os.path.join(cwd, value)
            else:
                config = os.path.join(cwd, value)
        position += 1
    folder = os.path.realpath(project)
    path = config if config is not None else os.path.join(folder, "pyproject.toml")
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except FileNotFoundError:
        return (sys.executable, folder) if config is None else None
    except (OSError, UnicodeDecodeError):
        return None
    python = config_python(text, None if config is not None else "tool.claimcheck")
    if python is None:
        return sys.executable, folder  # the config's default
    if not python:
        return None
    return _as_config_reads(python, folder), folder


def config_python(text: str, table: str | None) -> str | None:
    """The value of a plain `python = "..."` line in `table` of a TOML text (None: its top
    level): None without one, "" when it is not a Python interpreter's path or name (python3,
    pypy3.10...) or not plainly written."""
    inside = table is None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            if table is None:
                return None
            inside = stripped.split("#", 1)[0].strip() == f"[{table}]"
            continue
        key, equals, value = stripped.partition("=")
        if inside and equals and key.strip() == "python":
            return _plain_python(value.strip())
    return None


def _plain_python(value: str) -> str:
    """A quoted TOML string naming a Python interpreter, unquoted; "" for anything else."""
    quote = value[:1]
    end = value.find(quote, 1) if quote in ('"', "'") else -1
    if end < 0 or value[end + 1:].strip()[:1] not in ("", "#"):
        return ""
    python = value[1:end]
    if (quote == '"' and "\\" in python) or "$" in python:
        return ""
    name = python.rsplit("/", 1)[-1]
    for prefix in ("python", "pypy"):
        if name.startswith(prefix) and not name[len(prefix):].strip("0123456789."):
            return python
    return ""


def _as_config_reads(python: str, folder: str) -> str:
    """The interpreter as `config._interpreter` leaves it: a path relative to the project's
    folder, or a bare name as written."""
    if "/" not in python:
        return python
    parts = [part for part in python.split("/") if part not in ("", ".")]
    if python.startswith("/"):
        return "/" + "/".join(parts)
    return os.path.join(folder, *parts)


# ----------------------------------------------------------------------------------------
# The start, held, and its end


def start_remembered(arguments: Sequence[str]) -> None:
    """Spawn the command this invocation started last time, held at its gate; without one, a
    first run's pytest (`first_run_guess`), which imports pytest and waits for its arguments.
    Nothing when neither applies or the spawn fails. Called once, first thing."""
    global _invocation
    folder = cache_folder()
    if folder is None or _invocation is not None:
        return
    try:
        _invocation = (sys.executable, os.getcwd(), tuple(arguments))
    except OSError:  # the current folder is gone: claimcheck reports that itself
        return
    remembered = read_entry(entry_path(folder, _invocation), _invocation)
    if remembered is not None:
        phase, argv, cwd = remembered
        _spawn_held(phase, argv, cwd)
        return
    guess = first_run_guess(arguments, _invocation[1])
    if guess is not None:
        python, cwd = guess
        _spawn_held("", [python, "-m", "pytest"], cwd, prestarted=True)


def _spawn_held(phase: str, argv: list[str], cwd: str, *, prestarted: bool = False) -> None:
    """Spawn `argv` with a phase's environment, held at its gate as `phase`; `prestarted`:
    spawn `claimcheck_prestart` instead, which runs `argv` with the arguments sent at its
    gate."""
    global _held
    from claimcheck.collectors import phase_command

    protocol = phase_command.protocol
    stream_dir = phase_command.make_stream_dir()
    environ = phase_command.phase_environ(os.environ, {}, stream_dir)
    read_end, write_end = os.pipe()
    gate_variable = protocol.ENV_PRESTART if prestarted else protocol.ENV_GATE
    held_environ = {**environ, gate_variable: str(read_end)}
    spawned = [argv[0], "-m", PRESTART_MODULE] if prestarted else argv
    started_at, clock = time.time(), time.monotonic()
    try:
        process, wake = phase_command.spawn(spawned, held_environ, cwd, pass_fds=(read_end,),
                                            wake=True,  # a held phase runs pytest
                                            before_threads=True)
    except (OSError, ValueError):
        import shutil

        os.close(write_end)
        shutil.rmtree(stream_dir, ignore_errors=True)
        return
    finally:
        os.close(read_end)
    started = phase_command.StartedPhase(phase, argv, stream_dir, process, wake, started_at,
                                         clock)
    _held = HeldPhase(started, cwd, environ, write_end, prestarted)
    atexit.register(discard)  # never confirmed: ended with claimcheck


def held() -> HeldPhase | None:
    """The process held at its gate, if any."""
    return _held


def confirm(phase: str, argv: Sequence[str], environ: Mapping[str, str], cwd: str
            ) -> StartedPhase | None:
    """Open the gate when the held process runs exactly this command and hand it over;
    otherwise end it and forget its entry (None). A first run's pytest runs any pytest
    command of its interpreter: it is sent `argv` at its gate."""
    global _held
    current = _held
    if current is None:
        return None
    started = current.started
    if current.prestarted:
        same = list(argv[:3]) == started.argv  # [python, "-m", "pytest"]
    else:
        same = (phase, list(argv)) == (started.phase, started.argv)
    if not same or (current.cwd, current.environ) != (cwd, dict(environ)):
        discard()
        return None
    _held = None
    from claimcheck.collectors._plugin.claimcheck_protocol import GATE_OPEN

    word = GATE_OPEN + os.fsencode("\0".join(argv)) if current.prestarted else GATE_OPEN
    try:
        while word:
            word = word[os.write(current.gate, word):]
    except OSError:
        pass  # it has died already: the runner meets its exit as any phase's
    finally:
        os.close(current.gate)
    started.phase, started.argv = phase, list(argv)
    return started


def discard() -> None:
    """End the held process, if any (it has run nothing of the project), remove its stream
    folder and forget this invocation's entry: what it remembered was not what ran."""
    global _held
    current, _held = _held, None
    if current is None:
        return
    import signal

    from claimcheck.collectors.phase_command import reap_started

    os.close(current.gate)  # a process not yet at the gate ends when it gets there
    try:
        # Its own session, and nothing else in it: it ran no code that could start any.
        os.killpg(current.started.process.pid, signal.SIGKILL)
    except OSError:
        pass
    reap_started(current.started)
    forget()


def remember(phase: str, argv: Sequence[str], cwd: str) -> None:
    """Remember what this invocation's first phase ran, for its next start."""
    folder = cache_folder()
    if folder is None or _invocation is None:
        return
    path = entry_path(folder, _invocation)
    if read_entry(path, _invocation) != (phase, list(argv), cwd):
        write_entry(path, _invocation, phase, argv, cwd)
        prune(folder)


def prune(folder: str, keep: int = KEEP_ENTRIES) -> None:
    """Only the `keep` most recently written entries stay (a folder per test run in CI, a
    temporary project per demo: each leaves one)."""
    try:
        entries = [entry for entry in os.scandir(folder) if entry.is_file()]
    except OSError:
        return
    if len(entries) <= keep:
        return

    def written(entry: os.DirEntry[str]) -> float:
        try:
            return entry.stat().st_mtime
        except OSError:
            return 0.0

    for entry in sorted(entries, key=written)[:len(entries) - keep]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def forget() -> None:
    """This invocation's next start reads the config first."""
    folder = cache_folder()
    if folder is None or _invocation is None:
        return
    path = entry_path(folder, _invocation)
    if read_entry(path, _invocation) is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
