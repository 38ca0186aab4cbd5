"""A first run's pytest, started before claimcheck has read its config: `python -m
claimcheck_prestart`, which imports pytest and then waits for the rest of its command line.

Importing pytest is most of pytest's own start-up (about 0.1 s of a one-test run's 0.2 s), and
it is the same whatever the command line says. So when the `claimcheck` command remembers no
command for this invocation (a first run in a folder, every CI job on a fresh machine),
`remembered_start` spawns this module at once, under the interpreter and in the folder the
config will most likely name, with the environment a phase gets. It imports pytest while
claimcheck reads its config, then reads its gate (the pipe `CLAIMCHECK_PRESTART` names):

- the phase's argv (`[python, "-m", "pytest", ...]`, NUL-separated, after `protocol.GATE_OPEN`)
  once claimcheck has built the command and found it is this interpreter's, in this folder,
  with this environment: pytest's `__main__` runs as `python -m pytest` runs it (`sys.argv`,
  `sys.path[0]` and `__main__` as it has them; `sys.orig_argv` still names this module);
- nothing (the pipe's end): the command is another, or claimcheck is gone; this process exits
  having run nothing of the project.

A pytest that cannot be imported here is the real command's to report: the argv is exec'd as
it is, and its own error reaches claimcheck as from any phase.

Only the standard library (and claimcheck_protocol, beside it on PYTHONPATH): this runs under
the project's interpreter, before anything of the project is imported.
"""

from __future__ import annotations

import os
import sys

from claimcheck_protocol import ENV_PRESTART, GATE_CLOSED_EXIT, GATE_OPEN


def read_command(fd: int) -> list[str] | None:
    """The argv claimcheck wrote to the gate, or None when it closed it without one."""
    data = b""
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        return None
    finally:
        os.close(fd)
    if not data.startswith(GATE_OPEN):
        return None
    argv = os.fsdecode(data[len(GATE_OPEN):]).split("\0")
    if argv[1:3] != ["-m", "pytest"]:
        return None
    return argv


def main() -> None:
    try:
        fd = int(os.environ.pop(ENV_PRESTART))
    except (KeyError, ValueError):
        os._exit(GATE_CLOSED_EXIT)
    try:
        import pytest  # noqa: F401 - what `python -m pytest` imports first
    except Exception:  # noqa: BLE001 - the real command shows it, exec'd below
        imported = False
    else:
        imported = True
    argv = read_command(fd)
    if argv is None:
        os._exit(GATE_CLOSED_EXIT)
    if not imported:
        os.execvp(argv[0], argv)
    import runpy

    sys.argv = [sys.argv[0], *argv[3:]]  # run_module puts pytest's __main__.py first
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
