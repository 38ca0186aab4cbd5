"""`claimcheck --open FILE` in the command center: a report made elsewhere, shown, never run.

The app gets the report through `engine.report_engine` and a configuration shaped like the
report (`opened_config`: its phases and services, the project's gaps), so every panel shows
what the file holds and the live model judges its tests into the same gaps the report was
judged with. The header names the file and the commit the report is about (`opened_git`);
the keys that would run something (`r`, `f`, `R`, `s`) say why they do nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from claimcheck.collectors.config import Config, PhaseConfig, ServiceConfig
from claimcheck.collectors.gitinfo import GitInfo
from claimcheck.collectors.models import RunReport, ServiceSample
from claimcheck.tui.options import Options
from claimcheck.tui.screen import CommandCenter

if TYPE_CHECKING:
    from claimcheck.tui.app import ClaimcheckApp

PROBE_INTERVAL_S = 24 * 3600.0  # an opened report's samples never change: no need to ask again
WHY_NOTHING_RUNS = ("opened from {source}: nothing runs here. Run claimcheck in the project "
                    "(without --open) to {what}")


def run_opened_app(config: Config, report: RunReport, options: Options) -> int:
    """`--open FILE`: the command center on a finished report; nothing runs or is recorded."""
    from claimcheck.tui.app import run_to_exit

    return run_to_exit(opened_app(config, report, options, handle_signals=True))


def opened_app(config: Config, report: RunReport, options: Options, *,
               handle_signals: bool = False) -> ClaimcheckApp:
    """The app `--open` runs: the report replayed into a configuration shaped like it."""
    from claimcheck.tui.app import ClaimcheckApp
    from claimcheck.tui.engine import report_engine

    return ClaimcheckApp(opened_config(config, report), options, engine=report_engine(report),
                         read_git=False, project_name=opened_name(report, options.open),
                         started_at=report.started_at, handle_signals=handle_signals,
                         opened=report)


def opened_config(config: Config, report: RunReport) -> Config:
    """`config` with the report's phases and services, in the report's order: the project's
    entry where one has the same name (its `requires` names a blocked phase's blocker), a
    bare one otherwise (a JUnit file's `tests` phase). Services are never probed again."""
    phases = tuple(_phase(config, run.name) for run in report.phases)
    services = tuple(_service(config, sample) for sample in report.services)
    return config._replace(phases=phases, services=services)


def _phase(config: Config, name: str) -> PhaseConfig:
    try:
        return config.phase(name)
    except KeyError:
        return PhaseConfig(name)


def _service(config: Config, sample: ServiceSample) -> ServiceConfig:
    try:
        known = config.service(sample.name)
    except KeyError:
        known = ServiceConfig(name=sample.name, url=sample.url, kind=sample.kind,
                              display_url=sample.url, critical=sample.critical)
    return known._replace(interval_s=PROBE_INTERVAL_S, stream=False)


def opened_git(report: RunReport) -> GitInfo | None:
    """Branch and commit the report is about, as the header shows a live run's checkout."""
    provenance = report.provenance
    if provenance is None or not (provenance.commit or provenance.branch):
        return None
    return GitInfo(branch=provenance.branch, commit=provenance.short_commit,
                   dirty=provenance.dirty, sha=provenance.commit)


def opened_name(report: RunReport, source: Path | None) -> str:
    """"api, opened from ci/cc.json": the header's project, saying where it came from."""
    project = Path(report.project).name if report.project else ""
    where = f"opened from {source}" if source is not None else "opened from a file"
    return f"{project}, {where}" if project else where


class OpenedCommandCenter(CommandCenter):
    """The command center over a finished report: every view, no key that runs anything."""

    def _why_nothing_runs(self, what: str) -> None:
        source = getattr(self.app, "options", None)
        name = source.open if source is not None and source.open is not None else "a file"
        self.notify(WHY_NOTHING_RUNS.format(source=name, what=what), severity="warning",
                    markup=False, timeout=6)

    def action_rerun_all(self) -> None:
        self._why_nothing_runs("run its phases")

    def action_rerun_failed(self) -> None:
        self._why_nothing_runs("rerun what failed")

    def action_rerun_phase(self) -> None:
        self._why_nothing_runs("rerun a phase")

    def action_probe_now(self) -> None:
        self._why_nothing_runs("probe its services")
