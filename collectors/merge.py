"""Shard reports into one report, as if one run had made them (`claimcheck merge`).

Per phase, the union of the tests: a test counts once however many shards ran it, as its worst
outcome (a failure anywhere is a failure; a skip in one shard and a pass in another is a pass).
What the union cannot hide, it says in findings:

* `shard-overlap`: tests that ran in more than one shard, with the copies whose outcomes differ
  (a flaky test, or one that depends on the machine).
* `shard-missing`: collected tests that ran in no shard. A shard names what it left to others
  in `deselected_ids` (claimcheck's JSON; pytest-json-report's `collectors`); an id deselected
  everywhere and run nowhere is missing. Without names, shards that collected the same tests
  (`-k`, pytest-split) still give a count: a shard collected N tests, and fewer than N distinct
  tests ran anywhere. Also: fewer reports than `expect`, and pytest-split groups no report ran.
* `shard-unverified`: a shard that does not say what it deselected (JUnit never does): tests
  that ran nowhere cannot be named from it. A job per folder collects only its folder, so a
  missing folder's tests appear in no report at all: only `expect` can catch that.
* `shard-mismatch`: shards of different commits or configurations, named, never silently mixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.gaps import node_path
from claimcheck.collectors.models import (
    CollectionError,
    Finding,
    PhaseRun,
    Provenance,
    PytestSession,
    RunReport,
    ServiceSample,
    TestResult,
    WarningRecord,
)
from claimcheck.collectors.readers import ReadReport
from claimcheck.collectors.readers.base import tally
from claimcheck.collectors.rejudge import judge_evidence

# The copy of a test that ran in several shards that counts: failures first, then evidence.
OVERLAP_RANK = {"error": 6, "failed": 5, "xpassed": 4, "passed": 3, "xfailed": 3, "skipped": 1}
# Phase states that say a shard did not finish its share; the most serious one is the phase's.
UNFINISHED = ("interrupted", "crashed", "timeout", "blocked")
# Recorded shard findings that were about the shard's part alone: judged again on the whole.
PER_SHARD_KINDS = frozenset({"no-tests", "shard-missing", "shard-unverified"})
LISTED = 5  # tests named in a finding's message
_SERVICE_RANK = {"up": 0, "degraded": 1, "down": 2}


def merge_reports(config: Config, reads: Sequence[ReadReport], *,
                  expect: int | None = None) -> RunReport:
    """One report from shard reports, judged by the same judge as a live run."""
    names: list[str] = []
    for read in reads:
        names.extend(run.name for run in read.phases if run.name not in names)
    runs: list[PhaseRun] = []
    findings: list[Finding] = []
    findings.extend(mismatch_findings(reads))
    findings.extend(expected_findings(reads, expect))
    for name in names:
        pieces = [(read, run) for read in reads for run in read.phases if run.name == name]
        merged = merge_phase(name, pieces)
        runs.append(merged.run)
        findings.extend(merged.findings)
    recorded = [_from_shard(finding, read) for read in reads for finding in read.findings
                if finding.kind not in PER_SHARD_KINDS]
    starts = [read.started_at for read in reads if read.started_at]
    started_at = min(starts, default=0.0)
    ends = [read.started_at + read.duration_s for read in reads if read.started_at]
    duration = (max(ends) - started_at if ends
                else max((read.duration_s for read in reads), default=0.0))
    return judge_evidence(
        config, runs, merge_services(reads),
        project=next((read.project for read in reads if read.project), ""),
        started_at=started_at, duration_s=duration, provenance=merge_provenance(reads),
        sources=[read.source for read in reads], leading=findings, recorded=recorded,
        interrupted=any(read.verdict == "interrupted" for read in reads),
    )


def _from_shard(finding: Finding, read: ReadReport) -> Finding:
    """A false-green is one shard's runner lying: say which shard's."""
    if finding.kind != "false-green":
        return finding
    return replace(finding, message=f"in {read.source.label}: {finding.message}")


# ----------------------------------------------------------------------------------------
# One phase


@dataclass
class MergedPhase:
    run: PhaseRun
    findings: list[Finding] = field(default_factory=list)


def merge_phase(name: str, pieces: Sequence[tuple[ReadReport, PhaseRun]]) -> MergedPhase:
    """The union of one phase's shards, with its overlap, missing and unverified findings."""
    first: dict[str, TestResult] = {}  # every test, its first copy (in shard order)
    owner: dict[str, str] = {}  # the shard of that first copy
    copies: dict[str, list[tuple[str, TestResult]]] = {}  # only tests seen more than once
    errors: dict[str, CollectionError] = {}
    warnings: dict[tuple[object, ...], WarningRecord] = {}
    sessions: list[PytestSession] = []
    for read, run in pieces:
        label = read.source.label
        for test in run.tests:
            nodeid = test.nodeid
            if nodeid in first:
                copies.setdefault(nodeid, [(owner[nodeid], first[nodeid])]).append((label, test))
            else:
                first[nodeid] = test
                owner[nodeid] = label
        for error in run.collection_errors:
            errors.setdefault(error.path, error)
        for warning in run.warnings:
            warnings.setdefault((warning.category, warning.message, warning.path, warning.line,
                                 warning.nodeid), warning)
        sessions.extend(run.sessions)
    for nodeid, found in copies.items():
        first[nodeid] = _worst(found)
    tests = list(first.values())
    ran = first.keys()

    left: set[str] = set()
    for _, run in pieces:
        left.update(run.deselected_ids)
    nowhere = left.difference(ran)
    missing_named = list(dict.fromkeys(  # in the order the shards list them
        nodeid for _, run in pieces for nodeid in run.deselected_ids if nodeid in nowhere
    )) if nowhere else []
    universe = max((run.counts.collected for read, run in pieces if read.knows_collection),
                   default=0)
    known = len(ran) + len(missing_named)
    collected = max(known, universe)
    unnamed = max(0, universe - len(ran) - len(missing_named))
    counts = tally(tests, len(errors), collected=collected, deselected=collected - len(ran))

    status, reason = _status(pieces, counts, len(errors), sessions)
    starts = [run.started_at for _, run in pieces if run.started_at]
    ends = [run.started_at + run.duration_s for _, run in pieces if run.started_at]
    run = PhaseRun(
        name=name, status=status, exit_code=_exit_code([run.exit_code for _, run in pieces]),
        duration_s=(max(ends) - min(starts)) if ends else max(r.duration_s for _, r in pieces),
        counts=counts, tests=tuple(tests), collection_errors=tuple(errors.values()),
        warnings=tuple(warnings.values()), sessions=tuple(sessions), reason=reason,
        argv=pieces[0][1].argv, started_at=min(starts, default=0.0),
        deselected_ids=tuple(missing_named),
    )
    found: list[Finding] = []
    overlap = overlap_finding(name, copies)
    if overlap is not None:
        found.append(overlap)
    if missing_named or unnamed:
        found.append(missing_finding(name, missing_named, unnamed))
    unverified = unverified_finding(name, pieces)
    if unverified is not None:
        found.append(unverified)
    return MergedPhase(run, found)


def _worst(found: Sequence[tuple[str, TestResult]]) -> TestResult:
    best = found[0][1]
    for _, test in found[1:]:
        if OVERLAP_RANK.get(test.outcome, 0) > OVERLAP_RANK.get(best.outcome, 0):
            best = test
    return best


def _status(pieces: Sequence[tuple[ReadReport, PhaseRun]], counts: object, errors: int,
            sessions: Sequence[PytestSession]) -> tuple[str, str | None]:
    """A shard that did not finish its share decides the phase; otherwise the union is judged
    as the runner judges a live phase."""
    from claimcheck.collectors.judge import judge_status

    for serious in UNFINISHED:
        hits = [(read.source.label, run) for read, run in pieces if run.status == serious]
        if hits:
            return serious, "; ".join(f"{label}: {run.reason or serious}" for label, run in hits)
    return judge_status(counts, collection_errors=errors, sessions=sessions,  # type: ignore[arg-type]
                        exit_code=_exit_code([run.exit_code for _, run in pieces]))


def _exit_code(codes: Sequence[int | None]) -> int | None:
    """The phase's exit code over its shards: the first that says something failed, else 0."""
    for code in codes:
        if code not in (0, 5, None):
            return code
    if 0 in codes:
        return 0
    return next((code for code in codes if code is not None), None)


# ----------------------------------------------------------------------------------------
# Findings


def _files(nodeids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({node_path(nodeid) for nodeid in nodeids}))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def overlap_finding(phase: str, copies: dict[str, list[tuple[str, TestResult]]]) -> Finding | None:
    """`copies`: every test seen more than once, each copy with its shard's label."""
    twice = {nodeid: found for nodeid, found in copies.items()
             if len({label for label, _ in found}) > 1}
    if not twice:
        return None
    shards = list(dict.fromkeys(label for found in twice.values() for label, _ in found))
    message = (f"{_plural(len(twice), 'test')} ran in more than one shard "
               f"({', '.join(shards)}); each counts once, as its worst outcome.")
    differ = {nodeid: found for nodeid, found in twice.items()
              if len({test.outcome for _, test in found}) > 1}
    if differ:
        shown = [f"{nodeid}: " + ", ".join(f"{test.outcome} in {label}" for label, test in found)
                 for nodeid, found in list(differ.items())[:LISTED]]
        more = f"; and {len(differ) - LISTED} more" if len(differ) > LISTED else ""
        message += (f" {_plural(len(differ), 'test')} had different outcomes between copies "
                    f"(flaky, or different between machines): {'; '.join(shown)}{more}.")
    else:
        message += " Every copy had the same outcome."
    message += " Check the shards' selections: each test should run in exactly one shard."
    return Finding(kind="shard-overlap", phase=phase, path=None, line=None, message=message,
                   files=_files(twice), count=len(twice))


def missing_finding(phase: str, named: Sequence[str], unnamed: int) -> Finding:
    total = len(named) + unnamed
    if unnamed and named:
        what = (f"{_plural(total, 'collected test')} ran in no shard ({len(named)} named by the "
                "shards that deselected them, the rest only counted)")
    elif unnamed:
        what = (f"{_plural(total, 'collected test')} ran in no shard: a shard collected that "
                "many more tests than ran anywhere, without naming the ones it deselected")
    else:
        what = (f"{_plural(total, 'collected test')} ran in no shard: every shard that collected "
                "them deselected them")
    shown = ", ".join(named[:LISTED]) + (f" and {len(named) - LISTED} more"
                                           if len(named) > LISTED else "")
    return Finding(
        kind="shard-missing", phase=phase, path=None, line=None,
        message=(f"{what}{': ' + shown if named else ''}. A shard's report is missing, or the "
                 "shards' selections (-k, -m, pytest-split groups, folders) leave these out; "
                 "if that is meant (a filter every shard applies), it is a gap in the evidence "
                 "all the same."),
        files=_files(named), count=total,
    )


def unverified_finding(phase: str, pieces: Sequence[tuple[ReadReport, PhaseRun]]) -> Finding | None:
    silent = []
    for read, run in pieces:
        if not read.knows_collection:
            why = ("JUnit lists only the tests that ran" if read.source.format == "junit"
                   else "it does not record what was collected, as under pytest-xdist")
            silent.append(f"{read.source.label} ({why})")
        elif run.counts.deselected > len(run.deselected_ids):
            silent.append(f"{read.source.label} (deselected {run.counts.deselected} without "
                          "naming them)")
    if not silent:
        return None
    return Finding(
        kind="shard-unverified", phase=phase, path=None, line=None,
        message=("Which collected tests ran in no shard cannot be named from "
                 f"{'; '.join(silent)}. Shards that collected the same tests still show a "
                 "count under shard-missing; a shard that collected only its own folder cannot. "
                 "claimcheck's JSON from a claimcheck whose plugin lists deselected tests, and "
                 "pytest-json-report with its collectors, name them."),
        count=len(silent),
    )


def mismatch_findings(reads: Sequence[ReadReport]) -> list[Finding]:
    """Shards of different commits or configurations: each named with what it ran."""
    known = [(read.source.label, read.provenance) for read in reads if read.provenance]
    parts = []
    commits = {p.commit for _, p in known if p.commit}
    if len(commits) > 1:
        groups = _grouped((label, p.short_commit + (" (dirty)" if p.dirty else ""))
                          for label, p in known if p.commit and p.short_commit)
        parts.append("different commits: " + "; ".join(groups))
    digests = {p.config_digest for _, p in known if p.config_digest}
    if len(digests) > 1:
        groups = _grouped((label, f"config {p.config_digest[:9]}")
                          for label, p in known if p.config_digest)
        parts.append("different configurations: " + "; ".join(groups))
    if not parts:
        return []
    unknown = [read.source.label for read in reads
               if not (read.provenance and read.provenance.commit)]
    tail = f" Commit unknown for {', '.join(unknown)}." if unknown and len(commits) > 1 else ""
    return [Finding(
        kind="shard-mismatch", phase=None, path=None, line=None,
        message=("The shards ran " + " and ".join(parts) + "." + tail + " The merged counts add "
                 "up evidence about different code or settings, so no single commit was tested "
                 "by all of them: merge reports of one commit and configuration (rerun the "
                 "stale shard)."),
        count=len(reads),
    )]


def _grouped(pairs: Iterable[tuple[str, str]]) -> list[str]:
    by_value: dict[str, list[str]] = {}
    for label, value in pairs:
        by_value.setdefault(value, []).append(label)
    return [f"{', '.join(labels)} at {value}" for value, labels in by_value.items()]


def expected_findings(reads: Sequence[ReadReport], expect: int | None) -> list[Finding]:
    """Fewer reports than the matrix has jobs, and pytest-split groups that no report ran."""
    found = []
    if expect is not None and len(reads) < expect:
        found.append(Finding(
            kind="shard-missing", phase=None, path=None, line=None,
            message=(f"expected {expect} shard reports, got {len(reads)}: "
                     f"{_plural(expect - len(reads), 'shard')} missing, and nothing in the "
                     "reports given can say which tests it would have run (a job per folder "
                     "collects only its own folder)."),
            count=expect - len(reads),
        ))
    groups: dict[tuple[str, str, int], set[int]] = {}
    for read in reads:
        for run in read.phases:
            split = split_group(run.argv)
            if split is not None:
                plugin, total, group = split
                groups.setdefault((run.name, plugin, total), set()).add(group)
    for (phase, plugin, total), seen in groups.items():
        first = 0 if plugin == "pytest-shard" else 1
        absent = [g for g in range(first, first + total) if g not in seen]
        if absent:
            found.append(Finding(
                kind="shard-missing", phase=phase, path=None, line=None,
                message=(f"{plugin} split this phase into {total} groups, and no report ran "
                         f"group {', '.join(map(str, absent))}: its tests ran nowhere."),
                count=len(absent),
            ))
    return found


# (plugin, option giving the number of groups, option giving this shard's group)
_SPLIT_OPTIONS = (("pytest-split", "--splits", "--group"),
                  ("pytest-shard", "--num-shards", "--shard-id"))


def split_group(argv: Sequence[str]) -> tuple[str, int, int] | None:
    """(plugin, groups, this group) from a shard's pytest arguments, when it used a splitter."""
    values: dict[str, str] = {}
    for index, arg in enumerate(argv):
        key, eq, value = arg.partition("=")
        if eq:
            values[key] = value
        elif index + 1 < len(argv):
            values.setdefault(arg, argv[index + 1])
    for plugin, total_option, group_option in _SPLIT_OPTIONS:
        total, group = values.get(total_option), values.get(group_option)
        if total and group and total.isdigit() and group.isdigit():
            return plugin, int(total), int(group)
    return None


# ----------------------------------------------------------------------------------------
# Services and provenance


def merge_services(reads: Sequence[ReadReport]) -> list[ServiceSample]:
    """One sample per service: the worst any shard saw (a service down for one shard is down)."""
    chosen: dict[str, ServiceSample] = {}
    for read in reads:
        for sample in read.services:
            current = chosen.get(sample.name)
            if current is None or (_SERVICE_RANK.get(sample.status, 3)
                                   > _SERVICE_RANK.get(current.status, 3)):
                chosen[sample.name] = sample
    return list(chosen.values())


def merge_provenance(reads: Sequence[ReadReport]) -> Provenance:
    """What the shards share: a commit, branch and configuration only when all that say agree."""
    known = [read.provenance for read in reads if read.provenance is not None]

    def agreed(values: Iterable[str | None]) -> str | None:
        distinct = {value for value in values if value}
        return distinct.pop() if len(distinct) == 1 else None

    hosts = list(dict.fromkeys(p.host for p in known if p.host))
    return Provenance(
        commit=agreed(p.commit for p in known),
        branch=agreed(p.branch for p in known),
        dirty=any(p.dirty for p in known),
        host=", ".join(hosts),
        config_digest=agreed(p.config_digest for p in known) or "",
    )
