"""Markdown: issues, pull requests, GitHub job summaries."""

from __future__ import annotations

import re
from typing import Sequence

from claimcheck.collectors.models import RunReport
from claimcheck.collectors.report.common import (
    ALL_FAILURES_HINT,
    GAP_LEGEND,
    MAX_FAILURES_PER_PHASE,
    Redact,
    count_columns,
    duration_text,
    failures_of,
    files_not_named,
    finding_where,
    findings_by_kind,
    gap_cell_text,
    gap_phase_names,
    identity,
    iso_time,
    one_line,
    phase_note,
    provenance_text,
    service_detail,
    title_adds_words,
)
from claimcheck.collectors.secrets import escape_control, escape_line
from claimcheck.collectors.verdict import verdict_reasons

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


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


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
    out.append(" · ".join(meta))
    _, _, why = verdict_reasons(report.phases, report.services,
                                interrupted=report.verdict == "interrupted")
    if why:
        out.append("")
        out.extend(f"- {esc(reason)}" for reason in why)

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

    if report.gaps:
        names = gap_phase_names(report)
        out += ["", "### Gaps x phases", ""]
        out.append(_md_row(["gap", "status"] + [esc(name) for name in names]))
        out.append(_md_row(["---", "---"] + ["---:"] * len(names)))
        for row in report.gaps:
            label = esc(row.name)
            if title_adds_words(row):
                label += f" ({esc(row.title)})"
            cells = [esc(gap_cell_text(row.cells.get(name))) for name in names]
            out.append(_md_row([label, esc(row.status)] + cells))
        out += ["", f"_{md_escape(GAP_LEGEND)}_"]

    if report.findings:
        out += ["", "### Findings", ""]
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

    failing = sum(run.counts.failed + run.counts.error for run in report.phases)
    if failing:
        out += ["", "<details>", f"<summary>Failures ({failing})</summary>", ""]
        for run in report.phases:
            failures = failures_of(run)
            if not failures and not run.collection_errors:
                continue
            out.append(f"**{esc(run.name)}**")
            out.append("")
            for error in run.collection_errors:
                out.append(f"- ERROR collecting {md_code(r(error.path))}: "
                           f"{esc(error.error_type)}: {esc(one_line(error.message))}")
            for test in failures[:max_failures]:
                label = "FAILED" if test.outcome == "failed" else "ERROR"
                message = one_line(test.message)
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
                md_code(r(sample.url), in_table=True), esc(service_detail(sample)),
            ]))
    return "\n".join(out) + "\n"

