"""Markdown: issues, pull requests, GitHub job summaries."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from claimcheck.collectors.depmap_render import render_mermaid
from claimcheck.collectors.models import GapRow, RunReport
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
)
from claimcheck.collectors.secrets import escape_control, escape_line

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~&!])")
_VERDICT_MARK = {"green": "✅", "red": "❌", "no-evidence": "⚠️", "interrupted": "⏹️"}


def md_escape(text: str) -> str:
    """Text that renders as typed inside a table cell or list item, on one line."""
    flat = " ".join(escape_control(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str, *, in_table: bool = False) -> str:
    """A code span that holds any text: the fence is longer than any backtick run inside.

    In a GFM table `|` still splits cells inside a code span, so it is escaped there.
    """
    flat = escape_line(text)  # ids and paths: `a\nb` and `a b` stay two
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _open_then_folded(lines: list[str], shown: int) -> list[str]:
    """The first `shown` lines as they are, the rest behind one `<details>` (a list stays a
    list on both sides: a blank line before and after the HTML block)."""
    if len(lines) <= shown:
        return lines
    rest = lines[shown:]
    return [*lines[:shown], "", "<details>",
            f"<summary>{len(rest)} more lines</summary>", "", *rest, "", "</details>"]


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


OPEN_FAILURE_LINES = 12  # failure lines shown open; the rest are one click away


def gap_label(row: GapRow, esc: Callable[[str], str]) -> str:
    """Every gap the same way: its title, then its name (what `verify` takes) when it differs."""
    if row.title and row.title != row.name:
        return f"{esc(row.title)} ({md_code(row.name, in_table=True)})"
    return md_code(row.name, in_table=True)


def render_markdown(
    report: RunReport, *, redactor: Redact | None = None,
    max_failures: int = MAX_FAILURES_PER_PHASE,
) -> str:
    """A summary to paste into an issue or PR, or to append to $GITHUB_STEP_SUMMARY."""
    r = redactor or identity

    def esc(text: str | None) -> str:
        return md_escape(r(text)) if text else ""

    out: list[str] = []
    mark = _VERDICT_MARK.get(report.verdict, "")
    out.append(f"## claimcheck: {mark} {esc(report.verdict)} (exit {report.exit_code})")
    out.append("")
    meta = [f"project {md_code(r(report.project))}", f"{duration_text(report.duration_s)}"]
    where = provenance_text(report)
    if where:
        meta.append(esc(where))
    started = iso_time(report.started_at)
    if started:
        meta.append(f"started {started}")
    if report.tool_version:
        meta.append(f"claimcheck {esc(report.tool_version)}")
    origin = sources_text(report)
    if origin:
        meta.append(esc(origin))
    out.append(" · ".join(meta))
    if report.reasons:
        out.append("")
        out.extend(f"- {esc(reason)}" for reason in report.reasons)

    broken = broken_claims(report)
    if broken:
        out += ["", "> [!CAUTION]", f"> **Claim broken ({len(broken)})**"]
        out.extend(f"> - ❌ {esc(finding.message)}" for finding in broken)

    if report.changes is not None:
        out += _md_changes(report, esc, r)

    if report.phases:
        out += ["", "### Phases", ""]
        columns = count_columns(report)
        out.append(_md_row(["phase", "status", *(header for header, _ in columns), "time",
                            "note"]))
        out.append(_md_row(["---", "---"] + ["---:"] * (len(columns) + 1) + ["---"]))
        for run in report.phases:
            out.append(_md_row([
                esc(run.name), esc(run.status),
                *(str(getattr(run.counts, field)) for _, field in columns),
                duration_text(run.duration_s), esc(phase_note(run)),
            ]))
        notes = [(run.name, note) for run in report.phases for note in engine_notes(run)]
        if notes:
            out.append("")
            out.extend(f"- {esc(name)}: {esc(note)}" for name, note in notes)

    if report.gaps:
        names = gap_phase_names(report)
        out += ["", "### Gaps x phases", ""]
        out.append(_md_row(["gap", "status"] + [esc(name) for name in names]))
        out.append(_md_row(["---", "---"] + ["---:"] * len(names)))
        for row in report.gaps:
            label = gap_label(row, esc)
            cells = [esc(gap_cell_text(row.cells.get(name))) for name in names]
            out.append(_md_row([label, esc(row.status)] + cells))
        notes = gap_notes(report.findings)
        noted = [row for row in report.gaps if row.name in notes]
        if noted:
            out.append("")
            out.extend(f"- **{esc(row.name)}**: {esc('; '.join(notes[row.name]))}"
                       for row in noted)
        out += ["", f"_{md_escape(GAP_LEGEND)}_"]

    if report.findings:
        out += ["", f"### Findings ({len(report.findings)})", ""]
        for kind, findings in findings_by_kind(report.findings).items():
            out.append(f"- **{esc(kind)}** ({len(findings)})")
            for finding in findings:
                bits = []
                if finding.phase:
                    bits.append(f"\\[{esc(finding.phase)}\\]")
                where = finding_where(finding)
                if where:
                    bits.append(md_code(r(where)))
                bits.append(esc(finding.message))
                extra = files_not_named(finding)
                if extra:
                    shown = ", ".join(md_code(r(f)) for f in extra[:10])
                    more = f" and {len(extra) - 10} more" if len(extra) > 10 else ""
                    bits.append(f"(files: {shown}{more})")
                out.append("  - " + " ".join(bits))

    flaky = flaky_index(report)
    failing = sum(run.counts.failed + run.counts.error for run in report.phases)
    if failing:
        out += ["", f"### Failures ({failing})", ""]
        lines: list[str] = []
        for run in report.phases:
            failures = failures_of(run)
            if not failures and not run.collection_errors:
                continue
            lines.append(f"**{esc(run.name)}**")
            for error in run.collection_errors:
                lines.append(f"- ERROR collecting {md_code(r(error.path))}: "
                             f"{esc(error.error_type)}: {esc(one_line(error.message))}")
            for test in failures[:max_failures]:
                label = "FAILED" if test.outcome == "failed" else "ERROR"
                message = one_line(test.message)
                tail = f" — {esc(message)}" if message else ""
                if test.reruns:
                    mark = f" ({esc(rerun_text(test))})"
                else:
                    mark = " _(flaky)_" if (run.name, test.nodeid) in flaky else ""
                lines.append(f"- {label} {md_code(r(test.nodeid))}{mark}{tail}")
            hidden = len(failures) - max_failures
            if hidden > 0:
                lines.append(f"- … and {hidden} more ({esc(ALL_FAILURES_HINT)})")
        out += _open_then_folded(lines, OPEN_FAILURE_LINES)

    if report.dependency_map is not None and report.dependency_map.nodes:
        out += ["", "### Map", "", "```mermaid",
                render_mermaid(report.dependency_map, redactor=r).rstrip("\n"), "```"]

    flaky = [(run, test) for run in report.phases for test in flaky_of(run)]
    if flaky:
        out += ["", "<details>", f"<summary>Flaky ({len(flaky)})</summary>", ""]
        for run, test in flaky[:max_failures]:
            message = one_line(test.message)
            tail = f" — first failed: {esc(message)}" if message else ""
            out.append(f"- FLAKY {md_code(r(test.nodeid))} \\[{esc(run.name)}\\] "
                       f"({esc(rerun_text(test))}){tail}")
        if len(flaky) > max_failures:
            out.append(f"- … and {len(flaky) - max_failures} more ({esc(ALL_FAILURES_HINT)})")
        out += ["", "</details>"]

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
                md_code(r(sample.url), in_table=True), esc(service_detail(sample)),
            ]))

    if report.claims:
        out += ["", f"### Claims ({len(report.claims)})", ""]
        icon = {"holding": "✅", "broken": "❌", "stale": "⚠️", "unchecked": "…"}
        out.extend(f"- {icon.get(c.state, '')} {esc(claim_line(c))}" for c in report.claims)
    return "\n".join(out) + "\n"


def _md_changes(report: RunReport, esc: Callable[[str | None], str],
                r: Redact) -> list[str]:
    """What changed, right after the verdict: a line per phase, the ids behind it folded."""
    changes = report.changes
    assert changes is not None
    since = changes_baseline(changes)
    out = ["", f"### What changed since {esc(since)}" if since else "### What changed", ""]
    if not changes.phases:
        out.append("- nothing to compare: no phase ran")
    elif not since:
        out.append(f"- {esc(first_run_text(report))}")
    for change in changes.phases if since else ():
        out.append(f"- **{esc(change.phase)}**: {esc(change_summary(change))}")
        for label, items in change_lists(change):
            shown = ", ".join(md_code(r(item)) for item in items[:MAX_CHANGED_LISTED])
            more = (f" and {len(items) - MAX_CHANGED_LISTED} more"
                    if len(items) > MAX_CHANGED_LISTED else "")
            out.append(f"  - {esc(label)}: {shown}{more}")
    if changes.flaky:
        out.append(f"- **flaky** ({len(changes.flaky)})")
        for test in changes.flaky[:MAX_CHANGED_LISTED]:
            out.append(f"  - \\[{esc(test.phase)}\\] {md_code(r(test.nodeid))}: "
                       f"{esc('; '.join(test.reasons))}")
        if len(changes.flaky) > MAX_CHANGED_LISTED:
            out.append(f"  - … and {len(changes.flaky) - MAX_CHANGED_LISTED} more")
    return out

