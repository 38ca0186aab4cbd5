"""Which failures the failure list shows, and when new rows reach it.

The list draws only what is in view, but every batch of rows still costs a repaint of the
panel, so while results stream the rows are queued and applied in bigger, rarer batches: at
most every `TABLE_INTERVAL_S`, and not within `KEY_QUIET_S` of a key press, whose answer must
not wait behind a repaint. The count in the panel's title follows every frame.

Two filters narrow the list: a gap (and phase) chosen on the matrix, and the `/` text, a
case-insensitive substring of the node id or the message.
"""

from __future__ import annotations

import time
from typing import Callable

from claimcheck.collectors.live import LiveEvidence
from claimcheck.collectors.models import TestResult
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import data_text
from claimcheck.tui.widgets.failures import FailureList, failure_key
from rich.text import Text

TABLE_INTERVAL_S = 0.5  # the failure table is touched at most this often while streaming
KEY_QUIET_S = 0.3  # ...and not within this long after a key press


class FailureFeed:
    """The failures that pass the filters, fed to one `FailureList` in batches."""

    def __init__(self, evidence: LiveEvidence, widget: FailureList, palette: Palette,
                 title: Callable[[], Text]) -> None:
        self.evidence = evidence
        self.widget = widget
        self.palette = palette
        self.title = title  # "[3] failures": the panel's title before the counts
        self.text = ""  # the `/` filter
        self.gap: tuple[str, str | None] | None = None  # (gap, phase or None) from the matrix
        self.matching = 0  # failures that pass the filters
        self.key_at = 0.0  # when the last key was pressed (monotonic)
        self._added: list[str] = []  # failure keys waiting for the table
        self._removed: list[str] = []
        self._flushed_at = 0.0

    @property
    def filtered(self) -> bool:
        return self.gap is not None or bool(self.text)

    def matches(self, result: TestResult) -> bool:
        if self.gap is not None:
            gap, phase = self.gap
            if phase is not None and result.phase != phase:
                return False
            if gap not in self.evidence.gaps_of(result):
                return False
        if self.text:
            needle = self.text.lower()
            return needle in result.nodeid.lower() or needle in (result.message or "").lower()
        return True

    def queue(self, added: list[TestResult], removed: list[str]) -> None:
        """Count failures now; apply the rows when the table is due."""
        self._removed.extend(removed)
        for result in added:
            key = failure_key(result.phase, result.nodeid)
            (self._added if self.matches(result) else self._removed).append(key)
        failures = self.evidence.failures
        self.matching = (sum(1 for result in failures.values() if self.matches(result))
                         if self.filtered else len(failures))
        self.retitle()
        if self._due():
            self.flush()

    def _due(self) -> bool:
        now = time.monotonic()
        return (now - self._flushed_at >= TABLE_INTERVAL_S
                and now - self.key_at >= KEY_QUIET_S)

    def on_timer(self) -> None:
        """Rows still queued go in once the table is due."""
        if (self._added or self._removed) and self._due():
            self.flush()

    def flush(self) -> None:
        """Apply the queued rows to the table in one go."""
        if not (self._added or self._removed):
            return
        widget, failures = self.widget, self.evidence.failures
        for key in self._removed:
            result = failures.get(key)
            if result is None or not self.matches(result):
                widget.discard(key, self.matching)
        fresh = [failures[key] for key in dict.fromkeys(self._added)
                 if key in failures and self.matches(failures[key])]
        self._added, self._removed = [], []
        widget.extend(fresh, self.matching)
        self._flushed_at = time.monotonic()

    def reset(self, *, to_top: bool = False) -> None:
        """List the failures that pass the filters again; `to_top` (a filter changed) puts
        the cursor on the first match."""
        matching = [result for result in self.evidence.failures.values() if self.matches(result)]
        self.matching = len(matching)
        self._added, self._removed = [], []
        self._flushed_at = time.monotonic()
        widget = self.widget
        widget.set_empty_note("nothing matches the filter (esc clears it)" if self.filtered
                              else "no failed or errored test so far")
        widget.reset(matching, self.matching, to_top=to_top)
        self.retitle()

    def retitle(self) -> None:
        """"[3] failures (11)", or "(2 of 11)  gap auth × unit  /token" while filtered."""
        notice, muted = self.palette("notice"), self.palette("muted")
        total = len(self.evidence.failures)
        title = self.title()
        if self.filtered:
            title.append(f" ({self.matching:,} of {total:,})")
            if self.gap is not None:
                gap, phase = self.gap
                title.append("  gap ", muted)
                title.append_text(data_text(gap, notice))
                if phase:
                    title.append(" × ", muted)
                    title.append_text(data_text(phase, notice))
            if self.text:
                title.append("  /", muted)
                title.append_text(data_text(self.text, notice))
        elif total:
            title.append(f" ({total:,})")
        self.widget.border_title = title
