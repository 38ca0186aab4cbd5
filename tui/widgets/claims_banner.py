"""A broken claim, above everything else: the gap, who claimed it fixed and how it is red.

A claim in `claims.toml` says a gap was fixed; when a later run finds the gap red again the
judge makes a `claim-broken` finding, and this banner puts its words at the very top of the
screen, in the verdict's red, on as many lines as they need at 80 columns ("auth: claimed fixed
on 2026-12-01 at 81c0a1f by ev-3f2a9c (Ada); red since 9d2e11a: 2 failing (unit 2)"). While a
rerun is under way it keeps saying what the last judged run found, and says so.

Hidden while no claim is broken. On a short screen (`compact`) it keeps to one line, cut with an
ellipsis, so the failures below keep their room; the findings panel (4) has the whole text.
"""

from __future__ import annotations

from typing import Sequence

from claimcheck.collectors.models import Finding
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import Redact, data_text
from rich.text import Text
from textual.widgets import Static

SHOWN = 2  # broken claims spelled out; the rest are counted (all are first in the findings)


class ClaimsBanner(Static):
    """`✖ CLAIM BROKEN` and the claim-broken findings' words; hidden when there are none."""


    def __init__(self, redact: Redact | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.redact = redact
        self.broken: tuple[Finding, ...] = ()
        self.stale = False
        self.compact = False  # one line, cut: a short screen

    def set_compact(self, compact: bool) -> None:
        """One line on a short screen, as many as the words need otherwise."""
        if compact != self.compact:
            self.compact = compact
            self.set_class(compact, "-compact")
            if self.broken:
                self.update(self.text())

    def on_mount(self) -> None:
        self.display = False

    def show_broken(self, broken: Sequence[Finding], *, stale: bool = False) -> None:
        """Show these claim-broken findings; `stale`: from the last run, a rerun is under way."""
        broken = tuple(broken)
        if broken == self.broken and stale == self.stale:
            return
        self.broken, self.stale = broken, stale
        self.display = bool(broken)
        if broken:
            self.update(self.text())

    def text(self) -> Text:
        palette = Palette(self)
        count = len(self.broken)
        label = " CLAIM BROKEN " if count == 1 else f" {count} CLAIMS BROKEN "
        text = Text.assemble(("✖" + label, palette("badge-red")), " ")
        for index, finding in enumerate(self.broken[:SHOWN]):
            if index:
                text.append(" · " if self.compact else "\n")
            text.append_text(data_text(finding.message, "bold", self.redact, one_line=True))
        more = count - SHOWN
        tail = []
        if more > 0:
            tail.append(f"{more} more in the findings (4)")
        if self.stale:
            tail.append("as of the last run; rerunning")
        if self.compact:
            tail.insert(0, "whole in the findings (4)")
        if tail:
            text.append((" · " if self.compact else "\n") + "; ".join(tail), palette("muted"))
        if self.compact:
            text.no_wrap, text.overflow = True, "ellipsis"
        return text
