"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half a report; no temp file is left.

    Text is UTF-8; a lone surrogate (undecodable bytes in a test name) is written as `\\udcxx`
    rather than losing the whole report to a UnicodeEncodeError.

    A stream (`/dev/stdout`, `/dev/fd/3`, a named pipe, anything under /dev or /proc) is written
    to, appending, and never replaced: as root, replacing `/dev/stdout` would swap the system's
    symlink for a regular file. A symlink's target is replaced, the link itself stays.
    """
    path = Path(path)
    if _is_stream(path):
        with open(path, "a", encoding="utf-8", errors="backslashreplace", newline="") as handle:
            handle.write(text)
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    import tempfile  # here: tempfile (with random and shutil) is ~4 ms of every start-up

    folder = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace",
                       newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _target_mode(path))
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def destination_problem(path: Path) -> str | None:
    """Why `write_atomic(path, ...)` would fail, found before a long run rather than after it:
    the folder is missing or read-only, or the path is a folder. None when it can be written.

    It creates and removes a temporary file beside the destination, which is exactly what the
    real write needs (permissions, read-only mounts, a full inode table all show).
    """
    path = Path(path)
    if _is_stream(path):
        if not os.path.exists(path):
            return "does not exist"
        return None if os.access(path, os.W_OK) else "permission denied"
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.is_dir():
        return "is a folder; expected a file path"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"folder {str(folder)!r} does not exist"
    import tempfile

    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    os.unlink(temp)
    return None


_STREAM_FOLDERS = ("/dev/", "/proc/")


def _is_stream(path: Path) -> bool:
    """A destination to write to, never to replace: a path under /dev or /proc (whatever it
    points at today: /dev/stdout may be a file when stdout is redirected), or an existing
    destination that is neither a regular file nor a folder (a pipe, a device)."""
    absolute = os.path.abspath(path)
    if absolute.startswith(_STREAM_FOLDERS):
        return True
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _target_mode(path: Path) -> int:
    """Keep an existing file's mode; a new one gets what `open()` would give it, not 0600."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
