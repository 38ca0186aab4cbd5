"""claimcheck's eyes inside a pytest session: one JSON line per event, written as it happens.

This file is loaded *inside the project's pytest* (`-p claimcheck_stream`, with this folder on
PYTHONPATH), possibly under another interpreter and another virtualenv than claimcheck's. So it
imports nothing from claimcheck and only the standard library plus pytest itself.

It does nothing unless `CLAIMCHECK_STREAM_DIR` is set. Then every pytest session (a wrapper
script may start several, in one process or in many) writes `<dir>/<pid>-<n>.jsonl` and points
pytest-json-report at `<dir>/<pid>-<n>.json`. Events, one object per line:

    session_start      pid, rootdir, inifile, python_files/classes/functions, markers,
                       strict_markers, testpaths, args, json_report
    collection_finish  collected (deselected included, as pytest's "collected N items"),
                       deselected (None under xdist until the workers report it)
    collect_error      nodeid, error_type, message (one line), longrepr
    test               nodeid, outcome, duration, message, path, line, longrepr, sections,
                       markers, when
    warning            category, message, filename, lineno, nodeid, when
    session_finish     exitstatus, collected, deselected, xdist_workers, json_report,
                       json_report_saved (written after pytest-json-report saved its file)

Under pytest-xdist only the controller writes; workers only attach marker names to their
reports (which travel to the controller) and hand their deselection count back through
`workeroutput`. Each line is flushed on its own so claimcheck can show results while the
session still runs; nothing is fsynced, because only a live reader on the same machine needs it.

When `CLAIMCHECK_OWNER_PID` is set, a daemon thread ends the phase's process group once that
claimcheck has died, so not even a SIGKILLed claimcheck leaves a hanging phase behind.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import threading
import time
from typing import Any

import pytest

ENV_DIR = "CLAIMCHECK_STREAM_DIR"
# What PYTEST_ADDOPTS was before claimcheck added its own options (command phases only).
ENV_ADDOPTS_BEFORE = "CLAIMCHECK_ADDOPTS_BEFORE"
# "0": do not switch pytest-json-report on; the stream alone is the final record.
ENV_JSON_REPORT = "CLAIMCHECK_JSON_REPORT"
# The pid of the claimcheck that started this phase: when it is gone, so is the phase.
ENV_OWNER = "CLAIMCHECK_OWNER_PID"
OWNER_POLL_S = 0.5
WORKER_FLAG = "claimcheck_stream"
SECTION_LIMIT = 20_000  # characters kept of each captured-output section
LONGREPR_LIMIT = 100_000  # characters kept of one traceback
JSON_OMIT = ("keywords", "log", "streams", "traceback", "warnings", "collectors")

_sequence = itertools.count(1)  # a process may run pytest.main() more than once
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::\s?(.*))?")


# ----------------------------------------------------------------------------------------
# Hooks of the module itself: decide whether to activate, before pytest-json-report decides.


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register the session writer (controller) or the report annotator (xdist worker).

    `tryfirst` so `config.option.json_report` is switched on before pytest-json-report's own
    `pytest_configure` reads it; that one is the only place it does.
    """
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        _restore_pytest_plugins()
        if workerinput.get(WORKER_FLAG):
            config.pluginmanager.register(_WorkerSide(config), "claimcheck_stream_worker")
        return
    directory = os.environ.get(ENV_DIR)
    if not directory:
        return
    _watch_owner_once(os.environ.get(ENV_OWNER, ""))
    config.pluginmanager.register(_Writer(config, directory), "claimcheck_stream_writer")


# ----------------------------------------------------------------------------------------
# The owner watch: a claimcheck killed with SIGKILL (or by the OOM killer) runs no clean-up,
# and its phase would go on running, a hanging test forever. The phase runs in its own process
# group (claimcheck starts it in a new session), so ending that group ends the phase: pytest,
# its xdist workers, a project's runner around it, whatever the tests started.

_owner_watched = False


def _watch_owner_once(raw_pid: str) -> None:
    global _owner_watched
    if _owner_watched or not raw_pid.isdigit() or not hasattr(os, "killpg"):
        return
    _owner_watched = True
    thread = threading.Thread(target=_end_group_when_owner_dies,
                              args=(int(raw_pid), os.getppid()),
                              name="claimcheck-owner-watch", daemon=True)
    thread.start()


def owner_gone(owner: int, first_parent: int) -> bool:
    """Whether the claimcheck with pid `owner` has died (a zombie counts as dead)."""
    if first_parent == owner and os.getppid() != owner:
        return True  # re-parented: the owner died, and its pid may already be someone else's
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, owned by another user
    try:
        with open(f"/proc/{owner}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def _end_group_when_owner_dies(owner: int, first_parent: int) -> None:
    while not owner_gone(owner, first_parent):
        time.sleep(OWNER_POLL_S)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)


def _marker_names_of(item: pytest.Item) -> list[str]:
    return list(dict.fromkeys(mark.name for mark in item.iter_markers()))


# ----------------------------------------------------------------------------------------


class _WorkerSide:
    """Inside an xdist worker: what the controller cannot see travels with the reports.

    The controller never holds the test items, so marker names ride on the teardown report
    (xdist serializes a report's attributes) and the deselection count on `workeroutput`.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.deselected = 0

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any):
        outcome = yield
        if call.when == "teardown":
            outcome.get_result().claimcheck_markers = _marker_names_of(item)

    def pytest_deselected(self, items: list[Any]) -> None:
        self.deselected += len(items)
        self.config.workeroutput["claimcheck_deselected"] = self.deselected  # type: ignore[attr-defined]


class _Partial:
    """A test whose setup/call/teardown reports are still arriving."""

    __slots__ = ("duration", "decider", "rank", "superseded", "earlier_failure")

    def __init__(self) -> None:
        self.superseded = False
        self.duration = 0.0
        self.decider: Any = None
        self.rank = -1
        # A failed call that a teardown error then outranked: its traceback is kept, because
        # the assertion is usually what the person needs to see first.
        self.earlier_failure: Any = None


class _Writer:
    """The controller side: one stream file per session."""

    def __init__(self, config: pytest.Config, directory: str) -> None:
        self.config = config
        self.directory = directory
        self.rootdir = str(config.rootpath)
        self.base = os.path.join(directory, f"{os.getpid()}-{next(_sequence)}")
        self.handle: Any = None
        self.partial: dict[str, _Partial] = {}
        self.markers: dict[str, list[str]] = {}
        self.deselected = 0
        self.collected: int | None = None
        self.xdist_deselected: int | None = None
        self.xdist_workers: set[str] = set()
        self.collect_errors: set[str] = set()
        self.json_report: str | None = None
        self.saves_json_report = False  # we write pytest-json-report's document ourselves
        self.saved_env: dict[str, str | None] = {}
        self._setup_json_report(config)
        self._hide_from_nested_sessions()

    # -- plumbing ------------------------------------------------------------------------

    def _setup_json_report(self, config: pytest.Config) -> None:
        option = config.option
        if not hasattr(option, "json_report"):
            return  # pytest-json-report is not installed or disabled: the stream must do
        if os.environ.get(ENV_JSON_REPORT, "1") == "0" and not option.json_report:
            return  # claimcheck was told the stream alone is the record (speed)
        if option.json_report:
            # The project asked for its own report: leave it where it wants it, read it there.
            path = getattr(option, "json_report_file", None)
            self.json_report = os.path.abspath(path) if path else None
            return
        option.json_report = True
        # pytest-json-report saves through `json.dump`, which runs the pure-Python encoder:
        # about 0.4 s at 20,000 tests, right between the last test and claimcheck's report.
        # Its documented "none" keeps the report on the plugin unsaved, and
        # `_save_json_report` writes that same document with the C encoder instead.
        option.json_report_file = None
        omit = list(getattr(option, "json_report_omit", None) or [])
        option.json_report_omit = omit + [key for key in JSON_OMIT if key not in omit]
        self.json_report = self.base + ".json"
        self.saves_json_report = True

    def _hide_from_nested_sessions(self) -> None:
        """Keep pytest runs started *by the tests* (subprocesses, pytester) out of the phase.

        The variables come back at unconfigure, so a wrapper that calls pytest again, in this
        process or in a new one, is observed again.
        """
        for name in (ENV_DIR, "PYTEST_ADDOPTS"):
            self.saved_env[name] = os.environ.get(name)
        os.environ.pop(ENV_DIR, None)
        if ENV_ADDOPTS_BEFORE in os.environ:
            before = os.environ[ENV_ADDOPTS_BEFORE]
            if before:
                os.environ["PYTEST_ADDOPTS"] = before
            else:
                os.environ.pop("PYTEST_ADDOPTS", None)

    def _emit(self, event: dict[str, Any]) -> None:
        try:
            if self.handle is None:
                self.handle = open(self.base + ".jsonl", "w", encoding="utf-8")
            self.handle.write(json.dumps(event) + "\n")
            self.handle.flush()
        except (OSError, TypeError, ValueError):
            pass  # the evidence stream must never be what breaks a project's test run

    # -- session -------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = self.config
        inipath = getattr(config, "inipath", None)
        self._emit(
            {
                "event": "session_start",
                "pid": os.getpid(),
                "rootdir": str(config.rootpath),
                "inifile": str(inipath) if inipath else None,
                "python_files": _ini_list(config, "python_files"),
                "python_classes": _ini_list(config, "python_classes"),
                "python_functions": _ini_list(config, "python_functions"),
                "markers": _marker_names(config),
                "strict_markers": _strict_markers(config),
                "testpaths": _ini_list(config, "testpaths"),
                "args": [str(arg) for arg in config.args],
                "json_report": self.json_report,
            }
        )

    def pytest_deselected(self, items: list[Any]) -> None:
        self.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items) + self.deselected
        self._emit(
            {"event": "collection_finish", "collected": self.collected,
             "deselected": self.deselected}
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed or report.nodeid in self.collect_errors:
            return  # under xdist every worker reports the same broken file
        self.collect_errors.add(report.nodeid)
        error_type, message = collection_error_summary(report)
        self._emit(
            {
                "event": "collect_error",
                "nodeid": report.nodeid,
                "error_type": error_type,
                "message": message,
                "longrepr": _bounded(report.longreprtext, LONGREPR_LIMIT),
            }
        )

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str,
                                location: Any) -> None:
        self._emit(
            {
                "event": "warning",
                "category": getattr(warning_message.category, "__name__",
                                    str(warning_message.category)),
                "message": str(warning_message.message),
                "filename": warning_message.filename,
                "lineno": warning_message.lineno,
                "nodeid": nodeid or None,
                "when": when,
            }
        )

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        """The session's last word, written once every plain `pytest_sessionfinish` has run.

        A wrapper's code after `yield` runs after all plain implementations, so by then
        pytest-json-report (a plain `tryfirst` one) has built its report (saved here) and any
        plugin that rewrites `session.exitstatus` there has done so: claimcheck builds its
        result from this line without waiting for the process to exit (`json_report_saved`
        says whether the file was on disk when the line was written). `trylast` makes this the
        innermost wrapper, so it comes before the terminal summary, which pytest prints in its
        own wrapper. After
        this line the process only tears down (unconfigure, the interpreter freeing its heap),
        which at 20,000 tests takes seconds and changes no test's result. An old-style
        `hookwrapper`, not `wrapper=True`, because a project may run a pluggy older than 1.1.
        """
        outcome = yield
        if self.saves_json_report:
            self._save_json_report()
        status = getattr(session, "exitstatus", exitstatus)
        excinfo = getattr(outcome, "excinfo", None)
        if excinfo and getattr(excinfo[1], "returncode", None) is not None:
            status = excinfo[1].returncode  # pytest.exit(returncode=...) inside sessionfinish
        self._session_finish(int(status))

    def _save_json_report(self) -> None:
        """Write the document pytest-json-report built (`plugin.report`), whole or not at all."""
        plugin = getattr(self.config, "_json_report", None)
        document = getattr(plugin, "report", None)
        if document is None or self.json_report is None:
            return  # claimcheck then keeps what the stream recorded
        partial = self.json_report + ".part"
        try:
            text = json.dumps(document, default=str)
            with open(partial, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(partial, self.json_report)
        except (OSError, TypeError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(partial)

    def _session_finish(self, exitstatus: int) -> None:
        collected, deselected = self.collected, self.deselected
        if self.xdist_workers:
            deselected = self.xdist_deselected or 0
            collected = (self.collected or 0) + deselected
        self._emit(
            {
                "event": "session_finish",
                "exitstatus": exitstatus,
                "collected": collected,
                "deselected": deselected,
                "xdist_workers": len(self.xdist_workers),
                "json_report": self.json_report,
                "json_report_saved": bool(self.json_report
                                          and os.path.exists(self.json_report)),
            }
        )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
            self.handle = None
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_env = {}

    # -- xdist (optional hooks: xdist may not be installed) --------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_FLAG] = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_newgateway(self, gateway: Any) -> None:
        """Load this plugin in the worker a gateway leads to, wherever that is.

        Without it a remote worker (`--tx ssh=...`, `--tx socket=...`) cannot import
        `-p claimcheck_stream` and xdist hangs, and no worker of a `command` phase loads it at
        all (`-p` came through PYTEST_ADDOPTS, which the workers do not see): the deselection
        count and the markers are then lost.
        """
        ship_to_worker(gateway)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.xdist_workers.add(str(getattr(node.gateway, "id", node)))
        if self.collected is None:
            # Workers deselect on their side; the count arrives with their output at the end.
            self.collected = len(ids)
            self._emit({"event": "collection_finish", "collected": len(ids),
                        "deselected": None})

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if "claimcheck_deselected" in output:
            self.xdist_deselected = max(self.xdist_deselected or 0,
                                        int(output["claimcheck_deselected"]))

    # -- tests -----------------------------------------------------------------------------

    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Serial runs: read the markers before the teardown report is logged (not under xdist,
        where the controller runs no tests and the worker attaches them to the report)."""
        self.markers[item.nodeid] = _marker_names_of(item)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        partial = self.partial.get(report.nodeid)
        if partial is None:
            partial = self.partial[report.nodeid] = _Partial()
        if report.outcome not in ("passed", "failed", "skipped"):
            partial.superseded = True  # pytest-rerunfailures' "rerun": another attempt follows
        if partial.superseded:
            if report.when == "teardown":
                del self.partial[report.nodeid]
            return
        partial.duration += report.duration
        rank = _rank(report)
        if rank > partial.rank:
            previous = partial.decider
            if previous is not None and previous.failed:
                partial.earlier_failure = previous
            partial.rank, partial.decider = rank, report
        if report.when == "teardown" or report.when not in ("setup", "call"):
            del self.partial[report.nodeid]
            self._emit(self._test_event(report, partial))

    def _test_event(self, last: Any, partial: _Partial) -> dict[str, Any]:
        decider = partial.decider
        outcome = _outcome(decider)
        message, path, line = _crash(decider, outcome)
        if path is None:
            location = getattr(last, "location", None)
            if location:
                path = os.path.join(self.rootdir, location[0])
                line = location[1] + 1 if isinstance(location[1], int) else None
        bad = outcome in ("failed", "error")
        markers = self.markers.pop(last.nodeid, None)
        if markers is None:
            markers = getattr(last, "claimcheck_markers", None)
        if markers is None:
            markers = _markers_from_keywords(last)
        return {
            "event": "test",
            "nodeid": last.nodeid,
            "outcome": outcome,
            "duration": partial.duration,
            "message": message,
            "path": path,
            "line": line,
            "longrepr": _bounded(_longrepr_of(decider, partial.earlier_failure),
                                 LONGREPR_LIMIT) if bad else None,
            "sections": ([[title, _bounded(text, SECTION_LIMIT)] for title, text in last.sections]
                         if bad else []),
            "markers": list(markers),
            "when": decider.when,
        }


# ----------------------------------------------------------------------------------------
# Shipping the plugin to xdist workers: the worker may be on another machine, where neither
# claimcheck nor this file exists. Its source travels over the gateway and is served to
# `import claimcheck_stream` from memory (first on the import path, so the worker runs the
# controller's copy), and PYTEST_PLUGINS names it for the worker's pytest; the worker puts
# PYTEST_PLUGINS back as it was once configured, so pytest runs the tests start stay clean.

PLUGIN_NAME = "claimcheck_stream"
ENV_PLUGINS_BEFORE = "CLAIMCHECK_PYTEST_PLUGINS_BEFORE"
SHIP_TIMEOUT_S = 30.0
_WORKER_BOOTSTRAP = """
import importlib.abc, importlib.util, os, sys
name, source, filename, before_key = channel.receive()

class ClaimcheckSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=filename)
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        exec(compile(source, filename, "exec"), module.__dict__)

sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ClaimcheckSource"]
sys.meta_path.insert(0, ClaimcheckSource())
sys.modules.pop(name, None)
plugins = os.environ.get("PYTEST_PLUGINS", "")
if name not in [part.strip() for part in plugins.split(",")]:
    os.environ[before_key] = plugins
    os.environ["PYTEST_PLUGINS"] = ",".join(part for part in (plugins, name) if part)
channel.send(True)
"""


def ship_to_worker(gateway: Any) -> None:
    """Send this file's source to the gateway's process before xdist starts the worker there."""
    try:
        with open(__file__, encoding="utf-8") as handle:
            source = handle.read()
        channel = gateway.remote_exec(_WORKER_BOOTSTRAP)
        channel.send((PLUGIN_NAME, source, __file__, ENV_PLUGINS_BEFORE))
        channel.receive(SHIP_TIMEOUT_S)
        channel.waitclose(SHIP_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - never break the run; the worker then goes without it
        pass


def _restore_pytest_plugins() -> None:
    if ENV_PLUGINS_BEFORE not in os.environ:
        return
    before = os.environ.pop(ENV_PLUGINS_BEFORE)
    if before:
        os.environ["PYTEST_PLUGINS"] = before
    else:
        os.environ.pop("PYTEST_PLUGINS", None)


# ----------------------------------------------------------------------------------------
# Folding reports into one outcome, the way pytest-json-report and pytest's summary do.


def _longrepr_of(decider: Any, earlier_failure: Any) -> str:
    """The deciding report's traceback, after the call failure it outranked, if any (pytest
    itself reports that test twice: FAILED for the call, ERROR for the teardown)."""
    text = decider.longreprtext
    if earlier_failure is None:
        return text
    return (f"{earlier_failure.longreprtext}\n\n"
            f"--- the test failed (above), then its {decider.when} errored ---\n\n{text}")


def _rank(report: Any) -> int:
    """How much a stage report says about the test: a failed setup/teardown beats all."""
    if report.failed:
        return 4 if report.when != "call" else 3
    if report.skipped:
        return 2
    if report.when == "call":
        return 1
    return 0


def _outcome(report: Any) -> str:
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    if report.when == "call" and hasattr(report, "wasxfail"):
        return "xpassed"
    return "passed"


def _crash(report: Any, outcome: str) -> tuple[str | None, str | None, int | None]:
    """One-line message and location of what decided the outcome."""
    longrepr = report.longrepr
    if outcome in ("xfailed", "xpassed"):
        reason = getattr(report, "wasxfail", "") or None
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            return reason, crash.path, crash.lineno
        return reason, None, None
    if outcome == "skipped":
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            path, line, reason = longrepr
            reason = str(reason)
            if reason.startswith("Skipped: "):
                reason = reason[len("Skipped: "):]
            return reason, str(path), line if isinstance(line, int) else None
        return None, None, None
    if outcome in ("failed", "error"):
        crash = getattr(longrepr, "reprcrash", None)
        if crash is not None:
            return _first_line(crash.message), crash.path, crash.lineno
        return _first_line(report.longreprtext), None, None
    return None, None, None


def _markers_from_keywords(report: Any) -> list[str]:
    """Fallback when the report lost its annotation: keywords set to 1 that look like markers."""
    keywords = getattr(report, "keywords", None) or {}
    name = report.nodeid.rsplit("::", 1)[-1]
    return [key for key, value in keywords.items()
            if value == 1 and key != name and key.isidentifier()
            and not key.startswith(("test_", "Test")) and not key.endswith(".py")]


# ----------------------------------------------------------------------------------------
# Collection errors


def collection_error_summary(report: Any) -> tuple[str, str]:
    """The real exception type and a one-line message of a failed collection.

    pytest wraps import problems ("ImportError while importing test module ...") and shows the
    real exception on the last `E   Type: message` line; strict-marker and other `fail()`
    errors carry a crash entry ("Failed: 'x' not found in `markers` configuration option").
    """
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        found = _split_exception(crash.message.splitlines()[0])
        if found:
            return found
    text = report.longreprtext if hasattr(report, "longreprtext") else str(report.longrepr)
    return exception_from_text(text)


def exception_from_text(text: str) -> tuple[str, str]:
    blocks: list[list[str]] = []
    previous_was_e = False
    for line in text.splitlines():
        is_e = line.startswith("E   ")
        if is_e:
            if not previous_was_e:
                blocks.append([])
            blocks[-1].append(line[4:])
        previous_was_e = is_e
    for block in reversed(blocks):
        for line in block:
            if line[:1].isspace():
                continue  # source lines and carets of a SyntaxError, continuation lines
            found = _split_exception(line)
            if found:
                return found
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "Error", ""
    found = _split_exception(lines[-1])
    return found or ("Error", lines[-1])


def _split_exception(line: str) -> tuple[str, str] | None:
    match = _EXCEPTION_LINE.fullmatch(line.strip())
    if not match or match.group(2) is None:
        return None
    name = match.group(1)
    return name.rsplit(".", 1)[-1], match.group(2)


# ----------------------------------------------------------------------------------------
# Settings


def _ini_list(config: pytest.Config, name: str) -> list[str]:
    try:
        value = config.getini(name)
    except (ValueError, KeyError):
        return []
    if isinstance(value, str):
        return value.split()
    return [str(item) for item in value or []]


def _marker_names(config: pytest.Config) -> list[str]:
    names: dict[str, None] = {}
    for line in _ini_list_raw(config, "markers"):
        name = line.split(":", 1)[0].split("(", 1)[0].strip()
        if name:
            names[name] = None
    return list(names)


def _ini_list_raw(config: pytest.Config, name: str) -> list[str]:
    try:
        return [str(line) for line in config.getini(name) or []]
    except (ValueError, KeyError):
        return []


def _strict_markers(config: pytest.Config) -> bool:
    option = config.option
    if getattr(option, "strict_markers", False) or getattr(option, "strict", False):
        return True
    for name in ("strict_markers", "strict"):  # ini options of pytest 9
        try:
            if config.getini(name):
                return True
        except (ValueError, KeyError):
            continue
    return False


# ----------------------------------------------------------------------------------------


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line
    return None


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n... [{omitted} characters omitted by claimcheck] ...\n{text[-half:]}"
