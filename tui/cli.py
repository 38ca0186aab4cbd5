"""The `claimcheck` command line.

Parsing only; the Textual app is imported on the interactive path alone, so `--report` on a
staging box or in CI never loads Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from claimcheck.collectors.report import FORMATS
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options

from claimcheck import __version__

SUBCOMMANDS = ("demo", "init", "serve")



class _Parser(argparse.ArgumentParser):
    """argparse that exits 4 (usage error) instead of 2, which claimcheck keeps for interrupts."""

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


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phase", dest="phases", action="append", default=[], metavar="NAME",
                        help="run only this phase (repeatable)")
    parser.add_argument("--report", action="store_true",
                        help="run headless and print the report instead of opening the TUI")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="report format for --report (default: text)")
    parser.add_argument("--output", type=Path, metavar="PATH",
                        help="write the report to PATH (atomically) instead of stdout")
    parser.add_argument("--write", dest="writes", action="append", default=[],
                        type=_format_and_path, metavar="FORMAT=PATH",
                        help="also write the report in FORMAT to PATH (repeatable), e.g. "
                             "--write junit=junit.xml --write markdown=summary.md")
    parser.add_argument("--services-only", action="store_true",
                        help="probe the configured services without running any tests")
    parser.add_argument("--force", action="store_true",
                        help="run phases even when a service they require is down")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="claimcheck",
        description=(
            "Run a project's test phases, probe its services and listen to its event streams, "
            "and show what really happened. With no command, opens the command center."
        ),
        epilog=(
            "commands: claimcheck demo | claimcheck init | claimcheck serve  "
            "(each takes --help). Exit codes: 0 green, 1 red, 2 interrupted, 3 internal error, "
            "4 usage or config error, 5 no evidence."
        ),
    )
    parser.add_argument("--version", action="version", version=f"claimcheck {__version__}")
    parser.add_argument("--project", type=Path, default=None, metavar="DIR",
                        help="project root (default: the current folder)")
    parser.add_argument("--config", type=Path, metavar="PATH",
                        help="read settings from PATH (keys at top level) instead of "
                             "[tool.claimcheck] in pyproject.toml")
    _add_run_options(parser)
    return parser


def build_subparser(command: str) -> argparse.ArgumentParser:
    if command == "demo":
        parser = _Parser(prog="claimcheck demo",
                         description="Open claimcheck on a realistic sample project with sample "
                                     "services on loopback. Everything it starts, it stops.")
        _add_run_options(parser)
    elif command == "init":
        parser = _Parser(prog="claimcheck init",
                         description="Write a starting [tool.claimcheck] into pyproject.toml from "
                                     "the test folders and markers found, keeping its formatting.")
        parser.add_argument("--project", type=Path, default=None, metavar="DIR")
        parser.add_argument("--force", dest="overwrite", action="store_true",
                            help="replace an existing [tool.claimcheck] section")
        parser.add_argument("--dry-run", action="store_true",
                            help="print the section instead of writing it")
    else:
        parser = _Parser(prog="claimcheck serve",
                         description="Serve the live command center to a web browser "
                                     "(textual-serve), for pairing during an incident.")
        parser.add_argument("--project", type=Path, default=None, metavar="DIR")
        parser.add_argument("--config", type=Path, metavar="PATH")
        parser.add_argument("--phase", dest="phases", action="append", default=[],
                            metavar="NAME")
        parser.add_argument("--host", default="127.0.0.1",
                            help="address to bind (default 127.0.0.1; anything else exposes "
                                 "the session to the network)")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="serve the demo")
    return parser


def parse(argv: Sequence[str]) -> tuple[str, Options]:
    argv = list(argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "run"
    parser = build_parser() if command == "run" else build_subparser(command)
    namespace = parser.parse_args(argv if command == "run" else argv[1:])
    options = Options()
    for name, value in vars(namespace).items():
        if value is not None and hasattr(options, name):
            setattr(options, name, value)
    if command == "serve" and getattr(namespace, "demo", False):
        command = "serve-demo"
    options.project = options.project.resolve()
    return command, options


def main(argv: Sequence[str] | None = None) -> int:
    command, options = parse(sys.argv[1:] if argv is None else argv)
    try:
        if command == "init":
            from claimcheck.tui.scaffold import run_init

            return run_init(options)
        if command == "demo":
            from claimcheck.tui.demo import run_demo

            return run_demo(options)
        if command in ("serve", "serve-demo"):
            from claimcheck.tui.serve import run_serve

            return run_serve(options, demo=command == "serve-demo")
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
