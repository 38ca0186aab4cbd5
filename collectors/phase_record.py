"""The fold of a phase's stream into events as they arrive and, at the end, one `PhaseRun`.

claimcheck's plugin (`collectors/_plugin/claimcheck_stream.py`) is the one record of a run: it
writes one `test` line per node id, already folded in pytest's own outcome categories. This
module follows those files while the phase runs (`StreamTail`), turns each line into a model
event (`PhaseRecord.handle`), and builds the `PhaseRun` when the phase is over
(`PhaseRecord.build`), adding what only the end can tell: the test a dead or timed-out
session was running, named from the plugin's `.running` file.

Pure apart from reading the stream folder; the process it reads from is `pytest_run`'s.
"""

from __future__ import annotations

import collections
import json
import os
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from claimcheck.collectors._plugin import claimcheck_protocol as protocol
from claimcheck.collectors._plugin.claimcheck_protocol import Key as K
from claimcheck.collectors.judge import judge_status
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    Interruption,
    PhaseEvent,
    PhaseRun,
    PytestSession,
    PytestSettings,
    SubtestCounts,
    TestFinished,
    TestResult,
    TestsCollected,
    WarningRecord,
    WarningRecorded,
)


class StreamTail:
    """Follows every stream file in the stream folder, yielding complete lines only."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.files: dict[str, tuple[Any, bytearray]] = {}
        self.closed = False

    def poll(self) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        if self.closed:
            return events  # reopening would read every line again
        suffix = protocol.STREAM_SUFFIX
        try:
            names = sorted(name for name in os.listdir(self.directory) if name.endswith(suffix))
        except OSError:
            names = []
        for name in names:
            if name not in self.files:
                try:
                    self.files[name] = (open(os.path.join(self.directory, name), "rb",
                                             buffering=0), bytearray())
                except OSError:
                    continue
        for name, (handle, buffer) in self.files.items():
            chunk = protocol.read_appended(handle)
            if not chunk:
                continue
            buffer += chunk
            end = buffer.rfind(b"\n")
            if end < 0:
                continue
            complete = bytes(buffer[: end + 1])
            del buffer[: end + 1]
            for line in complete.splitlines():
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    events.append((name[: -len(suffix)], event))
        return events

    def close(self) -> None:
        self.closed = True
        for handle, _ in self.files.values():
            handle.close()
        self.files.clear()


@dataclass
class _Session:
    key: str
    pid: int
    settings: PytestSettings | None = None
    exit_status: int | None = None
    collected: int = 0
    deselected: int = 0
    xdist_workers: int = 0
    collect_error_reports: int | None = None
    finish_seen: bool = False
    errors: list[CollectionError] = field(default_factory=list)
    deselected_ids: list[str] = field(default_factory=list)
    interruption: Interruption | None = None


class PhaseRecord:
    """Everything observed so far, turned into events and, at the end, a PhaseRun."""

    def __init__(self, name: str, root: Path, emit: Callable[[PhaseEvent], None],
                 stream_dir: str | None = None) -> None:
        self.name = name
        self.emit = emit
        self.roots = _roots(root)
        self.stream_dir = stream_dir
        self.sessions: dict[str, _Session] = {}
        self.tests: list[TestResult] = []
        self.warnings: list[WarningRecord] = []
        self.recovered: set[str] = set()  # sessions whose `.running` file was read
        # Set once claimcheck starts killing the phase for its timeout: a pytest-xdist worker
        # "crash" reported from then on is that kill, and its test was still running.
        self.timed_out_after: float | None = None

    def handle(self, key: str, event: dict[str, Any]) -> None:
        kind = event.get(K.EVENT)
        session = self.sessions.get(key)
        if kind == protocol.SESSION_START:
            self.sessions[key] = _Session(key=key, pid=int(event.get(K.PID) or 0),
                                          settings=_settings(event))
            return
        if session is None:  # a file without its start line: keep what it says anyway
            session = self.sessions[key] = _Session(key=key, pid=_pid_of(key))
        if kind == protocol.TEST:
            result = self._result(event)
            if self.timed_out_after is not None and result.when == WORKER_LOST:
                message = _death_message(None, self.timed_out_after, False)
                result = replace(result, message=message, longrepr=message, crashed=True)
            self.tests.append(result)
            self.emit(TestFinished(self.name, result))
        elif kind == protocol.COLLECTION_FINISH:
            session.collected = int(event.get(K.COLLECTED) or 0)
            session.deselected = int(event.get(K.DESELECTED) or 0)
            self.emit(TestsCollected(self.name, session.collected, session.deselected,
                                     session.settings))
        elif kind == protocol.COLLECT_ERROR:
            error = CollectionError(
                path=str(event.get(K.NODEID) or ""),
                error_type=str(event.get(K.ERROR_TYPE) or "Error"),
                message=str(event.get(K.MESSAGE) or ""),
                longrepr=str(event.get(K.LONGREPR) or ""),
            )
            session.errors.append(error)
            self.emit(CollectionErrored(self.name, error))
        elif kind == protocol.WARNING:
            warning = WarningRecord(
                category=str(event.get(K.CATEGORY) or "Warning"),
                message=str(event.get(K.MESSAGE) or ""),
                path=self._relative(event.get(K.FILENAME)),
                line=_int(event.get(K.LINENO)),
                nodeid=event.get(K.NODEID) or None,
            )
            self.warnings.append(warning)
            self.emit(WarningRecorded(self.name, warning))
        elif kind == protocol.DESELECTED:
            session.deselected_ids = [str(nodeid) for nodeid in event.get(K.IDS) or ()]
        elif kind == protocol.INTERRUPTED:
            session.interruption = Interruption(
                kind=str(event.get(K.KIND) or "keyboard-interrupt"),
                message=_text(event.get(K.MESSAGE)),
                returncode=_int(event.get(K.RETURNCODE)),
                path=self._relative(event.get(K.PATH)),
                line=_int(event.get(K.LINE)),
                unfinished=tuple(str(nodeid) for nodeid in event.get(K.UNFINISHED) or ()),
                worker=_text(event.get(K.WORKER)),
            )
        elif kind == protocol.SESSION_FINISH:
            session.exit_status = _int(event.get(K.EXITSTATUS))
            if _int(event.get(K.INTERNAL_ERRORS)) and session.exit_status in (0, 1, 5):
                # An xdist worker's INTERNALERROR reaches the controller's
                # pytest_internalerror and leaves the session's status as it was (0, with no
                # test run): the session had pytest's internal error, status 3.
                session.exit_status = 3
            if event.get(K.COLLECTED) is not None:
                session.collected = int(event[K.COLLECTED])
            if event.get(K.DESELECTED) is not None:
                session.deselected = int(event[K.DESELECTED])
            session.xdist_workers = int(event.get(K.XDIST_WORKERS) or 0)
            session.collect_error_reports = _int(event.get(K.COLLECT_ERROR_REPORTS))
            session.finish_seen = True

    def _result(self, event: dict[str, Any]) -> TestResult:
        nodeid = str(event.get(K.NODEID) or "")
        path = event.get(K.PATH)
        subtests = event.get(K.SUBTESTS)
        return TestResult(
            nodeid=nodeid,
            outcome=str(event.get(K.OUTCOME) or "error"),
            phase=self.name,
            duration_s=float(event.get(K.DURATION) or 0.0),
            message=event.get(K.MESSAGE),
            path=self._relative(path) if path else nodeid.split("::", 1)[0] or None,
            line=_int(event.get(K.LINE)),
            longrepr=event.get(K.LONGREPR),
            sections=tuple((str(title), str(text)) for title, text in
                           event.get(K.SECTIONS) or ()),
            markers=tuple(str(name) for name in event.get(K.MARKERS) or ()),
            when=str(event.get(K.WHEN) or "call"),
            reruns=_int(event.get(K.RERUNS)) or 0,
            subtests=(SubtestCounts(*(int(n) for n in subtests[:3]))
                      if isinstance(subtests, list) and len(subtests) >= 3 else None),
        )

    def settled_status(self) -> int | None:
        """The exit status of the phase's only session once its evidence is complete, else None.

        Complete means the plugin's `session_finish` line has been read: the plugin writes it
        after every plain `pytest_sessionfinish`, so every test's line came before it.
        """
        if len(self.sessions) != 1:
            return None
        (session,) = self.sessions.values()
        if not session.finish_seen or session.exit_status is None:
            return None
        if session.exit_status not in (0, 1):
            # Only a session that ran its tests to the end settles the phase before its process
            # exits (a large run's teardown takes seconds). pytest prints a usage error after
            # its session ended, and an internal error (an xdist worker's included: see
            # `handle`) may still sit in its output buffer: for those, the process's exit and
            # its output tail say what happened. They end at once anyway, having run nothing
            # that tears down slowly.
            return None
        return session.exit_status

    def _relative(self, path: Any) -> str | None:
        if not path:
            return None
        text = str(path)
        for root in self.roots:
            if text.startswith(root):
                return text[len(root):]
        return text

    # -- the end -----------------------------------------------------------------------------

    def stopping_for_timeout(self, timeout: float) -> None:
        """Everything read so far was written before the phase's deadline; what xdist reports
        from now on about its workers comes from claimcheck killing them."""
        self.timed_out_after = timeout

    def recover_unfinished(self, *, exit_code: int | None, timed_out_after: float | None,
                           command: bool, cancelled: bool) -> None:
        """What a session that never finished left in its `.running` file: the results it had
        not flushed yet, and the tests it was running when it died or the phase timed out,
        each as an error of its own (pytest never reported them, and their gaps must not read
        green). Once per session: the runner calls it on its event loop before the build, so
        the events it emits come from the loop's thread."""
        if self.stream_dir is None:
            return
        for key, session in list(self.sessions.items()):
            if session.finish_seen or key in self.recovered:
                continue
            self.recovered.add(key)
            pending, running = protocol.read_running(
                os.path.join(self.stream_dir, key + protocol.RUNNING_SUFFIX))
            seen = {test.nodeid for test in self.tests}
            for line in pending:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict) or event.get(K.NODEID) in seen and \
                        event.get(K.EVENT) == protocol.TEST:
                    continue  # flushed after all, just before the end
                self.handle(key, event)
            if cancelled:
                continue  # claimcheck stopped it: the running test is not to blame
            seen = {test.nodeid for test in self.tests}
            message = _death_message(exit_code, timed_out_after, command)
            for nodeid in running:
                if nodeid in seen:
                    continue
                seen.add(nodeid)
                result = TestResult(nodeid=nodeid, outcome="error", phase=self.name,
                                    message=message, path=nodeid.split("::", 1)[0] or None,
                                    longrepr=message, crashed=True)
                self.tests.append(result)
                self.emit(TestFinished(self.name, result))

    def build(self, *, argv: Sequence[str], exit_code: int | None, started_at: float,
              duration_s: float, output_tail: str, timed_out_after: float | None = None,
              cancelled: bool = False, start_error: str | None = None,
              command: bool = False) -> PhaseRun:
        self.recover_unfinished(exit_code=exit_code, timed_out_after=timed_out_after,
                                command=command, cancelled=cancelled)
        tests = self.tests
        errors = tuple(error for session in self.sessions.values() for error in session.errors)
        sessions = tuple(
            PytestSession(pid=s.pid, exit_status=s.exit_status, collected=s.collected,
                          deselected=s.deselected, xdist_workers=s.xdist_workers,
                          collect_error_reports=s.collect_error_reports)
            for s in self.sessions.values()
        )
        tally = collections.Counter(test.outcome for test in tests)
        counts = Counts(
            collected=sum(s.collected for s in sessions),
            passed=tally["passed"],
            failed=tally["failed"],
            error=tally["error"] + len(errors),
            skipped=tally["skipped"],
            xfailed=tally["xfailed"],
            xpassed=tally["xpassed"],
            deselected=sum(s.deselected for s in sessions),
        )
        interruption = next((s.interruption for s in self.sessions.values()
                             if s.interruption is not None), None)
        if start_error is not None:
            status, reason = "crashed", start_error
        else:
            status, reason = judge_status(
                counts, collection_errors=len(errors), sessions=sessions, exit_code=exit_code,
                timed_out_after=timed_out_after, cancelled=cancelled,
                interrupted_by=interruption.origin if interruption is not None else None,
                output_tail=output_tail,
            )
        dead = [test for test in tests if test.crashed]
        if status == "crashed" and dead:
            reason = f"pytest died while {dead[0].nodeid} ran ({reason})"
        settings = next((s.settings for s in self.sessions.values() if s.settings), None)
        deselected_ids = tuple(nodeid for s in self.sessions.values()
                               for nodeid in s.deselected_ids)
        return PhaseRun(
            name=self.name,
            status=status,
            exit_code=exit_code,
            duration_s=duration_s,
            counts=counts,
            tests=tuple(tests),
            collection_errors=errors,
            warnings=tuple(self.warnings),
            sessions=sessions,
            reason=reason,
            argv=tuple(argv),
            output_tail=output_tail,
            started_at=started_at,
            settings=settings,
            deselected_ids=deselected_ids,
            interruption=interruption,
        )


WORKER_LOST = "???"  # the stage pytest-xdist gives a test whose worker went down under it


def _death_message(exit_code: int | None, timed_out_after: float | None, command: bool) -> str:
    if timed_out_after is not None:
        return f"still running when the phase timed out after {seconds_text(timed_out_after)} s"
    if exit_code is not None and exit_code < 0:
        return f"the session died while this test ran: killed by {signal_name(-exit_code)}"
    if exit_code is not None and not command:
        return ("the session died while this test ran: the process exited with "
                f"{exit_code} before the test finished")
    return "the session died while this test ran: pytest ended before the test finished"


def seconds_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _settings(event: dict[str, Any]) -> PytestSettings:
    def strings(key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = event.get(key)
        return tuple(str(item) for item in value) if isinstance(value, list) else default

    return PytestSettings(
        rootdir=str(event.get(K.ROOTDIR) or ""),
        inifile=event.get(K.INIFILE) or None,
        python_files=strings(K.PYTHON_FILES, ("test_*.py", "*_test.py")),
        python_classes=strings(K.PYTHON_CLASSES, ("Test",)),
        python_functions=strings(K.PYTHON_FUNCTIONS, ("test",)),
        markers=strings(K.MARKERS),
        strict_markers=bool(event.get(K.STRICT_MARKERS)),
        testpaths=strings(K.TESTPATHS),
        args=strings(K.ARGS),
    )


def _roots(root: Path) -> tuple[str, ...]:
    candidates = [str(root.absolute()), os.path.realpath(root)]
    return tuple(dict.fromkeys(path.rstrip(os.sep) + os.sep for path in candidates))


def _pid_of(key: str) -> int:
    try:
        return int(key.split("-", 1)[0])
    except ValueError:
        return 0


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
