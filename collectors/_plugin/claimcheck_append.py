"""The stream file, appended to through a shared memory mapping: no system call per line.

A line copied into a `MAP_SHARED` mapping of a file is in the kernel's page cache the moment
it is copied: a reader that `read()`s the file sees it at once, and it stays there whatever
happens to this process next (os._exit, a segfault, SIGKILL), exactly as a line handed to
`write()` does. A `write()` per line was 4 to 5 us of the plugin's 35 us per test on this
machine, a copy into the mapping is a fraction of one.

The file is reserved ahead of the lines (`posix_fallocate`, doubling from `FIRST_SIZE`), so a
copy never has to allocate disk space: a full disk is an error from `posix_fallocate`, which
falls back to `pwrite`, never a SIGBUS inside the project's test run. Where the mapping or the
reservation is not available (no `posix_fallocate`, as on macOS; a file system that refuses),
every line goes out with one `pwrite`, as before.

Until `close()` cuts the file to its lines, the reserved part past the last line is zero bytes:
a reader takes the file up to its first zero byte (`claimcheck_protocol.read_appended`). Each
line's newline is copied after the rest of it, and a JSON line holds no zero byte, so a reader
that finds a newline before the first zero byte has the whole line.

Standard library only, like the rest of the plugin.
"""

from __future__ import annotations

import contextlib
import mmap
import os

FIRST_SIZE = 1 << 20  # bytes reserved at the first line; doubled whenever the lines reach it


class AppendFile:
    """One stream file, opened at the first line. Not thread-safe: the caller holds a lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.mapped: mmap.mmap | None = None
        self.reserved = 0  # bytes of the file reserved and mapped
        self.length = 0  # bytes of lines written

    def write(self, line: bytes) -> None:
        """Append one line (ending in a newline). Raises OSError as `pwrite` would."""
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        end = self.length + len(line)
        if end > self.reserved and not self._reserve(end):
            self._pwrite(line)
            return
        mapped = self.mapped
        mapped[self.length:end - 1] = line[:-1]
        mapped[end - 1] = 10  # the newline last: a reader never takes half a line
        self.length = end

    def _reserve(self, end: int) -> bool:
        """Reserve and map at least `end` bytes; False (and no mapping any more) when the file
        cannot be: the lines then go out with `pwrite`."""
        if self.reserved < 0 or not hasattr(os, "posix_fallocate"):
            return False
        size = max(FIRST_SIZE, self.reserved * 2)
        while size < end:
            size *= 2
        self._unmap()
        try:
            os.posix_fallocate(self.fd, 0, size)
            self.mapped = mmap.mmap(self.fd, size)
        except (OSError, ValueError, OverflowError):
            self.reserved = -1  # never again: pwrite from here on
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.length)
            return False
        self.reserved = size
        return True

    def _pwrite(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            written = os.pwrite(self.fd, view, self.length)
            self.length += written
            view = view[written:]

    def _unmap(self) -> None:
        if self.mapped is not None:
            with contextlib.suppress(OSError, ValueError, BufferError):
                self.mapped.close()
            self.mapped = None

    def close(self) -> None:
        """Unmap, and cut the file to its lines (the reserved zero bytes go)."""
        self._unmap()
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.length)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
