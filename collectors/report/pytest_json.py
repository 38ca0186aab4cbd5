"""pytest-json-report's document, written from claimcheck's own record, for the CI tools that
read that format (`--write json-report=PATH`, `--format json-report`).

The phases no longer run pytest-json-report (a second record of every test costs time and once
disagreed with the first), so this writer produces its document from the one record: the
keys CI tools read (`summary`, `tests[].nodeid/outcome/lineno/keywords`, the stages with their
`outcome`, `crash` and `longrepr`, `collectors` for files that failed to import, `warnings`),
in its labels. What claimcheck does not keep is not invented: a test's stages are derived from
its outcome and the stage that decided it, that stage carries the whole duration, and there is
no `environment` or `log`. A run of several phases is one document; each test's `metadata`
names its phase, its reruns and its subtests. `exitcode` is claimcheck's exit code.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from claimcheck.collectors.models import PhaseRun, RunReport, TestResult
from claimcheck.collectors.report.common import Redact, identity, one_line

_STAGES = ("setup", "call", "teardown")


def render_pytest_json(report: RunReport, *, redactor: Redact | None = None) -> str:
    r = redactor or identity
    tests: list[dict[str, Any]] = []
    collectors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    for run in report.phases:
        tests.extend(_test(test, run, r) for test in run.tests)
        collectors.extend(
            {"nodeid": r(error.path), "outcome": "failed", "result": [],
             "longrepr": r(error.longrepr or f"{error.error_type}: {error.message}")}
            for error in run.collection_errors)
        warnings.extend(
            {"message": r(warning.message), "category": warning.category,
             "filename": r(warning.path or ""), "lineno": warning.line,
             "nodeid": r(warning.nodeid or "")}
            for warning in run.warnings)
    tally = Counter(test["outcome"] for test in tests)
    summary: dict[str, int] = dict(sorted(tally.items()))
    summary["total"] = len(tests)
    summary["collected"] = sum(run.counts.collected for run in report.phases)
    deselected = sum(run.counts.deselected for run in report.phases)
    if deselected:
        summary["deselected"] = deselected
    document = {
        "created": report.started_at,
        "duration": round(report.duration_s, 6),
        "exitcode": report.exit_code,
        "root": r(report.project),
        "environment": {},
        "summary": summary,
        "collectors": collectors,
        "tests": tests,
        "warnings": warnings,
    }
    return json.dumps(document, ensure_ascii=True) + "\n"


def _test(test: TestResult, run: PhaseRun, r: Redact) -> dict[str, Any]:
    name = test.nodeid.rsplit("::", 1)[-1]
    item: dict[str, Any] = {
        "nodeid": r(test.nodeid),
        "lineno": test.line,
        "outcome": test.outcome,
        "keywords": [r(name), *(r(marker) for marker in test.markers)],
    }
    item.update(_stages(test, r))
    metadata: dict[str, Any] = {"claimcheck_phase": r(run.name)}
    if test.reruns:
        metadata["reruns"] = test.reruns
    if test.subtests is not None:
        metadata["subtests"] = {"passed": test.subtests.passed, "failed": test.subtests.failed,
                                "skipped": test.subtests.skipped}
    item["metadata"] = metadata
    return item


def _stages(test: TestResult, r: Redact) -> dict[str, dict[str, Any]]:
    """setup/call/teardown as pytest-json-report shows them, from the deciding stage."""
    deciding = test.when if test.when in _STAGES else "call"
    outcome = {"passed": "passed", "xpassed": "passed", "failed": "failed", "error": "failed",
               "skipped": "skipped", "xfailed": "skipped"}.get(test.outcome, "failed")
    stages: dict[str, dict[str, Any]] = {}
    for when in _STAGES:
        if when == "call" and deciding == "setup":
            continue  # a setup that failed or skipped never reached the call
        stage: dict[str, Any] = {"duration": 0.0, "outcome": "passed"}
        if when == deciding:
            stage = {"duration": round(test.duration_s, 6), "outcome": outcome}
            if outcome == "failed":
                stage["crash"] = {"path": r(test.path or ""), "lineno": test.line,
                                  "message": r(one_line(test.message, 10_000))}
                stage["longrepr"] = r(test.longrepr or test.message or "")
            elif outcome == "skipped" and test.message:
                stage["longrepr"] = r(f"('{test.path}', {test.line}, 'Skipped: "
                                      f"{one_line(test.message, 10_000)}')")
        stages[when] = stage
    return stages
