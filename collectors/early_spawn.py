"""The first phase's process, spawned before claimcheck starts a thread (`remembered_start`,
before anything else is imported; `phase_command.start_ahead`, once the config is read), with
`os.posix_spawn` instead of `subprocess.Popen`.

`subprocess` imports locale, re, enum, signal, threading and selectors: about 11 ms on this
kind of machine, half of claimcheck's start-up before a remembered pytest is spawned, and
pytest waits for them. What is spawned here is what `phase_command.spawn` asks of Popen (its
own session, stdin on /dev/null, stdout and stderr on one pipe, no file descriptor but
`pass_fds` and the three standard ones, SIGPIPE and SIGXFSZ back to their defaults, the
executable looked up on the child's PATH, in its folder), and `EarlySpawned` is the part of
Popen the runner uses (`pid`, `returncode`, `wait`, `stdout`).

posix_spawn cannot change the child's folder, so claimcheck's own changes around it, which only
a process without other threads may do; where a thread exists, or the spawn cannot be done as
Popen would, `phase_command.spawn` uses Popen.
"""

from __future__ import annotations

import _signal  # the C module: `signal` itself imports enum
import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Sequence

# Popen's `restore_signals`: Python ignores these at start-up, and an ignored signal stays
# ignored across exec.
_RESTORED_SIGNALS = tuple(getattr(_signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ")
                          if hasattr(_signal, name))


class EarlySpawned:
    """A process spawned here, as the runner uses a `subprocess.Popen`."""

    __slots__ = ("pid", "returncode", "stdout", "_lock")

    def __init__(self, pid: int, stdout_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = open(stdout_fd, "rb", buffering=0)  # noqa: SIM115 - closed by its reader
        self._lock = _thread.allocate_lock()  # one waiter reaps, as Popen's wait does

    def wait(self) -> int:
        """Its exit status once it has exited, as Popen's: -N for a signal N."""
        with self._lock:
            if self.returncode is None:
                try:
                    _, status = os.waitpid(self.pid, 0)
                except ChildProcessError:
                    status = 0  # reaped elsewhere (SIGCHLD ignored): Popen says 0 too
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def spawn_before_threads(argv: Sequence[str], environ: Mapping[str, str], cwd: str,
                         pass_fds: Sequence[int] = ()) -> EarlySpawned | None:
    """Spawn `argv` in `cwd` with exactly `environ`; OSError as Popen raises it (a missing or
    not executable program, a missing folder). None where this cannot be done as Popen would
    (no posix_spawn, or a libc that cannot start a session, or this process's own stdout or
    stderr closed, so the pipe would take their place) or should not be (this process has
    started a thread, and the spawn changes its folder for a moment): Popen's turn."""
    # `_thread._count()`: the threads this process started that still run (threading's own
    # count, without importing threading). One of them might meet the changed folder.
    if not hasattr(os, "POSIX_SPAWN_DUP2") or _thread._count():
        return None
    try:
        here = os.getcwd()
    except OSError:
        return None  # this process's own folder is gone, which Popen does not mind
    if cwd != here:
        os.chdir(cwd)  # a missing folder: FileNotFoundError, as Popen's
    try:
        return _spawn_here(argv, environ, pass_fds)
    finally:
        if cwd != here:
            os.chdir(here)


def _spawn_here(argv: Sequence[str], environ: Mapping[str, str],
                pass_fds: Sequence[int]) -> EarlySpawned | None:
    executable = find_executable(argv[0], environ)
    read_end, write_end = os.pipe()  # both close-on-exec: the child has the copies below
    if min(read_end, write_end) <= 2:
        os.close(read_end)
        os.close(write_end)
        return None
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_DUP2, write_end, 2)]
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in inherited_fds(keep=(*pass_fds, 0, 1, 2))]
    passed = [fd for fd in pass_fds if not os.get_inheritable(fd)]
    try:
        for fd in passed:
            os.set_inheritable(fd, True)
        pid = os.posix_spawn(executable, list(argv), dict(environ), file_actions=actions,
                             setsid=True, setsigdef=_RESTORED_SIGNALS)
    except NotImplementedError:
        os.close(read_end)
        return None
    except BaseException:
        os.close(read_end)
        raise
    finally:
        for fd in passed:
            os.set_inheritable(fd, False)
        os.close(write_end)
    return EarlySpawned(pid, read_end)


def find_executable(program: str, environ: Mapping[str, str]) -> str:
    """`program` as exec would run it from the child's PATH (`environ`'s), as Popen looks it
    up: a name with a slash as it is, else the first executable file of that name on PATH.
    (`shutil.which` with that PATH answers the same for a bare name, but importing shutil
    brings re, fnmatch, bz2 and lzma: 8.7 ms before this spawn, measured, where the whole
    start-up to it is about 12.)"""
    if os.sep in program:
        return program
    for folder in os.get_exec_path(dict(environ)):
        candidate = os.path.join(folder, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(2, "No such file or directory", program)


def inherited_fds(keep: Sequence[int]) -> list[int]:
    """The file descriptors a child would inherit besides `keep` (Popen's `close_fds` closes
    them): none that Python opened, which it opens close-on-exec, but maybe some this process
    inherited itself."""
    try:
        names = os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd")
    except OSError:
        return []
    found = []
    for name in names:
        fd = int(name)
        if fd in keep:
            continue
        try:
            if os.get_inheritable(fd):
                found.append(fd)
        except OSError:
            continue  # the listing's own descriptor, closed by now
    return found
