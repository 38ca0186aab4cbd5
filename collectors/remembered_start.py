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
KEEP_ENTRIES = 200  # the most recently written ones; older entries are removed
_FORMAT = 1  # the version of an entry's layout; another is ignored


class HeldPhase:
    """A phase's process started from a remembered command, held at its gate: what the
    runner takes over once confirmed, and what its command is compared by."""

    __slots__ = ("started", "cwd", "environ", "gate")

    def __init__(self, started: StartedPhase, cwd: str, environ: dict[str, str],
                 gate: int) -> None:
        self.started = started
        self.cwd = cwd
        self.environ = environ  # without the gate's variable, as a build of it has it
        self.gate = gate  # the write end of the gate's pipe


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
    """One file per invocation, named by a checksum of it (the file holds the invocation
    itself, so two that share a checksum never take each other's command)."""
    import zlib

    return os.path.join(folder, f"{zlib.crc32(marshal.dumps(invocation)):08x}")


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
# The start, held, and its end


def start_remembered(arguments: Sequence[str]) -> None:
    """Spawn the command this invocation started last time, held at its gate; do nothing
    when there is none, or it cannot be spawned. Called once, first thing."""
    global _invocation, _held
    folder = cache_folder()
    if folder is None or _invocation is not None:
        return
    try:
        _invocation = (sys.executable, os.getcwd(), tuple(arguments))
    except OSError:  # the current folder is gone: claimcheck reports that itself
        return
    remembered = read_entry(entry_path(folder, _invocation), _invocation)
    if remembered is None:
        return
    phase, argv, cwd = remembered
    from claimcheck.collectors import phase_command

    stream_dir = phase_command.make_stream_dir()
    environ = phase_command.phase_environ(os.environ, {}, stream_dir)
    read_end, write_end = os.pipe()
    held_environ = {**environ, phase_command.protocol.ENV_GATE: str(read_end)}
    started_at, clock = time.time(), time.monotonic()
    try:
        process, wake = phase_command.spawn(argv, held_environ, cwd, pass_fds=(read_end,),
                                            wake=True)  # a remembered phase runs pytest
    except (OSError, ValueError):
        import shutil

        os.close(write_end)
        shutil.rmtree(stream_dir, ignore_errors=True)
        return
    finally:
        os.close(read_end)
    started = phase_command.StartedPhase(phase, argv, stream_dir, process, wake, started_at,
                                         clock)
    _held = HeldPhase(started, cwd, environ, write_end)
    atexit.register(discard)  # never confirmed: ended with claimcheck


def held() -> HeldPhase | None:
    """The process held at its gate, if any."""
    return _held


def confirm(phase: str, argv: Sequence[str], environ: Mapping[str, str], cwd: str
            ) -> StartedPhase | None:
    """Open the gate when the held process runs exactly this command and hand it over;
    otherwise end it and forget its entry (None)."""
    global _held
    current = _held
    if current is None:
        return None
    started = current.started
    if (started.phase, started.argv, current.cwd, current.environ) != (
            phase, list(argv), cwd, dict(environ)):
        discard()
        return None
    _held = None
    from claimcheck.collectors._plugin.claimcheck_protocol import GATE_OPEN

    try:
        os.write(current.gate, GATE_OPEN)
    except OSError:
        pass  # it has died already: the runner meets its exit as any phase's
    finally:
        os.close(current.gate)
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
