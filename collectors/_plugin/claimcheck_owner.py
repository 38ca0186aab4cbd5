"""The owner watch of claimcheck's plugin: a phase never outlives the claimcheck that runs it.

A claimcheck killed with SIGKILL (or by the OOM killer) runs no clean-up, and its phase would go
on running, a hanging test forever, its stream folder left in the temporary folder with raw
messages, captured output, maybe secrets. The phase runs in its own process group (claimcheck
starts it in a new session), so ending that group ends the phase: pytest, its xdist workers, a
project's runner around it, whatever the tests started. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time

try:
    from . import claimcheck_protocol as protocol
except ImportError:  # loaded as a top-level module, this folder on sys.path
    import claimcheck_protocol as protocol  # type: ignore[no-redef]

OWNER_POLL_S = 0.5

_owner_watched = False


def watch_owner_once(raw_pid: str, directory: str) -> None:
    global _owner_watched
    if _owner_watched or not raw_pid.isdigit() or not hasattr(os, "killpg"):
        return
    _owner_watched = True
    thread = threading.Thread(target=_end_group_when_owner_dies,
                              args=(int(raw_pid), os.getppid(), directory),
                              name="claimcheck-owner-watch", daemon=True)
    thread.start()


def owner_gone(owner: int, first_parent: int) -> bool:
    """Whether the claimcheck with pid `owner` has died (a zombie counts as dead)."""
    if first_parent == owner and os.getppid() != owner:
        return True  # re-parented: the owner died, and its pid may already be someone else's
    return not protocol.pid_alive(owner)


def _end_group_when_owner_dies(owner: int, first_parent: int, directory: str) -> None:
    while not owner_gone(owner, first_parent):
        time.sleep(OWNER_POLL_S)
    remove_stream_folder(directory)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)


def remove_stream_folder(directory: str) -> None:
    """Raw messages, captured output, maybe secrets: nobody will read them any more."""
    if os.path.basename(os.path.normpath(directory)).startswith(protocol.FOLDER_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
