"""Run one test phase as a subprocess and report what its pytest sessions really did.

The evidence comes from inside pytest, never from its console text: claimcheck's own plugin
(`collectors/_plugin/claimcheck_stream.py`) writes one JSON line per event while the phase runs,
and that stream is the one record of the run (`collectors/phase_record.py` folds it into a
PhaseRun). A phase's `command` (a project's own runner script) is observed the same way by
injecting the plugin through `PYTHONPATH` and `PYTEST_ADDOPTS`, so a runner that swallows
pytest's exit status cannot turn red tests green.

A `pytest` phase is over, as far as evidence goes, when its session's `session_finish` line
arrives; its process may still be tearing down and becomes a straggler
(`collectors/stragglers.py`), reaped in the background.

Nothing runs in series before the first phase: what the phase's interpreter lacks (pytest
itself) is learned from the phase, which then says so with the `pip install` line to run.

Every phase's process comes from `phase_command.spawn`, spawned here or, for the first phase of
`--report` and of the command center, before the event loop existed (`phase_command.start_ahead`,
or `remembered_start` before claimcheck imported anything). Those first ones are spawned with
`os.posix_spawn` while claimcheck has no thread yet (`early_spawn`, whose object has Popen's
`pid`, `returncode`, `wait` and `stdout`), the rest with `subprocess.Popen`; either way its
output is read on the loop and its exit reaped by a thread of its own (`_PhaseProcess`).
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.phase_command import (  # noqa: F401 - re-exported: the runner's API
    ENV_ADDOPTS_BEFORE,
    ENV_DIR,
    ENV_OWNER,
    PLUGIN_DIR,
    PLUGIN_NAME,
    EnvironmentProblem,
    StartedPhase,
    build_command,
    check_interpreter,
    clear_stale_stream_folders,
    close_wake,
    install_line,
    make_stream_dir,
    spawn,
    take_started,
)

if TYPE_CHECKING:
    from claimcheck.collectors.models import PhaseEvent, PhaseRun
    from claimcheck.collectors.phase_command import PhaseProcess

# What runs before the phase's pytest is spawned is kept to the standard library and the
# config: the record of a phase (models, phase_record, the judge), psutil and the stragglers'
# machinery are imported once pytest is starting, which takes far longer than they do.
_STRAGGLER_NAMES = frozenset({"STRAGGLER_GRACE_S", "Straggler", "adopt_straggler",
                              "kill_stragglers", "wait_for_stragglers"})


def __getattr__(name: str) -> Any:
    """The stragglers' public names, re-exported here, imported when first asked for."""
    if name in _STRAGGLER_NAMES:
        from claimcheck.collectors import stragglers

        return getattr(stragglers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


POLL_INTERVAL_S = 0.05
OUTPUT_TAIL_LINES = 200
OUTPUT_READ_SIZE = 65536  # a pipe's size: a read this long may leave more behind
OUTPUT_REST_S = 0.05  # after a read that emptied it the phase's output pipe rests this long

_NO_PYTEST = ("No module named pytest", "No module named 'pytest'")


# ----------------------------------------------------------------------------------------
# The interpreter


def missing_pytest(phase: PhaseConfig, run: PhaseRun, python: str,
                   source: Path | None = None) -> str | None:
    """The problem to report when the phase's interpreter has no pytest or is no Python at
    all, else None. Asked only of a pytest phase that started no session, so the question
    "is it Python?" costs nothing on every other run."""
    if phase.pytest is None or run.sessions or run.status in ("interrupted", "timeout"):
        return None
    if any(marker in run.output_tail for marker in _NO_PYTEST):
        return (f"interpreter {python!r} cannot import pytest (No module named pytest); "
                f"run: {install_line(python)}")
    answer = _python_answer(python)
    if answer is None:
        return None
    where = f"{source}: " if source is not None else ""
    return (f"{where}tool.claimcheck.python: {python!r} is not a Python interpreter ({answer}); "
            "set it to one that has pytest, e.g. .venv/bin/python")


# Computed, so a program that echoes its arguments does not pass for Python.
_PYTHON_PROBE, _PYTHON_ANSWER = "print('claimcheck', 6 * 7)", b"claimcheck 42"


def _python_answer(python: str) -> str | None:
    """None when `python -c ...` answers as Python does; else what it did instead."""
    try:
        done = subprocess.run([python, "-c", _PYTHON_PROBE], capture_output=True, timeout=15,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "it did not answer `-c` within 15 s"
    except OSError as error:
        return f"it could not be started: {error.strerror or error}"
    if _PYTHON_ANSWER in done.stdout:
        return None
    said = done.stdout.decode("utf-8", "replace").strip().splitlines()
    printed = repr(said[0][:80]) if said else "nothing"
    return f"asked to run `-c`, it exited {done.returncode} and printed {printed}"


# ----------------------------------------------------------------------------------------
# The phase's own output


class _OutputTail(asyncio.Protocol):
    """The last lines of the phase's stdout+stderr, fed straight from its pipe's transport.

    `pytest -q` writes and flushes a dot per test: read as it came, that woke the event loop
    once per test, over half of claimcheck's own CPU on a 20,000-test run (1.9 s of it, 0.85 s
    with the rest). So after a read that emptied the pipe (shorter than its 64 KiB) reading
    pauses for `OUTPUT_REST_S`: what the phase writes meanwhile waits in the pipe
    (it holds 64 KiB; a writer blocks only when it is full, and a full read is followed by the
    next at once). The process's exit ends the rest and ends resting (`process_exited`), and
    `catch_up` reads what waits in the pipe, resting or not, whenever a phase's result is
    built: the tail then holds everything written until that moment."""

    def __init__(self, limit: int = OUTPUT_TAIL_LINES) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=limit)
        self.partial = b""
        self._transport: Any = None  # asyncio's read pipe transport
        self._fd: int | None = None  # the pipe, until the transport closes it
        self._rest: asyncio.TimerHandle | None = None
        self._exited = False
        self._closed: asyncio.Future[None] | None = None

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

    # asyncio.Protocol: the transport calls these on the loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        pipe = transport.get_extra_info("pipe")
        self._fd = pipe.fileno() if pipe is not None else None
        self._closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.feed(data)
        if len(data) < OUTPUT_READ_SIZE and not self._exited and self._rest is None:
            self._transport.pause_reading()
            self._rest = asyncio.get_running_loop().call_later(OUTPUT_REST_S, self._wake)

    def eof_received(self) -> bool:
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._fd = None  # the transport closes the pipe right after this
        if self._rest is not None:
            self._rest.cancel()
            self._rest = None
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    # the runner's side

    def _wake(self) -> None:
        if self._rest is not None:
            self._rest.cancel()
            self._rest = None
            self._transport.resume_reading()

    def process_exited(self) -> None:
        """No more rests: what is left is read as it comes, up to the pipe's end."""
        self._exited = True
        self._wake()

    def catch_up(self) -> None:
        """Take what waits in the pipe now (on the loop, before a result is built)."""
        while self._fd is not None:
            try:
                data = os.read(self._fd, OUTPUT_READ_SIZE)  # non-blocking: asyncio's pipe
            except OSError:  # BlockingIOError: nothing more waits
                return
            if not data:
                return  # the end; the transport sees it too and closes
            self.feed(data)

    async def drained(self) -> None:
        """Until the pipe's end. Cancelled (a grandchild still holds the pipe; its output is
        not the phase's), the pipe is closed."""
        assert self._closed is not None, "connect the tail to a pipe first"
        try:
            await asyncio.shield(self._closed)
        finally:
            if not self._closed.done():
                self._wake()
                self._transport.close()


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

    started = take_started(phase, extra_args, env)  # spawned ahead for this very run
    stream_dir = started.stream_dir if started is not None else make_stream_dir()
    try:
        if started is not None:
            argv, environ = started.argv, None
        else:
            argv, environ = build_command(phase, config, extra_args=extra_args, env=env,
                                          stream_dir=stream_dir)
        run = await _run(phase, config, argv, environ, stream_dir, emit, started)
    finally:
        shutil.rmtree(stream_dir, ignore_errors=True)
    problem = missing_pytest(phase, run, config.python, config.source)
    if problem is not None:
        raise EnvironmentProblem(problem)  # after PhaseFinished: a screen shows it too
    return run


async def _run(phase: PhaseConfig, config: Config, argv: list[str],
               environ: dict[str, str] | None, stream_dir: str,
               emit: Callable[[PhaseEvent], None], started: StartedPhase | None = None
               ) -> PhaseRun:
    """`phase` run to the end; spawned here from `argv` and `environ`, or, with `started`
    (and no `environ`), the process `start_ahead` spawned for it."""
    started_at = time.time()
    clock = time.monotonic()
    tail = _OutputTail()
    command = phase.command is not None
    spawn_error: str | None = None
    cancelled: asyncio.CancelledError | None = None
    process = started.process if started is not None else None
    wake_fd = started.wake if started is not None else None
    if started is not None:
        started_at, clock = started.started_at, started.clock
    proc: _PhaseProcess | None = None
    try:
        # First of all: pytest's own start-up (its imports, collection) is the longest wait
        # of a small run, and nothing below has to happen before it.
        if process is None:
            assert environ is not None
            process, wake_fd = spawn(argv, environ, config.root, wake=phase.pytest is not None)
        proc = await _watch(process, tail)
    except OSError as exc:
        spawn_error = f"cannot start {argv[0]!r}: {exc.strerror or exc}"
    except asyncio.CancelledError as stop:
        cancelled = stop  # a process already spawned is ended below
    from dataclasses import replace

    from claimcheck.collectors.models import PhaseFinished, PhaseStarted
    from claimcheck.collectors.phase_process import kill_phase_tree, settle
    from claimcheck.collectors.phase_record import PhaseRecord, StreamTail
    from claimcheck.collectors.stragglers import adopt_straggler, yield_to_next_phase

    yield_to_next_phase()  # an earlier phase's pytest still tearing down yields to this one
    state = PhaseRecord(phase.name, config.root, emit, stream_dir)
    stream = StreamTail(stream_dir)
    emit(PhaseStarted(phase.name, tuple(argv), started_at))

    def last_events() -> None:
        for key, event in stream.poll():
            state.handle(key, event)
        stream.close()

    def build_args(**kwargs: Any) -> dict[str, Any]:
        """Read on the loop: the output tail is still being fed by the drainer, and what a
        dead session left is emitted from here."""
        last_events()
        state.recover_unfinished(exit_code=kwargs.get("exit_code"),
                                 timed_out_after=kwargs.get("timed_out_after"),
                                 command=command, cancelled=bool(kwargs.get("cancelled")))
        tail.catch_up()
        return dict(argv=argv, started_at=started_at, duration_s=time.monotonic() - clock,
                    output_tail=tail.text(), **kwargs)

    def judged(run: PhaseRun) -> PhaseRun:
        problem = missing_pytest(phase, run, config.python, config.source)
        return run if problem is None else replace(run, status="error", reason=problem)

    def finish(**kwargs: Any) -> PhaseRun:
        run = judged(state.build(command=command, **build_args(**kwargs)))
        emit(PhaseFinished(phase.name, run))
        return run

    async def finish_off_loop(**kwargs: Any) -> PhaseRun:
        """`finish`, with the build (a tuple of 20,000 results and their tally) and the
        judgement (which may start the interpreter to ask whether it is Python) on a worker
        thread, so the loop - the TUI's keys - keeps answering."""
        args = build_args(**kwargs)
        run = await asyncio.to_thread(lambda: judged(state.build(command=command, **args)))
        emit(PhaseFinished(phase.name, run))
        return run

    if spawn_error is not None or cancelled is not None:
        close_wake(wake_fd)
    if spawn_error is not None:
        return finish(exit_code=None, start_error=spawn_error)
    if cancelled is not None:
        if process is not None:
            await kill_phase_tree(process.pid)
        finish(exit_code=None, cancelled=True)
        raise cancelled
    assert proc is not None

    waiter = asyncio.ensure_future(proc.wait())
    waiter.add_done_callback(lambda _: tail.process_exited())
    drainer = asyncio.ensure_future(tail.drained())
    wake = _Wake(wake_fd)
    wake_fd = None  # `wake` closes it
    deadline = clock + phase.timeout if phase.timeout else None
    # Only where claimcheck started pytest itself is one finished session the whole phase. A
    # command may start more sessions after this one, and its own exit status is evidence
    # (a runner that swallows pytest's failure), so a command phase waits for the command.
    settles_early = phase.pytest is not None
    try:
        while True:
            await asyncio.wait({waiter, wake.next()}, timeout=POLL_INTERVAL_S,
                               return_when=asyncio.FIRST_COMPLETED)
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
                adopt_straggler(phase.name, status, proc.pid, waiter, drainer)
                return await finish_off_loop(exit_code=status)
            if deadline is not None and time.monotonic() >= deadline:
                for key, event in stream.poll():  # what was written before the deadline
                    state.handle(key, event)
                state.stopping_for_timeout(phase.timeout)
                await kill_phase_tree(proc.pid)
                await settle(waiter, drainer)
                return finish(exit_code=None, timed_out_after=phase.timeout)
    except asyncio.CancelledError:
        await kill_phase_tree(proc.pid)
        await settle(waiter, drainer)
        finish(exit_code=None, cancelled=True)
        raise
    except BaseException:
        await kill_phase_tree(proc.pid)
        await settle(waiter, drainer)
        stream.close()
        raise
    finally:
        wake.close()
    await settle(waiter, drainer)
    try:
        return await finish_off_loop(exit_code=proc.returncode)
    except asyncio.CancelledError:
        finish(exit_code=None, cancelled=True)  # the evidence so far, judged as interrupted
        raise


class _Wake:
    """The read end of a phase's wake pipe on the event loop (`phase_command.spawn`): `next()`
    is a future that a byte there resolves (the plugin writes one when a session ends), so the
    runner reads the stream at once instead of at its next poll. Without a pipe, or once the
    pipe is at its end, `next()` is a future that never resolves and polling alone goes on."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.loop = asyncio.get_running_loop()
        self.pending: asyncio.Future[None] = self.loop.create_future()
        if fd is not None:
            self.loop.add_reader(fd, self._readable)

    def next(self) -> asyncio.Future[None]:
        if self.pending.done():
            self.pending = self.loop.create_future()
        return self.pending

    def _readable(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # every writer is gone: the process exited, which `wait` tells
            self.loop.remove_reader(self.fd)
            return
        if not self.pending.done():
            self.pending.set_result(None)

    def close(self) -> None:
        if self.fd is not None:
            self.loop.remove_reader(self.fd)
            close_wake(self.fd)
            self.fd = None
        if not self.pending.done():
            self.pending.cancel()


class _PhaseProcess:
    """The phase's process as the runner uses it (pid, returncode and wait): what
    `phase_command.spawn` returned, whether spawned by the runner or before the event loop
    existed."""

    def __init__(self, process: PhaseProcess) -> None:
        self.process = process
        self.pid = process.pid
        self._exit: asyncio.Future[int] | None = None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def wait(self) -> asyncio.Future[int]:
        """The exit status, once the process has exited: reaped by a thread of its own, as
        asyncio's own child watcher does."""
        if self._exit is None:
            loop = asyncio.get_running_loop()
            self._exit = loop.create_future()
            threading.Thread(target=self._reap, args=(loop, self._exit), daemon=True,
                             name="claimcheck-reap").start()
        return self._exit

    def _reap(self, loop: asyncio.AbstractEventLoop, exit_status: asyncio.Future[int]) -> None:
        code = self.process.wait()

        def settle() -> None:
            if not exit_status.done():  # a waiter given up on (cancelled) stays so
                exit_status.set_result(code)

        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more


async def _watch(process: PhaseProcess, tail: _OutputTail) -> _PhaseProcess:
    """The phase's process, its output pipe now read into `tail` on this event loop."""
    assert process.stdout is not None
    await asyncio.get_running_loop().connect_read_pipe(lambda: tail, process.stdout)
    return _PhaseProcess(process)
