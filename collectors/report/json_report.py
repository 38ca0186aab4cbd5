"""JSON: the public, versioned contract (`claimcheck.report/1`)."""

from __future__ import annotations

import json
from typing import Any

from claimcheck.collectors.models import (
    PhaseRun,
    RunReport,
    ServiceSample,
    SubtestCounts,
)
from claimcheck.collectors.report.common import (
    FAILED_OUTCOMES,
    SCHEMA,
    GapsOf,
    Redact,
    executed,
    flaky_of,
    identity,
    iso_time,
    total_counts,
)


def report_to_dict(
    report: RunReport, *, gaps_of: GapsOf | None = None, redactor: Redact | None = None
) -> dict[str, Any]:
    """The `claimcheck.report/1` document. Keys are a contract: add, never rename or remove.

    Per-test gap names come from `gaps_of(phase, result)` so this module needs no gap config.
    The loop over tests does only dict building and the redactor, since it runs 20,000 times.
    """
    r = redactor or identity

    def opt(text: str | None) -> str | None:
        return None if text is None else r(text)

    phases = []
    for run in report.phases:
        tests = []
        append = tests.append
        for test in run.tests:
            failing = test.outcome in FAILED_OUTCOMES
            append({
                "nodeid": r(test.nodeid),
                "outcome": test.outcome,
                "duration_s": round(test.duration_s, 6),
                "gaps": [r(g) for g in gaps_of(run.name, test)] if gaps_of else [],
                "message": opt(test.message),
                "path": opt(test.path),
                "line": test.line,
                "when": test.when,
                "markers": list(test.markers),
                "longrepr": opt(test.longrepr) if failing else None,
                "reruns": test.reruns,
                "flaky": test.reruns > 0,
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
            "subtests": _subtests_dict(run.subtests),
            "flaky": len(flaky_of(run)),
            "pytest_collection_errors": run.pytest_collection_errors,
            "interruption": _interruption_dict(run, r),
            "tests": tests,
        })

    total = total_counts(report.phases)
    return {
        "schema": SCHEMA,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
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
             "message": r(f.message), "files": [r(p) for p in f.files], "count": f.count}
            for f in report.findings
        ],
        "services": [_service_dict(s, r) for s in report.services],
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


def _provenance_dict(report: RunReport, r: Redact) -> dict[str, Any] | None:
    source = report.provenance
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
    report: RunReport, *, gaps_of: GapsOf | None = None, redactor: Redact | None = None,
    indent: int | None = None,
) -> str:
    """One `json.dumps` of the whole document; ASCII-only so any consumer can read it."""
    document = report_to_dict(report, gaps_of=gaps_of, redactor=redactor)
    return json.dumps(document, indent=indent, ensure_ascii=True) + "\n"

