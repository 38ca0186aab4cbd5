"""One whole claimcheck run: services, then phases in order, then judgement.

`--report` and the TUI both go through `assemble_report`, so the verdict on the screen and the
verdict in CI are computed by the same code from the same evidence.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

from claimcheck.collectors.config import Config, ConfigError, PhaseConfig
from claimcheck.collectors.discovery import marker_line, uncollected_tests
from claimcheck.collectors.gaps import gap_matrix, test_gap_namer
from claimcheck.collectors.gitinfo import read_git_info
from claimcheck.collectors.health import port_findings, probe_all
from claimcheck.collectors.judge import phase_findings
from claimcheck.collectors.models import (
    Counts,
    Finding,
    PhaseEvent,
    PhaseFinished,
    PhaseRun,
    PhaseStarted,
    Provenance,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.pytest_run import (
    check_interpreter,
    kill_stragglers,
    run_phase,
)
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import verdict_and_exit

from claimcheck import __version__

EventSink = Callable[[PhaseEvent], None]
ServiceSink = Callable[[ServiceSample], None]


def select_phases(config: Config, names: Sequence[str] | None) -> tuple[PhaseConfig, ...]:
    """The phases to run, in configured order; an unknown name is a usage error."""
    if not names:
        return config.phases
    known = {phase.name for phase in config.phases}
    for name in names:
        if name not in known:
            choices = ", ".join(phase.name for phase in config.phases)
            where = config.source or "the default phases"
            raise ConfigError(f"{where}: --phase {name!r}: no such phase; expected one of {choices}")
    wanted = set(names)
    return tuple(phase for phase in config.phases if phase.name in wanted)


def blocking_service(phase: PhaseConfig, samples: Iterable[ServiceSample]) -> ServiceSample | None:
    """The first required service that is down, which keeps `phase` from running."""
    by_name = {sample.name: sample for sample in samples}
    for name in phase.requires:
        sample = by_name.get(name)
        if sample is not None and sample.status == "down":
            return sample
    return None


def blocked_run(phase: PhaseConfig, blocker: ServiceSample) -> PhaseRun:
    return PhaseRun(
        name=phase.name,
        status="blocked",
        exit_code=None,
        duration_s=0.0,
        counts=Counts(),
        reason=f"blocked by {blocker.name}: {blocker.detail}",
        started_at=time.time(),
    )


def phase_paths(config: Config, run: PhaseRun) -> list[str]:
    """The folders and files a phase's pytest session looked at, relative to the project root."""
    settings = run.settings
    raw: Sequence[str] = settings.args if settings and settings.args else ()
    if not raw:
        try:
            phase = config.phase(run.name)
        except KeyError:
            phase = None
        if phase is not None and phase.pytest is not None:
            raw = [arg for arg in phase.pytest if not arg.startswith("-")]
    paths: list[str] = []
    for arg in raw:
        path = Path(arg.split("::", 1)[0])
        if path.is_absolute():
            try:
                path = path.relative_to(config.root)
            except ValueError:
                continue
        if (config.root / path).exists():
            paths.append(path.as_posix())
    return paths


def collect_findings(
    config: Config, runs: Sequence[PhaseRun], samples: Sequence[ServiceSample]
) -> tuple[Finding, ...]:
    """Every finding the evidence supports, each reported once."""
    findings: list[Finding] = []
    locate = functools.partial(marker_line, config.root)
    for run in runs:
        findings.extend(phase_findings(run, locate))
    audited: set[tuple[str, ...]] = set()
    for run in runs:
        if run.settings is None:
            continue
        paths = phase_paths(config, run)
        key = tuple(sorted(paths))
        if key in audited:
            continue
        audited.add(key)
        findings.extend(uncollected_tests(config.root, run.settings, paths, run.name))
    findings.extend(port_findings(config.services, samples, redactor=Redactor(config.secrets)))
    return tuple(_dedupe(findings))


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """The same static problem seen from two phases is one finding (the first phase names it)."""
    seen: set[tuple[object, ...]] = set()
    unique: list[Finding] = []
    for finding in findings:
        key = (finding.kind, finding.path, finding.line, finding.message)
        if finding.kind == "uncollected-tests":
            key = (finding.kind, finding.path, finding.line)
        if key in seen:
            continue
        seen.add(key)
        unique.append(finding)
    return unique


def provenance_of(config: Config) -> Provenance:
    """Which commit, branch and machine the evidence is about (blocking: runs `git`)."""
    git = read_git_info(config.root)
    return Provenance(
        commit=git.sha if git else None,
        branch=git.branch if git else None,
        dirty=git.dirty if git else False,
        host=socket.gethostname(),
        config_digest=config.digest,
    )


def assemble_report(
    config: Config,
    runs: Sequence[PhaseRun],
    samples: Sequence[ServiceSample],
    started_at: float,
    *,
    interrupted: bool = False,
    now: float | None = None,
    provenance: Provenance | None = None,
) -> RunReport:
    """Judge the evidence into one report. Blocking (reads test files, asks git): a thread.

    `provenance` is read from git and the host when not given.
    """
    verdict, exit_code = verdict_and_exit(runs, samples, interrupted=interrupted)
    end = time.time() if now is None else now
    return RunReport(
        project=str(config.root),
        started_at=started_at,
        duration_s=max(0.0, end - started_at),
        phases=tuple(runs),
        gaps=gap_matrix(runs, config.gaps),
        findings=collect_findings(config, runs, samples),
        services=tuple(samples),
        verdict=verdict,
        exit_code=exit_code,
        tool_version=__version__,
        provenance=provenance if provenance is not None else provenance_of(config),
    )


def test_gaps(config: Config) -> Callable[[str, TestResult], list[str]]:
    """Per-test gap names for the JSON report, by the same rules as the matrix."""
    namer = test_gap_namer(config.gaps, [phase.name for phase in config.phases])

    def gaps_of(phase: str, result: TestResult) -> list[str]:
        return list(namer(result.nodeid, result.markers))

    return gaps_of


test_gaps.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


async def run_evidence(
    config: Config,
    *,
    phases: Sequence[str] | None = None,
    on_event: EventSink | None = None,
    on_service: ServiceSink | None = None,
    force: bool = False,
    services_only: bool = False,
    probe: Callable[..., object] = probe_all,
) -> RunReport:
    """Probe the services, run the selected phases in order, and judge the evidence.

    A required service that is down when its phase is due keeps the phase from running
    (`blocked`), unless `force`. Cancellation (Ctrl-C) stops the running phase, which kills its
    process tree, kills the earlier phases' stragglers too, and the report says `interrupted`
    with everything gathered so far.

    A `pytest` phase is judged as soon as its session has finished, while its process may
    still be tearing down (and the next phase may already run beside it). This returns without
    waiting for those stragglers, so the caller can write the report first; it must then await
    `claimcheck.collectors.pytest_run.wait_for_stragglers()` before it exits (`--report` does).
    """
    started_at = time.time()
    selected = select_phases(config, phases)
    emit = on_event or (lambda event: None)
    latest: dict[str, ServiceSample] = {}
    redactor = Redactor(config.secrets)

    async def probe_services(services: Sequence) -> None:
        if not services:
            return
        for sample in await probe(services, redactor=redactor):  # type: ignore[misc]
            latest[sample.name] = sample
            if on_service is not None:
                on_service(sample)

    runs: list[PhaseRun] = []
    interrupted = False
    try:
        await probe_services(config.services)
        if not services_only:
            if selected:
                await asyncio.to_thread(check_interpreter, config)
            for phase in selected:
                if phase.requires:
                    await probe_services([config.service(name) for name in phase.requires])
                blocker = None if force else blocking_service(phase, latest.values())
                if blocker is not None:
                    run = blocked_run(phase, blocker)
                    emit(PhaseStarted(phase=phase.name, argv=(), started_at=run.started_at))
                    emit(PhaseFinished(phase=phase.name, run=run))
                else:
                    run = await run_phase(phase, config, emit)
                runs.append(run)
                if run.status == "interrupted" and run.interruption is None:
                    interrupted = True  # claimcheck was stopped; a pytest.exit() inside a
                    break  # phase is that phase's evidence, and the next phases still run
    except asyncio.CancelledError:
        interrupted = True
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        await kill_stragglers()  # Ctrl-C ends every pytest claimcheck started, not just the last
    ordered = [latest[s.name] for s in config.services if s.name in latest]
    # Judgement reads test files and the machine's sockets: keep it off the event loop.
    return await asyncio.to_thread(
        assemble_report, config, runs, ordered, started_at, interrupted=interrupted
    )
