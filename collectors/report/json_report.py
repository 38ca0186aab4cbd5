"""JSON: the public, versioned contract (`claimcheck.report/1`)."""

from __future__ import annotations

import json
from typing import Any, Iterable

from claimcheck.collectors.depmap import map_to_dict
from claimcheck.collectors.models import (
    PhaseRun,
    Provenance,
    RunReport,
    ServiceSample,
    SubtestCounts,
    WarningRecord,
)
from claimcheck.collectors.report.common import (
    FAILED_OUTCOMES,
    SCHEMA,
    Redact,
    executed,
    flaky_of,
    gap_notes,
    identity,
    iso_time,
    total_counts,
)


def report_to_dict(report: RunReport, *, redactor: Redact | None = None) -> dict[str, Any]:
    """The `claimcheck.report/1` document. Keys are a contract: add, never rename or remove.

    Per-test gap names are the report's own (`RunReport.test_gaps`), counted with the matrix.
    The loop over tests does only dict building and the redactor, since it runs 20,000 times.
    """
    r = redactor or identity

    def opt(text: str | None) -> str | None:
        return None if text is None else r(text)

    flaky = report.changes.flaky_ids() if report.changes is not None else frozenset()
    phases = []
    for run in report.phases:
        tests = []
        append = tests.append
        name = run.name
        gaps_of = report.test_gaps.get(run.name, {})
        for test in run.tests:
            failing = test.outcome in FAILED_OUTCOMES
            append({
                "nodeid": r(test.nodeid),
                "outcome": test.outcome,
                "duration_s": round(test.duration_s, 6),
                "gaps": [r(g) for g in gaps_of.get(test.nodeid, ())],
                "message": opt(test.message),
                "path": opt(test.path),
                "line": test.line,
                "when": test.when,
                "markers": list(test.markers),
                "longrepr": opt(test.longrepr) if failing else None,
                "reruns": test.reruns,
                "flaky": test.flaky or (name, test.nodeid) in flaky,
                "subtests": _subtests_dict(test.subtests),
                "crashed": test.crashed,
            })
        counts = run.counts
        phases.append({
            "name": r(run.name),
            "status": run.status,
            "exit_code": run.exit_code,
            "duration_s": round(run.duration_s, 3),
            "reason": opt(run.reason),
            "started_at": iso_time(run.started_at),
            "argv": [r(arg) for arg in run.argv],
            "counts": {
                "collected": counts.collected, "passed": counts.passed,
                "failed": counts.failed, "error": counts.error, "skipped": counts.skipped,
                "xfailed": counts.xfailed, "xpassed": counts.xpassed,
                "deselected": counts.deselected,
            },
            "executed": executed(run),
            "collection_errors": [
                {"path": r(e.path), "error_type": r(e.error_type), "message": r(e.message),
                 "longrepr": r(e.longrepr)}
                for e in run.collection_errors
            ],
            "warning_count": len(run.warnings),
            "output_tail": r(run.output_tail),
            "deselected_ids": [r(nodeid) for nodeid in run.deselected_ids],
            "sessions": [
                {"pid": s.pid, "exit_status": s.exit_status, "collected": s.collected,
                 "deselected": s.deselected, "xdist_workers": s.xdist_workers}
                for s in run.sessions
            ],
            "warnings": [
                {"category": r(w.category), "message": r(w.message), "path": opt(w.path),
                 "line": w.line, "nodeid": opt(w.nodeid), "count": count}
                for w, count in grouped_warnings(run.warnings)
            ],
            "subtests": _subtests_dict(run.subtests),
            "flaky": len(flaky_of(run)),
            "pytest_collection_errors": run.pytest_collection_errors,
            "interruption": _interruption_dict(run, r),
            "tests": tests,
        })

    total = total_counts(report.phases)
    notes = gap_notes(report.findings)
    return {
        "schema": SCHEMA,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "reasons": [r(reason) for reason in report.reasons],
        "interrupted_at": (iso_time(report.interrupted_at)
                           if report.interrupted_at is not None else None),
        "tool": {"name": "claimcheck", "version": report.tool_version},
        "project": r(report.project),
        "started_at": iso_time(report.started_at),
        "duration_s": round(report.duration_s, 3),
        "provenance": _provenance_dict(report, r),
        "totals": {
            "phases": len(report.phases), "collected": total.collected,
            "passed": total.passed, "failed": total.failed, "error": total.error,
            "skipped": total.skipped, "xfailed": total.xfailed, "xpassed": total.xpassed,
            "deselected": total.deselected,
            "subtests": _subtests_dict(sum((run.subtests for run in report.phases),
                                           SubtestCounts())),
            "flaky": sum(len(flaky_of(run)) for run in report.phases),
        },
        "phases": phases,
        "gaps": [
            {
                "name": r(row.name),
                "title": r(row.title),
                "status": row.status,
                "notes": [r(note) for note in notes.get(row.name, ())],
                "cells": {
                    r(phase): {"passed": c.passed, "failed": c.failed, "error": c.error,
                               "skipped": c.skipped}
                    for phase, c in row.cells.items()
                },
            }
            for row in report.gaps
        ],
        "findings": [
            {"kind": f.kind, "phase": opt(f.phase), "path": opt(f.path), "line": f.line,
             "message": r(f.message), "files": [r(p) for p in f.files], "count": f.count,
             "subject": r(f.subject), "gaps": [r(g) for g in f.gaps]}
            for f in report.findings
        ],
        "services": [_service_dict(s, r) for s in report.services],
        "history_id": report.history_id,
        "changes": _changes_dict(report, r),
        "claims": [
            {"gap": r(c.gap), "state": c.state, "by": r(c.by), "at": c.at, "commit": c.commit,
             "evidence": c.evidence, "note": r(c.note), "detail": r(c.detail),
             "failing": c.failing, "red_since": c.red_since}
            for c in report.claims
        ],
        "sources": [
            {"label": r(source.label), "path": r(source.path), "format": source.format,
             "tests": source.tests,
             "provenance": _provenance_fields(source.provenance, r)}
            for source in report.sources
        ],
        "map": None if report.dependency_map is None else _map_dict(report, r),
    }


def _changes_dict(report: RunReport, r: Redact) -> dict[str, Any] | None:
    """What changed since the previous runs on this branch; None without history."""
    changes = report.changes
    if changes is None:
        return None
    phases = []
    for c in changes.phases:
        base = c.baseline
        phases.append({
            "phase": r(c.phase),
            "baseline": None if base is None else {
                "history_id": base.run_id, "commit": base.commit,
                "branch": None if base.branch is None else r(base.branch),
                "dirty": base.dirty, "started_at": iso_time(base.started_at)},
            "collected_before": c.collected_before if base is not None else None,
            "collected_now": c.collected_now,
            "newly_failing": [r(n) for n in c.newly_failing],
            "newly_passing": [r(n) for n in c.newly_passing],
            "still_failing": [r(n) for n in c.still_failing],
            "new_collection_errors": [r(p) for p in c.new_collection_errors],
            "gone_collection_errors": [r(p) for p in c.gone_collection_errors],
            "disappeared": [r(n) for n in c.disappeared],
            "new_tests": len(c.new_tests),
        })
    return {
        "branch": None if changes.branch is None else r(changes.branch),
        "phases": phases,
        "flaky": [{"phase": r(t.phase), "nodeid": r(t.nodeid), "reasons": [r(x) for x in t.reasons]}
                  for t in changes.flaky],
    }


def _subtests_dict(counts: SubtestCounts | None) -> dict[str, int] | None:
    if counts is None:
        return None
    return {"passed": counts.passed, "failed": counts.failed, "skipped": counts.skipped}


def _interruption_dict(run: PhaseRun, r: Redact) -> dict[str, Any] | None:
    stop = run.interruption
    if stop is None:
        return None
    return {"kind": stop.kind, "message": None if stop.message is None else r(stop.message),
            "returncode": stop.returncode, "path": None if stop.path is None else r(stop.path),
            "line": stop.line, "unfinished": [r(nodeid) for nodeid in stop.unfinished],
            "worker": stop.worker}


def grouped_warnings(warnings: Iterable[WarningRecord]) -> list[tuple[WarningRecord, int]]:
    """One entry per warning and place, with how often it was raised: a deprecated call that
    20,000 tests hit is one line of the report, not 20,000 (the node id kept is the first)."""
    groups: dict[tuple[object, ...], list[Any]] = {}
    for warning in warnings:
        key = (warning.category, warning.message, warning.path, warning.line,
               warning.nodeid if warning.path is None else None)
        entry = groups.get(key)
        if entry is None:
            groups[key] = [warning, 1]
        else:
            entry[1] += 1
    return [(warning, count) for warning, count in groups.values()]



def _map_dict(report: RunReport, r: Redact) -> dict[str, Any]:
    document = map_to_dict(report.dependency_map)  # type: ignore[arg-type]
    for node in document["nodes"]:
        node["name"], node["detail"] = r(node["name"]), r(node["detail"])
        node["notes"] = [r(note) for note in node["notes"]]
    for edge in document["edges"]:
        edge["label"] = r(edge["label"])
    document["evidence"] = r(document["evidence"])
    return document


def _provenance_dict(report: RunReport, r: Redact) -> dict[str, Any] | None:
    return _provenance_fields(report.provenance, r)


def _provenance_fields(source: Provenance | None, r: Redact) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"commit": source.commit, "branch": None if source.branch is None else r(source.branch),
            "dirty": source.dirty, "host": r(source.host), "config_digest": source.config_digest}


def _service_dict(sample: ServiceSample, r: Redact) -> dict[str, Any]:
    events = sample.events
    listener = sample.listener
    return {
        "name": r(sample.name),
        "kind": sample.kind,
        "url": r(sample.url),
        "status": sample.status,
        "critical": sample.critical,
        "http_status": sample.http_status,
        "latency_ms": None if sample.latency_ms is None else round(sample.latency_ms, 3),
        "detail": r(sample.detail),
        "checked_at": iso_time(sample.checked_at),
        "events": None if events is None else {
            "expected": [r(e) for e in events.expected],
            "seen": [r(e) for e in events.seen],
            "missing": [r(e) for e in events.missing],
        },
        "listener": None if listener is None else {
            "pid": listener.pid, "name": None if listener.name is None else r(listener.name),
            "port": listener.port,
        },
    }


def render_json(
    report: RunReport, *, redactor: Redact | None = None, indent: int | None = None,
) -> str:
    """One `json.dumps` of the whole document; ASCII-only so any consumer can read it."""
    document = report_to_dict(report, redactor=redactor)
    return json.dumps(document, indent=indent, ensure_ascii=True) + "\n"

