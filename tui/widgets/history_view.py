"""`h`: the run on screen over time: what changed since the last run, claims, trend per gap.

What changed and the claims come from the report on screen (its `changes` and `claims`, in the
words the text report uses: `report.common`); the trend per gap and the recent runs from the
history store, read on a thread (the runs of this branch, as `claimcheck history` lists them).
An empty history, history turned off, or a database that cannot be read each say so. When a
newer judgement arrives while the view is open, it is read again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from claimcheck.collectors.history import HistoryError, HistoryStore, RunSummary
from claimcheck.collectors.models import RunReport
from claimcheck.collectors.report.common import (
    MAX_CHANGED_LISTED,
    change_lists,
    change_summary,
    changes_baseline,
    claim_line,
    first_run_text,
)
from claimcheck.tui.history_cmd import TREND_MARK, changes_text, gap_trends
from claimcheck.tui.over_time import OverTime
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import Redact, data_text
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

RUNS_SHOWN = 20
TREND_TONES = {"green": "good", "red": "bad", "no-evidence": "muted"}
CLAIM_TONES = {"broken": "bad", "stale": "warn", "holding": "good"}


@dataclass(frozen=True)
class StoredRuns:
    """The recent runs of one branch, or why there are none to show."""

    path: Path | None
    branch: str | None
    runs: list[RunSummary] = field(default_factory=list)
    problem: str = ""  # the database could not be read


def read_runs(path: Path | None, branch: str | None, limit: int = RUNS_SHOWN) -> StoredRuns:
    """Blocking: the newest `limit` runs on `branch`, newest first."""
    if path is None or not path.exists():
        return StoredRuns(path, branch)
    try:
        with HistoryStore(path, create=False) as store:
            runs = store.recent_runs(limit=limit, branch=branch, any_branch=False)
    except (HistoryError, sqlite3.Error, OSError) as error:
        return StoredRuns(path, branch, problem=str(error))
    return StoredRuns(path, branch, runs)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


class HistoryScreen(Screen[None]):
    """What changed, the claims, the trend per gap and the recent runs. esc or q closes it."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    BINDINGS = [Binding("escape,q", "close", "back", key_display="esc/q")]

    def __init__(self, over_time: OverTime, report_of: Callable[[], RunReport | None],
                 redact: Redact | None = None) -> None:
        super().__init__()
        self.over_time = over_time
        self.report_of = report_of
        self.redact = redact
        self.report = report_of()
        self.stored: StoredRuns | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="history-body"):
            yield Static(id="history-title")
            yield Static(id="history-changes", classes="history-block")
            yield Static(id="history-claims", classes="history-block")
            yield Static(id="history-trend", classes="history-block")
            yield Static(id="history-runs", classes="history-block")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.palette = Palette(self)
        self.query_one("#history-body").focus()
        self._draw()
        self._load()
        self.set_interval(1.0, self._follow, name="follow the judgement")

    def _follow(self) -> None:
        """A newer judgement (a run ended and was recorded): show it and read again."""
        report = self.report_of()
        if report is not self.report and report is not None:
            self.report = report
            self._draw()
            self._load()

    @work(thread=True, group="history-view", exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        report = self.report
        provenance = report.provenance if report is not None else None
        if provenance is None:
            from claimcheck.collectors.session import provenance_of

            provenance = provenance_of(self.over_time.config)
        stored = read_runs(self.over_time.history, provenance.branch)
        self.app.call_from_thread(self._loaded, stored)

    def _loaded(self, stored: StoredRuns) -> None:
        self.stored = stored
        self._draw()

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        self.query_one("#history-title", Static).update(self.title_text())
        self.query_one("#history-changes", Static).update(self.changes_text())
        claims = self.claims_text()
        block = self.query_one("#history-claims", Static)
        block.display = claims is not None
        if claims is not None:
            block.update(claims)
        self.query_one("#history-trend", Static).update(self.trend_text())
        self.query_one("#history-runs", Static).update(self.runs_text())

    def _data(self, text: str | None, style: object = "") -> Text:
        """Text from a run (names, ids, paths): verbatim, redacted, a line of its own."""
        line = data_text(text, style, self.redact)  # type: ignore[arg-type]
        line.end = "\n"  # data_text's pieces join up; in a Group each is a line
        return line

    def title_text(self) -> Text:
        text = Text("history", "bold")
        path = self.over_time.history
        muted = self.palette("muted")
        if path is None:
            text.append("  off (--no-history): runs are neither recorded nor compared", muted)
        else:
            text.append("  ")
            text.append_text(self._data(str(path), muted))
        stored = self.stored
        if stored is not None:
            text.append("  branch ", muted)
            text.append_text(self._data(stored.branch or "detached", "bold"))
        if self.over_time.opened is not None:
            text.append("\nthis report was opened from a file and is not recorded "
                        "(claimcheck history import FILE adds it)", muted)
        return text

    def changes_text(self) -> RenderableType:
        heading = Text("What changed", "bold underline")
        report = self.report
        muted = self.palette("muted")
        changes = report.changes if report is not None else None
        if changes is None:
            return Group(heading, Text(f"  {self._why_not_compared(report)}", muted))
        since = changes_baseline(changes)
        if since:
            heading.append_text(self._data(f" since {since}", "bold underline"))
        lines: list[RenderableType] = [heading]
        if not changes.phases:
            lines.append(Text("  nothing to compare: no phase ran", muted))
        elif not since:
            lines.append(self._data(f"  {first_run_text(changes)}", muted))
        for change in changes.phases if since else ():
            bad = change.newly_failing or change.disappeared or change.new_collection_errors or (
                change.baseline is not None and change.collected_now < change.collected_before)
            line = self._data(f"  {change.phase}: ", "bold")
            line.append_text(self._data(change_summary(change),
                                        self.palette("bad") if bad else ""))
            lines.append(line)
            for label, items in change_lists(change):
                good = label.startswith(("newly passing", "collection error gone"))
                tone = self.palette("good" if good else "bad")
                for item in items[:MAX_CHANGED_LISTED]:
                    entry = Text(f"    {label}: ", tone)
                    entry.append_text(self._data(item))
                    lines.append(entry)
                if len(items) > MAX_CHANGED_LISTED:
                    lines.append(Text(f"    … and {len(items) - MAX_CHANGED_LISTED} more "
                                      f"{label}", muted))
        if changes.flaky:
            lines.append(Text(f"  flaky ({len(changes.flaky)}):", self.palette("notice")))
            for test in changes.flaky[:MAX_CHANGED_LISTED]:
                entry = self._data(f"    [{test.phase}] ", muted)
                entry.append_text(self._data(test.nodeid))
                entry.append_text(self._data(f" - {'; '.join(test.reasons)}",
                                             self.palette("warn")))
                lines.append(entry)
        return Group(*lines)

    def _why_not_compared(self, report: RunReport | None) -> str:
        if report is None:
            return "no run judged yet: once the phases have run, this says what changed"
        if not self.over_time.enabled:
            return ("a report opened from a file carries no comparison here "
                    "(claimcheck history import FILE compares it with this history)")
        if self.over_time.history is None:
            return "not compared: history is off (--no-history)"
        if self.over_time.judged_is_old or self.over_time.judged is None:
            return "the run on screen is compared once its phases have run"
        return "not compared: the history could not be used (see the warning)"

    def claims_text(self) -> RenderableType | None:
        report = self.report
        if report is None or not report.claims:
            return None
        lines: list[RenderableType] = [Text(f"Claims ({len(report.claims)})", "bold underline")]
        for check in report.claims:
            tone = self.palette(CLAIM_TONES.get(check.state, "muted"))
            lines.append(self._data(f"  {claim_line(check)}", tone))
        return Group(*lines)

    def trend_text(self) -> RenderableType:
        heading = Text("Trend per gap", "bold underline")
        heading.append(f", oldest to newest ({TREND_MARK['green']} green, {TREND_MARK['red']} "
                       f"red, {TREND_MARK['no-evidence']} no evidence, blank: not in that run)")
        stored = self.stored
        muted = self.palette("muted")
        if stored is None:
            return Group(heading, Text("  reading the history…", muted))
        if stored.problem:
            return Group(heading, self._data(f"  the history cannot be read: {stored.problem}",
                                             self.palette("bad")))
        if not stored.runs:
            where = stored.path if stored.path is not None else "the history"
            return Group(heading, self._data(
                f"  no runs recorded yet on this branch in {where}: every run of the command "
                "center and of claimcheck --report is recorded there", muted))
        trends = gap_trends(stored.runs)
        if not trends:
            return Group(heading, Text("  no gap in these runs", muted))
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        for gap, statuses in trends.items():
            marks = Text()
            for status in statuses:
                marks.append(TREND_MARK.get(status, " ") if status else " ",
                             self.palette(TREND_TONES.get(status or "", "muted")))
            last = next((status for status in reversed(statuses) if status), "")
            table.add_row(self._data(f"  {gap}", "bold"), marks,
                          Text(last, self.palette(TREND_TONES.get(last, "muted"))))
        return Group(heading, table)

    def runs_text(self) -> RenderableType:
        stored = self.stored
        if stored is None or not stored.runs:
            return Text("")
        heading = Text(f"Recent runs on this branch ({len(stored.runs)}, newest first)",
                       "bold underline")
        table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
        for column in ("id", "when (UTC)", "commit", "scope", "verdict", "pass", "fail", "err",
                       "coll."):
            table.add_column(column, no_wrap=True,
                             justify="right" if column in ("pass", "fail", "err", "coll.")
                             else "left")
        table.add_column("changes")
        for run in stored.runs:
            verdict = run.verdict or run.state
            commit = (run.ref.commit[:7] if run.ref.commit else "-") + (
                " dirty" if run.ref.dirty else "")
            totals = run.totals
            table.add_row(str(run.ref.run_id), _when(run.ref.started_at), commit, run.scope,
                          Text(verdict, self.palette(verdict if verdict in
                                                     ("green", "red") else "muted")),
                          str(totals["passed"]), str(totals["failed"]), str(totals["error"]),
                          str(totals["collected"]), self._data(changes_text(run)))
        return Group(heading, table)

    def action_close(self) -> None:
        self.dismiss(None)
