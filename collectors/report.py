"""The headless report: verdict and exit code, and the same evidence as text, JSON, Markdown and
JUnit XML.

Everything here is a pure function of a `RunReport`, so `--report` in CI, the TUI's export and
the tests all describe one run the same way. Every string that came from a test, a service or
the network is data: it is passed through the optional redactor, stripped of control codes
where it could reach a terminal, and never interpreted as rich markup, Markdown or XML.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from claimcheck.collectors.models import (
    Counts,
    Finding,
    GapCell,
    GapRow,
    PhaseRun,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.secrets import strip_control

SCHEMA = "claimcheck.report/1"

EXIT_GREEN = 0
EXIT_RED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL = 3
EXIT_USAGE = 4
EXIT_NO_EVIDENCE = 5

# Phase states that are red by themselves, whatever the counts say.
RED_PHASE_STATUSES = frozenset({"failed", "error", "timeout", "crashed", "blocked"})
FAILURE_OUTCOMES = frozenset({"failed", "error"})
MAX_FAILURES_PER_PHASE = 50
MAX_MESSAGE_CHARS = 300
ALL_FAILURES_HINT = "claimcheck --report --format json lists every one"

Redact = Callable[[str], str]
GapsOf = Callable[[str, TestResult], list[str]]


# ----------------------------------------------------------------------------------------
# Verdict


def executed(run: PhaseRun) -> int:
    """Tests that really ran in a phase; skips and collection errors are not evidence."""
    counts = run.counts
    test_errors = max(counts.error - len(run.collection_errors), 0)
    return counts.passed + counts.failed + test_errors + counts.xfailed + counts.xpassed


def phase_problem(run: PhaseRun) -> str | None:
    """Why this phase makes the run red, in a few words; None when it does not."""
    counts = run.counts
    if run.status in RED_PHASE_STATUSES and run.reason:
        return f"{run.name}: {run.reason}"
    if counts.failed or counts.error:
        parts = [f"{counts.failed} failed"] if counts.failed else []
        if counts.error:
            parts.append(f"{counts.error} error" + ("s" if counts.error > 1 else ""))
        return f"{run.name}: " + ", ".join(parts)
    if run.status in RED_PHASE_STATUSES:
        return f"{run.name}: {run.status}"
    return None


def service_problem(sample: ServiceSample) -> str | None:
    """Only critical services decide the verdict; a flaky optional one is shown, not judged."""
    if sample.critical and sample.status != "up":
        return f"service {sample.name} {sample.status}"
    return None


def verdict_reasons(
    runs: Sequence[PhaseRun], samples: Sequence[ServiceSample], *, interrupted: bool = False
) -> tuple[str, int, list[str]]:
    """The verdict, its exit code and the short reasons behind it, for the report's first line."""
    red = [p for p in (phase_problem(r) for r in runs) if p]
    red += [p for p in (service_problem(s) for s in samples) if p]
    if interrupted or any(run.status == "interrupted" for run in runs):
        stopped = [run.name for run in runs if run.status == "interrupted"]
        why = [f"interrupted during {', '.join(stopped)}" if stopped else "interrupted"]
        return "interrupted", EXIT_INTERRUPTED, why + red
    if red:
        return "red", EXIT_RED, red
    if not runs and not samples:
        return "no-evidence", EXIT_NO_EVIDENCE, ["no phases ran and no services were probed"]
    empty = [run for run in runs
             if run.status in ("no-tests", "pending", "running") or executed(run) == 0]
    if empty:
        why = []
        for run in empty:
            if run.status in ("pending", "running"):
                why.append(f"{run.name}: {run.status}, not finished")
                continue
            skipped = f" ({run.counts.skipped} skipped)" if run.counts.skipped else ""
            why.append(f"{run.name}: {run.reason or 'no test ran'}{skipped}")
        return "no-evidence", EXIT_NO_EVIDENCE, why
    return "green", EXIT_GREEN, []


def verdict_and_exit(
    runs: Sequence[PhaseRun], samples: Sequence[ServiceSample], *, interrupted: bool = False
) -> tuple[str, int]:
    """Green needs evidence: every phase ran a test, nothing failed, critical services are up.

    Precedence: interrupted (2) over red (1) over no-evidence (5) over green (0), so a run
    someone stopped is never reported as a finished failure, and a failure is never hidden
    behind a phase that ran nothing. A phase left `interrupted` counts as an interruption; a
    phase still `pending` or `running` is not evidence yet.
    """
    verdict, code, _ = verdict_reasons(runs, samples, interrupted=interrupted)
    return verdict, code


# ----------------------------------------------------------------------------------------
# Small helpers shared by the writers


def _identity(text: str) -> str:
    return text


def _iso(ts: float) -> str | None:
    if not ts:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


def _total(runs: Iterable[PhaseRun]) -> Counts:
    fields = ("collected", "passed", "failed", "error", "skipped", "xfailed", "xpassed",
              "deselected")
    sums = dict.fromkeys(fields, 0)
    for run in runs:
        for name in fields:
            sums[name] += getattr(run.counts, name)
    return Counts(**sums)


def _one_line(text: str | None, limit: int = MAX_MESSAGE_CHARS) -> str:
    """First non-blank line, bounded: a crash message must never take over a report."""
    if not text:
        return ""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _duration(seconds: float) -> str:
    if seconds >= 60:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


def _failures(run: PhaseRun) -> list[TestResult]:
    """Failed tests first, then errors, each in the order they finished."""
    failed = [t for t in run.tests if t.outcome == "failed"]
    return failed + [t for t in run.tests if t.outcome == "error"]


def _phase_note(run: PhaseRun) -> str:
    if run.reason:
        return run.reason
    if run.status == "no-tests" or (run.status not in ("pending", "running") and not executed(run)):
        return "no test ran" + (f" ({run.counts.skipped} skipped)" if run.counts.skipped else "")
    if run.status in ("timeout", "crashed", "blocked", "error", "interrupted"):
        return run.status
    return ""


def _gap_phase_names(report: RunReport) -> list[str]:
    """Columns of the gap matrix: the phases in run order, then any a gap row adds."""
    names = [run.name for run in report.phases]
    for row in report.gaps:
        names.extend(name for name in row.cells if name not in names)
    return names


def gap_cell_text(cell: GapCell | None) -> str:
    """A matrix cell that can never be mistaken for green when nothing ran.

    `3/12`: 3 of the 12 tests that ran failed or errored. `ok 12`: 12 ran, none failed.
    `no evidence`: the gap has tests here but every one was skipped. `—`: no test at all.
    """
    if cell is None or cell.total == 0:
        return "—"
    if not cell.ran:
        return "no evidence"
    bad = cell.failed + cell.error
    return f"{bad}/{cell.ran}" if bad else f"ok {cell.ran}"


GAP_LEGEND = (
    "cells: F/N = F of the N tests that ran failed or errored; ok N = N ran, none failed; "
    "'no evidence' = only skipped tests; '—' = no test of this gap in this phase. "
    "Neither of the last two counts as green."
)


def _listener_text(sample: ServiceSample) -> str:
    listener = sample.listener
    if listener is None:
        return ""
    if listener.pid is None:
        return f"port {listener.port} in use, owner unknown"
    return f"pid {listener.pid} ({listener.name or '?'})"


def _service_detail(sample: ServiceSample) -> str:
    parts = [sample.detail] if sample.detail else []
    missing = sample.events.missing if sample.events is not None else ()
    if missing and not all(name in sample.detail for name in missing):
        parts.append("missing events: " + ", ".join(missing))
    listener = _listener_text(sample)
    if listener:
        parts.append(f"listener: {listener}")
    return "; ".join(parts)


def _findings_by_kind(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[finding.kind].append(finding)
    return dict(groups)


def _where(finding: Finding) -> str:
    if not finding.path:
        return ""
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


# ----------------------------------------------------------------------------------------
# JSON: the public, versioned contract


def report_to_dict(
    report: RunReport, *, gaps_of: GapsOf | None = None, redactor: Redact | None = None
) -> dict[str, Any]:
    """The `claimcheck.report/1` document. Keys are a contract: add, never rename or remove.

    Per-test gap names come from `gaps_of(phase, result)` so this module needs no gap config.
    The loop over tests does only dict building and the redactor, since it runs 20,000 times.
    """
    r = redactor or _identity

    def opt(text: str | None) -> str | None:
        return None if text is None else r(text)

    phases = []
    for run in report.phases:
        tests = []
        append = tests.append
        for test in run.tests:
            failing = test.outcome in FAILURE_OUTCOMES
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
            })
        counts = run.counts
        phases.append({
            "name": r(run.name),
            "status": run.status,
            "exit_code": run.exit_code,
            "duration_s": round(run.duration_s, 3),
            "reason": opt(run.reason),
            "started_at": _iso(run.started_at),
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
            "tests": tests,
        })

    totals = _total(report.phases)
    return {
        "schema": SCHEMA,
        "verdict": report.verdict,
        "exit_code": report.exit_code,
        "tool": {"name": "claimcheck", "version": report.tool_version},
        "project": r(report.project),
        "started_at": _iso(report.started_at),
        "duration_s": round(report.duration_s, 3),
        "totals": {
            "phases": len(report.phases), "collected": totals.collected,
            "passed": totals.passed, "failed": totals.failed, "error": totals.error,
            "skipped": totals.skipped, "xfailed": totals.xfailed, "xpassed": totals.xpassed,
            "deselected": totals.deselected,
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
        "checked_at": _iso(sample.checked_at),
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


# ----------------------------------------------------------------------------------------
# Text: terminal, CI log, SSH

_STATUS_STYLE = {
    "green": "bold green", "passed": "green", "up": "green", "ok": "green",
    "red": "bold red", "failed": "red", "error": "red", "timeout": "red", "crashed": "red",
    "blocked": "red", "down": "red",
    "no-evidence": "bold yellow", "no-tests": "yellow", "degraded": "yellow",
    "interrupted": "bold magenta", "pending": "dim", "running": "cyan",
}


def render_text(
    report: RunReport, *, color: bool = False, redactor: Redact | None = None, width: int = 100,
    max_failures: int = MAX_FAILURES_PER_PHASE,
) -> str:
    """The report for a person at a terminal or reading a CI log: verdict first, then why."""
    r = redactor or _identity

    def safe(text: str | None) -> str:
        return r(strip_control(text)) if text else ""

    console = Console(
        file=StringIO(), width=width, force_terminal=color, color_system="standard" if color
        else None, no_color=not color, markup=False, emoji=False, highlight=False,
        soft_wrap=False, legacy_windows=False, force_jupyter=False, force_interactive=False,
    )
    _text_verdict(console, report, safe)
    if report.phases:
        _text_phases(console, report, safe)
    if report.gaps:
        _text_gaps(console, report, safe)
    if report.findings:
        _text_findings(console, report, safe)
    if any(run.tests or run.collection_errors for run in report.phases):
        _text_failures(console, report, safe, max_failures)
    if report.services:
        _text_services(console, report, safe)
    output: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in output.split("\n"))


def _styled(value: str) -> Text:
    return Text(value, style=_STATUS_STYLE.get(value, ""))


def _text_verdict(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    line = Text("claimcheck  ")
    line.append(f" {report.verdict.upper()} ", style=_STATUS_STYLE.get(report.verdict, "bold"))
    line.append(f"  exit {report.exit_code}")
    totals = _total(report.phases)
    if report.phases:
        line.append(f"  ·  {len(report.phases)} phase{'s' if len(report.phases) != 1 else ''}: "
                    f"{totals.passed} passed, {totals.failed} failed, {totals.error} errors, "
                    f"{totals.skipped} skipped")
    if report.services:
        up = sum(1 for s in report.services if s.status == "up")
        line.append(f"  ·  services {up}/{len(report.services)} up")
    line.append(f"  ·  {_duration(report.duration_s)}")
    console.print(line, soft_wrap=True)
    meta = Text(f"project {safe(report.project)}", style="dim")
    started = _iso(report.started_at)
    if started:
        meta.append(f"  ·  started {started}")
    if report.tool_version:
        meta.append(f"  ·  claimcheck {safe(report.tool_version)}")
    console.print(meta, soft_wrap=True)
    _, _, why = verdict_reasons(report.phases, report.services,
                                interrupted=report.verdict == "interrupted")
    for reason in why:
        console.print(Text(f"  why: {safe(reason)}"), soft_wrap=True)


def _title_adds_words(row: GapRow) -> bool:
    """"Api" beside "api", or "Toml file" beside "toml_file", only repeats the name."""
    simplified = re.sub(r"[\s_-]+", "", row.title or "").lower()
    return bool(row.title) and simplified != re.sub(r"[\s_-]+", "", row.name).lower()


def _section(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline"))


def _text_phases(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    """Counts in a table; each reason on its own line below, whole, so it never gets folded."""
    _section(console, "Phases")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    longest = max((len(run.name) for run in report.phases), default=5)
    table.add_column("phase", overflow="fold", min_width=min(24, longest))
    table.add_column("status", no_wrap=True)
    columns = _count_columns(report)
    for header, _ in columns:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    for run in report.phases:
        cells = []
        for header, field in columns:
            value = getattr(run.counts, field)
            red = field in ("failed", "error") and value
            cells.append(Text(str(value), style="red" if red else ""))
        table.add_row(Text(safe(run.name)), _styled(run.status), *cells,
                      _duration(run.duration_s))
    console.print(table)
    _print_notes(console, ((run.name, run.status, _phase_note(run)) for run in report.phases), safe)


# (header, Counts field, always shown). The others get a column only when some phase has any,
# so the table fits 100 columns and `collected` never silently includes tests that did not run.
_COUNT_COLUMNS = (
    ("collected", "collected", True), ("desel.", "deselected", False),
    ("pass", "passed", True), ("fail", "failed", True), ("error", "error", True),
    ("skip", "skipped", True), ("xfail", "xfailed", False), ("xpass", "xpassed", False),
)


def _count_columns(report: RunReport) -> list[tuple[str, str]]:
    return [(header, field) for header, field, always in _COUNT_COLUMNS
            if always or any(getattr(run.counts, field) for run in report.phases)]


def _files_not_named(finding: Finding) -> list[str]:
    """The finding's files that neither its location nor its message already names."""
    return [f for f in finding.files if f != finding.path and f not in finding.message]


def _print_notes(console: Console, notes: Iterable[tuple[str, str, str]],
                 safe: Callable[[str | None], str]) -> None:
    """`  name: note` lines under a table, so long reasons and details wrap instead of being cut."""
    for name, status, note in notes:
        if note:
            line = Text(f"  {safe(name)}: ", style="bold")
            line.append(safe(note), style=_STATUS_STYLE.get(status, ""))
            console.print(line, soft_wrap=True)


def _text_gaps(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    _section(console, "Gaps x phases")
    names = _gap_phase_names(report)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("gap", overflow="fold")
    table.add_column("status", no_wrap=True)
    for name in names:
        table.add_column(Text(safe(name)), justify="right", no_wrap=True)
    for row in report.gaps:
        label = Text(safe(row.name))
        if _title_adds_words(row):
            label.append(f"  {safe(row.title)}", style="dim")
        cells = []
        for name in names:
            cell = row.cells.get(name)
            value = gap_cell_text(cell)
            style = ("red" if value[0].isdigit() else "green" if value.startswith("ok")
                     else "yellow")
            cells.append(Text(value, style=style))
        table.add_row(label, _styled(row.status), *cells)
    console.print(table)
    console.print(Text(GAP_LEGEND, style="dim"))


def _text_findings(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    _section(console, f"Findings ({len(report.findings)})")
    for kind, findings in _findings_by_kind(report.findings).items():
        console.print(Text(f"{safe(kind)} ({len(findings)})", style="bold yellow"))
        for finding in findings:
            line = Text("  - ")
            if finding.phase:
                line.append(f"[{safe(finding.phase)}] ", style="cyan")
            where = _where(finding)
            if where:
                line.append(f"{safe(where)}: ", style="dim")
            line.append(safe(finding.message))  # its message says what it counts, in words
            console.print(line, soft_wrap=True)
            extra = _files_not_named(finding)
            if extra:
                shown = ", ".join(safe(f) for f in extra[:10])
                more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
                console.print(Text(f"      files: {shown}{more}", style="dim"), soft_wrap=True)


def _text_failures(console: Console, report: RunReport, safe: Callable[[str | None], str],
                   cap: int) -> None:
    """Node ids print whole on one line each (soft wrap), so they can be copied and grepped."""
    total = sum(r.counts.failed + r.counts.error for r in report.phases)
    _section(console, f"Failures ({total})")
    if not total:
        console.print(Text("  none"))
        return
    for run in report.phases:
        failures = _failures(run)
        if not failures and not run.collection_errors:
            continue
        console.print(Text(f"{safe(run.name)}", style="bold"), soft_wrap=True)
        for error in run.collection_errors:
            line = Text("  ERROR collecting ", style="red")
            line.append(safe(error.path), style="")
            line.append(f" - {safe(error.error_type)}: {safe(_one_line(error.message))}",
                        style="")
            console.print(line, soft_wrap=True)
        for test in failures[:cap]:
            line = Text("  FAILED " if test.outcome == "failed" else "  ERROR  ", style="red")
            line.append(safe(test.nodeid), style="bold")
            message = _one_line(test.message)
            if message:
                line.append(f" - {safe(message)}")
            console.print(line, soft_wrap=True)
        hidden = len(failures) - cap
        if hidden > 0:
            console.print(Text(f"  ... and {hidden} more ({ALL_FAILURES_HINT})", style="dim"),
                          soft_wrap=True)


def _text_services(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    _section(console, "Services")
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("service", overflow="fold")
    table.add_column("kind", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("http", justify="right", no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("url", overflow="fold")
    for sample in report.services:
        name = Text(safe(sample.name))
        if not sample.critical:
            name.append(" (optional)", style="dim")
        table.add_row(
            name, sample.kind, _styled(sample.status),
            "" if sample.http_status is None else str(sample.http_status),
            "" if sample.latency_ms is None else f"{sample.latency_ms:.0f} ms",
            Text(safe(sample.url)),
        )
    console.print(table)
    _print_notes(console, ((s.name, s.status, _service_detail(s)) for s in report.services), safe)


# ----------------------------------------------------------------------------------------
# Markdown: issues, pull requests, GitHub job summaries

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~&!])")
_VERDICT_MARK = {"green": "✅", "red": "❌", "no-evidence": "⚠️", "interrupted": "⏹️"}


def md_escape(text: str) -> str:
    """Text that renders as typed inside a table cell or list item, on one line."""
    flat = " ".join(strip_control(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str, *, in_table: bool = False) -> str:
    """A code span that holds any text: the fence is longer than any backtick run inside.

    In a GFM table `|` still splits cells inside a code span, so it is escaped there.
    """
    flat = " ".join(strip_control(text).split())
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(
    report: RunReport, *, redactor: Redact | None = None,
    max_failures: int = MAX_FAILURES_PER_PHASE,
) -> str:
    """A summary to paste into an issue or PR, or to append to $GITHUB_STEP_SUMMARY."""
    r = redactor or _identity

    def esc(text: str | None) -> str:
        return md_escape(r(text)) if text else ""

    out: list[str] = []
    mark = _VERDICT_MARK.get(report.verdict, "")
    out.append(f"## claimcheck: {mark} {esc(report.verdict)} (exit {report.exit_code})")
    out.append("")
    meta = [f"project {md_code(r(report.project))}", f"{_duration(report.duration_s)}"]
    started = _iso(report.started_at)
    if started:
        meta.append(f"started {started}")
    if report.tool_version:
        meta.append(f"claimcheck {esc(report.tool_version)}")
    out.append(" · ".join(meta))
    _, _, why = verdict_reasons(report.phases, report.services,
                                interrupted=report.verdict == "interrupted")
    if why:
        out.append("")
        out.extend(f"- {esc(reason)}" for reason in why)

    if report.phases:
        out += ["", "### Phases", ""]
        columns = _count_columns(report)
        out.append(_md_row(["phase", "status", *(header for header, _ in columns), "time",
                            "note"]))
        out.append(_md_row(["---", "---"] + ["---:"] * (len(columns) + 1) + ["---"]))
        for run in report.phases:
            out.append(_md_row([
                esc(run.name), esc(run.status),
                *(str(getattr(run.counts, field)) for _, field in columns),
                _duration(run.duration_s), esc(_phase_note(run)),
            ]))

    if report.gaps:
        names = _gap_phase_names(report)
        out += ["", "### Gaps x phases", ""]
        out.append(_md_row(["gap", "status"] + [esc(name) for name in names]))
        out.append(_md_row(["---", "---"] + ["---:"] * len(names)))
        for row in report.gaps:
            label = esc(row.name)
            if _title_adds_words(row):
                label += f" ({esc(row.title)})"
            cells = [esc(gap_cell_text(row.cells.get(name))) for name in names]
            out.append(_md_row([label, esc(row.status)] + cells))
        out += ["", f"_{md_escape(GAP_LEGEND)}_"]

    if report.findings:
        out += ["", "### Findings", ""]
        for kind, findings in _findings_by_kind(report.findings).items():
            out.append(f"- **{esc(kind)}** ({len(findings)})")
            for finding in findings:
                bits = []
                if finding.phase:
                    bits.append(f"\\[{esc(finding.phase)}\\]")
                where = _where(finding)
                if where:
                    bits.append(md_code(r(where)))
                bits.append(esc(finding.message))
                extra = _files_not_named(finding)
                if extra:
                    shown = ", ".join(md_code(r(f)) for f in extra[:10])
                    more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
                    bits.append(f"(files: {shown}{more})")
                out.append("  - " + " ".join(bits))

    failing = sum(run.counts.failed + run.counts.error for run in report.phases)
    if failing:
        out += ["", "<details>", f"<summary>Failures ({failing})</summary>", ""]
        for run in report.phases:
            failures = _failures(run)
            if not failures and not run.collection_errors:
                continue
            out.append(f"**{esc(run.name)}**")
            out.append("")
            for error in run.collection_errors:
                out.append(f"- ERROR collecting {md_code(r(error.path))}: "
                           f"{esc(error.error_type)}: {esc(_one_line(error.message))}")
            for test in failures[:max_failures]:
                label = "FAILED" if test.outcome == "failed" else "ERROR"
                message = _one_line(test.message)
                tail = f" — {esc(message)}" if message else ""
                out.append(f"- {label} {md_code(r(test.nodeid))}{tail}")
            hidden = len(failures) - max_failures
            if hidden > 0:
                out.append(f"- … and {hidden} more ({esc(ALL_FAILURES_HINT)})")
            out.append("")
        out.append("</details>")

    if report.services:
        out += ["", "### Services", ""]
        out.append(_md_row(["service", "kind", "status", "http", "latency", "url", "detail"]))
        out.append(_md_row(["---", "---", "---", "---:", "---:", "---", "---"]))
        for sample in report.services:
            name = esc(sample.name) + ("" if sample.critical else " (optional)")
            out.append(_md_row([
                name, esc(sample.kind), esc(sample.status),
                "" if sample.http_status is None else str(sample.http_status),
                "" if sample.latency_ms is None else f"{sample.latency_ms:.0f} ms",
                md_code(r(sample.url), in_table=True), esc(_service_detail(sample)),
            ]))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------
# JUnit XML: for CI systems that draw test tabs from it

# Everything XML 1.0 forbids: C0 controls but tab/newline/CR, surrogates, U+FFFE, U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text any XML 1.0 parser accepts, with terminal escapes gone too."""
    return _XML_ILLEGAL.sub("", strip_control(text))


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
    r = redactor or _identity

    def x(text: str | None) -> str:
        return xml_safe(r(text)) if text else ""

    root = ET.Element("testsuites", name="claimcheck")
    grand = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for run in report.phases:
        suite = ET.SubElement(root, "testsuite", name=x(run.name))
        stats = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for error in run.collection_errors:
            classname, name = junit_names(error.path)
            case = ET.SubElement(suite, "testcase", classname=x(classname), name=x(name),
                                 file=x(error.path), time="0")
            node = ET.SubElement(case, "error", message=x(f"collection failure: "
                                                          f"{_one_line(error.message)}"),
                                 type=x(error.error_type))
            node.text = x(error.longrepr or error.message)
            stats["tests"] += 1
            stats["errors"] += 1
        for test in run.tests:
            _junit_case(suite, test, x, stats)
        problem = _junit_phase_problem(run)
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
        started = _iso(run.started_at)
        if started:
            suite.set("timestamp", started)
    for key, value in grand.items():
        root.set(key, str(value))
    root.set("time", f"{report.duration_s:.3f}")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


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
    message = x(_one_line(test.message))
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
        return _phase_note(run) or f"phase {run.status} without a failing test recorded"
    return _phase_note(run) or run.status


# ----------------------------------------------------------------------------------------
# Writing


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half a report; no temp file is left.

    Text is UTF-8; a lone surrogate (undecodable bytes in a test name) is written as `\\udcxx`
    rather than losing the whole report to a UnicodeEncodeError.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace",
                       newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _target_mode(path))
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _target_mode(path: Path) -> int:
    """Keep an existing file's mode; a new one gets what `open()` would give it, not 0600."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
