"""Text: a terminal, a CI log, an SSH session. Verdict first, then why."""

from __future__ import annotations

from io import StringIO
from typing import Callable, Iterable

from claimcheck.collectors.gaps import cell_status
from claimcheck.collectors.models import RunReport
from claimcheck.collectors.report.common import (
    ALL_FAILURES_HINT,
    GAP_LEGEND,
    MAX_CHANGED_LISTED,
    MAX_FAILURES_PER_PHASE,
    Redact,
    broken_claims,
    change_lists,
    change_summary,
    changes_baseline,
    claim_line,
    count_columns,
    duration_text,
    engine_notes,
    failures_of,
    files_not_named,
    finding_where,
    findings_by_kind,
    first_run_text,
    flaky_index,
    flaky_of,
    gap_cell_text,
    gap_notes,
    gap_phase_names,
    identity,
    iso_time,
    one_line,
    phase_note,
    provenance_text,
    rerun_text,
    service_detail,
    sources_text,
    total_counts,
)
from claimcheck.collectors.secrets import escape_line
from claimcheck.collectors.wording import plural
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

_STATUS_STYLE = {
    "green": "bold green", "passed": "green", "up": "green", "ok": "green",
    "red": "bold red", "failed": "red", "error": "red", "timeout": "red", "crashed": "red",
    "blocked": "red", "down": "red",
    "no-evidence": "bold yellow", "no-tests": "yellow", "degraded": "yellow",
    "interrupted": "bold magenta", "pending": "dim", "running": "cyan",
}
_CELL_STYLE = {"red": "red", "green": "green", "no-evidence": "yellow"}


def render_text(
    report: RunReport, *, color: bool = False, redactor: Redact | None = None, width: int = 100,
    max_failures: int = MAX_FAILURES_PER_PHASE,
) -> str:
    """The report for a person at a terminal or reading a CI log: verdict first, then why."""
    r = redactor or identity

    def safe(text: str | None) -> str:
        # Every field of this report is one line: a newline, escape or bidi override in a
        # test id shows as its escape, so it can neither hide text nor fake a line.
        return escape_line(r(text)) if text else ""

    console = Console(
        file=StringIO(), width=width, force_terminal=color, color_system="standard" if color
        else None, no_color=not color, markup=False, emoji=False, highlight=False,
        soft_wrap=False, legacy_windows=False, force_jupyter=False, force_interactive=False,
    )
    _text_verdict(console, report, safe)
    _text_broken_claims(console, report, safe)
    if report.changes is not None:
        _text_changes(console, report, safe)
    if report.phases:
        _text_phases(console, report, safe)
    if report.gaps:
        _text_gaps(console, report, safe)
    if report.findings:
        _text_findings(console, report, safe)
    if any(run.counts.failed or run.counts.error for run in report.phases):
        _text_failures(console, report, safe, max_failures)
    if report.services:
        _text_services(console, report, safe)
    if report.claims:
        _text_claims(console, report, safe)
    output: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in output.split("\n"))


def _styled(value: str) -> Text:
    return Text(value, style=_STATUS_STYLE.get(value, ""))


def _text_verdict(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    line = Text("claimcheck  ")
    line.append(f" {report.verdict.upper()} ", style=_STATUS_STYLE.get(report.verdict, "bold"))
    line.append(f"  exit {report.exit_code}")
    total = total_counts(report.phases)
    if report.phases:
        line.append(f"  ·  {plural(len(report.phases), 'phase')}: "
                    f"{total.passed} passed, {total.failed} failed, {plural(total.error, 'error')}, "
                    f"{total.skipped} skipped")
    if report.services:
        up = sum(1 for s in report.services if s.status == "up")
        line.append(f"  ·  services {up}/{len(report.services)} up")
    line.append(f"  ·  {duration_text(report.duration_s)}")
    console.print(line, soft_wrap=True)
    meta = Text(f"project {safe(report.project)}", style="dim")
    where = provenance_text(report)
    if where:
        meta.append(f"  ·  {safe(where)}")
    started = iso_time(report.started_at)
    if started:
        meta.append(f"  ·  started {started}")
    if report.tool_version:
        meta.append(f"  ·  claimcheck {safe(report.tool_version)}")
    console.print(meta, soft_wrap=True)
    origin = sources_text(report)
    if origin:
        console.print(Text(safe(origin), style="dim"), soft_wrap=True)
    for reason in report.reasons:
        console.print(Text(f"  why: {safe(reason)}"), soft_wrap=True)


def _text_broken_claims(console: Console, report: RunReport,
                        safe: Callable[[str | None], str]) -> None:
    """A broken claim is the loudest thing in the report: right under the verdict."""
    broken = broken_claims(report)
    if not broken:
        return
    console.print()
    title = Text(f" CLAIM BROKEN ({len(broken)}) ", style="bold white on red")
    console.print(title)
    for finding in broken:
        console.print(Text(f"  ✗ {safe(finding.message)}", style="bold red"), soft_wrap=True)


def _text_changes(console: Console, report: RunReport,
                  safe: Callable[[str | None], str]) -> None:
    """What changed since the previous runs on this branch, first thing after the verdict."""
    changes = report.changes
    assert changes is not None
    since = changes_baseline(changes)
    _section(console, f"What changed since {safe(since)}" if since else "What changed")
    if not changes.phases:
        console.print(Text("  nothing to compare: no phase ran"))
    elif not since:
        console.print(Text(f"  {safe(first_run_text(report))}"))
    for change in changes.phases if since else ():
        line = Text(f"  {safe(change.phase)}: ", style="bold")
        summary = change_summary(change)
        bad = change.newly_failing or change.disappeared or change.new_collection_errors or (
            change.baseline is not None and change.collected_now < change.collected_before)
        line.append(safe(summary), style="red" if bad else "")
        console.print(line, soft_wrap=True)
        for label, items in change_lists(change):
            for nodeid in items[:MAX_CHANGED_LISTED]:
                style = "green" if label.startswith(("newly passing", "collection error gone")) \
                    else "red"
                entry = Text(f"    {label}: ", style=style)
                entry.append(safe(nodeid))
                console.print(entry, soft_wrap=True)
            if len(items) > MAX_CHANGED_LISTED:
                console.print(Text(f"    ... and {len(items) - MAX_CHANGED_LISTED} more "
                                   f"{label}", style="dim"), soft_wrap=True)
    if changes.flaky:
        console.print(Text(f"  flaky ({len(changes.flaky)}):", style="bold yellow"))
        for test in changes.flaky[:MAX_CHANGED_LISTED]:
            entry = Text(f"    [{safe(test.phase)}] ", style="cyan")
            entry.append(safe(test.nodeid))
            entry.append(f" - {safe('; '.join(test.reasons))}", style="yellow")
            console.print(entry, soft_wrap=True)
        if len(changes.flaky) > MAX_CHANGED_LISTED:
            console.print(Text(f"    ... and {len(changes.flaky) - MAX_CHANGED_LISTED} more "
                               "(the JSON report marks every one)", style="dim"))


def _text_claims(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    _section(console, f"Claims ({len(report.claims)})")
    for check in report.claims:
        style = {"broken": "bold red", "stale": "yellow", "holding": "green"}.get(check.state, "")
        console.print(Text(f"  {safe(claim_line(check))}", style=style), soft_wrap=True)



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
    columns = count_columns(report)
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
                      duration_text(run.duration_s))
    console.print(table)
    _print_notes(console, ((run.name, run.status, phase_note(run)) for run in report.phases), safe)
    _print_notes(console, ((run.name, "", note) for run in report.phases
                           for note in engine_notes(run)), safe)



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
    names = gap_phase_names(report)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("gap", overflow="fold")
    table.add_column("status", no_wrap=True)
    for name in names:
        table.add_column(Text(safe(name)), justify="right", no_wrap=True)
    for row in report.gaps:
        label = Text(safe(row.name))
        if row.title and row.title != row.name:
            label.append(f"  {safe(row.title)}", style="dim")
        cells = []
        for name in names:
            cell = row.cells.get(name)
            style = _CELL_STYLE[cell_status(cell)]
            cells.append(Text(gap_cell_text(cell), style=style))
        table.add_row(label, _styled(row.status), *cells)
    console.print(table)
    notes = gap_notes(report.findings)  # what the gap's files hold: duplicates, old imports
    _print_notes(console, [(row.name, "degraded", "; ".join(notes[row.name]))
                           for row in report.gaps if row.name in notes], safe)
    console.print(Text(GAP_LEGEND, style="dim"))


def _text_findings(console: Console, report: RunReport, safe: Callable[[str | None], str]) -> None:
    _section(console, f"Findings ({len(report.findings)})")
    for kind, findings in findings_by_kind(report.findings).items():
        console.print(Text(f"{safe(kind)} ({len(findings)})", style="bold yellow"))
        for finding in findings:
            line = Text("  - ")
            if finding.phase:
                line.append(f"[{safe(finding.phase)}] ", style="cyan")
            where = finding_where(finding)
            if where:
                line.append(f"{safe(where)}: ", style="dim")
            line.append(safe(finding.message))  # its message says what it counts, in words
            console.print(line, soft_wrap=True)
            extra = files_not_named(finding)
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
    flaky = flaky_index(report)
    for run in report.phases:
        failures = failures_of(run)
        if not failures and not run.collection_errors:
            continue
        console.print(Text(f"{safe(run.name)}", style="bold"), soft_wrap=True)
        for error in run.collection_errors:
            line = Text("  ERROR collecting ", style="red")
            line.append(safe(error.path), style="")
            line.append(f" - {safe(error.error_type)}: {safe(one_line(error.message))}",
                        style="")
            console.print(line, soft_wrap=True)
        for test in failures[:cap]:
            line = Text("  FAILED " if test.outcome == "failed" else "  ERROR  ", style="red")
            line.append(safe(test.nodeid), style="bold")
            if test.reruns:
                line.append(f" ({rerun_text(test)})", style="yellow")
            elif (run.name, test.nodeid) in flaky:
                line.append(" (flaky)", style="yellow")
            message = one_line(test.message)
            if message:
                line.append(f" - {safe(message)}")
            console.print(line, soft_wrap=True)
        hidden = len(failures) - cap
        if hidden > 0:
            console.print(Text(f"  ... and {hidden} more ({ALL_FAILURES_HINT})", style="dim"),
                          soft_wrap=True)
    _text_flaky(console, report, safe, cap)


def _text_flaky(console: Console, report: RunReport, safe: Callable[[str | None], str],
                cap: int) -> None:
    """Passed, but only on a rerun: green evidence that someone should still look at."""
    flaky = [(run, test) for run in report.phases for test in flaky_of(run)]
    if not flaky:
        return
    _section(console, f"Flaky ({len(flaky)})")
    for run, test in flaky[:cap]:
        line = Text("  FLAKY  ", style="yellow")
        line.append(safe(test.nodeid), style="bold")
        line.append(f" [{safe(run.name)}] ({rerun_text(test)})")
        message = one_line(test.message)
        if message:
            line.append(f" - first failed: {safe(message)}")
        console.print(line, soft_wrap=True)
    if len(flaky) > cap:
        console.print(Text(f"  ... and {len(flaky) - cap} more ({ALL_FAILURES_HINT})",
                           style="dim"), soft_wrap=True)


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
    _print_notes(console, ((s.name, s.status, service_detail(s)) for s in report.services), safe)

