"""Run one test phase as a subprocess and report what its pytest sessions really did.

The evidence comes from inside pytest, never from its console text: claimcheck's own plugin
(`collectors/_plugin/claimcheck_stream.py`) writes one JSON line per event while the phase runs,
and pytest-json-report leaves the final per-test record when a session ends. A phase's
`command` (a project's own runner script) is observed the same way by injecting the plugin
through `PYTHONPATH` and `PYTEST_ADDOPTS`, so a runner that swallows pytest's exit status cannot
turn red tests green.

A `pytest` phase is over, as far as evidence goes, when its session's `session_finish` line
arrives: pytest-json-report's document is on disk by then. Its process may need seconds more to
tear down (pytest 8.4 runs `gc.collect()` five times at unconfigure, then the interpreter frees
the whole heap), so the PhaseRun is built at once and the process becomes a *straggler*, reaped
in the background. Whoever runs phases awaits `wait_for_stragglers()` (or `kill_stragglers()`)
before it exits, so no pytest outlives claimcheck.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import psutil
from claimcheck.collectors import procs
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.models import (
    CollectionError,
    CollectionErrored,
    Counts,
    PhaseEvent,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    PytestSession,
    PytestSettings,
    TestFinished,
    TestResult,
    TestsCollected,
    WarningRecord,
    WarningRecorded,
)
from claimcheck.collectors.refusal import pytest_refusal, refusal_reason

PLUGIN_DIR = Path(__file__).resolve().parent / "_plugin"
PLUGIN_NAME = "claimcheck_stream"
ENV_DIR = "CLAIMCHECK_STREAM_DIR"
ENV_ADDOPTS_BEFORE = "CLAIMCHECK_ADDOPTS_BEFORE"
ENV_JSON_REPORT = "CLAIMCHECK_JSON_REPORT"
ENV_OWNER = "CLAIMCHECK_OWNER_PID"  # the plugin ends the phase's process group when we die
# pytest-json-report is the final record (outcomes and crash messages as it folds them). Measured
# on 10,000 passing tests (min of 8, PYTHONDONTWRITEBYTECODE=1): bare `pytest -q` 9.88 s, with
# claimcheck's plugin alone 10.39 s (1.05x), plus json-report with claimcheck's omits 11.49 s
# (1.16x). False makes the stream alone the record; a test checks both records agree.
USE_JSON_REPORT = True
POLL_INTERVAL_S = 0.05
OUTPUT_TAIL_LINES = 200
KILL_GRACE_S = 2.0  # SIGTERM first, SIGKILL for what is still alive after this
PIPE_GRACE_S = 1.0  # after exit, how long an orphan holding our stdout may keep it open
# How long a pytest phase's process may go on tearing down after its session finished (it may be
# writing coverage data, say) before its tree is killed.
STRAGGLER_GRACE_S = 30.0
# Niceness added to a straggler's process tree: its teardown then yields the CPU to claimcheck
# judging the evidence and writing the report, which is what someone is waiting for. 0: leave it.
STRAGGLER_NICENESS = 10

# pytest's short options that take a value: in a cluster such as `-rfE` the rest is that value.
_SHORT_WITH_VALUE = frozenset("kmpcoWrn")
_VERBOSITY_LONG = ("--verbose", "--quiet", "--verbosity", "--no-summary")


class EnvironmentProblem(Exception):
    """The project's interpreter cannot run claimcheck's phases; the message says what to do."""


# ----------------------------------------------------------------------------------------
# Interpreter check

_INTERPRETER_CACHE: dict[str, str | None] = {}


def check_interpreter(config: Config) -> None:
    """Fail early, with the command to fix it, when `config.python` lacks what phases need.

    Without pytest-json-report a phase would still stream, but the final record would be
    missing; without pytest nothing runs. The answer is cached per interpreter path because
    starting an interpreter costs a noticeable fraction of a second.
    """
    python = config.python
    resolved = shutil.which(python) or python
    if resolved not in _INTERPRETER_CACHE:
        _INTERPRETER_CACHE[resolved] = _interpreter_problem(python, resolved)
    problem = _INTERPRETER_CACHE[resolved]
    if problem is not None:
        raise EnvironmentProblem(problem)


def _interpreter_problem(python: str, resolved: str) -> str | None:
    install = f"{shlex.quote(python)} -m pip install pytest pytest-json-report"
    try:
        completed = subprocess.run(
            [resolved, "-c", "import pytest, pytest_jsonreport"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        return (f"interpreter {python!r} does not exist; set tool.claimcheck.python to a Python "
                f"that has pytest, then run: {install}")
    except PermissionError:
        return f"interpreter {python!r} is not executable; check tool.claimcheck.python"
    except OSError as exc:
        return f"interpreter {python!r} cannot be started ({exc.strerror}); check tool.claimcheck.python"
    except subprocess.TimeoutExpired:
        return f"interpreter {python!r} did not answer within 60 s when importing pytest"
    if completed.returncode != 0:
        lines = completed.stdout.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {completed.returncode}"
        return (f"interpreter {python!r} cannot import pytest and pytest_jsonreport ({detail}); "
                f"run: {install}")
    return None


# ----------------------------------------------------------------------------------------
# Status


def judge_status(
    counts: Counts,
    *,
    collection_errors: int,
    sessions: Sequence[PytestSession],
    exit_code: int | None,
    timed_out_after: float | None = None,
    cancelled: bool = False,
    output_tail: str = "",
) -> tuple[str, str | None]:
    """The phase status and the reason behind it; the most serious explanation wins.

    A phase is never `passed` unless some test executed: a green without evidence is exactly
    what claimcheck exists to catch.
    """
    if cancelled:
        return "interrupted", "cancelled before the phase finished"
    if timed_out_after is not None:
        return "timeout", f"timed out after {_seconds(timed_out_after)} s"
    if exit_code is not None and exit_code < 0:
        return "crashed", f"killed by {_signal_name(-exit_code)}"
    refusal = pytest_refusal(sessions, exit_code, output_tail)
    if refusal is not None:  # pytest's usage error (exit 4): in its own words
        return "error", refusal_reason(refusal)
    unfinished = [session for session in sessions if session.exit_status is None]
    if unfinished:
        pids = ", ".join(str(session.pid) for session in unfinished)
        return "crashed", f"pytest session (pid {pids}) started but never finished"
    if any(session.exit_status == 3 for session in sessions):
        return "crashed", "pytest internal error (exit status 3)"
    if not sessions and exit_code not in (0, None):
        return "crashed", f"command exited with {exit_code} before any pytest session started"
    test_errors = counts.error - collection_errors
    if counts.failed or test_errors > 0:
        return "failed", None
    if collection_errors:
        noun = "error" if collection_errors == 1 else "errors"
        return "error", f"{collection_errors} collection {noun}"
    if any(session.exit_status == 2 for session in sessions):
        return "interrupted", "pytest was interrupted (exit status 2)"
    if not sessions:
        return "no-tests", "no pytest session observed"
    if counts.collected == 0:
        return "no-tests", "nothing collected"
    if counts.deselected >= counts.collected:
        return "no-tests", f"all {counts.collected} collected tests deselected"
    executed = counts.passed + counts.xfailed + counts.xpassed
    if executed == 0:
        if counts.skipped:
            return "no-tests", f"all {counts.skipped} tests skipped"
        return "no-tests", "no test executed"
    bad_sessions = [s.exit_status for s in sessions if s.exit_status not in (0, 5, None)]
    if bad_sessions:
        return "failed", (f"pytest exited with {bad_sessions[0]} although no test failed "
                          "(a plugin such as --cov-fail-under, or a usage error)")
    if exit_code not in (0, None):
        return "failed", f"command exited with {exit_code} although no test failed"
    return "passed", None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
    environ = dict(os.environ if env is None else env)
    environ.update(phase.env)
    environ[ENV_DIR] = stream_dir
    previous = environ.get("PYTHONPATH", "")
    environ["PYTHONPATH"] = str(PLUGIN_DIR) + (os.pathsep + previous if previous else "")
    environ.pop(ENV_ADDOPTS_BEFORE, None)
    environ[ENV_JSON_REPORT] = "1" if USE_JSON_REPORT else "0"
    environ[ENV_OWNER] = str(os.getpid())

    if phase.pytest is not None:
        user_args = [*phase.pytest, *extra_args]
        argv = [config.python, "-m", "pytest", "-p", PLUGIN_NAME,
                "--continue-on-collection-errors"]
        if not _sets_verbosity(user_args):
            argv += ["-q", "--no-summary"]
        return argv + user_args, environ

    assert phase.command is not None, f"phase {phase.name!r} has neither pytest nor command"
    argv = list(phase.command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = config.python  # the project's interpreter, as for pytest phases
    if os.path.isabs(config.python):
        bindir = os.path.dirname(config.python)  # so `pytest` inside the runner is the venv's
        environ["PATH"] = bindir + os.pathsep + environ.get("PATH", "")
    before = environ.get("PYTEST_ADDOPTS", "")
    ours = ["-p", PLUGIN_NAME, "--continue-on-collection-errors", *extra_args]
    environ[ENV_ADDOPTS_BEFORE] = before
    environ["PYTEST_ADDOPTS"] = " ".join(part for part in (before, shlex.join(ours)) if part)
    return argv, environ


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
# Reading the stream while the phase runs


class _StreamTail:
    """Follows every `.jsonl` file in the stream folder, yielding complete lines only."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.files: dict[str, tuple[Any, bytearray]] = {}
        self.closed = False

    def poll(self) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        if self.closed:
            return events  # reopening would read every line again
        try:
            names = sorted(name for name in os.listdir(self.directory) if name.endswith(".jsonl"))
        except OSError:
            names = []
        for name in names:
            if name not in self.files:
                try:
                    self.files[name] = (open(os.path.join(self.directory, name), "rb"),
                                        bytearray())
                except OSError:
                    continue
        for name, (handle, buffer) in self.files.items():
            chunk = handle.read()
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
                    events.append((name[: -len(".jsonl")], event))
        return events

    def close(self) -> None:
        self.closed = True
        for handle, _ in self.files.values():
            handle.close()
        self.files.clear()


class _OutputTail:
    """The last lines of the phase's stdout+stderr; reading it continuously keeps pipes open."""

    def __init__(self, limit: int = OUTPUT_TAIL_LINES) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=limit)
        self.partial = b""

    def feed(self, chunk: bytes) -> None:
        data = self.partial + chunk
        *complete, self.partial = data.split(b"\n")
        for line in complete[-(self.lines.maxlen or 1):]:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\r"))
        if len(self.partial) > 64_000:  # a runaway line without newline: keep its end
            self.partial = self.partial[-64_000:]

    def text(self) -> str:
        """At most `limit` lines, the one still being written (no newline yet) included."""
        lines = list(self.lines)
        if self.partial:
            lines = lines[1:] if len(lines) == self.lines.maxlen else lines
            lines.append(self.partial.decode("utf-8", "replace"))
        return "\n".join(lines)

    async def drain(self, reader: asyncio.StreamReader) -> None:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            self.feed(chunk)


@dataclass
class _Session:
    key: str
    pid: int
    settings: PytestSettings | None = None
    exit_status: int | None = None
    collected: int = 0
    deselected: int = 0
    xdist_workers: int = 0
    json_report: str | None = None
    json_report_saved: bool = False
    finish_seen: bool = False
    errors: list[CollectionError] = field(default_factory=list)


class _Phase:
    """Everything observed so far, turned into events and, at the end, a PhaseRun."""

    def __init__(self, name: str, root: Path, emit: Callable[[PhaseEvent], None]) -> None:
        self.name = name
        self.emit = emit
        self.roots = _roots(root)
        self.sessions: dict[str, _Session] = {}
        self.tests: list[tuple[str, TestResult]] = []
        self.warnings: list[WarningRecord] = []

    def handle(self, key: str, event: dict[str, Any]) -> None:
        kind = event.get("event")
        session = self.sessions.get(key)
        if kind == "session_start":
            self.sessions[key] = _Session(
                key=key,
                pid=int(event.get("pid") or 0),
                settings=_settings(event),
                json_report=event.get("json_report"),
            )
            return
        if session is None:  # a file without its start line: keep what it says anyway
            session = self.sessions[key] = _Session(key=key, pid=_pid_of(key))
        if kind == "collection_finish":
            session.collected = int(event.get("collected") or 0)
            session.deselected = int(event.get("deselected") or 0)
            self.emit(TestsCollected(self.name, session.collected, session.deselected))
        elif kind == "collect_error":
            error = CollectionError(
                path=str(event.get("nodeid") or ""),
                error_type=str(event.get("error_type") or "Error"),
                message=str(event.get("message") or ""),
                longrepr=str(event.get("longrepr") or ""),
            )
            session.errors.append(error)
            self.emit(CollectionErrored(self.name, error))
        elif kind == "warning":
            warning = WarningRecord(
                category=str(event.get("category") or "Warning"),
                message=str(event.get("message") or ""),
                path=self._relative(event.get("filename")),
                line=_int(event.get("lineno")),
                nodeid=event.get("nodeid") or None,
            )
            self.warnings.append(warning)
            self.emit(WarningRecorded(self.name, warning))
        elif kind == "test":
            result = TestResult(
                nodeid=str(event.get("nodeid") or ""),
                outcome=str(event.get("outcome") or "error"),
                phase=self.name,
                duration_s=float(event.get("duration") or 0.0),
                message=event.get("message"),
                path=self._relative(event.get("path")),
                line=_int(event.get("line")),
                longrepr=event.get("longrepr"),
                sections=tuple((str(title), str(text)) for title, text in
                               event.get("sections") or ()),
                markers=tuple(str(name) for name in event.get("markers") or ()),
                when=str(event.get("when") or "call"),
            )
            self.tests.append((key, result))
            self.emit(TestFinished(self.name, result))
        elif kind == "session_finish":
            session.exit_status = _int(event.get("exitstatus"))
            if event.get("collected") is not None:
                session.collected = int(event["collected"])
            if event.get("deselected") is not None:
                session.deselected = int(event["deselected"])
            session.xdist_workers = int(event.get("xdist_workers") or 0)
            session.json_report = event.get("json_report") or session.json_report
            session.json_report_saved = bool(event.get("json_report_saved"))
            session.finish_seen = True

    def settled_status(self) -> int | None:
        """The exit status of the phase's only session once its evidence is complete, else None.

        Complete means the plugin's `session_finish` line has been read: the plugin writes it
        after every plain `pytest_sessionfinish`, pytest-json-report's save included, so the
        report file is whole by then (or was never saved, and the stream is the record).
        """
        if len(self.sessions) != 1:
            return None
        (session,) = self.sessions.values()
        if not session.finish_seen or session.exit_status is None:
            return None
        if session.exit_status in (3, 4):
            # pytest prints a usage error after its session ended, and an internal error may
            # still sit in its output buffer: wait for the process, so the output tail holds
            # pytest's own words for the phase's status and finding.
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

    # -- final record ----------------------------------------------------------------------

    def final_tests(self) -> tuple[TestResult, ...]:
        """Stream order, with outcome and crash message as pytest-json-report recorded them."""
        by_session: dict[str, dict[str, dict[str, Any]]] = {}
        for key, session in self.sessions.items():
            # Only a report the session saw saved is this session's: a session that never
            # finished saved none, and a project's own report file may be a stale one.
            saved = session.json_report if session.json_report_saved else None
            by_session[key] = _json_tests(saved)
        results: list[TestResult] = []
        for key, result in self.tests:
            recorded = by_session.get(key, {}).pop(result.nodeid, None)
            results.append(self._merge(result, recorded) if recorded else result)
        for key, leftovers in by_session.items():  # in the report, never streamed
            for nodeid, recorded in leftovers.items():
                base = TestResult(nodeid=nodeid, outcome="passed", phase=self.name,
                                  line=_int(recorded.get("lineno")))
                results.append(self._merge(base, recorded))
        return tuple(results)

    def _merge(self, result: TestResult, recorded: dict[str, Any]) -> TestResult:
        outcome = str(recorded.get("outcome") or result.outcome)
        if outcome == result.outcome and outcome not in ("failed", "error"):
            # Nearly every test: the report agrees and has no crash to add. Both records sum
            # the same stage durations. Skipping the rest saves about 0.2 s at 20,000 tests,
            # right between the last test and the report someone is waiting for.
            return result
        stages = [recorded.get(when) for when in ("setup", "call", "teardown")]
        duration = sum(float(stage.get("duration") or 0.0) for stage in stages
                       if isinstance(stage, dict))
        changes: dict[str, Any] = {"outcome": outcome, "duration_s": duration or result.duration_s}
        if outcome in ("failed", "error"):
            stage = _deciding_stage(recorded)
            if stage is not None:
                crash = stage.get("crash") or {}
                message = _first_line(crash.get("message")) or _first_line(stage.get("longrepr"))
                if message:
                    changes["message"] = message
                if crash.get("path"):
                    changes["path"] = self._relative(crash["path"])
                    changes["line"] = _int(crash.get("lineno"))
                if stage.get("longrepr") and not result.longrepr:
                    changes["longrepr"] = stage["longrepr"]
        return replace(result, **changes)

    def build(self, *, argv: Sequence[str], exit_code: int | None, started_at: float,
              duration_s: float, output_tail: str, timed_out_after: float | None = None,
              cancelled: bool = False, start_error: str | None = None) -> PhaseRun:
        tests = self.final_tests()
        errors = tuple(error for session in self.sessions.values() for error in session.errors)
        sessions = tuple(
            PytestSession(pid=s.pid, exit_status=s.exit_status, collected=s.collected,
                          deselected=s.deselected, xdist_workers=s.xdist_workers)
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
        if start_error is not None:
            status, reason = "crashed", start_error
        else:
            status, reason = judge_status(
                counts, collection_errors=len(errors), sessions=sessions, exit_code=exit_code,
                timed_out_after=timed_out_after, cancelled=cancelled, output_tail=output_tail,
            )
        settings = next((s.settings for s in self.sessions.values() if s.settings), None)
        return PhaseRun(
            name=self.name,
            status=status,
            exit_code=exit_code,
            duration_s=duration_s,
            counts=counts,
            tests=tests,
            collection_errors=errors,
            warnings=tuple(self.warnings),
            sessions=sessions,
            reason=reason,
            argv=tuple(argv),
            output_tail=output_tail,
            started_at=started_at,
            settings=settings,
        )


def _deciding_stage(recorded: dict[str, Any]) -> dict[str, Any] | None:
    stages = {when: recorded.get(when) for when in ("setup", "call", "teardown")}
    for when in ("setup", "teardown", "call"):
        stage = stages[when]
        if isinstance(stage, dict) and stage.get("outcome") == "failed":
            return stage
    return None


def _json_tests(path: str | None) -> dict[str, dict[str, Any]]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError):
        return {}  # never written (killed) or cut short: the stream is the record
    tests = report.get("tests") if isinstance(report, dict) else None
    return {str(test["nodeid"]): test for test in tests or ()
            if isinstance(test, dict) and "nodeid" in test}


def _settings(event: dict[str, Any]) -> PytestSettings:
    def strings(key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = event.get(key)
        return tuple(str(item) for item in value) if isinstance(value, list) else default

    return PytestSettings(
        rootdir=str(event.get("rootdir") or ""),
        inifile=event.get("inifile") or None,
        python_files=strings("python_files", ("test_*.py", "*_test.py")),
        python_classes=strings("python_classes", ("Test",)),
        python_functions=strings("python_functions", ("test",)),
        markers=strings("markers"),
        strict_markers=bool(event.get("strict_markers")),
        testpaths=strings("testpaths"),
        args=strings("args"),
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


def _first_line(text: Any) -> str | None:
    if not text:
        return None
    for line in str(text).splitlines():
        if line.strip():
            return line
    return None


# ----------------------------------------------------------------------------------------
# Running


async def run_phase(
    phase: PhaseConfig,
    config: Config,
    on_event: Callable[[PhaseEvent], None] | None = None,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> PhaseRun:
    """Run `phase` to the end, streaming its events to `on_event` as pytest reports them.

    Emits PhaseStarted, then TestsCollected / CollectionErrored / WarningRecorded /
    TestFinished as they happen, then exactly one PhaseFinished. Cancelling the awaiting task
    kills the phase's whole process tree, still emits PhaseFinished (status `interrupted`) and
    re-raises CancelledError.
    """

    def emit(event: PhaseEvent) -> None:
        if on_event is not None:
            on_event(event)

    stream_dir = tempfile.mkdtemp(prefix="claimcheck-")
    try:
        argv, environ = build_command(phase, config, extra_args=extra_args, env=env,
                                      stream_dir=stream_dir)
        return await _run(phase, config, argv, environ, stream_dir, emit)
    finally:
        shutil.rmtree(stream_dir, ignore_errors=True)


async def _run(phase: PhaseConfig, config: Config, argv: list[str], environ: dict[str, str],
               stream_dir: str, emit: Callable[[PhaseEvent], None]) -> PhaseRun:
    started_at = time.time()
    clock = time.monotonic()
    state = _Phase(phase.name, config.root, emit)
    tail = _OutputTail()
    stream = _StreamTail(stream_dir)
    emit(PhaseStarted(phase.name, tuple(argv), started_at))

    def last_events() -> None:
        for key, event in stream.poll():
            state.handle(key, event)
        stream.close()

    def build_args(**kwargs: Any) -> dict[str, Any]:
        """Read on the loop: the output tail is still being fed by the drainer."""
        last_events()
        return dict(argv=argv, started_at=started_at, duration_s=time.monotonic() - clock,
                    output_tail=tail.text(), **kwargs)

    def finish(**kwargs: Any) -> PhaseRun:
        run = state.build(**build_args(**kwargs))
        emit(PhaseFinished(phase.name, run))
        return run

    async def finish_off_loop(**kwargs: Any) -> PhaseRun:
        """`finish`, with the build (reading pytest-json-report's file, 0.2 s at 20,000
        tests) on a worker thread, so the loop - the TUI's keys - keeps answering."""
        run = await asyncio.to_thread(state.build, **build_args(**kwargs))
        emit(PhaseFinished(phase.name, run))
        return run

    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=str(config.root), env=environ, stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return finish(exit_code=None, start_error=f"cannot start {argv[0]!r}: {exc.strerror or exc}")
    except asyncio.CancelledError:
        finish(exit_code=None, cancelled=True)  # asyncio itself ends a half-started child
        raise

    assert proc.stdout is not None
    drainer = asyncio.ensure_future(tail.drain(proc.stdout))
    waiter = asyncio.ensure_future(proc.wait())
    deadline = clock + phase.timeout if phase.timeout else None
    # Only where claimcheck started pytest itself is one finished session the whole phase. A
    # command may start more sessions after this one, and its own exit status is evidence
    # (a runner that swallows pytest's failure), so a command phase waits for the command.
    settles_early = phase.pytest is not None
    try:
        while True:
            await asyncio.wait({waiter}, timeout=POLL_INTERVAL_S)
            for key, event in stream.poll():
                state.handle(key, event)
            if waiter.done():
                break
            status = state.settled_status() if settles_early else None
            if status is not None:
                # The session's exit status stands for the process's. Should the process
                # still die badly in its teardown (a plugin's unconfigure raising, a crash
                # while the heap is freed), the PhaseRun returned here keeps the session's
                # view: every test result was final when the session ended, and waiting for
                # the exit would cost seconds on every large run. The straggler's own exit is
                # still recorded, and `wait_for_stragglers` returns it.
                _adopt_straggler(phase.name, status, proc, waiter, drainer)
                return await finish_off_loop(exit_code=status)
            if deadline is not None and time.monotonic() >= deadline:
                await _kill(proc.pid)
                await _settle(waiter, drainer)
                return finish(exit_code=None, timed_out_after=phase.timeout)
    except asyncio.CancelledError:
        await _kill(proc.pid)
        await _settle(waiter, drainer)
        finish(exit_code=None, cancelled=True)
        raise
    except BaseException:
        await _kill(proc.pid)
        await _settle(waiter, drainer)
        stream.close()
        raise
    await _settle(waiter, drainer)
    try:
        return await finish_off_loop(exit_code=proc.returncode)
    except asyncio.CancelledError:
        finish(exit_code=None, cancelled=True)  # the evidence so far, judged as interrupted
        raise


# ----------------------------------------------------------------------------------------
# Stragglers: pytest processes whose session is over but whose teardown is not


@dataclass(eq=False)
class Straggler:
    """A phase's pytest process, still tearing down after its PhaseRun was returned."""

    phase: str
    pid: int
    session_exit: int  # what the PhaseRun says
    returncode: int | None = None  # the process's own exit, once reaped
    killed: bool = False  # outlived STRAGGLER_GRACE_S, or cancelled: its tree was killed

    @property
    def contradicts_session(self) -> bool:
        """The process ended otherwise than its session said (a crash during teardown)."""
        return self.killed or (self.returncode is not None
                               and self.returncode != self.session_exit)


@dataclass(eq=False)
class _Reaper:
    """One straggler's record, its process's futures, and the task that waits for its exit."""

    record: Straggler
    handle: psutil.Process | None  # knows the start time, so a recycled pid is never signalled
    waiter: asyncio.Future[Any]
    drainer: asyncio.Future[Any]
    task: asyncio.Task[None] | None = None
    ended: bool = False

    async def reap(self) -> None:
        """Wait for the exit (the drainer keeps reading, so a full pipe never blocks pytest);
        kill the tree if it outlives the grace."""
        try:
            await asyncio.wait({self.waiter}, timeout=STRAGGLER_GRACE_S)
        except asyncio.CancelledError:
            await self.end()
            raise
        await self.end()

    async def end(self) -> None:
        """Kill whatever is still running, then collect the exit status and the last output."""
        if self.ended:
            return
        self.ended = True
        if not self.waiter.done():
            self.record.killed = True
            await _kill(self.record.pid)
        await _settle(self.waiter, self.drainer)
        if self.waiter.done() and not self.waiter.cancelled():
            self.record.returncode = self.waiter.result()


_reapers: list[_Reaper] = []


def _adopt_straggler(phase: str, session_exit: int, proc: asyncio.subprocess.Process,
                     waiter: asyncio.Future[Any], drainer: asyncio.Future[Any]) -> None:
    try:
        handle: psutil.Process | None = psutil.Process(proc.pid)
    except psutil.Error:
        handle = None
    if handle is not None and STRAGGLER_NICENESS:
        _lower_priority(handle, STRAGGLER_NICENESS)
    reaper = _Reaper(Straggler(phase=phase, pid=proc.pid, session_exit=session_exit), handle,
                     waiter, drainer)
    reaper.task = asyncio.ensure_future(reaper.reap())
    _reapers.append(reaper)
    reaper.task.add_done_callback(lambda _: _forget(reaper))


def _lower_priority(handle: psutil.Process, niceness: int) -> None:
    try:
        tree = [handle, *handle.children(recursive=True)]
    except psutil.Error:
        return
    for proc in tree:
        with contextlib.suppress(psutil.Error, OSError):
            proc.nice(min(19, proc.nice() + niceness))


def _forget(reaper: _Reaper) -> None:
    if reaper in _reapers:
        _reapers.remove(reaper)


def _current_reapers() -> list[_Reaper]:
    loop = asyncio.get_running_loop()
    return [reaper for reaper in _reapers
            if reaper.task is not None and reaper.task.get_loop() is loop]


async def wait_for_stragglers(timeout: float | None = None) -> list[Straggler]:
    """Wait until every straggler started on this event loop has exited; how each one ended.

    Each is killed once it outlives STRAGGLER_GRACE_S anyway; `timeout` kills what is still
    running sooner. Cancelling this kills them all (Ctrl-C while waiting), then re-raises.
    """
    current = _current_reapers()
    if not current:
        return []
    try:
        _, pending = await asyncio.wait([reaper.task for reaper in current], timeout=timeout)
    except asyncio.CancelledError:
        await _end_all(current)
        raise
    if pending:
        await _end_all([reaper for reaper in current if reaper.task in pending])
    return [reaper.record for reaper in current]


async def kill_stragglers() -> None:
    """Kill the process tree of every straggler on this event loop and wait until they are gone."""
    await _end_all(_current_reapers())


async def _end_all(reapers: Sequence[_Reaper]) -> None:
    """Stop the reapers and end their processes here: a task cancelled before its first step
    never runs its own clean-up."""
    for reaper in reapers:
        assert reaper.task is not None
        reaper.task.cancel()
    await asyncio.gather(*(reaper.task for reaper in reapers if reaper.task is not None),
                         return_exceptions=True)
    await asyncio.gather(*(reaper.end() for reaper in reapers))
    for reaper in reapers:
        _forget(reaper)


@atexit.register
def _kill_leftover_stragglers() -> None:
    """Last resort at interpreter exit: an event loop closed without reaping its stragglers
    (an app that exits without awaiting them) must not leave pytest processes behind."""
    for reaper in list(_reapers):
        if reaper.handle is None or not reaper.handle.is_running():
            continue
        with contextlib.suppress(OSError):
            os.killpg(reaper.record.pid, signal.SIGKILL)  # start_new_session: pgid == pid
    _reapers.clear()


async def _kill(pid: int) -> None:
    """End the phase's process tree, then its process group, where orphans are still found."""
    await asyncio.to_thread(procs.kill_tree, pid, KILL_GRACE_S)
    await asyncio.to_thread(_kill_group, pid, KILL_GRACE_S)


def _kill_group(pgid: int, timeout: float) -> None:
    """SIGKILL every process left in the group and wait until each has really died.

    `kill_tree` only sees processes that were still descendants when it looked; a grandchild
    whose parent exited is re-parented away but stays in the group (start_new_session made the
    leader's pid the group id). A signalled process may still be waiting for a CPU when kill()
    returns, so "timed out" would otherwise be reported while the tree still runs.
    """
    members: list[psutil.Process] = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                members.append(proc)
        except (OSError, psutil.Error):
            continue
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while members and time.monotonic() < deadline:
        members = [proc for proc in members if _alive(proc)]
        if members:
            time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def _settle(waiter: asyncio.Future[Any], drainer: asyncio.Future[Any]) -> None:
    """Reap the process and finish reading its output, without waiting on orphans forever."""
    try:
        await asyncio.wait_for(asyncio.shield(waiter), timeout=KILL_GRACE_S * 2)
    except asyncio.TimeoutError:
        waiter.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(drainer), timeout=PIPE_GRACE_S)
    except asyncio.TimeoutError:
        drainer.cancel()  # a grandchild still holds the pipe; its output is not the phase's
