"""Beside the gap matrix: what a gap's files hold that no test shows.

A gap whose files define a single-source name more than once, or import a module that says it
is deprecated, gets a line here in the report's own words (`report.common.gap_notes`, the text
report prints the same lines under its matrix): "⚠ websocket-interface: duplicate definition:
WebSocketManager". Hidden when no gap has a note; at most a few lines, the rest counted, and on
a short screen all on one line (the map view, `m`, lists every note in full).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import Redact, data_text
from rich.text import Text
from textual.widgets import Static

SHOWN = 2


class GapNotes(Static):
    """One line per gap with notes: the gap's name, then its notes."""


    def __init__(self, redact: Redact | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.redact = redact
        self.notes: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        self.display = False

    def show_notes(self, notes: Mapping[str, Sequence[str]]) -> None:
        shown = {gap: tuple(items) for gap, items in notes.items() if items}
        if shown == self.notes:
            return
        self.notes = shown
        self.display = bool(shown)
        self.refresh(layout=True)

    def render(self) -> Text:
        """One line per gap; on a short screen (80x24) one line for all, cut at the width."""
        palette = Palette(self)
        short = self.screen.has_class("-short") if self.is_attached else False
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        items = list(self.notes.items())
        for index, (gap, notes) in enumerate(items if short else items[:SHOWN]):
            if index:
                text.append("  ·  " if short else "\n")
            if not index or not short:
                text.append("⚠ ", palette("notice"))
            text.append_text(data_text(gap, "bold", self.redact, one_line=True))
            text.append_text(data_text(": " + "; ".join(notes), palette("warn"), self.redact,
                                       one_line=True))
        more = len(items) - SHOWN
        if more > 0 and not short:
            text.append(f"\n{more} more gap{'s' if more != 1 else ''} with notes: m shows the map",
                        palette("muted"))
        return text
