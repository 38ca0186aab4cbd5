"""The `claimcheck` command line: parsing and dispatch, nothing else.

`claimcheck` alone runs the phases (the command center, or `--report` headless); every other
command is an argparse sub-command declared in `COMMANDS` below, whose handler is imported only
when it runs, so `--report` on a staging box or in CI never loads Textual, and `--help` loads
nothing but argparse.

A new command is one entry in `COMMANDS`: its name, a one-line help, a function adding its
options, and the "module:function" that runs it with the parsed `Options`.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib
import os
import sys
import threading
from pathlib import Path
from typing import Callable, NamedTuple, NoReturn, Sequence

from claimcheck.collectors.report import FORMATS
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options

from claimcheck import __version__

EXIT_CODES_HELP = ("exit codes: 0 green, 1 red, 2 interrupted, 3 internal error, "
                   "4 usage or config error, 5 no evidence")


class _HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default where it has a real one and its help does not say it already.

    Its width is the terminal's, read once (`help_width`): argparse makes a formatter for every
    argument it adds, and each of its own imports shutil (with bz2 and lzma) and asks the
    terminal again, about 1.5 ms of every start-up, before the first pytest is spawned."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         help_width() if width is None else width)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default in (None, False, [], argparse.SUPPRESS) or "default" in text
                or action.option_strings == []):
            return text
        return text + " (default: %(default)s)"


@functools.cache
def help_width() -> int:
    """The width argparse gives help text: the terminal's columns as `shutil.get_terminal_size`
    finds them (COLUMNS, else the terminal on stdout, else 80), less 2."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits 4 (usage error) instead of 2, which claimcheck keeps for interrupts."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    without_commands = False  # built for a command line of options only (`build_parser`)

    def error(self, message: str) -> None:  # type: ignore[override]
        # the usage as --help shows it, commands included
        (build_parser() if self.without_commands else self).print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _format_and_path(value: str) -> tuple[str, Path]:
    fmt, sep, path = value.partition("=")
    if not sep or fmt not in FORMATS or not path:
        raise argparse.ArgumentTypeError(
            f"expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}, got {value!r}"
        )
    return fmt, Path(path)


# ----------------------------------------------------------------------------------------
# Option groups shared by several commands


def add_project_options(parser: argparse.ArgumentParser, *, config: bool = True) -> None:
    parser.add_argument("--project", type=Path, default=None, metavar="DIR",
                        help="project root (default: the current folder)")
    if config:
        parser.add_argument("--config", type=Path, metavar="PATH", default=None,
                            help="read settings from PATH (keys at top level) instead of "
                                 "[tool.claimcheck] in pyproject.toml")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phase", dest="phases", action="append", default=[], metavar="NAME",
                        help="run only this phase (repeatable; default: every phase)")
    parser.add_argument("--report", action="store_true",
                        help="run headless and print the report instead of opening the TUI")
    add_output_options(parser, what="for --report")
    parser.add_argument("--services-only", action="store_true",
                        help="probe the configured services without running any tests")
    parser.add_argument("--force", action="store_true",
                        help="run phases even when a service they require is down")


def add_output_options(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help=f"report format {what}".strip())
    parser.add_argument("--output", type=Path, metavar="PATH", default=None,
                        help="write the report to PATH (atomically) instead of stdout")
    parser.add_argument("--write", dest="writes", action="append", default=[],
                        type=_format_and_path, metavar="FORMAT=PATH",
                        help="also write the report in FORMAT to PATH (repeatable), e.g. "
                             "--write junit=junit.xml --write markdown=summary.md")


def add_read_options(parser: argparse.ArgumentParser) -> None:
    """Options for reading reports made elsewhere (--open, merge)."""
    parser.add_argument("--as-phase", metavar="NAME", default=None,
                        help="phase name for the tests of a pytest-json-report or JUnit file, "
                             "which name no phase of their own (default: tests, or the JUnit "
                             "suite's own name)")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _add_merge(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="REPORT",
                        help="shard reports: claimcheck JSON, pytest-json-report JSON or JUnit "
                             "XML, in any mix")
    add_output_options(parser)
    add_read_options(parser)
    parser.add_argument("--expect", type=_positive, metavar="N", default=None,
                        help="the number of shards the run was split into: fewer reports is a "
                             "shard-missing finding (the only way to notice a missing job when "
                             "each job ran its own folder)")


def add_history_options(parser: argparse.ArgumentParser) -> None:
    history = parser.add_mutually_exclusive_group()
    history.add_argument("--history", type=Path, metavar="PATH", default=None,
                         help="the run history database (default: .claimcheck/history.db in "
                              "the project)")
    history.add_argument("--no-history", action="store_true",
                         help="neither read nor record the run history")


def _add_verify(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gaps", nargs="*", metavar="GAP",
                        help="gap(s) to verify: their tests run in every phase that has any")
    parser.add_argument("--nodeid", dest="nodeids", action="append", default=[], metavar="ID",
                        help="verify this test (repeatable), e.g. "
                             "tests/unit/test_auth.py::test_login")
    add_project_options(parser)
    add_history_options(parser)


def _add_claim(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gaps", nargs=1, metavar="GAP", help="the gap claimed fixed")
    parser.add_argument("--note", default="", metavar="TEXT",
                        help="a note recorded with the claim (what was fixed, a PR number)")
    parser.add_argument("--withdraw", action="store_true",
                        help="end the claim on GAP instead of making one")
    add_project_options(parser)
    add_history_options(parser)


def _add_claims(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", dest="list_format", choices=("text", "json", "markdown"),
                        default="text", help="output format")
    add_project_options(parser)
    add_history_options(parser)


def _add_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("history_action", nargs="?", choices=("import",), metavar="import",
                        help="`import REPORT.json ...`: add claimcheck JSON reports made "
                             "elsewhere (CI) to the history")
    parser.add_argument("files", nargs="*", type=Path, metavar="REPORT",
                        help="claimcheck JSON reports to import")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="how many recent runs to list")
    parser.add_argument("--format", dest="list_format", choices=("text", "json"),
                        default="text", help="output format")
    add_project_options(parser)
    add_history_options(parser)


def _add_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("evidence_id", metavar="EVIDENCE_ID",
                        help="an evidence id printed by verify or recorded in claims.toml")
    add_project_options(parser, config=False)
    add_history_options(parser)


def _add_demo(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)


def _add_init(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser, config=False)
    parser.add_argument("--force", dest="overwrite", action="store_true",
                        help="replace an existing [tool.claimcheck] section")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the section instead of writing it")


def _add_serve(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument("--phase", dest="phases", action="append", default=[], metavar="NAME",
                        help="run only this phase in each browser session (repeatable)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind; anything but loopback exposes the session to "
                             "the network")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--demo", action="store_true",
                        help="serve the demo instead of the project")
    parser.add_argument("--max-sessions", type=int, default=4, metavar="N",
                        help="browser sessions allowed at once; each runs its own claimcheck")
    parser.add_argument("--no-token", action="store_true",
                        help="do not require the secret token printed in the URL at start "
                             "(anyone who can reach the port can then open a session)")
    parser.add_argument("--allow-host", dest="allow_hosts", action="append", default=[],
                        metavar="NAME",
                        help="also accept this name in the Host header (a reverse proxy's "
                             "name); IP addresses, localhost and this machine's name always "
                             "are (repeatable)")


def _add_map(parser: argparse.ArgumentParser) -> None:
    add_project_options(parser)
    parser.add_argument("--format", dest="map_format", choices=("mermaid", "json", "text"),
                        default="mermaid",
                        help="mermaid flowchart text, the map as JSON, or a text tree")
    parser.add_argument("--evidence", type=Path, metavar="REPORT.json", default=None,
                        help="colour the map by a JSON report written earlier by "
                             "claimcheck --report --format json (default: configuration only)")
    parser.add_argument("--probe", action="store_true",
                        help="probe the services now (no tests run) and colour them by it")
    parser.add_argument("--output", type=Path, metavar="PATH", default=None,
                        help="write the map to PATH (atomically) instead of stdout")


# ----------------------------------------------------------------------------------------
# The commands


class Command(NamedTuple):
    """One sub-command: its name and help, how its arguments are added, what runs it."""

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    target: str  # "module:function" taking Options, returning the exit code

    def load(self) -> Callable[[Options], int]:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(module), function)


COMMANDS: tuple[Command, ...] = (
    Command("demo", "the command center on a sample incident, with sample services",
            "Open claimcheck on a realistic sample project with sample services on loopback. "
            "Everything it starts, it stops.",
            _add_demo, "claimcheck.tui.demo:run_demo"),
    Command("init", "write a starting [tool.claimcheck] into pyproject.toml",
            "Write a starting [tool.claimcheck] into pyproject.toml from the test folders and "
            "markers found, keeping the file's formatting.",
            _add_init, "claimcheck.tui.scaffold:run_init"),
    Command("merge", "combine shard reports into one report, as if one run had made them",
            "Combine the reports of a sharded run (CI matrix jobs, -k or pytest-split shards, "
            "a job per folder) into one report: per phase the union of the tests, counts and "
            "gap matrix as one run would have them, findings for tests that ran in two shards "
            "(shard-overlap) or in none (shard-missing) and for shards of different commits or "
            "configurations (shard-mismatch). Runs nothing; exits with the merged verdict.",
            _add_merge, "claimcheck.tui.merge:run_merge"),
    Command("map", "the map of phases, required services, expected events and gaps",
            "Print how phases, the services they require, the events those services must "
            "send and the gaps depend on each other, each coloured by its state: Mermaid "
            "flowchart text (paste it into Markdown), JSON or a text tree. Runs no tests: "
            "states come from --evidence (a JSON report) and --probe (services now); without "
            "them, the configuration alone.",
            _add_map, "claimcheck.tui.mapcmd:run_map"),
    Command("serve", "serve the command center to a web browser, for pairing",
            "Serve the live command center to a web browser (textual-serve), for pairing "
            "during an incident.",
            _add_serve, "claimcheck.tui.serve:run_serve"),
    Command("verify", "run only the tests of the named gaps and print an evidence block",
            "Run only the tests of the named gaps (or --nodeid tests), in every phase that has "
            "any, with the services those phases require. Exits 0 only on positive evidence: "
            "a test of the gap passed in each such phase, none failed or errored, every file "
            "of the gap collected, none disappeared since the last full run. Prints a Markdown "
            "evidence block to paste under a 'fixed' comment.",
            _add_verify, "claimcheck.tui.verify_cmd:run_verify_command"),
    Command("show", "print a stored evidence block again",
            "Print the evidence block that verify stored under EVIDENCE_ID.",
            _add_show, "claimcheck.tui.verify_cmd:run_show"),
    Command("claim", "claim a gap fixed (runs verify; records it in claims.toml on green)",
            "Run verify GAP; on red refuse (exit 1) saying what still fails; on green record "
            "the claim in claims.toml (who, when, commit, evidence id, note) to commit with "
            "the change. Every later run checks every open claim.",
            _add_claim, "claimcheck.tui.claims_cmd:run_claim"),
    Command("claims", "list the claims of claims.toml and whether each still holds",
            "List every open claim with its state (holding, broken, stale, unchecked) as the "
            "latest stored run on this branch judges it.",
            _add_claims, "claimcheck.tui.claims_cmd:run_claims"),
    Command("history", "list recent runs with what changed and a trend per gap; import reports",
            "List recent runs (verdict, counts, what changed, flaky tests) and a trend per gap, "
            "or `history import REPORT.json ...` to add claimcheck JSON reports made elsewhere.",
            _add_history, "claimcheck.tui.history_cmd:run_history"),
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """claimcheck's parser; given the command line, only the commands it names get their
    arguments (the rest are listed for --help and its errors: a command's arguments are 60%
    of the parser's making, 4 to 6 ms of every start-up), and a command line of options only
    (`--report --phase=unit`), which can name no command and asks for no help, gets none of
    them (about 1 ms more, before the first pytest is spawned)."""
    named = None if argv is None else set(argv)
    parser = _Parser(
        prog="claimcheck",
        description=(
            "Run a project's test phases, probe its services and listen to its event streams, "
            "and show what really happened. With no command, opens the command center "
            "(or, with --report, prints the report)."
        ),
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"claimcheck {__version__}")
    add_project_options(parser)
    add_run_options(parser)
    add_history_options(parser)
    parser.add_argument("--open", type=Path, metavar="FILE", default=None,
                        help="judge a report made elsewhere instead of running anything: "
                             "claimcheck JSON, pytest-json-report JSON or JUnit XML (with "
                             "--report, prints it in --format)")
    add_read_options(parser)
    if named is not None and not any(word in ("-h", "--help") or not word.startswith("-")
                                     for word in named):
        parser.without_commands = True
        return parser
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help,
                                  description=command.description, epilog=EXIT_CODES_HELP,
                                  formatter_class=_HelpFormatter)
        sub.error = _Parser.error.__get__(sub)  # type: ignore[method-assign]
        if named is None or command.name in named:
            command.add_arguments(sub)
    return parser


def parse(argv: Sequence[str]) -> tuple[str, Options]:
    """The command's name ("run" for none) and the Options the command line gave."""
    namespace = build_parser(argv).parse_args(list(argv))
    options = Options()
    for name, value in vars(namespace).items():
        if value is not None and hasattr(options, name):
            setattr(options, name, value)
    options.project = Path(options.project).resolve()
    return getattr(namespace, "command", None) or "run", options


def main(argv: Sequence[str] | None = None) -> int:
    command, options = parse(sys.argv[1:] if argv is None else argv)
    try:
        if command != "run":
            return next(c for c in COMMANDS if c.name == command).load()(options)
        if options.open is not None:
            from claimcheck.tui.open_report import run_open

            return run_open(options)
        if options.as_phase is not None:
            print("claimcheck: --as-phase names the phase of a file read with --open or merge; "
                  "a run's phases come from the configuration", file=sys.stderr)
            return ExitCode.USAGE
        from claimcheck.tui.signals import ignore_ending_signals, terminate_as_interrupt

        try:
            with terminate_as_interrupt():
                if options.report or options.services_only:
                    from claimcheck.tui.headless import run_headless

                    return run_headless(options)
                from claimcheck.tui.launch import run_command_center

                return run_command_center(options)
        finally:
            # The exit code is decided and the reports are written: a signal that arrives
            # while the interpreter shuts down (a second SIGTERM) must not turn it into -15.
            ignore_ending_signals()
    except KeyboardInterrupt:
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def color_enabled(stream: object) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


def run() -> NoReturn:
    """The console script's work (after `tui/entry.py`'s remembered start): `main`, then
    `exit_now` with its code."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process once everything it owes is done, without the interpreter's teardown.

    Freeing every module and object a run loaded took 40 to 60 ms after the report was
    written, on every run, against nothing to gain: what must still happen does, in the order
    the interpreter keeps. Threads that are not daemons are joined, the `atexit` functions run
    (temporary folders, logging), stdout and stderr are flushed; should stdout fail to take
    its last bytes (a closed pipe), the exit is 120, as Python's own is then.
    """
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    try:
        atexit._run_exitfuncs()  # each failure is printed, as at a normal exit
    except Exception:  # noqa: BLE001 - and none changes the exit code
        pass
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        code = code or 120
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(int(code))


if __name__ == "__main__":
    run()
