"""Pure parts of the phase runner: status judgement, command building, collection-error text."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from claimcheck.collectors._plugin.claimcheck_fold import exception_from_text, passing_line
from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.judge import judge_status
from claimcheck.collectors.models import Counts, PytestSession
from claimcheck.collectors.phase_record import PhaseRecord
from claimcheck.collectors.pytest_run import (
    ENV_DIR,
    PLUGIN_DIR,
    Straggler,
    _OutputTail,
    build_command,
)

DONE = (PytestSession(pid=1, exit_status=0),)


def judge(counts: Counts, sessions=DONE, exit_code: int | None = 0, collection_errors: int = 0,
          **kwargs) -> tuple[str, str | None]:
    return judge_status(counts, collection_errors=collection_errors, sessions=sessions,
                        exit_code=exit_code, **kwargs)


@pytest.mark.parametrize(
    ("counts", "kwargs", "expected"),
    [
        (Counts(collected=2, passed=2), {}, ("passed", None)),
        (Counts(collected=2, passed=1, xfailed=1), {}, ("passed", None)),
        (Counts(collected=2, passed=1, failed=1),
         {"sessions": (PytestSession(1, 1),), "exit_code": 1}, ("failed", None)),
        (Counts(collected=2, passed=1, error=1), {}, ("failed", None)),  # a test error
        (Counts(collected=2, passed=1, error=1), {"collection_errors": 1},
         ("error", "1 collection error")),
        (Counts(collected=2, passed=1, error=3), {"collection_errors": 1}, ("failed", None)),
        (Counts(), {"sessions": (PytestSession(1, 5),), "exit_code": 5},
         ("no-tests", "nothing collected")),
        (Counts(collected=3, deselected=3), {}, ("no-tests", "all 3 collected tests deselected")),
        (Counts(collected=3, skipped=3), {}, ("no-tests", "all 3 tests skipped")),
        (Counts(), {"sessions": ()}, ("no-tests", "no pytest session observed")),
        (Counts(), {"sessions": (), "exit_code": 4},
         ("crashed", "command exited with 4 before any pytest session started")),
        (Counts(collected=2, passed=1), {"sessions": (PytestSession(9, None),), "exit_code": 1},
         ("crashed", "pytest session (pid 9) started but never finished")),
        (Counts(collected=2, failed=1), {"exit_code": -9}, ("crashed", "killed by SIGKILL")),
        (Counts(collected=2, passed=2), {"sessions": (PytestSession(1, 3),), "exit_code": 3},
         ("crashed", "pytest internal error (exit status 3)")),
        (Counts(collected=2, passed=1), {"sessions": (PytestSession(1, 2),), "exit_code": 2},
         ("interrupted", "pytest was interrupted (exit status 2)")),
        (Counts(collected=2, passed=1, failed=1), {"sessions": (PytestSession(1, 2),)},
         ("failed", None)),
        (Counts(collected=2, passed=2), {"timed_out_after": 900, "exit_code": None},
         ("timeout", "timed out after 900 s")),
        (Counts(collected=2, failed=2), {"timed_out_after": 2.5, "exit_code": None},
         ("timeout", "timed out after 2.5 s")),
        (Counts(collected=2, failed=2), {"cancelled": True, "exit_code": None},
         ("interrupted", "cancelled before the phase finished")),
        (Counts(collected=2, passed=2), {"sessions": (PytestSession(1, 1),), "exit_code": 1},
         ("failed", "pytest exited with 1 although no test failed (a plugin such as "
                    "--cov-fail-under, or a usage error)")),
        (Counts(collected=2, passed=2), {"exit_code": 1},
         ("failed", "command exited with 1 although no test failed")),
    ],
)
def test_judge_status(counts, kwargs, expected):
    assert judge(counts, **kwargs) == expected


def test_a_phase_without_executed_tests_is_never_passed_whatever_the_exit_code():
    for counts in (Counts(), Counts(collected=1, deselected=1), Counts(collected=1, skipped=1)):
        status, _ = judge(counts, exit_code=0)
        assert status == "no-tests"


# ----------------------------------------------------------------------------------------


def config(tmp_path: Path) -> Config:
    return Config(root=tmp_path, source=None, python=sys.executable, phases=(), gaps=())


def test_pytest_phase_command_quiets_pytest_unless_the_user_chose_verbosity(tmp_path):
    argv, env = build_command(PhaseConfig("u", pytest=("tests",)), config(tmp_path),
                              env={"PATH": "/bin", "PYTHONPATH": "/x"}, stream_dir="/s")
    assert argv == [sys.executable, "-m", "pytest", "-p", "claimcheck_stream",
                    "--continue-on-collection-errors", "-q", "--no-summary", "-o",
                    "console_output_style=classic", "tests"]
    assert env[ENV_DIR] == "/s"
    assert env["PYTHONPATH"] == f"{PLUGIN_DIR}:/x"
    assert "PYTEST_ADDOPTS" not in env
    for user in (("-v",), ("-vv",), ("-xq",), ("--verbosity=2",), ("--no-summary",),
                 ("--quiet",)):
        argv, _ = build_command(PhaseConfig("u", pytest=user), config(tmp_path), env={},
                                stream_dir="/s")
        assert argv[-len(user):] == list(user)
        ours = argv[:-len(user)]
        assert "-q" not in ours and "--no-summary" not in ours and "-o" not in ours, user
    argv, _ = build_command(PhaseConfig("u", pytest=("-k", "vq")), config(tmp_path), env={},
                            stream_dir="/s", extra_args=("--lf",))
    assert argv[-7:] == ["-q", "--no-summary", "-o", "console_output_style=classic", "-k", "vq",
                         "--lf"]


def test_command_phase_injects_the_plugin_through_the_environment(tmp_path):
    phase = PhaseConfig("e2e", command=("python", "scripts/run.py", "tests/e2e"),
                        env={"APP_MODE": "test"})
    argv, env = build_command(phase, config(tmp_path), extra_args=("--lf", "-k", "a b"),
                              env={"PATH": "/bin", "PYTEST_ADDOPTS": "-x"}, stream_dir="/s")
    assert argv == [sys.executable, "scripts/run.py", "tests/e2e"]
    assert env["APP_MODE"] == "test"
    assert shlex.split(env["PYTEST_ADDOPTS"]) == [
        "-x", "-p", "claimcheck_stream", "--continue-on-collection-errors", "--lf", "-k", "a b"]
    assert env["CLAIMCHECK_ADDOPTS_BEFORE"] == "-x"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


# ----------------------------------------------------------------------------------------


def test_exception_from_text_takes_the_real_error_of_a_wrapped_import():
    text = (
        "ImportError while importing test module '/p/tests/test_a.py'.\n"
        "Hint: make sure your test modules/packages have valid Python names.\n"
        "Traceback:\n"
        "tests/test_a.py:1: in <module>\n"
        "    import app.factories.agent_factory\n"
        "E   ModuleNotFoundError: No module named 'app.factories.agent_factory'\n"
    )
    assert exception_from_text(text) == ("ModuleNotFoundError",
                                         "No module named 'app.factories.agent_factory'")


def test_exception_from_text_skips_source_lines_and_prefers_the_last_exception():
    syntax = ('E     File "/p/t.py", line 1\nE       def t(:\nE             ^\n'
              "E   SyntaxError: invalid syntax\n")
    assert exception_from_text(syntax) == ("SyntaxError", "invalid syntax")
    chained = ("E   KeyError: 'a'\n\nDuring handling of the above exception...\n\n"
               "E   app.errors.ConfigMissing: no DATABASE_URL\nE   second line\n")
    assert exception_from_text(chained) == ("ConfigMissing", "no DATABASE_URL")
    assert exception_from_text("something odd happened\n") == ("Error",
                                                               "something odd happened")


def phase_state(*events: tuple[str, dict]) -> PhaseRecord:
    state = PhaseRecord("unit", Path("/project"), lambda event: None)
    for key, event in events:
        state.handle(key, event)
    return state


START = ("7-1", {"event": "session_start", "pid": 7})
FINISH = ("7-1", {"event": "session_finish", "exitstatus": 1})


def test_a_phase_is_settled_by_its_one_sessions_finish_line_only():
    assert phase_state().settled_status() is None
    assert phase_state(START).settled_status() is None
    assert phase_state(START, FINISH).settled_status() == 1
    second = ("8-1", {"event": "session_start", "pid": 8})
    assert phase_state(START, FINISH, second).settled_status() is None  # not one session


@pytest.mark.parametrize(
    ("returncode", "killed", "contradicts"),
    [(1, False, False), (None, False, False), (0, False, True), (-9, True, True)],
)
def test_a_straggler_contradicts_its_session_when_it_ends_otherwise(returncode, killed,
                                                                     contradicts):
    straggler = Straggler("unit", 7, session_exit=1, returncode=returncode, killed=killed)
    assert straggler.contradicts_session is contradicts


def test_output_tail_keeps_at_most_its_limit_with_a_line_still_being_written() -> None:
    """A phase is judged while pytest may still print: the unfinished line counts too."""
    tail = _OutputTail(limit=3)
    tail.feed(b"one\ntwo\nthree\nfour\nfi")
    assert tail.text().splitlines() == ["three", "four", "fi"]
    tail.feed(b"ve\n")
    assert tail.text().splitlines() == ["three", "four", "five"]


def test_the_running_record_reads_what_was_last_written_whole(tmp_path):
    from claimcheck.collectors._plugin import claimcheck_protocol as protocol

    path = tmp_path / "1-1.running"
    long_id = "tests/test_a.py::test_with_a_very_long_name[param]"
    line = b'{"event": "test", "nodeid": "tests/test_a.py::test_ok"}\n'
    path.write_bytes(line + protocol.running_record(long_id) + protocol.RUNNING_BETWEEN)
    assert protocol.read_running(str(path)) == ([line.rstrip(b"\n")], [long_id])
    # rewritten in place with a shorter record: the older, longer tail is never read
    with open(path, "r+b") as handle:
        handle.write(protocol.running_record("t.py::b") + protocol.RUNNING_BETWEEN)
    assert protocol.read_running(str(path)) == ([], ["t.py::b"])
    with open(path, "r+b") as handle:
        handle.write(protocol.RUNNING_BETWEEN)
    assert protocol.read_running(str(path)) == ([], [])  # between tests
    path.write_bytes(b"Rt.py::half")  # no closing line: not a record
    assert protocol.read_running(str(path)) == ([], [])
    assert protocol.read_running(str(tmp_path / "missing")) == ([], [])
    assert protocol.folder_owner("claimcheck-123-abc") == 123
    assert protocol.folder_owner("claimcheck-abc") is None


def test_a_worker_lost_while_claimcheck_kills_a_timed_out_phase_was_still_running():
    """Killing an xdist phase at its timeout may kill a worker before its controller, which
    then reports the worker's test as a crash: that test was running at the deadline."""
    lost = {"event": "test", "nodeid": "tests/test_x.py::test_hangs", "outcome": "error",
            "when": "???", "message": "the session died while this test ran: "
                                      "pytest-xdist worker gw1 crashed"}
    before = phase_state(START, ("7-1", lost))
    assert before.tests[0].message.endswith("gw1 crashed")  # a real crash, before the deadline
    state = phase_state(START)
    state.stopping_for_timeout(12.0)
    state.handle("7-1", lost)
    (test,) = state.tests
    assert test.message == "still running when the phase timed out after 12 s"
    assert test.crashed and test.outcome == "error"


# -- the plugin's line for a passing test ------------------------------------------------------


def _as_json(nodeid, duration, line, markers) -> bytes:
    event = {"event": "test", "nodeid": nodeid, "outcome": "passed", "duration": duration,
             "line": line, "markers": markers}
    return (json.dumps(event) + "\n").encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(nodeid=st.text(), duration=st.floats(allow_nan=False, allow_infinity=False),
       line=st.none() | st.integers(min_value=-10, max_value=10**9),
       markers=st.lists(st.text(max_size=12), max_size=4))
def test_a_passing_line_is_exactly_what_json_writes(nodeid, duration, line, markers):
    """The plugin formats most tests' lines by hand (`passing_line`): byte for byte what
    `json.dumps` writes for the same event, whatever the node id holds (quotes, newlines,
    control characters, astral characters, surrogates)."""
    assert passing_line(nodeid, duration, line, markers) == _as_json(nodeid, duration, line,
                                                                     markers)


@pytest.mark.parametrize(("duration", "line", "markers"), [
    (float("nan"), 1, []), (float("inf"), 1, []), (1, 1, []), (0.1, "3", []), (0.1, 1.0, []),
    (0.1, 1, ("slow",)), (0.1, 1, [3]),
])
def test_a_passing_line_is_left_to_json_for_values_it_does_not_write(duration, line, markers):
    """Anything but a finite float duration, an int or None line and a list of str markers
    goes the general way (None), never a line json.loads would read differently."""
    assert passing_line("t.py::t", duration, line, markers) is None


# -- the wake pipe ---------------------------------------------------------------------------


def test_the_wake_pipe_is_taken_only_when_it_is_the_very_pipe_named():
    """`CLAIMCHECK_WAKE` names the write end and the pipe's inode: a process that did not
    inherit that pipe (the number is another file there) never writes to it."""
    from claimcheck.collectors._plugin import claimcheck_protocol as protocol

    read_end, write_end = os.pipe()
    other_read, other_write = os.pipe()
    try:
        environ = {protocol.ENV_WAKE: protocol.wake_value(write_end)}
        assert protocol.take_wake_fd(environ) == write_end
        assert protocol.ENV_WAKE not in environ  # the tests and their processes never see it
        protocol.wake(write_end)
        assert os.read(read_end, 10) == protocol.WAKE_BYTE
        inode = os.fstat(other_write).st_ino
        for value in (f"{write_end}:{inode}", "", "x", f"{write_end}", "99999:1", f"-1:{inode}"):
            assert protocol.take_wake_fd({protocol.ENV_WAKE: value}) is None, value
        assert protocol.take_wake_fd({}) is None
        os.close(read_end)
        protocol.wake(write_end)  # nobody reads any more: no error, no signal
        protocol.wake(None)
    finally:
        for fd in (write_end, other_read, other_write):
            os.close(fd)


def test_statement_lines_are_kept_from_a_files_first_parse_while_the_file_is_unchanged(
        tmp_path):
    import ast

    from claimcheck.collectors._plugin.claimcheck_trees import StatementLines, statement_lines

    lines = StatementLines(kept=2)
    a, b, c = (tmp_path / f"{name}.py" for name in "abc")
    for path in (a, b, c):
        path.write_text("x = 1\n")
    assert lines.tree(a) is None
    lines.parsed(a, ast.parse("x = 1\n\ny = 2\n"))
    stub = lines.tree(a)
    assert stub is not None and stub.body == [] and statement_lines(stub) == [0, 2]
    a.write_text("x = 12\n")  # edited: its lines are dropped
    assert lines.tree(a) is None
    for path in (b, c):
        lines.parsed(path, ast.parse("x = 1\n"))
    assert (lines.tree(a), lines.tree(b) is None, lines.tree(c) is None) == (None, False, False)
    lines.parsed(a, ast.parse("x = 12\n"))  # the newest 2 are kept: b goes
    assert lines.tree(b) is None and lines.tree(a) is not None
    lines.parsed("<string>", ast.parse("x = 1\n"))
    assert lines.tree("<string>") is None  # no file behind it


def test_statement_lines_outlive_the_session_in_their_file_and_a_foreign_file_is_ignored(
        tmp_path):
    import ast
    import json

    from claimcheck.collectors._plugin.claimcheck_trees import StatementLines, store_path

    module = tmp_path / "test_m.py"
    module.write_text("x = 1\ny = 2\n")
    store = store_path(str(tmp_path / "statements"), str(tmp_path))
    first = StatementLines(store)
    assert first.tree(module) is None
    first.parsed(module, ast.parse(module.read_text()))
    first.save()
    assert (Path(store).stat().st_mode & 0o777) == 0o600
    again = StatementLines(store)
    assert again.tree(module) is not None  # no parse in the next run
    saved = Path(store).stat().st_mtime_ns
    again.save()  # nothing parsed in this session: nothing written
    assert Path(store).stat().st_mtime_ns == saved
    status = module.stat()
    stamp = [status.st_mtime_ns, status.st_size]  # the file as it is: only the lines are wrong
    for foreign in ("not json", json.dumps({"format": 99, "files": {}}),
                    json.dumps({"format": 1, "files": {str(module): [1, 2, ["x"]]}}),
                    json.dumps({"format": 1, "files": {str(module): [*stamp, [3, 1]]}}),
                    json.dumps([1, 2])):
        Path(store).write_text(foreign)
        assert StatementLines(store).tree(module) is None, foreign


def test_a_formatter_keeps_what_it_parsed_for_its_failure_then_asks_the_session(
        tmp_path, monkeypatch):
    import ast

    from claimcheck.collectors._plugin import claimcheck_trees
    from claimcheck.collectors._plugin.claimcheck_trees import FormatterTrees, StatementLines

    module = tmp_path / "test_m.py"
    module.write_text("x = 1\n")
    shared = StatementLines()
    first = FormatterTrees(shared)
    assert first.get(module) is None
    tree = ast.parse("x = 1\n")
    first[module] = tree  # pytest parsed it for this failure
    assert first.get(module) is tree  # the failure's next entry in the same file
    second = FormatterTrees(shared)
    stub = second.get(module)
    assert stub.body == []  # the next failure: lines only
    stamps = []
    monkeypatch.setattr(claimcheck_trees, "_stamp", lambda path: stamps.append(path))
    second[module] = stub  # pytest keeps the tree it used: nothing to look up again
    first[module] = tree
    assert stamps == [] and second.get(module) is stub


def test_every_traceback_formatter_shares_one_set_of_lines_until_put_back():
    from _pytest._code import source

    from claimcheck.collectors._plugin.claimcheck_trees import (
        FormatterTrees,
        StatementLines,
        formatter_class,
        share_source_trees,
    )

    formatter = formatter_class()
    assert formatter is not None, "pytest's traceback formatter has a name claimcheck_trees lacks"
    original, function = formatter.__init__, source.get_statement_startend2
    put_back = share_source_trees()
    try:
        assert put_back is not None
        first, second = formatter(), formatter()
        assert isinstance(first.astcache, FormatterTrees)
        assert first.astcache is not second.astcache  # one failure's own trees each...
        assert isinstance(first.astcache.shared, StatementLines)
        assert first.astcache.shared is second.astcache.shared  # ...and the session's
        assert share_source_trees() is None  # a nested session: the outer one puts it back
    finally:
        if put_back is not None:
            put_back()
    assert formatter.__init__ is original
    assert source.get_statement_startend2 is function
    assert type(formatter().astcache) is dict


@pytest.mark.parametrize(("spec", "args", "pythonpath", "itself"), [
    ({"popen": True}, ["-p", "claimcheck_stream", "tests"], "PLUGIN", True),
    ({"popen": True}, ["-pclaimcheck_stream"], "other" + os.pathsep + "PLUGIN", True),
    ({"popen": True}, ["tests"], "PLUGIN", False),  # through PYTEST_ADDOPTS: a command phase
    ({"popen": True}, ["-p", "no:claimcheck_stream"], "PLUGIN", False),
    ({"popen": True}, ["-p", "claimcheck_stream"], "other", False),
    ({"popen": True}, ["-p", "claimcheck_stream"], "", False),
    ({"popen": True, "via": "gw0"}, ["-p", "claimcheck_stream"], "PLUGIN", False),
    ({"popen": True, "env": {"PYTHONPATH": "/x"}}, ["-p", "claimcheck_stream"], "PLUGIN",
     False),
    ({"popen": False, "socket": "127.0.0.1:1"}, ["-p", "claimcheck_stream"], "PLUGIN", False),
    ({"popen": False, "ssh": "host"}, ["-p", "claimcheck_stream"], "PLUGIN", False),
])
def test_only_a_local_worker_that_imports_the_plugin_itself_goes_without_shipping(
        spec, args, pythonpath, itself) -> None:
    from types import SimpleNamespace

    from claimcheck.collectors._plugin.claimcheck_ship import loads_plugin_itself

    environ = {"PYTHONPATH": pythonpath.replace("PLUGIN", str(PLUGIN_DIR))}
    assert loads_plugin_itself(SimpleNamespace(**spec), args, environ) is itself
