"""`claimcheck history` (recent runs, what changed, a trend per gap) and `history import`."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

from claimcheck.collectors.history import HistoryError, HistoryStore, RunSummary
from claimcheck.collectors.readers import ReportFileError, read_report
from claimcheck.collectors.recording import history_location, import_report
from claimcheck.collectors.rejudge import judge_opened
from claimcheck.collectors.secrets import strip_control
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options
from claimcheck.tui.verify_cmd import load

TREND_MARK = {"green": "✓", "red": "✗", "no-evidence": "·"}
CHANGE_LABELS = (
    ("newly_failing", "newly failing"), ("disappeared", "disappeared"),
    ("new_collection_errors", "new collection errors"), ("newly_passing", "newly passing"),
    ("gone_collection_errors", "collection errors gone"), ("still_failing", "still failing"),
)


def run_history(options: Options) -> int:
    config = load(options)
    if isinstance(config, int):
        return config
    history = history_location(config.root, options.history, options.no_history)
    if history is None:
        print("claimcheck: history needs the history database; drop --no-history",
              file=sys.stderr)
        return ExitCode.USAGE
    if options.history_action == "import":
        return _import(config, history, options.files)
    if options.files:
        print(f"claimcheck history: error: unexpected argument {str(options.files[0])!r} "
              "(did you mean `history import`?)", file=sys.stderr)
        return ExitCode.USAGE
    if options.limit < 1:
        print("claimcheck history: error: --limit must be at least 1", file=sys.stderr)
        return ExitCode.USAGE
    if not history.exists():
        print(f"claimcheck: no runs recorded yet in {history}", file=sys.stderr)
        if options.list_format == "json":
            sys.stdout.write(json.dumps({"history": str(history), "runs": [], "gaps": {}}) + "\n")
        return ExitCode.GREEN
    try:
        with HistoryStore(history, create=False) as store:
            runs = store.recent_runs(limit=options.limit)
    except (HistoryError, sqlite3.Error) as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    trends = gap_trends(runs)
    if options.list_format == "json":
        sys.stdout.write(json.dumps(history_document(history, runs, trends), indent=2) + "\n")
    else:
        sys.stdout.write(render_history(history, runs, trends))
    return ExitCode.GREEN


def _import(config, history: Path, files: list[Path]) -> int:
    if not files:
        print("claimcheck history import: error: name at least one REPORT.json",
              file=sys.stderr)
        return ExitCode.USAGE
    reports = []
    for path in files:
        # The same readers as --open and merge: claimcheck JSON, pytest-json-report, JUnit XML,
        # judged with this project's gaps.
        try:
            read = read_report(path, label=str(path), project_root=config.root)
            raw = Path(path).read_bytes()
        except ReportFileError as error:
            print(f"claimcheck: {error}", file=sys.stderr)
            return ExitCode.USAGE
        except OSError as error:
            print(f"claimcheck: {path}: cannot be read: {error.strerror}", file=sys.stderr)
            return ExitCode.USAGE
        reports.append((path, judge_opened(config, read), raw))
    reports.sort(key=lambda entry: entry[1].started_at)  # compare each with what came before

    def warn(text: str) -> None:
        print(f"claimcheck: warning: {text}", file=sys.stderr)

    try:
        with HistoryStore(history, warn=warn) as store:
            for path, report, raw in reports:
                digest = hashlib.sha256(raw).hexdigest()
                existing = store.has_source(digest)
                if existing is not None:
                    print(f"claimcheck: {path}: already imported (run {existing})",
                          file=sys.stderr)
                    continue
                judged = import_report(store, config, report, source=str(path), digest=digest)
                source = report.provenance
                where = (f"{source.branch or 'detached'} @ {source.short_commit}"
                         if source and source.commit else "no commit")
                print(f"claimcheck: {path}: imported as run {judged.history_id} ({where}, "
                      f"{judged.verdict})", file=sys.stderr)
    except (HistoryError, sqlite3.Error, OSError) as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.GREEN


def gap_trends(runs: list[RunSummary]) -> dict[str, list[str | None]]:
    """Gap -> its status in each listed run, oldest first (None: not in that run)."""
    oldest_first = list(reversed(runs))
    names: list[str] = []
    for run in oldest_first:
        names.extend(name for name in run.gaps if name not in names)
    return {name: [run.gaps.get(name) for run in oldest_first] for name in names}


def changes_text(run: RunSummary) -> str:
    parts = [f"{run.changes[key]} {label}" for key, label in CHANGE_LABELS
             if run.changes.get(key)]
    if run.changes.get("collected_drop"):
        parts.append(f"{run.changes['collected_drop']} fewer collected")
    if run.flaky:
        parts.append(f"{run.flaky} flaky")
    return ", ".join(parts) or "-"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def render_history(history: Path, runs: list[RunSummary],
                   trends: dict[str, list[str | None]]) -> str:
    if not runs:
        return f"no runs recorded yet in {history}\n"
    rows = [("id", "when (UTC)", "where", "scope", "verdict", "pass", "fail", "err", "coll.",
             "changes")]
    for run in runs:
        where = f"{run.ref.branch or 'detached'} @ {run.ref.short_commit[:7]}"
        if run.ref.dirty:
            where += " (dirty)"
        verdict = run.verdict or run.state
        if run.state in ("abandoned", "running", "interrupted") and run.verdict != run.state:
            verdict = run.state if not run.verdict else f"{run.verdict} ({run.state})"
        t = run.totals
        rows.append((str(run.ref.run_id), _when(run.ref.started_at), where, run.scope, verdict,
                     str(t["passed"]), str(t["failed"]), str(t["error"]), str(t["collected"]),
                     changes_text(run)))
    widths = [max(len(strip_control(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"runs in {history} (newest first)"]
    for row in rows:
        cells = [strip_control(cell).ljust(width) for cell, width in zip(row, widths)]
        lines.append("  " + "  ".join(cells) + "  " + strip_control(row[-1]))
    if trends:
        lines += ["", f"trend per gap, oldest to newest ({TREND_MARK['green']} green, "
                      f"{TREND_MARK['red']} red, {TREND_MARK['no-evidence']} no evidence, "
                      "blank: not in that run):"]
        width = max(len(name) for name in trends)
        for name, statuses in trends.items():
            marks = "".join(TREND_MARK.get(status, " ") if status else " "
                            for status in statuses)
            lines.append(f"  {strip_control(name).ljust(width)}  {marks}")
    return "\n".join(lines) + "\n"


def history_document(history: Path, runs: list[RunSummary],
                     trends: dict[str, list[str | None]]) -> dict:
    return {
        "history": str(history),
        "runs": [{
            "id": run.ref.run_id,
            "started_at": datetime.fromtimestamp(run.ref.started_at, tz=timezone.utc)
            .isoformat(timespec="seconds"),
            "commit": run.ref.commit, "branch": run.ref.branch, "dirty": run.ref.dirty,
            "host": run.host, "scope": run.scope, "state": run.state, "verdict": run.verdict,
            "exit_code": run.exit_code, "duration_s": run.duration_s, "source": run.source,
            "totals": run.totals, "changes": {**run.changes, "flaky": run.flaky},
            "gaps": run.gaps,
        } for run in runs],
        "gaps": trends,
    }
