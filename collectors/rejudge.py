"""The judge, applied to evidence read from files instead of gathered live (`--open`, `merge`).

The verdict, its exit code, the gap x phase matrix and every finding the phases support come from
the same functions `session.assemble_report` uses for a live run (`verdict_reasons`,
`judge_gaps` with this project's gaps, `judge.phase_findings`). What it does not redo is what
only the machine and moment of the run could see: the static audit of that checkout and the
scan of that machine's sockets for port mismatches. Those findings, and any others the file
recorded, are kept as the file recorded them.
"""

from __future__ import annotations

import functools
from typing import Iterable, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.discovery import marker_line
from claimcheck.collectors.gaps import judge_gaps
from claimcheck.collectors.judge import phase_findings
from claimcheck.collectors.models import (
    Finding,
    PhaseRun,
    Provenance,
    ReportSource,
    RunReport,
    ServiceSample,
)
from claimcheck.collectors.readers import ReadReport
from claimcheck.collectors.verdict import verdict_reasons

from claimcheck import __version__


def judge_evidence(
    config: Config,
    runs: Sequence[PhaseRun],
    samples: Sequence[ServiceSample],
    *,
    project: str,
    started_at: float,
    duration_s: float,
    provenance: Provenance | None,
    sources: Sequence[ReportSource],
    leading: Iterable[Finding] = (),
    recorded: Iterable[Finding] = (),
    prefer_recorded: bool = False,
    interrupted: bool = False,
) -> RunReport:
    """A RunReport of read evidence, judged as a live run is.

    `leading` findings come first (a merge's shard findings). A finding the judge finds again
    and one the file recorded are the same finding when kind, phase and place agree: with
    `prefer_recorded` the file's wording wins (it was judged with everything the run saw), else
    the one judged now (a merge sees more than any one shard did).
    """
    locate = functools.partial(marker_line, config.root)
    judged: list[Finding] = []
    for run in runs:
        judged.extend(phase_findings(run, locate))
    recorded = list(recorded)
    ordered = [*leading, *(recorded + judged if prefer_recorded else judged + recorded)]
    verdict, exit_code, reasons = verdict_reasons(runs, samples, interrupted=interrupted)
    rows, test_gaps = judge_gaps(runs, config.gaps)
    return RunReport(
        project=project or str(config.root),
        started_at=started_at,
        duration_s=duration_s,
        phases=tuple(runs),
        gaps=rows,
        reasons=tuple(reasons),
        test_gaps=test_gaps,
        findings=tuple(unique_findings(ordered)),
        services=tuple(samples),
        verdict=verdict,
        exit_code=exit_code,
        tool_version=__version__,
        provenance=provenance if provenance is not None else Provenance(),
        sources=tuple(sources),
    )


def unique_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The first of each (kind, phase, path, line): one finding, however many times it was made."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for finding in findings:
        key = (finding.kind, finding.phase, finding.path, finding.line)
        if finding.path is None and finding.line is None:
            key += (finding.message,) if finding.kind not in _ONE_PER_PHASE else ()
        if key in seen:
            continue
        seen.add(key)
        unique.append(finding)
    return unique


# Kinds the judge makes at most once per phase, whatever their wording.
_ONE_PER_PHASE = frozenset({"false-green", "no-tests"})


def judge_opened(config: Config, read: ReadReport) -> RunReport:
    """One file opened (`claimcheck --open FILE`): its evidence, judged again."""
    return judge_evidence(
        config, read.phases, read.services,
        project=read.project, started_at=read.started_at, duration_s=read.duration_s,
        provenance=read.provenance, sources=(read.source,), recorded=read.findings,
        prefer_recorded=True, interrupted=read.verdict == "interrupted",
    )
