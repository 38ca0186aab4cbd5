"""What claimcheck's plugin and claimcheck's runner agree on: names, keys, files, variables.

Both sides import this module: the plugin inside the project's pytest (as the top-level module
`claimcheck_protocol`, this folder being on PYTHONPATH, under whatever interpreter the project
uses) and the runner (as `claimcheck.collectors._plugin.claimcheck_protocol`). So it holds
constants and tiny pure functions only, imports nothing but the standard library, and runs on
every Python the plugin may meet.

The stream: every pytest session writes `<stream dir>/<pid>-<n>.jsonl`, one JSON object a line,
each with the key `event` naming one of the events below. Beside it, `<pid>-<n>.running` names
the tests that run right now (see RUNNING_*; a reader also takes stream lines written before
that record, which the plugin no longer leaves there: it writes each line to the stream at
once), rewritten in place at each test's start, so a session that dies (os._exit, SIGSEGV,
SIGKILL at a timeout) still says which test it died in, and loses none of the results before it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # claimcheck imports this module before it has imported typing or re
if TYPE_CHECKING:
    from typing import Any

# -- environment variables ------------------------------------------------------------------
ENV_DIR = "CLAIMCHECK_STREAM_DIR"  # the stream folder; the plugin does nothing without it
ENV_ADDOPTS_BEFORE = "CLAIMCHECK_ADDOPTS_BEFORE"  # PYTEST_ADDOPTS before claimcheck's options
ENV_OWNER = "CLAIMCHECK_OWNER_PID"  # the claimcheck that runs the phase: its death ends it
ENV_GATE = "CLAIMCHECK_GATE"  # a pipe's read end: wait here until claimcheck confirms the phase
ENV_PRESTART = "CLAIMCHECK_PRESTART"  # a pipe's read end: a first run's argv (claimcheck_prestart)
ENV_STATEMENTS = "CLAIMCHECK_STATEMENTS"  # a folder keeping test modules' statement lines
ENV_WAKE = "CLAIMCHECK_WAKE"  # "<fd>:<inode>": a pipe's write end, a byte there when a session ends
PLUGIN_NAME = "claimcheck_stream"  # `-p claimcheck_stream`
WORKER_FLAG = "claimcheck_stream"  # set in an xdist worker's workerinput

# -- files ---------------------------------------------------------------------------------
STREAM_SUFFIX = ".jsonl"
RUNNING_SUFFIX = ".running"
FOLDER_PREFIX = "claimcheck-"  # <tmp>/claimcheck-<owner pid>-<random>/
RUNNING_STARTED = b"R"  # "R<nodeid>\n": that test has started and not finished
RUNNING_BETWEEN = b"-\n"  # closes the record; alone: no test running

# -- events --------------------------------------------------------------------------------
SESSION_START = "session_start"
COLLECTION_FINISH = "collection_finish"
COLLECT_ERROR = "collect_error"
DESELECTED = "deselected"  # ids: node ids pytest collected but deselected
TEST = "test"
WARNING = "warning"
INTERRUPTED = "interrupted"  # pytest.exit() or KeyboardInterrupt inside the session
SESSION_FINISH = "session_finish"

# -- keys: see `Key` below. A `test` event: nodeid, outcome, duration, line, markers, and for a
# test someone will read: message, path, longrepr, sections, when, reruns (attempts before the
# final one), subtests ([passed, failed, skipped], absent without subtests).

# Outcome categories of pytest_report_teststatus (pytest, pytest-rerunfailures, subtests) and
# the one outcome claimcheck folds a test into. Other plugins' categories fall back on the
# report's own outcome.
CATEGORY_OUTCOMES = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}
RERUN_CATEGORY = "rerun"


class Key:
    """The keys of the stream's JSON objects (every event has `event`)."""

    EVENT = "event"
    PID = "pid"
    ROOTDIR = "rootdir"
    INIFILE = "inifile"
    PYTHON_FILES = "python_files"
    PYTHON_CLASSES = "python_classes"
    PYTHON_FUNCTIONS = "python_functions"
    MARKERS = "markers"
    STRICT_MARKERS = "strict_markers"
    TESTPATHS = "testpaths"
    ARGS = "args"
    PYTEST_VERSION = "pytest_version"
    COLLECTED = "collected"
    DESELECTED = "deselected"
    IDS = "ids"
    NODEID = "nodeid"
    ERROR_TYPE = "error_type"
    MESSAGE = "message"
    LONGREPR = "longrepr"
    OUTCOME = "outcome"
    DURATION = "duration"
    PATH = "path"
    LINE = "line"
    SECTIONS = "sections"
    WHEN = "when"
    RERUNS = "reruns"
    SUBTESTS = "subtests"
    CATEGORY = "category"
    FILENAME = "filename"
    LINENO = "lineno"
    KIND = "kind"
    RETURNCODE = "returncode"
    UNFINISHED = "unfinished"
    WORKER = "worker"
    EXITSTATUS = "exitstatus"
    XDIST_WORKERS = "xdist_workers"
    COLLECT_ERROR_REPORTS = "collect_error_reports"
    INTERNAL_ERRORS = "internal_errors"


def stream_folder_prefix(owner_pid: int) -> str:
    """The name every stream folder of the claimcheck with this pid starts with."""
    return f"{FOLDER_PREFIX}{owner_pid}-"


def folder_owner(name: str) -> int | None:
    """The owner pid in a stream folder's name, or None for a name that is not one."""
    if not name.startswith(FOLDER_PREFIX):
        return None
    digits, dash, _ = name[len(FOLDER_PREFIX):].partition("-")
    return int(digits) if dash and digits.isascii() and digits.isdigit() else None


def running_record(nodeid: str) -> bytes:
    """What the `.running` file holds while `nodeid` runs (one line, so a stale tail from a
    longer id written before is never read)."""
    return RUNNING_STARTED + nodeid.replace("\n", " ").encode("utf-8", "backslashreplace") + b"\n"


READ_SIZE = 1 << 16  # bytes read from a stream file at a time


def read_appended(handle: Any) -> bytes:
    """What a stream file holds past `handle`'s position (an unbuffered binary file): up to
    its end or its first zero byte, where the part the plugin reserved and has not written yet
    begins (claimcheck_append); the handle is left there, to read on from next time."""
    parts: list[bytes] = []
    while True:
        chunk = handle.read(READ_SIZE)
        if not chunk:
            break
        zero = chunk.find(b"\0")
        if zero >= 0:
            handle.seek(zero - len(chunk), os.SEEK_CUR)
            parts.append(chunk[:zero])
            break
        parts.append(chunk)
    return b"".join(parts)


def read_running(path: str) -> tuple[list[bytes], list[str]]:
    """What a session's `.running` file held when it was last written: the stream lines not
    yet flushed to the stream file, and the node ids of the tests that were running.

    The record is those lines ("{...}"), then one "R<nodeid>" line per running test, closed
    by a "-" line; bytes after that line are the tail of a longer record written before.
    A record without its closing line is not read at all.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return [], []
    pending: list[bytes] = []
    running: list[str] = []
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"{"):
            pending.append(line)
        elif line.startswith(RUNNING_STARTED):
            nodeid = line[len(RUNNING_STARTED):].decode("utf-8", "replace")
            if nodeid:
                running.append(nodeid)
        elif line + b"\n" == RUNNING_BETWEEN:
            return pending, running
        else:
            break
    return [], []


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, owned by another user
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


# -- the gate ------------------------------------------------------------------------------
GATE_OPEN = b"1"
GATE_CLOSED_EXIT = 70  # what a phase the gate turned back exits with (it ran nothing)


def wait_at_gate(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Hold a phase claimcheck started from the command it remembered, before pytest loads
    any of the project's code (conftest files, plugins of its own, tests), until claimcheck
    has read its config and confirmed the command: one byte `GATE_OPEN` lets it go on; the
    pipe's end (the command changed, or claimcheck is gone) ends this process at once.

    `environ` loses the variable, so neither the tests nor the processes they start see it.
    Without the variable this returns at once."""
    value = environ.pop(ENV_GATE, None)
    if value is None:
        return
    word = b""
    try:
        fd = int(value)
    except ValueError:
        fd = -1
    if fd >= 0:
        try:
            word = os.read(fd, 1)
        except OSError:
            word = b""
        finally:
            try:
                os.close(fd)
            except OSError:
                pass
    if word != GATE_OPEN:
        os._exit(GATE_CLOSED_EXIT)


# -- the wake pipe ---------------------------------------------------------------------------
WAKE_BYTE = b"!"


def wake_value(fd: int) -> str:
    """What `ENV_WAKE` holds for the write end `fd`: its number and the pipe's inode, so a
    process that did not inherit that very pipe (the same number may be another file there)
    never writes to it."""
    return f"{fd}:{os.fstat(fd).st_ino}"


def take_wake_fd(environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """The wake pipe's write end this process inherited, non-blocking, or None; `environ`
    loses the variable, so neither the tests nor the processes they start see it."""
    value = environ.pop(ENV_WAKE, None)
    if not value:
        return None
    number, _, inode = value.partition(":")
    try:
        fd = int(number)
        if os.fstat(fd).st_ino != int(inode):
            return None
        os.set_blocking(fd, False)
    except (ValueError, OSError):
        return None
    return fd


def wake(fd: int | None) -> None:
    """Tell claimcheck at once that a line it waits for is in the stream (a session ended):
    one byte, never blocking, never failing."""
    if fd is not None:
        try:
            os.write(fd, WAKE_BYTE)
        except OSError:  # claimcheck is gone (EPIPE) or has not read the pipe (EAGAIN)
            pass
