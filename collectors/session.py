"""One whole claimcheck run: services, then the plan of phases, then judgement.

`run_plan` is the one loop over a plan's phases: it asks for the services a phase requires,
runs the phase or records it as blocked, and stops at an interruption. `--report`
(`run_evidence`) and the command center's phase worker both call it, and both fold what it
emits into a `LiveEvidence`, whose runs `assemble_report` judges: the verdict on the screen and
the verdict in CI come from the same code and the same evidence.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Protocol, Sequence

from claimcheck.collectors.config import (  # noqa: F401 - select_phases: the plan's API
    Config,
    ConfigError,
    PhaseConfig,
    select_phases,
)
from claimcheck.collectors.phase_command import run_started_at
from claimcheck.collectors.secrets import Redactor

from claimcheck import __version__

if TYPE_CHECKING:
    from claimcheck.collectors.discovery import TestFilesRead
    from claimcheck.collectors.live import LiveEvidence
    from claimcheck.collectors.models import (
        Finding,
        PhaseEvent,
        PhaseRun,
        Provenance,
        PytestSettings,
        RunReport,
        ServiceSample,
    )

# A run imports what it needs when it needs it: until the first phase's pytest is spawned,
# only the config and the runner; the judge and the map while that pytest starts (on a
# thread, `_prepare_judgement`), so neither delays the spawn nor waits after the last test.
JUDGEMENT_MODULES = (
    "claimcheck.collectors.models",
    "claimcheck.collectors.verdict",
    "claimcheck.collectors.refusal",
    "claimcheck.collectors.gaps",
    "claimcheck.collectors.judge",
    "claimcheck.collectors.discovery",
    "claimcheck.collectors.source_audit",
    "claimcheck.collectors.depmap",
    "claimcheck.collectors.gitinfo",
)

EventSink = Callable[["PhaseEvent"], None]
ServiceSink = Callable[["ServiceSample"], None]
# The services a phase requires, by name -> their latest samples (probed now, or awaited).
RequiredSamples = Callable[[Sequence[str]], Awaitable[Iterable["ServiceSample"]]]


class PhaseRunner(Protocol):
    """`claimcheck.collectors.pytest_run.run_phase`'s shape, for a stand-in in tests."""

    def __call__(self, phase: PhaseConfig, config: Config, on_event: EventSink | None = None,
                 *, extra_args: Sequence[str] = ()) -> Awaitable[PhaseRun]: ...


def blocking_service(phase: PhaseConfig, samples: Iterable[ServiceSample]) -> ServiceSample | None:
    """The first required service that is down, which keeps `phase` from running."""
    by_name = {sample.name: sample for sample in samples}
    for name in phase.requires:
        sample = by_name.get(name)
        if sample is not None and sample.status == "down":
            return sample
    return None


def blocked_run(phase: PhaseConfig, blocker: ServiceSample) -> PhaseRun:
    from claimcheck.collectors.models import Counts, PhaseRun

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
    return session_paths(config, run.name, run.settings)


def session_paths(config: Config, phase_name: str, settings: PytestSettings | None) -> list[str]:
    """`phase_paths` from the session's settings, as soon as pytest has reported them."""
    raw: Sequence[str] = settings.args if settings and settings.args else ()
    if not raw:
        try:
            phase = config.phase(phase_name)
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


def configured_command(config: Config, run: PhaseRun) -> tuple[str, ...] | None:
    """The phase's command as the config says it (`pytest tests/unit`, `python run.py`), for
    findings to quote instead of the argv claimcheck built around it."""
    try:
        phase = config.phase(run.name)
    except KeyError:
        return None
    if phase.pytest is not None:
        return ("pytest", *phase.pytest)
    return phase.command


def collect_findings(
    config: Config, runs: Sequence[PhaseRun], samples: Sequence[ServiceSample],
    readings: TestFileReadings | None = None,
) -> tuple[Finding, ...]:
    """Every finding the evidence supports, each reported once. `readings`: the test files
    already read while the phases ran (`run_evidence`); read now otherwise."""
    from claimcheck.collectors.discovery import (
        config_style,
        marker_line,
        uncollected_findings,
    )
    from claimcheck.collectors.judge import phase_findings
    from claimcheck.collectors.models import audit_error
    from claimcheck.collectors.source_audit import audit_findings

    findings: list[Finding] = []
    locate = functools.partial(marker_line, config.root)
    style = functools.lru_cache(maxsize=None)(functools.partial(config_style, config.root))
    for run in runs:
        findings.extend(phase_findings(run, locate, command=configured_command(config, run),
                                       config_style=style))
    readings = readings if readings is not None else TestFileReadings(config)
    audited: set[tuple[str, ...]] = set()
    for run in runs:
        if run.settings is None:
            continue
        paths = phase_paths(config, run)
        key = tuple(sorted(paths))
        if key in audited:
            continue
        audited.add(key)
        errored = [error.path for error in run.collection_errors]
        try:
            read = readings.read(paths, run.settings)
        except Exception as error:  # noqa: BLE001 - the rest of the evidence must be reported
            findings.append(audit_error("The audit of tests pytest never collects", error,
                                        run.name))
            continue
        findings.extend(uncollected_findings(read, run.name, errored))
    if config.services:  # no HTTP or WebSocket client is loaded for a run without services
        from claimcheck.collectors.ports import port_findings

        findings.extend(port_findings(config.services, samples,
                                      redactor=Redactor(config.secrets)))
    findings = audit_findings(config, runs, findings)  # static: duplicates, deprecated imports
    return tuple(dedupe_findings(findings))


class TestFileReadings:
    """The uncollected-tests audit's reading of each phase's test files, started on a thread
    as soon as that phase's pytest has collected (its settings say which files and names),
    so that reading runs beside the tests instead of after the last one (Django's 761 test
    files: 1.5 s). Keyed by the files and settings: sessions that share them share one
    reading; one never started is read when asked for. What pytest collected is what the
    files said at collection, so an early reading is the apt one."""

    __test__ = False

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._readings: dict[tuple[tuple[str, ...], PytestSettings], Once] = {}
        self._started: set[str] = set()  # phases whose first session started a reading

    def _reading(self, paths: Sequence[str], settings: PytestSettings) -> tuple[Once, bool]:
        key = (tuple(sorted(paths)), settings)
        with self._lock:
            reading = self._readings.get(key)
            if reading is not None:
                return reading, False
            reading = self._readings[key] = Once(functools.partial(
                _scan_test_files, self.config.root, settings, list(paths)))
            return reading, True

    def start(self, phase_name: str, settings: PytestSettings) -> None:
        """Begin reading the files the phase's first session collects from (the judge audits
        with the first session's settings), on a thread of its own."""
        with self._lock:
            if phase_name in self._started:
                return  # a wrapper's later pytest sessions: their reading would go unused
            self._started.add(phase_name)
        reading, new = self._reading(session_paths(self.config, phase_name, settings), settings)
        if new:
            threading.Thread(target=_read_quietly, args=(reading,), daemon=True,
                             name="claimcheck-test-files").start()

    def read(self, paths: Sequence[str], settings: PytestSettings) -> TestFilesRead:
        """The reading: the one started early (waited for), or one made now."""
        return self._reading(paths, settings)[0]()  # type: ignore[return-value]


def _scan_test_files(root: Path, settings: PytestSettings, paths: list[str]) -> TestFilesRead:
    from claimcheck.collectors.discovery import scan_test_files

    return scan_test_files(root, settings, paths)


def _read_quietly(reading: Once) -> None:
    try:
        reading()
    except Exception:  # noqa: BLE001, S110 - only a head start: the judge reads again
        pass


def dedupe_findings(findings: Iterable[Finding]) -> list[Finding]:
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
    from claimcheck.collectors.gitinfo import read_git_info
    from claimcheck.collectors.models import Provenance

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
    interrupted_at: float | None = None,
    now: float | None = None,
    provenance: Provenance | None = None,
    readings: TestFileReadings | None = None,
) -> RunReport:
    """Judge the evidence into one report. Blocking (reads test files, asks git): a thread.

    Everything a writer shows is decided here, once: the verdict and its reasons, the findings,
    the matrix and each test's gaps. `provenance` is read from git and the host when not given;
    `readings`, the phases' test files, are read now when not given (see `TestFileReadings`).
    """
    from claimcheck.collectors.depmap import build_map, evidence_of_run
    from claimcheck.collectors.gaps import judge_gaps
    from claimcheck.collectors.models import RunReport
    from claimcheck.collectors.verdict import verdict_reasons

    verdict, exit_code, reasons = verdict_reasons(runs, samples, interrupted=interrupted,
                                                  interrupted_at=interrupted_at)
    end = time.time() if now is None else now
    rows, test_gaps = judge_gaps(runs, config.gaps)
    findings = collect_findings(config, runs, samples, readings)
    return RunReport(
        project=str(config.root),
        started_at=started_at,
        duration_s=max(0.0, end - started_at),
        phases=tuple(runs),
        gaps=rows,
        findings=findings,
        services=tuple(samples),
        verdict=verdict,
        exit_code=exit_code,
        tool_version=__version__,
        provenance=provenance if provenance is not None else provenance_of(config),
        reasons=tuple(reasons),
        test_gaps=test_gaps,
        interrupted_at=interrupted_at if verdict == "interrupted" else None,
        dependency_map=build_map(config, evidence_of_run(runs, samples, rows, findings)),
    )


async def run_plan(
    config: Config,
    phases: Sequence[PhaseConfig],
    on_event: EventSink,
    *,
    required: RequiredSamples | None = None,
    extra_args: Sequence[str] = (),
    force: bool = False,
    runner: PhaseRunner | None = None,
) -> list[PhaseRun]:
    """Run `phases` in order: the one loop over a plan, for `--report` and the TUI alike.

    Before a phase that requires services, `required(names)` gives their latest samples (the
    report probes them now; the TUI waits for its first probes); a required service that is
    down keeps the phase from running (`blocked`, with PhaseStarted and PhaseFinished emitted
    like any phase) unless `force`. A phase claimcheck interrupted ends the plan. Cancelling stops the
    running phase (its runner kills the process tree and emits its interrupted PhaseFinished)
    and re-raises; what was emitted so far is the evidence.
    """
    if runner is None:
        from claimcheck.collectors.pytest_run import run_phase as runner
    run_one = runner
    runs: list[PhaseRun] = []
    for phase in phases:
        blocker = None
        if phase.requires and not force and required is not None:
            blocker = blocking_service(phase, await required(phase.requires))
        if blocker is not None:
            from claimcheck.collectors.models import PhaseFinished, PhaseStarted

            run = blocked_run(phase, blocker)
            on_event(PhaseStarted(phase=phase.name, argv=(), started_at=run.started_at))
            on_event(PhaseFinished(phase=phase.name, run=run))
        else:
            run = await run_one(phase, config, on_event, extra_args=extra_args)
        runs.append(run)
        if run.status == "interrupted" and run.interruption is None:
            break  # claimcheck was stopped; a pytest.exit() inside a phase is that phase's
            # evidence (an interrupted-session finding), and the next phases still run
    return runs


class Once:
    """A value computed once, by whichever thread asks first; the others wait for it.

    The run's provenance (git) is read on a thread while the first phase runs; the history's
    run row and the report then share that one reading instead of asking git twice, once of
    them after the last test.
    """

    def __init__(self, compute: Callable[[], object]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._value: object = None
        self._done = False

    def __call__(self) -> object:
        with self._lock:
            if not self._done:
                self._value = self._compute()
                self._done = True
            return self._value


def provenance_once(config: Config) -> Callable[[], Provenance]:
    """`provenance_of(config)`, read at most once (see `Once`)."""
    return Once(functools.partial(provenance_of, config))  # type: ignore[return-value]


def _prepare_judgement(provenance: Callable[[], object], modules: Sequence[str] = (),
                       config: Config | None = None) -> threading.Thread:
    """While the first phase's pytest starts: import the judge (and the caller's `modules`,
    its report writers), read git and, given `config`, read the project's sources into the
    static audit's cache, on a thread.

    All would otherwise happen in series, the imports before the spawn, git and the audit's
    reading after the last test. A failure here is no failure: the judge imports and asks
    again, and says so.
    """

    def work() -> None:
        for name in (*JUDGEMENT_MODULES, *modules):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the judge's own import reports it
                return
        try:
            provenance()
        except Exception:  # noqa: BLE001 - assemble_report asks again
            pass
        if config is not None:
            from claimcheck.collectors.source_audit import warm_source_index

            warm_source_index(config)

    thread = threading.Thread(target=work, name="claimcheck-prepare", daemon=True)
    thread.start()
    return thread


async def run_evidence(
    config: Config,
    *,
    phases: Sequence[str] | None = None,
    on_event: EventSink | None = None,
    on_service: ServiceSink | None = None,
    force: bool = False,
    services_only: bool = False,
    probe: Callable[..., object] | None = None,
    live: LiveEvidence | Callable[[], LiveEvidence] | None = None,
    provenance: Callable[[], Provenance] | None = None,
    preload: Sequence[str] = (),
) -> RunReport:
    """Probe the services, run the selected phases in order, and judge the evidence.

    Every event and sample is folded into `live` (a fresh `LiveEvidence` unless given, so a
    progress line can read it; given as a function, it is called once, when the first event
    or sample arrives, so the live model is not built before the first pytest is spawned)
    before `on_event` / `on_service` see it. Cancellation (Ctrl-C,
    SIGTERM) stops the running phase, which kills its process tree, kills the earlier phases'
    stragglers too, and the report says `interrupted`, and when, with everything gathered so
    far: the interrupted phase keeps every result it streamed.

    `provenance` (`provenance_once(config)` unless given: a caller that stores the run as well
    passes the same one) is read on a thread as soon as the first phase has started, while
    the judge's modules and the caller's `preload` (its report writers) are imported.

    A `pytest` phase is judged as soon as its session has finished, while its process may
    still be tearing down (and the next phase may already run beside it). This returns without
    waiting for those stragglers, so the caller can write the report first; it must then await
    `claimcheck.collectors.pytest_run.wait_for_stragglers()` before it exits (`--report` does).
    """
    selected = select_phases(config, phases)
    started_at = run_started_at(time.time(), selected[0].name if selected else None)
    redactor = Redactor(config.secrets)
    read_provenance = provenance if provenance is not None else provenance_once(config)
    evidence: LiveEvidence | None = None
    preparing: threading.Thread | None = None
    readings = TestFileReadings(config)

    def live_model() -> LiveEvidence:
        nonlocal evidence
        if evidence is None:
            if live is None:
                from claimcheck.collectors.live import LiveEvidence

                evidence = LiveEvidence.for_config(config)
            else:
                evidence = live() if callable(live) else live
        return evidence

    def emit(event: PhaseEvent) -> None:
        nonlocal preparing
        live_model().fold(event)
        if preparing is None:  # the first event: the first phase's pytest is on its way
            preparing = _prepare_judgement(read_provenance, preload, config)
        settings = getattr(event, "settings", None)  # a session has collected
        if settings is not None:
            readings.start(event.phase, settings)
        if on_event is not None:
            on_event(event)

    async def probe_services(names: Sequence[str]) -> list[ServiceSample]:
        services = [config.service(name) for name in names]
        if not services:
            return []
        prober = probe
        if prober is None:
            from claimcheck.collectors.health import probe_all as prober
        samples = list(await prober(services, redactor=redactor))  # type: ignore[misc]
        for sample in samples:
            live_model().fold(sample)
            if on_service is not None:
                on_service(sample)
        return samples

    interrupted_at: float | None = None
    try:
        await probe_services([service.name for service in config.services])
        if not services_only:
            if selected:
                from claimcheck.collectors.pytest_run import check_interpreter

                check_interpreter(config)  # a look at the file system, microseconds
            await run_plan(config, selected, emit, required=probe_services, force=force)
    except asyncio.CancelledError:
        interrupted_at = time.time()
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        from claimcheck.collectors.stragglers import kill_stragglers

        await kill_stragglers()  # Ctrl-C ends every pytest claimcheck started, not just the last
    interrupted = interrupted_at is not None
    runs = live_model().runs(unfinished=interrupted)
    if interrupted_at is None and any(run.status == "interrupted" for run in runs):
        interrupted_at = time.time()  # the runner itself reported the phase interrupted
    samples = live_model().service_samples()

    def judge() -> RunReport:
        if preparing is not None:
            preparing.join()  # the audit's cache half read: finishing it costs less than anew
        return assemble_report(config, runs, samples, started_at, interrupted=interrupted,
                               interrupted_at=interrupted_at,
                               provenance=read_provenance(),  # type: ignore[arg-type]
                               readings=readings)

    # Judgement reads test files and the machine's sockets: keep it off the event loop.
    judging = asyncio.ensure_future(asyncio.to_thread(judge))
    try:
        return await asyncio.shield(judging)
    except asyncio.CancelledError:
        # Stopped while judging: the evidence is all in, so it is still judged and returned.
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        return await judging
