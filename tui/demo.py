"""`claimcheck demo`: the command center on a sample of a real incident, from a plain install.

The sample project ships inside the package (`tui/demo-project`: a folder name Python cannot
import, so packaging treats it as data). The demo copies it to a temporary folder (tests write
nothing into site-packages), starts the sample services on loopback, points the shipped `${VAR}` placeholders at their ports through the environment, and
then runs exactly what `claimcheck` or `claimcheck --report` would run on a real project.
Everything it starts it stops, on a normal quit, an exception, Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from claimcheck.collectors.procs import kill_descendants
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.demo_services import DemoServices, start_services
from claimcheck.tui.options import Options
from claimcheck.tui.signals import (
    removed_even_on_forced_exit,
    signals_ignored,
    terminate_as_interrupt,
)

SAMPLE = Path(__file__).resolve().parent / "demo-project"
PROJECT_NAME = "agent-backend"
TOKEN_VARIABLE = "DEMO_E2E_TOKEN"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".claimcheck")


def copy_sample(destination: Path) -> Path:
    """Copy the shipped sample into `destination/agent-backend` and return that folder."""
    target = destination / PROJECT_NAME
    shutil.copytree(SAMPLE, target, ignore=_IGNORED)
    return target


def run_demo(options: Options) -> int:
    """Run the demo the way `options` asks (TUI, or headless with --report) and clean up."""
    # A token the test suite may fix in advance to check it never appears in any output.
    unknown = [name for name in options.phases if name not in sample_phases()]
    if unknown:
        print(f"claimcheck demo: --phase {unknown[0]!r}: no such phase in the demo; expected one "
              f"of {', '.join(sample_phases())}", file=sys.stderr)
        return ExitCode.USAGE
    token = os.environ.get(TOKEN_VARIABLE) or secrets.token_urlsafe(18)
    services: DemoServices | None = None
    with (tempfile.TemporaryDirectory(prefix="claimcheck-demo-") as tmp,
          removed_even_on_forced_exit(Path(tmp)), terminate_as_interrupt()):
        try:
            project = copy_sample(Path(tmp))
            services = start_services(token)
            atexit.register(services.stop)
            _prepare_environment(services)
            options.project = project
            options.config = None
            if options.report or options.services_only:
                print(_banner(services, project), file=sys.stderr, flush=True)
                from claimcheck.tui.headless import run_headless

                return run_headless(options)
            from claimcheck.tui.launch import run_command_center

            return run_command_center(options)
        finally:
            with signals_ignored():
                if services is not None:
                    services.stop()
                    atexit.unregister(services.stop)
                _end_leftovers()


def sample_phases() -> list[str]:
    """The sample's phase names, read before anything starts (a typo must not start services)."""
    with (SAMPLE / "pyproject.toml").open("rb") as handle:
        table = tomllib.load(handle)["tool"]["claimcheck"]
    return [phase["name"] for phase in table["phases"]]


def _prepare_environment(services: DemoServices) -> None:
    """Fill the sample's `${VAR}`s: the config loader and every phase read this environment.

    (`python` in the staging runner's command needs nothing here: the phase runner already
    swaps a leading `python` for the configured interpreter.)
    """
    os.environ.update(services.env())


def _banner(services: DemoServices, project: Path) -> str:
    return (
        f"claimcheck demo: sample project {project}; services on 127.0.0.1: "
        f"auth :{services.identity_port}, backend :{services.backend_port} (down), "
        f"backend's auth :{services.identity_expected_port} (nothing there), "
        f"e2e-gateway :{services.gateway_port}, agent-events :{services.events_port}"
    )


def _end_leftovers() -> None:
    """End every process the demo still has: pytest runs, the project's runner, services.

    The phase runner kills its own trees when cancelled; this is the backstop for the paths
    where it never got the chance (an exception while starting, a second signal).
    """
    kill_descendants(timeout=3.0)
