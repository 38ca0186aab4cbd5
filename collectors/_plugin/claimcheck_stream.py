"""claimcheck's eyes inside a pytest session: the one record of a run, written as it happens.

This file is loaded *inside the project's pytest* (`-p claimcheck_stream`, with this folder on
PYTHONPATH), possibly under another interpreter and another virtualenv than claimcheck's. So it
imports nothing from claimcheck but its siblings (`claimcheck_writer`: the hooks;
`claimcheck_protocol`: names both sides share; `claimcheck_fold`: pure helpers;
`claimcheck_owner`: the owner watch; `claimcheck_exit`: the process's end without CPython's
last garbage collections; `claimcheck_append`: the stream file, appended to through
a memory mapping; `claimcheck_trees`: a test module's statement lines kept for its
failures' tracebacks, within the run and between runs), and only the standard library plus
pytest itself.

It does nothing unless `CLAIMCHECK_STREAM_DIR` is set. Then every pytest session (a wrapper
script may start several, in one process or in many) writes `<dir>/<pid>-<n>.jsonl`, one JSON
object per line (see claimcheck_protocol for the event names):

    session_start      pid, rootdir, inifile, python_files/classes/functions, markers,
                       strict_markers, testpaths, args
    collection_finish  collected (deselected included, as pytest's "collected N items"),
                       deselected (None under xdist until the workers report it)
    deselected         ids: the node ids pytest deselected (-k, -m, --deselect, a shard)
    collect_error      nodeid, error_type, message (one line), longrepr
    test               one per node id: nodeid, outcome, duration, line, markers, and for a
                       test someone will read: message, path, longrepr, sections, when,
                       reruns, subtests
    warning            category, message, filename, lineno, nodeid, when
    interrupted        kind, message, returncode, path, line, unfinished (pytest.exit or a
                       KeyboardInterrupt inside pytest: the session did not run to its end)
    session_finish     exitstatus, collected, deselected, xdist_workers, collect_error_reports
                       (pytest's own count: one per xdist worker that hit the broken file),
                       internal_errors (pytest_internalerror calls: an xdist worker's does not
                       change the session's exit status, which may still say 0)

One outcome per node id, in pytest's own categories: `pytest_report_teststatus` (which
pytest-rerunfailures and the subtests support extend) says what each report is, and the reports
of one test are folded as pytest's summary counts them, except that a test is counted once: a
rerun attempt only raises its `reruns`, subtests are tallied beside the test and a failing one
fails it.

Each line reaches the file as it is made, copied into a shared memory mapping of it, which puts
it in the kernel without a system call (`claimcheck_append`; one `pwrite` where a mapping is not
available); the line of a passing test carries nothing nobody reads. Beside the stream,
`<pid>-<n>.running` names the tests running right now, rewritten in place with one `pwrite`
when a test starts, so a session that dies (os._exit, a segfault, SIGKILL at the phase timeout)
still says which test it died in: the kernel keeps what was written, and a test named there
whose line is in the stream had finished. That is one system call per test, of a few bytes
(a `pwrite` cannot be cut in half by a kill, a copy into a mapping could: a record half old and
half new would name a test that was not running). (Buffering the lines for 50 ms cost more: a
result must be in the kernel before the next test can crash the process, so the buffer had to
be copied into `.running` at every test's start and end, a copy that grew with the buffer: 18
of the plugin's 39 us per test on this machine.)

Under pytest-xdist only the controller writes; workers attach marker names to their reports
(which travel to the controller) and hand their deselected ids and an interruption back
through `workeroutput`.

When `CLAIMCHECK_WAKE` names a pipe this process inherited (claimcheck started it as a `pytest`
phase), the session's end is also one byte there, so claimcheck reads the stream at once instead
of at its next poll: a small run's report no longer waits up to 50 ms for it.

When `CLAIMCHECK_STATEMENTS` names a folder, the statement lines of the modules whose failures
(and xfails) pytest formatted are kept there between runs, one small file per project folder and
Python (`claimcheck_trees`): the next run of an unchanged module parses nothing to format them.

When `CLAIMCHECK_OWNER_PID` is set, a daemon thread ends the phase's process group once that
claimcheck has died, after removing the stream folder (no raw messages left in the temporary
folder), so not even a SIGKILLed claimcheck leaves a hanging phase or its evidence behind.

This module is only what pytest registers: pytest reads every name of a plugin module for
hooks and fixtures when it registers it (about 170,000 instructions per name, a plugin module
that imports its helpers by name has dozens), so the hooks live in `claimcheck_writer` and this
module holds `pytest_configure` alone: 7.4 M instructions (2 to 3 ms) less at every pytest start.
"""

try:  # the module's one hook; nothing else is named here (see above)
    from .claimcheck_writer import pytest_configure  # noqa: F401
except ImportError:  # loaded as a top-level module, this folder on sys.path
    from claimcheck_writer import pytest_configure  # type: ignore[no-redef]  # noqa: F401
