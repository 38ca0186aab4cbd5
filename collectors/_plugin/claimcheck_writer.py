"""claimcheck's plugin inside a pytest session: the hooks that write the run's one record.

pytest registers `claimcheck_stream` (`-p claimcheck_stream`), whose docstring says what the
record holds and how it is written; that module only hands over `pytest_configure` from here,
which registers the session writer (`_Writer`) or, in a pytest-xdist worker, `_WorkerSide`.
Standard library and pytest only, like every module of the plugin.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
from operator import attrgetter
from typing import Any

import pytest

try:
    from . import claimcheck_protocol as protocol
    from . import claimcheck_exit
    from .claimcheck_append import AppendFile
    from .claimcheck_fold import (
        RANK,
        Partial,
        bounded,
        collection_error_summary,
        collection_skip_event,
        crash_of,
        ini_list,
        interruption,
        is_subtest,
        longrepr_of,
        marker_names,
        markers_from_keywords,
        passing_line,
        stage_outcome,
        strict_markers,
        subtest_longrepr,
        subtest_message,
        worker_crash_message,
    )
    from .claimcheck_owner import remove_stream_folder, watch_owner_once
    from .claimcheck_protocol import Key as K
    from .claimcheck_ship import loads_plugin_itself, restore_pytest_plugins, ship_to_worker
    from .claimcheck_trees import share_source_trees, store_path
except ImportError:  # loaded as a top-level module, this folder on sys.path
    import claimcheck_protocol as protocol  # type: ignore[no-redef]
    import claimcheck_exit  # type: ignore[no-redef]
    from claimcheck_append import AppendFile  # type: ignore[no-redef]
    from claimcheck_fold import (  # type: ignore[no-redef]
        RANK,
        Partial,
        bounded,
        collection_error_summary,
        collection_skip_event,
        crash_of,
        ini_list,
        interruption,
        is_subtest,
        longrepr_of,
        marker_names,
        markers_from_keywords,
        passing_line,
        stage_outcome,
        strict_markers,
        subtest_longrepr,
        subtest_message,
        worker_crash_message,
    )
    from claimcheck_owner import (  # type: ignore[no-redef]
        remove_stream_folder,
        watch_owner_once,
    )
    from claimcheck_protocol import Key as K  # type: ignore[no-redef]
    from claimcheck_ship import (  # type: ignore[no-redef]
        loads_plugin_itself,
        restore_pytest_plugins,
        ship_to_worker,
    )
    from claimcheck_trees import share_source_trees, store_path  # type: ignore[no-redef]

# A phase started from a remembered command waits here, before pytest loads the project's
# conftest files and plugins, until claimcheck has confirmed the command (or ends here).
protocol.wait_at_gate()
_WAKE_FD = protocol.take_wake_fd()  # claimcheck's wake pipe, when it started this process

_TestReport = pytest.TestReport  # a subclass (a subtest's report) takes the longer way
_running_record, _RUNNING_BETWEEN = protocol.running_record, protocol.RUNNING_BETWEEN
_RERUN_CATEGORY = protocol.RERUN_CATEGORY
SECTION_LIMIT = 20_000  # characters kept of each captured-output section
LONGREPR_LIMIT = 100_000  # characters kept of one traceback

_sequence = itertools.count(1)  # a process may run pytest.main() more than once
_forks = 0  # how many forks this process descends from since the plugin was imported


def _count_fork() -> None:
    global _forks
    _forks += 1


# A test that forks (multiprocessing, os.fork) runs this plugin's hooks in the child too, which
# is not the session: the child must not write. Counting forks here is free per test, where
# asking the kernel for the pid twice per test was not.
os.register_at_fork(after_in_child=_count_fork)


# ----------------------------------------------------------------------------------------
# Hooks of the module itself


def pytest_configure(config: Any) -> None:
    """Register the session writer (controller) or the report annotator (xdist worker)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        restore_pytest_plugins()
        if workerinput.get(protocol.WORKER_FLAG):
            _share_source_trees(config)  # the worker formats its failures
            config.pluginmanager.register(_WorkerSide(config), "claimcheck_stream_worker")
            claimcheck_exit.arm()
        return
    directory = os.environ.get(protocol.ENV_DIR)
    if not directory:
        return
    watch_owner_once(os.environ.get(protocol.ENV_OWNER, ""), directory)
    _share_source_trees(config)
    config.pluginmanager.register(_Writer(config, directory), "claimcheck_stream_writer")
    claimcheck_exit.arm()  # its heap left to the kernel at exit, not to CPython's collections


def _share_source_trees(config: Any) -> None:
    """A module's statement lines found once for its failures' tracebacks, and kept between
    runs where claimcheck names a folder for them, until this session's end
    (`claimcheck_trees`)."""
    folder = os.environ.get(protocol.ENV_STATEMENTS)
    store = store_path(folder, str(config.rootpath)) if folder else None
    put_back = share_source_trees(store)
    if put_back is not None:
        config.add_cleanup(put_back)


def _restore_addopts() -> None:
    """PYTEST_ADDOPTS as it was before claimcheck added its options (command phases)."""
    if protocol.ENV_ADDOPTS_BEFORE in os.environ:
        before = os.environ[protocol.ENV_ADDOPTS_BEFORE]
        if before:
            os.environ["PYTEST_ADDOPTS"] = before
        else:
            os.environ.pop("PYTEST_ADDOPTS", None)


MarkerCache = dict  # id(parent node) -> (parent node, its marker names, their lists)
_mark_name = attrgetter("name")  # not a comprehension: that is a function made at each call


def _marker_names_of(item: pytest.Item, cache: MarkerCache) -> list[str]:
    """The names `item.iter_markers()` yields (the test's own, then its class's, module's...),
    with the parents' part computed once per parent: a module of 300 tests walks its chain
    once, not 300 times, and the tests that add the same marks (a parametrized function's
    cases) share one list, which nobody changes."""
    parent = item.parent
    cached = cache.get(id(parent))
    if cached is None or cached[0] is not parent:
        names = tuple(dict.fromkeys(mark.name for mark in parent.iter_markers())) \
            if parent is not None else ()
        cached = cache[id(parent)] = (parent, names, {})
    own_markers = item.own_markers
    own = tuple(map(_mark_name, own_markers)) if own_markers else ()
    combined = cached[2].get(own)
    if combined is None:
        combined = cached[2][own] = list(dict.fromkeys((*own, *cached[1])))
    return combined


# ----------------------------------------------------------------------------------------


class _WorkerSide:
    """Inside an xdist worker: what the controller cannot see travels with the reports.

    The controller never holds the test items, so marker names ride on the teardown report
    (xdist serializes a report's attributes); deselected ids and an interruption ride on
    `workeroutput`, which the controller reads when the worker goes down.
    """

    def __init__(self, config: Any) -> None:
        self.config = config
        self.deselected: list[str] = []
        self.marker_cache: MarkerCache = {}
        self.markers: dict[str, list[str]] = {}
        _restore_addopts()  # pytest runs the worker's tests start are not the phase's

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self.markers[item.nodeid] = _marker_names_of(item, self.marker_cache)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before xdist sends the teardown report to the controller (plain hooks: a wrapper
        around every report's making costs far more)."""
        if report.when == "teardown":
            markers = self.markers.pop(report.nodeid, None)
            if markers is not None:
                report.claimcheck_markers = markers  # type: ignore[attr-defined]

    def pytest_deselected(self, items: list[Any]) -> None:
        self.deselected.extend(item.nodeid for item in items)
        output = self.config.workeroutput  # type: ignore[attr-defined]
        output["claimcheck_deselected"] = len(self.deselected)
        output["claimcheck_deselected_ids"] = self.deselected

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.config.workeroutput["claimcheck_interrupt"] = interruption(excinfo)  # type: ignore[attr-defined]


class _Writer:
    """The controller side: one stream file per session, one `test` line per node id."""

    def __init__(self, config: Any, directory: str) -> None:
        self.config = config
        self.directory = directory
        self.rootdir = str(config.rootpath)
        self.pid = os.getpid()
        self.forks = _forks
        self.base = os.path.join(directory, f"{self.pid}-{next(_sequence)}")
        self.stream = AppendFile(self.base + protocol.STREAM_SUFFIX)
        self.running_fd: int | None = None
        self.running: dict[str, None] = {}  # started and not finished (several under xdist)
        self.lock = threading.Lock()
        self.closed = False
        self.partial: dict[str, Partial] = {}
        self.markers: dict[str, list[str]] = {}
        self.marker_cache: MarkerCache = {}
        self.deselected_ids: list[str] = []
        self.collected: int | None = None
        self.xdist_deselected: int | None = None
        self.xdist_deselected_ids: list[str] | None = None
        self.xdist_workers: set[str] = set()
        self.collect_errors: set[str] = set()
        self.collect_skips: set[str] = set()  # files skipped as a whole at collection
        self.collect_error_reports = 0
        self.internal_errors = 0
        self.interrupt: dict[str, Any] | None = None
        self.saved_env: dict[str, str | None] = {}
        self.teststatus = config.hook.pytest_report_teststatus
        self.terminal_stats: dict[Any, list[Any]] | None = None  # set at the session's start
        self._hide_from_nested_sessions()

    # -- plumbing ------------------------------------------------------------------------

    def _hide_from_nested_sessions(self) -> None:
        """Keep pytest runs started *by the tests* (subprocesses, pytester) out of the phase.

        The variables come back at unconfigure, so a wrapper that calls pytest again, in this
        process or in a new one, is observed again.
        """
        for name in (protocol.ENV_DIR, "PYTEST_ADDOPTS"):
            self.saved_env[name] = os.environ.get(name)
        os.environ.pop(protocol.ENV_DIR, None)
        _restore_addopts()

    def _emit(self, event: dict[str, Any]) -> None:
        """Write one line to the stream file, now: whatever happens to the process next, the
        kernel has it."""
        try:
            line = (json.dumps(event) + "\n").encode("utf-8")
        except (TypeError, ValueError):
            return  # the evidence stream must never be what breaks a project's test run
        self._write(line)

    def _write(self, line: bytes) -> None:
        if self.closed or _forks != self.forks:
            return  # a test forked this process: the child is not the session
        with self.lock:
            try:
                self.stream.write(line)
            except (OSError, ValueError):
                pass

    def _write_running(self) -> None:
        """Rewrite `<base>.running` in place (one pwrite, which the kernel keeps whatever
        happens to this process next): one line per running test, closed by "-"."""
        if _forks != self.forks:
            return
        running = self.running
        if len(running) == 1:  # one test runs (always, in a serial run)
            record = _running_record(next(iter(running))) + _RUNNING_BETWEEN
        elif running:
            record = b"".join(map(_running_record, running)) + _RUNNING_BETWEEN
        else:
            record = _RUNNING_BETWEEN
        with self.lock:
            try:
                if self.running_fd is None:
                    self.running_fd = os.open(self.base + protocol.RUNNING_SUFFIX,
                                              os.O_WRONLY | os.O_CREAT, 0o600)
                os.pwrite(self.running_fd, record, 0)
            except OSError:
                pass

    def _category(self, report: Any) -> str:
        """pytest's own word for what this report is ("passed", "rerun", "" for a passed
        setup...), as the terminal summary counts it; the report's outcome if a plugin's
        hook breaks.

        pytest's terminal reporter has just asked `pytest_report_teststatus` (its logreport
        runs before this plugin's `trylast` one) and filed the report in `stats` under the
        answer: it is the last report of that category. Only when no reporter filed it
        (`-p no:terminal`, a reporter of another kind) is the hook asked again. (Keeping the
        answer with a hookwrapper cost a third of the plugin's time per test.)"""
        stats = self.terminal_stats
        if stats is not None:
            for category, reports in stats.items():
                if reports and reports[-1] is report and type(category) is str:
                    return category
        try:
            status = self.teststatus(report=report, config=self.config)
        except Exception:  # noqa: BLE001 - another plugin's bug must not lose the result
            return report.outcome
        return str(status[0]) if status else ""

    # -- session -------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = self.config
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        stats = getattr(reporter, "stats", None)
        self.terminal_stats = stats if isinstance(stats, dict) else None
        inipath = getattr(config, "inipath", None)
        self._emit(
            {
                K.EVENT: protocol.SESSION_START,
                K.PID: os.getpid(),
                K.ROOTDIR: str(config.rootpath),
                K.INIFILE: str(inipath) if inipath else None,
                K.PYTHON_FILES: ini_list(config, "python_files"),
                K.PYTHON_CLASSES: ini_list(config, "python_classes"),
                K.PYTHON_FUNCTIONS: ini_list(config, "python_functions"),
                K.MARKERS: marker_names(config),
                K.STRICT_MARKERS: strict_markers(config),
                K.TESTPATHS: ini_list(config, "testpaths"),
                K.ARGS: [str(arg) for arg in config.args],
                K.PYTEST_VERSION: pytest.__version__,
            }
        )

    def pytest_deselected(self, items: list[Any]) -> None:
        self.deselected_ids.extend(item.nodeid for item in items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items) + len(self.deselected_ids)
        self._emit({K.EVENT: protocol.COLLECTION_FINISH, K.COLLECTED: self.collected,
                    K.DESELECTED: len(self.deselected_ids)})
        if self.deselected_ids:
            self._emit({K.EVENT: protocol.DESELECTED, K.IDS: self.deselected_ids})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped and report.nodeid not in self.collect_skips:
            self.collect_skips.add(report.nodeid)  # once, as a broken file (xdist: per worker)
            self._emit(collection_skip_event(report))
        if not report.failed:
            return
        self.collect_error_reports += 1  # pytest's own count (per xdist worker)
        if report.nodeid in self.collect_errors:
            return  # under xdist every worker reports the same broken file
        self.collect_errors.add(report.nodeid)
        error_type, message = collection_error_summary(report)
        self._emit(
            {
                K.EVENT: protocol.COLLECT_ERROR,
                K.NODEID: report.nodeid,
                K.ERROR_TYPE: error_type,
                K.MESSAGE: message,
                K.LONGREPR: bounded(report.longreprtext, LONGREPR_LIMIT),
            }
        )

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str,
                                location: Any) -> None:
        self._emit(
            {
                K.EVENT: protocol.WARNING,
                K.CATEGORY: getattr(warning_message.category, "__name__",
                                    str(warning_message.category)),
                K.MESSAGE: str(warning_message.message),
                K.FILENAME: warning_message.filename,
                K.LINENO: warning_message.lineno,
                K.NODEID: nodeid or None,
                K.WHEN: when,
            },
        )

    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        """An INTERNALERROR, here or (under xdist) in a worker, which xdist reports here
        without changing the session's exit status."""
        self.internal_errors += 1

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """pytest.exit() or a KeyboardInterrupt: the session ends before its tests did."""
        if self.interrupt is None:
            self._interrupted(interruption(excinfo))

    def _interrupted(self, info: dict[str, Any]) -> None:
        self.interrupt = info
        self._emit({K.EVENT: protocol.INTERRUPTED, **info,
                    K.UNFINISHED: [nodeid for nodeid in self.running]})

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        """The session's last word, written once every plain `pytest_sessionfinish` has run.

        A wrapper's code after `yield` runs after all plain implementations, so any plugin
        that rewrites `session.exitstatus` there has done so: claimcheck builds its result from
        this line without waiting for the process to exit. `trylast` makes this the innermost
        wrapper, so it comes before the terminal summary, which pytest prints in its own
        wrapper. After this line the process only tears down (unconfigure, the interpreter
        freeing its heap), which at 20,000 tests takes seconds and changes no test's result.
        An old-style `hookwrapper`, not `wrapper=True`, because a project may run a pluggy
        older than 1.1.
        """
        outcome = yield
        status = getattr(session, "exitstatus", exitstatus)
        excinfo = getattr(outcome, "excinfo", None)
        if excinfo and getattr(excinfo[1], "returncode", None) is not None:
            status = excinfo[1].returncode  # pytest.exit(returncode=...) inside sessionfinish
        self._session_finish(int(status))

    def _session_finish(self, exitstatus: int) -> None:
        # Tests an interruption cut short: counted as far as pytest counted them (a call
        # that passed before pytest.exit() in its teardown passed).
        for nodeid, partial in list(self.partial.items()):
            if partial.rank > 0:
                del self.partial[nodeid]
                self._emit(self._test_event(partial.decider, partial, nodeid,
                                            self._markers_of(nodeid, partial.decider)))
        collected, deselected = self.collected, len(self.deselected_ids)
        if self.xdist_workers:
            deselected = self.xdist_deselected or 0
            collected = (self.collected or 0) + deselected
            if self.xdist_deselected_ids:
                self._emit({K.EVENT: protocol.DESELECTED, K.IDS: self.xdist_deselected_ids})
        self._write_running()  # no test runs any more (an interrupted one is in its line)
        self._emit(
            {
                K.EVENT: protocol.SESSION_FINISH,
                K.EXITSTATUS: exitstatus,
                K.COLLECTED: collected,
                K.DESELECTED: deselected,
                K.XDIST_WORKERS: len(self.xdist_workers),
                K.COLLECT_ERROR_REPORTS: self.collect_error_reports,
                K.INTERNAL_ERRORS: self.internal_errors,
            }
        )
        if _forks == self.forks:
            protocol.wake(_WAKE_FD)  # claimcheck need not wait for its next look at the stream

    def pytest_unconfigure(self, config: Any) -> None:
        self.closed = True
        if _forks == self.forks:  # a forked child leaves the session's files alone
            self.stream.close()
            if self.running_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self.running_fd)
        self.running_fd = None
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_env = {}
        owner = os.environ.get(protocol.ENV_OWNER, "")
        if owner.isdigit() and not protocol.pid_alive(int(owner)):
            remove_stream_folder(self.directory)

    # -- xdist (optional hooks: xdist may not be installed) --------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: Any, specs: Any) -> None:
        """A command phase injects the plugin through PYTEST_ADDOPTS, which the workers read
        when they start: give it back to them (not the stream folder) while they do."""
        injected = self.saved_env.get("PYTEST_ADDOPTS")
        if injected is not None and protocol.ENV_ADDOPTS_BEFORE in os.environ:
            os.environ["PYTEST_ADDOPTS"] = injected

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[protocol.WORKER_FLAG] = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_newgateway(self, gateway: Any) -> None:
        """Load this plugin in the worker a gateway leads to, wherever that is: a remote
        worker (`--tx ssh=...`, `--tx socket=...`) cannot import it otherwise, and xdist
        would wait for it until the phase's timeout (claimcheck_ship); a local worker that
        imports it by itself goes without."""
        args = [str(arg) for arg in self.config.invocation_params.args or ()]
        if not loads_plugin_itself(getattr(gateway, "spec", None), args, os.environ):
            ship_to_worker(gateway)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        _restore_addopts()  # every worker has started
        self.xdist_workers.add(str(getattr(node.gateway, "id", node)))
        if self.collected is None:
            # Workers deselect on their side; the count arrives with their output at the end.
            self.collected = len(ids)
            self._emit({K.EVENT: protocol.COLLECTION_FINISH, K.COLLECTED: len(ids),
                        K.DESELECTED: None})

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if "claimcheck_deselected" in output:
            self.xdist_deselected = max(self.xdist_deselected or 0,
                                        int(output["claimcheck_deselected"]))
            ids = output.get("claimcheck_deselected_ids")
            if isinstance(ids, list) and len(ids) >= len(self.xdist_deselected_ids or ()):
                self.xdist_deselected_ids = [str(nodeid) for nodeid in ids]
        info = output.get("claimcheck_interrupt")
        if isinstance(info, dict) and self.interrupt is None:
            worker = getattr(getattr(node, "gateway", None), "id", None)
            self._interrupted({**info, K.WORKER: worker})

    # -- tests -----------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.running[nodeid] = None
        self._write_running()

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Serial runs: read the markers before the teardown report is logged (not under xdist,
        where the controller runs no tests and the worker attaches them to the report)."""
        self.markers[item.nodeid] = _marker_names_of(item, self.marker_cache)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold the report into its test's outcome; the test's last report writes its line.

        Most reports of a run are a setup, call or teardown that passed, which pytest's
        terminal reporter has just filed where pytest's own words put it ("" for a setup or
        teardown, "passed" for a call), of a test with nothing unusual so far (no rerun, no
        failure): those are folded here, in a few steps, exactly as `_fold` would fold them;
        `_fold` takes every other report."""
        nodeid = report.nodeid
        partial = self.partial.get(nodeid)
        stats = self.terminal_stats
        if type(report) is _TestReport and report.outcome == "passed" and stats is not None:
            when = report.when
            if when == "call":
                filed = stats.get("passed")
                if partial is not None and partial.rank == 0 and filed and filed[-1] is report:
                    # A passed setup decided the test so far (rank 0): the call outranks it.
                    partial.duration += report.duration
                    partial.rank, partial.decider, partial.outcome = 1, report, "passed"
                    return
            else:
                filed = stats.get("")
                if filed and filed[-1] is report:
                    if when == "setup" and partial is None:
                        partial = self.partial[nodeid] = Partial()
                        partial.duration += report.duration
                        partial.rank, partial.decider = 0, report
                        return
                    # Rank -1: no setup since the test began or since a rerun report, whose
                    # attempt's teardown `_fold` leaves out.
                    if when == "teardown" and partial is not None and partial.rank >= 0:
                        partial.duration += report.duration
                        self._finish(nodeid, report, partial)
                        return
        self._fold(nodeid, report, partial)

    def _fold(self, nodeid: str, report: Any, partial: Partial | None) -> None:
        """Any report: its outcome in pytest's own category, ranked against the test's others
        (a failed setup or teardown outranks all), reruns and subtests counted."""
        if partial is None:
            partial = self.partial[nodeid] = Partial()
        if type(report) is not _TestReport and is_subtest(report):
            partial.add_subtest(report)
            return
        category = self._category(report)
        if category == _RERUN_CATEGORY or report.outcome == "rerun":
            partial.next_attempt(report)
            return
        partial.duration += report.duration
        if partial.between_attempts:
            if report.when != "setup":
                return  # the rest of an attempt that will be run again
            partial.between_attempts = False
        outcome = stage_outcome(report, category)
        rank = RANK[outcome] if outcome else 0
        if rank > partial.rank:
            previous = partial.decider
            if previous is not None and previous.failed:
                partial.earlier_failure = previous
            partial.rank, partial.decider = rank, report
            partial.outcome = outcome or "passed"
        if report.when == "teardown" or report.when not in ("setup", "call"):
            self._finish(nodeid, report, partial)

    def _finish(self, nodeid: str, last: Any, partial: Partial) -> None:
        """The test's last report came: it no longer runs, and its one line is written. Most
        tests passed and say nothing more, and their line is formatted without building the
        event (`passing_line`).

        No write to `.running` (the line goes to the stream now, so `.running` naming the test
        until the next one starts misleads no reader), and no `pytest_runtest_logfinish` hook,
        one call per test less."""
        del self.partial[nodeid]
        self.running.pop(nodeid, None)
        decider = partial.decider
        markers = self._markers_of(nodeid, last)
        if (partial.outcome == "passed" and decider is not None and decider.when == "call"
                and not partial.reruns and partial.rerun_report is None
                and partial.subtests is None):
            line = passing_line(nodeid, partial.duration, self._line_of(last, decider)[1],
                                markers)
            if line is not None:
                self._write(line)
                return
        self._emit(self._test_event(last, partial, nodeid, markers))

    def _markers_of(self, nodeid: str, last: Any) -> list[str]:
        markers = self.markers.pop(nodeid, None)
        if markers is None:
            markers = getattr(last, "claimcheck_markers", None)
        if markers is None:
            markers = markers_from_keywords(last)
        return markers

    @staticmethod
    def _line_of(last: Any, decider: Any) -> tuple[Any, int | None]:
        """The test's location as pytest reports it, and its 1-based line."""
        location = getattr(last, "location", None) or getattr(decider, "location", None)
        return location, (location[1] + 1 if location and isinstance(location[1], int)
                          else None)

    def _test_event(self, last: Any, partial: Partial, nodeid: str,
                    markers: list[str]) -> dict[str, Any]:
        decider = partial.decider
        outcome = partial.outcome
        failures = partial.subtest_failures
        if failures and outcome in ("passed", "failed") and decider.when == "call":
            outcome = "failed"  # a failing subtest fails its test (pytest 9 says so too)
            decider = failures[0]
        location, line = self._line_of(last, decider)
        event: dict[str, Any] = {
            K.EVENT: protocol.TEST,
            K.NODEID: nodeid,
            K.OUTCOME: outcome,
            K.DURATION: partial.duration,
            K.LINE: line,
            K.MARKERS: markers,
        }
        if partial.reruns:
            event[K.RERUNS] = partial.reruns
        if partial.subtests is not None:
            event[K.SUBTESTS] = partial.subtests
        if decider.when != "call":
            event[K.WHEN] = decider.when
        if outcome == "passed" and partial.rerun_report is None:
            return event  # nobody reads more of a passing test
        source = decider
        if outcome == "passed":  # flaky: why its earlier attempt failed
            source = partial.rerun_report
        message, path, crash_line = crash_of(source, outcome if source is decider else "failed")
        if decider.when == "???":
            message = worker_crash_message(decider)
        elif failures and decider is failures[0]:
            message = subtest_message(decider, message)
        event[K.MESSAGE] = message
        if path is None and location:
            path = os.path.join(self.rootdir, location[0])
        else:
            event[K.LINE] = crash_line
        event[K.PATH] = path
        if outcome in ("failed", "error") or source is not decider:
            if failures and decider is failures[0]:
                text = "\n\n".join(subtest_longrepr(report) for report in failures)
            elif source is not decider:
                text = source.longreprtext
            else:
                text = longrepr_of(decider, partial.earlier_failure)
            event[K.LONGREPR] = bounded(text, LONGREPR_LIMIT)
        if outcome in ("failed", "error"):
            event[K.SECTIONS] = [[title, bounded(text, SECTION_LIMIT)]
                                 for title, text in last.sections]
        return event
