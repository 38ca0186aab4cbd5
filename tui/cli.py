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
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from claimcheck.collectors.report import FORMATS
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options

from claimcheck import __version__

EXIT_CODES_HELP = ("exit codes: 0 green, 1 red, 2 interrupted, 3 internal error, "
                   "4 usage or config error, 5 no evidence")


class _HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default where it has a real one and its help does not say it already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (default in (None, False, [], argparse.SUPPRESS) or "default" in text
                or action.option_strings == []):
            return text
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse that exits 4 (usage error) instead of 2, which claimcheck keeps for interrupts."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
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
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="report format for --report")
    parser.add_argument("--output", type=Path, metavar="PATH", default=None,
                        help="write the report to PATH (atomically) instead of stdout")
    parser.add_argument("--write", dest="writes", action="append", default=[],
                        type=_format_and_path, metavar="FORMAT=PATH",
                        help="also write the report in FORMAT to PATH (repeatable), e.g. "
                             "--write junit=junit.xml --write markdown=summary.md")
    parser.add_argument("--services-only", action="store_true",
                        help="probe the configured services without running any tests")
    parser.add_argument("--force", action="store_true",
                        help="run phases even when a service they require is down")


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


# ----------------------------------------------------------------------------------------
# The commands


@dataclass(frozen=True)
class Command:
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
    Command("serve", "serve the command center to a web browser, for pairing",
            "Serve the live command center to a web browser (textual-serve), for pairing "
            "during an incident.",
            _add_serve, "claimcheck.tui.serve:run_serve"),
)


def build_parser() -> argparse.ArgumentParser:
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
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help,
                                  description=command.description, epilog=EXIT_CODES_HELP,
                                  formatter_class=_HelpFormatter)
        sub.error = _Parser.error.__get__(sub)  # type: ignore[method-assign]
        command.add_arguments(sub)
    return parser


def parse(argv: Sequence[str]) -> tuple[str, Options]:
    """The command's name ("run" for none) and the Options the command line gave."""
    namespace = build_parser().parse_args(list(argv))
    options = Options()
    for name, value in vars(namespace).items():
        if value is not None and hasattr(options, name):
            setattr(options, name, value)
    options.project = Path(options.project).resolve()
    return namespace.command or "run", options


def main(argv: Sequence[str] | None = None) -> int:
    command, options = parse(sys.argv[1:] if argv is None else argv)
    try:
        if command != "run":
            return next(c for c in COMMANDS if c.name == command).load()(options)
        from claimcheck.tui.signals import terminate_as_interrupt

        with terminate_as_interrupt():
            if options.report or options.services_only:
                from claimcheck.tui.headless import run_headless

                return run_headless(options)
            from claimcheck.tui.app import run_app

            return run_app(options)
    except KeyboardInterrupt:
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def color_enabled(stream: object) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ


if __name__ == "__main__":
    sys.exit(main())
