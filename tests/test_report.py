"""The headless report: verdicts, the JSON contract, and writers that show data as typed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    EventCheck,
    Finding,
    GapCell,
    GapRow,
    Listener,
    PhaseRun,
    Provenance,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.report.common import SCHEMA, gap_cell_text
from claimcheck.collectors.report.json_report import render_json, report_to_dict
from claimcheck.collectors.report.junit import junit_names, render_junit, xml_safe
from claimcheck.collectors.report.markdown import md_code, md_escape, render_markdown
from claimcheck.collectors.report.text import render_text
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import verdict_and_exit, verdict_reasons

STARTED = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def phase(name: str = "unit", status: str = "passed", *, tests: tuple[TestResult, ...] = (),
          collection_errors: tuple[CollectionError, ...] = (), reason: str | None = None,
          exit_code: int | None = 0, **counts: int) -> PhaseRun:
    return PhaseRun(name=name, status=status, exit_code=exit_code, duration_s=1.25,
                    counts=Counts(**counts), tests=tests, collection_errors=collection_errors,
                    reason=reason, started_at=STARTED)


def service(name: str = "api", status: str = "up", *, critical: bool = True,
            detail: str = "200 OK", kind: str = "http",
            url: str = "http://127.0.0.1:8000/health", **extra: object) -> ServiceSample:
    return ServiceSample(name=name, kind=kind, url=url, status=status, detail=detail,
                         checked_at=STARTED + 5, critical=critical,
                         **extra)  # type: ignore[arg-type]


def result(nodeid: str, outcome: str = "passed", *, phase_name: str = "unit",
           **extra: object) -> TestResult:
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase_name, duration_s=0.5,
                      **extra)  # type: ignore[arg-type]


def make_report(phases: tuple[PhaseRun, ...] = (), services: tuple[ServiceSample, ...] = (),
                gaps: tuple[GapRow, ...] = (), findings: tuple[Finding, ...] = (),
                *, interrupted: bool = False,
                test_gaps: dict[str, dict[str, tuple[str, ...]]] | None = None) -> RunReport:
    verdict, code, reasons = verdict_reasons(phases, services, interrupted=interrupted)
    return RunReport(project="/srv/proj", started_at=STARTED, duration_s=3.5, phases=phases,
                     gaps=gaps, findings=findings, services=services, verdict=verdict,
                     exit_code=code, tool_version="0.1.0", reasons=tuple(reasons),
                     test_gaps=test_gaps or {})


def red_report() -> RunReport:
    """A red run with a bit of everything: failures, a collection error, a blocked phase."""
    tests = (
        result("tests/unit/test_a.py::test_ok"),
        result("tests/unit/test_a.py::test_bad", "failed",
               message="AssertionError: assert 1 == 2", path="tests/unit/test_a.py", line=7,
               longrepr="def test_bad():\n>       assert 1 == 2\nE       assert 1 == 2"),
        result("tests/unit/test_a.py::TestDb::test_conn", "error", message="fixture 'db' not found",
               when="setup"),
        result("tests/unit/test_a.py::test_later", "skipped", message="Skipped: later"),
        result("tests/unit/test_a.py::test_known", "xfailed"),
    )
    unit = phase("unit", "failed", tests=tests, exit_code=1, collected=5, passed=1, failed=1,
                 error=2, skipped=1, xfailed=1,
                 collection_errors=(CollectionError("tests/unit/test_b.py", "ImportError",
                                                    "cannot import name 'x' from 'app'",
                                                    "Traceback (most recent call last): ..."),))
    integration = phase("integration", "blocked", exit_code=None,
                        reason="blocked by auth: connection refused")
    gaps = (
        GapRow("auth", "Login | tokens", "red",
               {"unit": GapCell(passed=9, failed=2, error=1), "integration": GapCell()}),
        GapRow("billing", "Billing", "no-evidence", {"unit": GapCell(skipped=3)}),
        GapRow("search", "Search", "green", {"unit": GapCell(passed=12)}),
    )
    findings = (
        Finding("import-error", "unit", "tests/unit/test_b.py", None, "cannot import x",
                files=("tests/unit/test_b.py", "app/x.py")),
        Finding("deprecation", "unit", "app/clock.py", 3, "utcnow is deprecated", count=40),
    )
    services = (
        service("auth", "down", detail="connection refused", latency_ms=None,
                listener=Listener(9001, None, None)),
        service("events", "degraded", critical=False, kind="websocket",
                url="ws://127.0.0.1:8001/ws", detail="missing events", latency_ms=12.4,
                events=EventCheck(("a", "b"), ("a",), ("b",)),
                listener=Listener(8001, 4242, "uvicorn")),
    )
    return make_report((unit, integration), services, gaps, findings)


# ----------------------------------------------------------------------------------------
# verdict_and_exit


def test_green_needs_every_phase_to_run_a_test_and_nothing_to_fail() -> None:
    runs = [phase("unit", passed=3, collected=3), phase("e2e", xfailed=1, collected=1)]
    assert verdict_and_exit(runs, [service()]) == ("green", 0)


@pytest.mark.parametrize("counts", [{"failed": 1, "passed": 5}, {"error": 1, "passed": 5}])
def test_a_failed_or_errored_test_is_red(counts: dict[str, int]) -> None:
    assert verdict_and_exit([phase("unit", "failed", **counts)], []) == ("red", 1)


@pytest.mark.parametrize("status", ["timeout", "crashed", "blocked", "failed", "error"])
def test_a_phase_that_timed_out_crashed_or_was_blocked_is_red_even_with_passes(status: str) -> None:
    runs = [phase("unit", passed=10), phase("e2e", status, passed=4)]
    assert verdict_and_exit(runs, []) == ("red", 1)


@pytest.mark.parametrize("status", ["down", "degraded"])
def test_a_critical_service_down_or_degraded_is_red(status: str) -> None:
    assert verdict_and_exit([phase(passed=1)], [service(status=status)]) == ("red", 1)


def test_an_optional_service_down_does_not_decide_the_verdict() -> None:
    samples = [service("api"), service("metrics", "down", critical=False)]
    assert verdict_and_exit([phase(passed=1)], samples) == ("green", 0)


def test_interrupted_wins_over_red() -> None:
    runs = [phase("unit", "failed", failed=2)]
    assert verdict_and_exit(runs, [], interrupted=True) == ("interrupted", 2)


def test_a_phase_left_interrupted_makes_the_run_interrupted() -> None:
    runs = [phase("unit", passed=2), phase("e2e", "interrupted", passed=1, exit_code=None)]
    assert verdict_and_exit(runs, []) == ("interrupted", 2)


def test_a_phase_that_ran_no_test_is_no_evidence() -> None:
    runs = [phase("unit", passed=4), phase("e2e", "no-tests", exit_code=5)]
    assert verdict_and_exit(runs, []) == ("no-evidence", 5)


def test_skips_are_not_evidence() -> None:
    runs = [phase("unit", passed=4), phase("e2e", "passed", skipped=12, collected=12)]
    assert verdict_and_exit(runs, []) == ("no-evidence", 5)


def test_a_collection_error_alone_is_red_not_evidence_of_tests() -> None:
    errors = (CollectionError("tests/test_b.py", "ImportError", "no module"),)
    runs = [phase("unit", "failed", error=1, collection_errors=errors, exit_code=2)]
    assert verdict_and_exit(runs, []) == ("red", 1)


def test_red_wins_over_no_evidence() -> None:
    runs = [phase("unit", "failed", failed=1), phase("e2e", "no-tests")]
    assert verdict_and_exit(runs, []) == ("red", 1)


def test_a_phase_still_running_is_not_evidence_yet() -> None:
    runs = [phase("unit", passed=4), phase("e2e", "running", passed=2, exit_code=None)]
    assert verdict_and_exit(runs, []) == ("no-evidence", 5)


def test_nothing_at_all_is_no_evidence() -> None:
    assert verdict_and_exit([], []) == ("no-evidence", 5)


def test_services_only_is_green_when_critical_services_are_up() -> None:
    samples = [service("api"), service("cache", "down", critical=False)]
    assert verdict_and_exit([], samples) == ("green", 0)


def test_services_only_is_red_when_a_critical_service_is_down() -> None:
    assert verdict_and_exit([], [service("api", "down")]) == ("red", 1)


# ----------------------------------------------------------------------------------------
# gap cells


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (None, "no evidence"),
        (GapCell(), "no evidence"),
        (GapCell(skipped=4), "no evidence (4 skip)"),
        (GapCell(passed=12), "✔ 12"),
        (GapCell(passed=12, skipped=3), "✔ 12"),
        (GapCell(passed=9, failed=2, error=1), "✖ 3/12"),
    ],
)
def test_gap_cell_text_never_looks_green_without_evidence(cell: GapCell | None, text: str) -> None:
    assert gap_cell_text(cell) == text


# ----------------------------------------------------------------------------------------
# JSON


def test_json_follows_the_versioned_contract() -> None:
    report = replace(red_report(), test_gaps={"unit": {"tests/unit/test_a.py::test_bad": ("auth",),
                                                       "tests/unit/test_a.py::test_ok": ()}})
    data = json.loads(render_json(report))
    assert data["schema"] == SCHEMA == "claimcheck.report/1"
    assert (data["verdict"], data["exit_code"]) == ("red", 1)
    assert data["reasons"] == list(report.reasons) and data["interrupted_at"] is None
    assert data["started_at"] == "2023-11-14T22:13:20.000+00:00"
    assert data["tool"] == {"name": "claimcheck", "version": "0.1.0"}
    unit, integration = data["phases"]
    assert unit["counts"] == {"collected": 5, "passed": 1, "failed": 1, "error": 2, "skipped": 1,
                              "xfailed": 1, "xpassed": 0, "deselected": 0}
    assert (unit["name"], unit["status"], unit["exit_code"], unit["duration_s"]) == (
        "unit", "failed", 1, 1.25)
    assert unit["collection_errors"][0] == {
        "path": "tests/unit/test_b.py", "error_type": "ImportError",
        "message": "cannot import name 'x' from 'app'",
        "longrepr": "Traceback (most recent call last): ...",
    }
    bad = unit["tests"][1]
    assert bad["nodeid"] == "tests/unit/test_a.py::test_bad"
    assert (bad["outcome"], bad["duration_s"], bad["gaps"]) == ("failed", 0.5, ["auth"])
    assert bad["message"] == "AssertionError: assert 1 == 2"
    assert (bad["path"], bad["line"]) == ("tests/unit/test_a.py", 7)
    assert bad["longrepr"].startswith("def test_bad():")
    assert unit["tests"][0]["message"] is None and unit["tests"][0]["longrepr"] is None
    assert (integration["status"], integration["exit_code"]) == ("blocked", None)
    assert integration["reason"] == "blocked by auth: connection refused"
    assert [test["gaps"] for test in unit["tests"]] == [[], ["auth"], [], [], []]
    assert data["gaps"][0] == {
        "name": "auth", "title": "Login | tokens", "status": "red", "notes": [],
        "cells": {"unit": {"passed": 9, "failed": 2, "error": 1, "skipped": 0},
                  "integration": {"passed": 0, "failed": 0, "error": 0, "skipped": 0}},
    }
    assert data["findings"][1] == {"kind": "deprecation", "phase": "unit", "path": "app/clock.py",
                                   "line": 3, "message": "utcnow is deprecated", "files": [],
                                   "count": 40, "subject": "", "gaps": []}


def test_json_services_carry_events_and_listener_or_null() -> None:
    data = report_to_dict(red_report())
    auth, events = data["services"]
    assert (auth["status"], auth["http_status"], auth["latency_ms"], auth["events"]) == (
        "down", None, None, None)
    assert auth["listener"] == {"pid": None, "name": None, "port": 9001}
    assert events["kind"] == "websocket" and events["critical"] is False
    assert events["events"] == {"expected": ["a", "b"], "seen": ["a"], "missing": ["b"]}
    assert events["listener"] == {"pid": 4242, "name": "uvicorn", "port": 8001}
    assert events["checked_at"] == "2023-11-14T22:13:25.000+00:00"


def test_json_of_a_report_without_test_gaps_gives_empty_gap_lists() -> None:
    data = report_to_dict(red_report())
    assert [t["gaps"] for t in data["phases"][0]["tests"]] == [[], [], [], [], []]


# ----------------------------------------------------------------------------------------
# Text


def test_text_starts_with_the_verdict_and_exit_code() -> None:
    first, second, *rest = render_text(red_report()).splitlines()
    assert "RED" in first and "exit 1" in first
    assert "project /srv/proj" in second
    assert "  why: integration: blocked by auth: connection refused" in rest


def test_text_shows_phase_counts_and_the_reason_a_phase_did_not_pass() -> None:
    text = render_text(red_report())
    unit_row = next(line for line in text.splitlines() if line.startswith("unit "))
    # collected passed failed errors skipped xfail (no xpass column: no phase has one)
    assert unit_row.split() == ["unit", "failed", "5", "1", "1", "2", "1", "1", "1.2", "s"]
    assert "  integration: blocked by auth: connection refused" in text.splitlines()


def test_deselected_gets_a_column_only_when_something_was_deselected() -> None:
    smoke = phase("staging", "failed", exit_code=0, collected=8, deselected=4, passed=1,
                  failed=3)
    text = render_text(make_report((smoke,)))
    header = next(line for line in text.splitlines() if line.startswith("phase "))
    row = next(line for line in text.splitlines() if line.startswith("staging "))
    assert header.split()[:4] == ["phase", "status", "collected", "desel."]
    assert row.split()[:5] == ["staging", "failed", "8", "4", "1"]
    markdown = render_markdown(make_report((smoke,)))
    assert "| phase | status | collected | desel. | pass |" in markdown
    assert "| staging | failed | 8 | 4 | 1 | 3 |" in markdown
    assert "desel." not in render_text(red_report()).split("Gaps x phases")[0]


def test_text_gap_matrix_marks_cells_without_evidence_and_explains_the_legend() -> None:
    lines = render_text(red_report(), width=120).splitlines()
    auth = next(line for line in lines if line.startswith("auth"))
    billing = next(line for line in lines if line.startswith("billing"))
    assert auth.split()[-4:] == ["✖", "3/12", "no", "evidence"]
    assert billing.split()[-6:] == ["no", "evidence", "(3", "skip)", "no", "evidence"]
    assert "'no evidence' = no test of this gap ran in this phase" in " ".join(lines)


def test_text_lists_failures_first_with_their_one_line_message() -> None:
    lines = render_text(red_report()).splitlines()
    start = lines.index("Failures (3)")
    assert lines[start + 1:start + 5] == [
        "unit",
        "  ERROR collecting tests/unit/test_b.py - ImportError: cannot import name 'x' from 'app'",
        "  FAILED tests/unit/test_a.py::test_bad - AssertionError: assert 1 == 2",
        "  ERROR  tests/unit/test_a.py::TestDb::test_conn - fixture 'db' not found",
    ]


def test_text_prints_markup_like_node_ids_exactly_and_shows_control_codes_escaped() -> None:
    nodeid = "tests/test_x.py::test_x[[bold red]]"
    tests = (result(nodeid, "failed", message="boom \x1b[31mred\x1b[0m [link=x]y[/link]\x07"),)
    report = make_report((phase("unit", "failed", tests=tests, failed=1),))
    for color in (False, True):
        text = render_text(report, color=color)
        assert "[bold red]]" in text
        assert "[link=x]y[/link]" in text
        assert "\x07" not in text and "\x1b[31mred" not in text
    plain = render_text(report)
    assert (f"  FAILED {nodeid} - boom \\x1b[31mred\\x1b[0m [link=x]y[/link]\\x07"
            in plain.splitlines())


def test_text_has_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(red_report(), color=False)
    assert "\x1b[" in render_text(red_report(), color=True)


def test_text_caps_failures_per_phase_and_says_how_to_get_them_all() -> None:
    tests = tuple(result(f"tests/test_m.py::test_{i}", "failed", message=f"m{i}")
                  for i in range(120))
    report = make_report((phase("unit", "failed", tests=tests, failed=120),))
    lines = render_text(report).splitlines()
    failed = [line for line in lines if line.startswith("  FAILED ")]
    assert len(failed) == 50
    assert failed[-1] == "  FAILED tests/test_m.py::test_49 - m49"
    more = next(line for line in lines if line.startswith("  ... and"))
    assert "70 more" in more and "--format json" in more


def test_text_services_show_status_latency_and_detail() -> None:
    text = render_text(red_report(), width=120)
    events_row = next(line for line in text.splitlines() if line.startswith("events"))
    assert events_row.split()[:6] == ["events", "(optional)", "websocket", "degraded", "12", "ms"]
    assert ("  events: missing events; missing events: b; listener: pid 4242 (uvicorn)"
            in text.splitlines())
    assert "  auth: connection refused; listener: port 9001 in use, owner unknown" in text


def test_text_for_services_only_has_no_phase_sections() -> None:
    text = render_text(make_report((), (service(),)))
    assert "GREEN" in text.splitlines()[0]
    assert "Phases" not in text and "Failures" not in text and "Services" in text


# ----------------------------------------------------------------------------------------
# Markdown


def test_md_escape_keeps_table_cells_whole_and_literal() -> None:
    assert md_escape("a|b `c` *d* <e>\nf") == r"a\|b \`c\` \*d\* \<e\> f"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("plain", "`plain`"),
        ("has `tick` in", "``has `tick` in``"),
        ("ends `tick`", "`` ends `tick` ``"),
        ("``double``", "``` ``double`` ```"),
        ("`", "`` ` ``"),
    ],
)
def test_md_code_fence_outgrows_any_backtick_run(text: str, span: str) -> None:
    assert md_code(text) == span


def test_md_code_in_a_table_escapes_the_pipe() -> None:
    assert md_code("a|b", in_table=True) == r"`a\|b`"


def test_markdown_has_verdict_heading_tables_and_failures_open() -> None:
    md = render_markdown(red_report())
    lines = md.splitlines()
    assert lines[0] == "## claimcheck: ❌ red (exit 1)"
    assert "| unit | failed | 5 | 1 | 1 | 2 | 1 | 1 | 1.2 s |  |" in lines
    # every gap alike: its title, then the name `verify` takes
    assert "| Login \\| tokens (`auth`) | red | ✖ 3/12 | no evidence |" in lines
    assert "| Billing (`billing`) | no-evidence | no evidence (3 skip) | no evidence |" in lines
    assert "### Failures (3)" in lines and "<details>" not in lines  # few: all shown open
    assert "- FAILED `tests/unit/test_a.py::test_bad` — AssertionError: assert 1 == 2" in lines
    assert any(line.startswith("| events (optional) | websocket | degraded |") for line in lines)


def test_markdown_shows_the_first_failures_open_and_folds_the_rest() -> None:
    tests = tuple(result(f"tests/test_many.py::test_{n:02d}", "failed", message=f"boom {n}")
                  for n in range(30))
    md = render_markdown(make_report((phase("unit", "failed", tests=tests, failed=30),)))
    lines = md.splitlines()
    heading = lines.index("### Failures (30)")
    details = lines.index("<details>")
    shown = [line for line in lines[heading:details] if line.startswith("- FAILED")]
    assert len(shown) == 11  # the phase's name and 11 failures: 12 lines open
    assert lines[details + 1] == "<summary>19 more lines</summary>"
    assert lines[details + 2] == ""  # GitHub needs the blank line to render Markdown inside
    assert "- FAILED `tests/test_many.py::test_29` — boom 29" in lines[details:]
    assert "</details>" in lines[details:]


def test_findings_headings_carry_their_count_and_an_empty_section_is_left_out() -> None:
    finding = Finding(kind="no-tests", phase="unit", path=None, line=None, message="nothing ran")
    red = replace(red_report(), findings=(finding,))
    assert "### Findings (1)" in render_markdown(red).splitlines()
    assert "Findings (1)" in render_text(red)
    green = make_report((phase(passed=1, collected=1),))
    for text in (render_text(green), render_markdown(green)):
        assert "Findings" not in text and "Failures" not in text


def test_markdown_node_id_with_backticks_stays_in_one_code_span() -> None:
    nodeid = "tests/test_x.py::test_q[`x`|<b>]"
    report = make_report((phase("unit", "failed", tests=(result(nodeid, "failed"),), failed=1),))
    assert f"- FAILED ``{nodeid}``" in render_markdown(report).splitlines()


# ----------------------------------------------------------------------------------------
# JUnit


def test_junit_parses_back_with_suites_cases_and_totals() -> None:
    root = ET.fromstring(render_junit(red_report()))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7", "failures": "1", "errors": "3", "skipped": "2"}
    unit, integration, findings = root.findall("testsuite")
    assert unit.get("name") == "unit" and unit.get("time") == "1.250"
    # Findings are not tests: a suite of none that lists them (kind, where, what)
    assert (findings.get("name"), findings.get("tests")) == ("claimcheck.findings", "0")
    kinds = [prop.get("name") for prop in findings.findall("properties/property")]
    assert kinds == [f.kind for f in red_report().findings]
    assert "deprecation: app/clock.py:3: utcnow is deprecated" in (
        findings.findtext("system-out") or "")
    cases = {(c.get("classname"), c.get("name")): c for c in unit.findall("testcase")}
    bad = cases[("tests.unit.test_a", "test_bad")]
    failure = bad.find("failure")
    assert failure is not None and failure.get("message") == "AssertionError: assert 1 == 2"
    assert failure.text is not None and ">       assert 1 == 2" in failure.text
    assert (bad.get("file"), bad.get("line")) == ("tests/unit/test_a.py", "7")
    assert cases[("tests.unit.test_a.TestDb", "test_conn")].find("error") is not None
    assert cases[("tests.unit.test_a", "test_later")].find("skipped") is not None
    collection = cases[("", "tests.unit.test_b")].find("error")
    assert collection is not None and collection.get("type") == "ImportError"
    assert cases[("tests.unit.test_a", "test_ok")].find("*") is None  # passed: no child
    blocked = integration.find("testcase/error")
    assert blocked is not None and blocked.get("message") == "blocked by auth: connection refused"
    assert integration.get("errors") == "1"


@pytest.mark.parametrize("status", ["no-tests", "timeout", "crashed", "interrupted"])
def test_junit_phase_without_evidence_is_a_suite_level_error(status: str) -> None:
    report = make_report((phase("e2e", status, reason=f"e2e {status}", exit_code=None),))
    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    case = suite.find("testcase")
    assert case is not None and case.get("name") == f"phase {status}"
    assert case.find("error") is not None


def test_junit_passed_phase_has_no_extra_error_case() -> None:
    report = make_report((phase("unit", tests=(result("t.py::test_a"),), passed=1),))
    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert suite is not None and suite.get("errors") == "0" and suite.get("tests") == "1"


def test_junit_shows_characters_xml_forbids_as_escapes() -> None:
    text = "a\x00b\x0bc\ud800d\uffffe\tf\ng"
    assert xml_safe(text) == "a\\x00b\\x0bc\\ud800d\\uffffe\tf\ng"
    tests = (result("t.py::test_\x01x", "failed", message="bad \x02byte",
                    longrepr="E \x1b[31mred\x1b[0m \x00"),)
    report = make_report((phase("unit", "failed", tests=tests, failed=1),))
    case = ET.fromstring(render_junit(report)).find("testsuite/testcase")
    assert case is not None and case.get("name") == "test_\\x01x"
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "bad \\x02byte"
    assert failure.text == "E \\x1b[31mred\\x1b[0m \\x00"


@pytest.mark.parametrize(
    ("nodeid", "names"),
    [
        ("tests/unit/test_a.py::test_b", ("tests.unit.test_a", "test_b")),
        ("tests/test_a.py::TestC::test_d", ("tests.test_a.TestC", "test_d")),
        ("test_a.py::test_p[a::b]", ("test_a", "test_p[a::b]")),
        ("tests/test_a.py", ("", "tests.test_a")),
    ],
)
def test_junit_names_follow_pytest(nodeid: str, names: tuple[str, str]) -> None:
    assert junit_names(nodeid) == names


# ----------------------------------------------------------------------------------------
# Secrets


def test_a_secret_never_appears_in_any_format() -> None:
    secret = "s3cr3t-T0KEN-value"
    tests = (result(f"tests/test_a.py::test_login[{secret}]", "failed",
                    message=f"AssertionError: token {secret} rejected",
                    longrepr=f"E   headers={{'Authorization': 'Bearer {secret}'}}"),)
    run = phase("unit", "failed", tests=tests, failed=1, reason=f"exit with {secret}",
                collection_errors=(CollectionError(f"tests/{secret}.py", "ImportError",
                                                   f"no {secret}", f"tb {secret}"),))
    sample = service("auth", "down", detail=f"401 for token {secret}",
                     url=f"http://127.0.0.1:1/?t={secret}")
    finding = Finding("port-mismatch", "unit", None, None, f"auth said {secret}")
    report = make_report((run,), (sample,), findings=(finding,),
                         test_gaps={"unit": {tests[0].nodeid: (secret,)}})
    redactor = Redactor((secret,))
    outputs = {
        "text": render_text(report, redactor=redactor, width=300),
        "json": render_json(report, redactor=redactor),
        "markdown": render_markdown(report, redactor=redactor),
        "junit": render_junit(report, redactor=redactor),
    }
    for name, output in outputs.items():
        assert secret not in output, name
        assert "***" in output, name
    # Without a redactor the secret is there: the assertion above is not vacuous.
    assert secret in render_text(report, width=300)


# ----------------------------------------------------------------------------------------
# write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, '{"new": "ünïcode"}\n')
    assert target.read_text(encoding="utf-8") == '{"new": "ünïcode"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_write_atomic_new_file_gets_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "r.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.txt").stat().st_mode) == 0o644


def test_write_atomic_cleans_up_when_the_replace_fails(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()  # os.replace(file, existing directory) fails on every platform
    with pytest.raises(OSError):
        write_atomic(target, "text")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert list(target.iterdir()) == []


def test_write_atomic_survives_a_lone_surrogate(tmp_path: Path) -> None:
    write_atomic(tmp_path / "r.txt", "bad \udcff name")
    assert (tmp_path / "r.txt").read_text(encoding="utf-8") == "bad \\udcff name"


def test_report_module_does_not_import_textual() -> None:
    code = "import sys, claimcheck.collectors.report; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_findings_list_only_the_files_their_message_does_not_already_name() -> None:
    named = Finding(kind="import-error", phase="unit", path="tests/a.py", line=3,
                    message="No module named 'x' — 2 test files cannot be collected: "
                            "tests/a.py, tests/b.py.",
                    files=("tests/a.py", "tests/b.py"), count=2)
    unnamed = Finding(kind="deprecation", phase="unit", path="tests/c.py", line=1,
                      message="DeprecationWarning raised 2 times: old api.",
                      files=("tests/c.py", "tests/d.py"), count=2)
    report = make_report((phase(passed=1),), findings=(named, unnamed))
    text_lines = render_text(report).splitlines()
    assert [line.strip() for line in text_lines if "files:" in line] == ["files: tests/d.py"]
    markdown = render_markdown(report)
    assert markdown.count("(files:") == 1 and "(files: `tests/d.py`)" in markdown


def test_every_format_says_which_commit_and_host_the_evidence_is_about() -> None:
    source = Provenance(commit="81c0a1f2e3d4c5b6a7980123456789abcdef0123", branch="main",
                        dirty=True, host="build-7", config_digest="ab" * 32)
    report = replace(make_report((phase(passed=1, collected=1),)), provenance=source)
    document = json.loads(render_json(report))
    assert document["provenance"] == {
        "commit": "81c0a1f2e3d4c5b6a7980123456789abcdef0123", "branch": "main", "dirty": True,
        "host": "build-7", "config_digest": "ab" * 32,
    }
    assert "main @ 81c0a1f2e (dirty) on build-7" in render_text(report)
    assert "main @ 81c0a1f2e (dirty) on build-7" in render_markdown(report)
    assert json.loads(render_json(make_report()))["provenance"] is None


def test_a_run_outside_git_still_names_its_host(tmp_path: Path) -> None:
    from claimcheck.collectors.config import load_config
    from claimcheck.collectors.session import provenance_of

    source = provenance_of(load_config(tmp_path))
    assert source.commit is None and source.branch is None and source.host
    assert len(source.config_digest) == 64


def test_a_test_that_failed_on_every_rerun_is_not_flaky_in_json() -> None:
    """dateutil's suite under --reruns 2: three tests failed all three attempts; every view
    says "rerun 2" and the phase counts 0 flaky, so the test's own `flaky` must say so too."""
    tests = (result("tests/test_tz.py::test_zone", "failed", reruns=2),
             result("tests/test_tz.py::test_flaky", "passed", reruns=1))
    data = report_to_dict(make_report((phase(tests=tests, status="failed", failed=1,
                                             passed=1),)))
    (unit,) = data["phases"]
    by_id = {test["nodeid"]: test for test in unit["tests"]}
    assert (by_id["tests/test_tz.py::test_zone"]["reruns"],
            by_id["tests/test_tz.py::test_zone"]["flaky"]) == (2, False)
    assert by_id["tests/test_tz.py::test_flaky"]["flaky"] is True
    assert unit["flaky"] == 1 and data["totals"]["flaky"] == 1
