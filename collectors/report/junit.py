"""JUnit XML: for CI systems that draw test tabs from it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Callable

from claimcheck.collectors.models import (
    RED_FINDING_KINDS,
    PhaseRun,
    RunReport,
    TestResult,
)
from claimcheck.collectors.report.common import (
    Redact,
    executed,
    files_not_named,
    finding_where,
    identity,
    interruption_text,
    iso_time,
    one_line,
    phase_note,
    subtests_text,
)
from claimcheck.collectors.secrets import escape_control

# Everything XML 1.0 forbids: C0 controls but tab/newline/CR, surrogates, U+FFFE, U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text any XML 1.0 parser accepts; control codes shown as escapes (`\x1b`), never dropped,
    so two ids that differ only in them stay two testcases."""
    return _XML_ILLEGAL.sub("", escape_control(text))


def junit_names(nodeid: str) -> tuple[str, str]:
    """(classname, name) the way pytest's own junitxml derives them from a node id."""
    parts = nodeid.split("::")
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    parts[0] = path.replace("/", ".").replace("\\", ".")
    # Parameters may contain "::"; pytest keeps them on the name, so do we.
    for index, part in enumerate(parts):
        if "[" in part:
            parts[index:] = ["::".join(parts[index:])]
            break
    return ".".join(parts[:-1]), parts[-1]


def render_junit(report: RunReport, *, redactor: Redact | None = None) -> str:
    """JUnit XML with one suite per phase; a phase that proved nothing is an error, never green."""
    r = redactor or identity

    def x(text: str | None) -> str:
        return xml_safe(r(text)) if text else ""

    root = ET.Element("testsuites", name="claimcheck")
    grand = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    _junit_over_time(root, report, x, grand)
    for run in report.phases:
        suite = ET.SubElement(root, "testsuite", name=x(run.name))
        stats = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for error in run.collection_errors:
            classname, name = junit_names(error.path)
            case = ET.SubElement(suite, "testcase", classname=x(classname), name=x(name),
                                 file=x(error.path), time="0")
            node = ET.SubElement(case, "error", message=x(f"collection failure: "
                                                          f"{one_line(error.message)}"),
                                 type=x(error.error_type))
            node.text = x(error.longrepr or error.message)
            stats["tests"] += 1
            stats["errors"] += 1
        for test in run.tests:
            _junit_case(suite, test, x, stats)
        problem = _junit_phase_problem(run)
        if problem and run.status == "interrupted" and report.interrupted_at is not None:
            problem = f"{problem} ({interruption_text(report)})"
        if problem:
            case = ET.SubElement(suite, "testcase", classname=x(f"claimcheck.{run.name}"),
                                 name=x(f"phase {run.status}"), time=f"{run.duration_s:.3f}")
            node = ET.SubElement(case, "error", message=x(problem), type=x(run.status))
            node.text = x(run.output_tail or problem)
            stats["tests"] += 1
            stats["errors"] += 1
        for key, value in stats.items():
            suite.set(key, str(value))
            grand[key] += value
        suite.set("time", f"{run.duration_s:.3f}")
        started = iso_time(run.started_at)
        if started:
            suite.set("timestamp", started)
    if report.findings:
        _junit_findings(root, report, x)
    for key, value in grand.items():
        root.set(key, str(value))
    root.set("time", f"{report.duration_s:.3f}")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _junit_over_time(root: ET.Element, report: RunReport, x: Callable[[str | None], str],
                     grand: dict[str, int]) -> None:
    """Broken claims and vanished tests as failing cases of a first suite, `claimcheck`, so a
    CI test tab shows them before any phase; holding claims as passing cases."""
    red = [f for f in report.findings if f.kind in RED_FINDING_KINDS]
    if not red and not report.claims:
        return
    suite = ET.SubElement(root, "testsuite", name="claimcheck")
    stats = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for finding in red:
        name = (finding.message.split(":", 1)[0] if finding.kind == "claim-broken"
                else finding.phase or "run")
        case = ET.SubElement(suite, "testcase", classname=x(f"claimcheck.{finding.kind}"),
                             name=x(name), time="0")
        node = ET.SubElement(case, "failure", message=x(finding.message), type=finding.kind)
        node.text = x(finding.message)
        stats["tests"] += 1
        stats["failures"] += 1
    for check in report.claims:
        if check.state == "broken":
            continue  # already a failing case above
        case = ET.SubElement(suite, "testcase", classname="claimcheck.claim",
                             name=x(check.gap), time="0")
        if check.state != "holding":
            ET.SubElement(case, "skipped", type=f"claim-{check.state}", message=x(check.detail))
            stats["skipped"] += 1
        stats["tests"] += 1
    for key, value in stats.items():
        suite.set(key, str(value))
        grand[key] += value


def _junit_findings(root: ET.Element, report: RunReport, x: Callable[[str | None], str]) -> None:
    """Findings are evidence about the evidence, not tests: a suite of none, holding them as
    properties (one per finding) and as readable lines in its system-out."""
    suite = ET.SubElement(root, "testsuite", name="claimcheck.findings", tests="0",
                          failures="0", errors="0", skipped="0", time="0")
    properties = ET.SubElement(suite, "properties")
    lines = []
    for finding in report.findings:
        where = finding_where(finding)
        text = f"{where}: {finding.message}" if where else finding.message
        ET.SubElement(properties, "property", name=x(finding.kind), value=x(text))
        lines.append(f"{finding.kind}: {text}")
        extra = files_not_named(finding)
        if extra:
            lines.append("    files: " + ", ".join(extra))
    ET.SubElement(suite, "system-out").text = x("\n".join(lines))


def _junit_case(suite: ET.Element, test: TestResult, x: Callable[[str | None], str],
                stats: dict[str, int]) -> None:
    classname, name = junit_names(test.nodeid)
    attrs = {"classname": x(classname), "name": x(name), "time": f"{test.duration_s:.3f}"}
    file = test.path or test.nodeid.split("::", 1)[0]
    if file:
        attrs["file"] = x(file)
    if test.line is not None:
        attrs["line"] = str(test.line)
    case = ET.SubElement(suite, "testcase", attrs)
    stats["tests"] += 1
    message = x(one_line(test.message))
    if test.reruns or test.subtests is not None:
        properties = ET.SubElement(case, "properties")
        if test.reruns:
            ET.SubElement(properties, "property", name="reruns", value=str(test.reruns))
            ET.SubElement(properties, "property", name="flaky", value="true")
        if test.subtests is not None:
            ET.SubElement(properties, "property", name="subtests",
                          value=subtests_text(test.subtests))
    if test.reruns and test.outcome == "passed":
        # Maven Surefire's word for it, which CI test tabs show as flaky: the passing test
        # keeps the failure of its earlier attempt.
        node = ET.SubElement(case, "flakyFailure", message=message or "failed before a rerun")
        node.text = x(test.longrepr or test.message)
    if test.outcome == "failed":
        node = ET.SubElement(case, "failure", message=message)
        node.text = x(test.longrepr or test.message)
        stats["failures"] += 1
    elif test.outcome == "error":
        node = ET.SubElement(case, "error", message=message or f"error in {test.when}")
        node.text = x(test.longrepr or test.message)
        stats["errors"] += 1
    elif test.outcome in ("skipped", "xfailed"):
        reason = message or ("expected failure" if test.outcome == "xfailed" else "skipped")
        ET.SubElement(case, "skipped", type=("pytest.xfail" if test.outcome == "xfailed"
                                             else "pytest.skip"), message=reason)
        stats["skipped"] += 1


def _junit_phase_problem(run: PhaseRun) -> str | None:
    """Why a phase needs a suite-level error case: it ended without honest per-test evidence."""
    if run.status == "passed" and executed(run):
        return None
    if run.status == "failed" and (run.counts.failed or run.counts.error):
        return None
    if run.status in ("passed", "failed"):
        return phase_note(run) or f"phase {run.status} without a failing test recorded"
    return phase_note(run) or run.status

