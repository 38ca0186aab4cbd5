"""Each service's status now, how long it has been that way, and the last few probes.

Drawn as a small list rather than a table: the detail of a service that is not up (the one
thing someone needs to read) gets its own wrapped line instead of being cut off in the last
column of a narrow side panel. Keeps a short history per service (a latency sparkline coloured
by status, × for down) because "it was flapping" is evidence too.

Focused, it has a cursor (the arrows, j/k, g/G): `c` copies the highlighted service's URL, its
status and detail.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from claimcheck.collectors.models import ServiceSample
from claimcheck.tui.widgets._keys import LIST_KEYS
from claimcheck.tui.widgets._palette import Palette, StyleOf
from claimcheck.tui.widgets._text import Clip, Redact, data_text, duration
from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.widgets import Static

HISTORY = 20
BARS = "▁▂▃▄▅▆▇█"
TONES = {"up": "good", "degraded": "warn", "down": "bad"}  # the status's colour, not bold
MARKS = {"up": "●", "degraded": "◐", "down": "○"}
DETAIL_PREFIX = "  └ "


@dataclass
class _Track:
    status: str
    changed_at: float
    samples: deque[ServiceSample] = field(default_factory=lambda: deque(maxlen=HISTORY))


def sparkline(samples: list[ServiceSample], palette: StyleOf) -> Text:
    """Latency bars scaled to the worst recent probe; × where the service was down."""
    latencies = [s.latency_ms for s in samples if s.latency_ms is not None]
    top = max(latencies) if latencies else 0.0
    text = Text(no_wrap=True, end="")
    for sample in samples:
        style = palette(TONES.get(sample.status, ""))
        if sample.status == "down" or sample.latency_ms is None:
            text.append("×" if sample.status == "down" else "·", style)
            continue
        index = 0 if top <= 0 else min(len(BARS) - 1, int(len(BARS) * sample.latency_ms / top))
        text.append(BARS[max(index, 0)], style)
    return text


class ServicesPanel(Static, can_focus=True):
    """Status, latency, time since the last change, history, and the detail when not up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
        *LIST_KEYS,
    ]

    def __init__(self, services: tuple[str, ...] = (), redact: Redact | None = None,
                 **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._names = list(services)
        self.redact = redact
        self.palette = Palette(self)
        self._tracks: dict[str, _Track] = {}
        self._now = 0.0
        self.wide = False
        self.cursor = 0

    def on_mount(self) -> None:
        self._redraw()

    @property
    def selected(self) -> str | None:
        return self._names[self.cursor] if 0 <= self.cursor < len(self._names) else None

    def clip(self) -> Clip | None:
        """`c`: the highlighted service's name, URL, status and, when not up, why."""
        name = self.selected
        if name is None:
            return None
        track = self._tracks.get(name)
        if track is None:
            return Clip("service", f"{name}: waiting for the first probe")
        sample = track.samples[-1]
        text = f"{name} {sample.url} {sample.status}"
        if sample.detail:
            text += f": {sample.detail}"
        return Clip("service", text)

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor + step)

    def action_edge(self, end: int) -> None:
        self._move(len(self._names) - 1 if end else 0)

    def _move(self, row: int) -> None:
        self.cursor = max(0, min(row, len(self._names) - 1))
        self._redraw()
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        """Keep the highlighted service in view (the panel scrolls when they do not fit)."""
        top = 0
        for name in self._names[:self.cursor]:
            top += len(self._lines_for(name))
        height = len(self._lines_for(self._names[self.cursor])) if self._names else 1
        self.scroll_to_region(Region(0, top, 1, height), animate=False, immediate=True)

    def on_focus(self) -> None:
        self._redraw()

    def on_blur(self) -> None:
        self._redraw()

    def status_of(self, name: str) -> str | None:
        track = self._tracks.get(name)
        return track.status if track else None

    def line_of(self, name: str) -> str:
        """The plain text shown for one service (its lines joined), for tests and search."""
        return "\n".join(text.plain for text in self._lines_for(name))

    def show_sample(self, sample: ServiceSample, now: float) -> None:
        track = self._tracks.get(sample.name)
        if track is None:
            track = self._tracks[sample.name] = _Track(sample.status, sample.checked_at)
        elif track.status != sample.status:
            track.status, track.changed_at = sample.status, sample.checked_at
        track.samples.append(sample)
        if sample.name not in self._names:
            self._names.append(sample.name)
        self._now = now
        self._redraw()

    def tick(self, now: float) -> None:
        """Refresh the 'since' times; called once a second."""
        self._now = now
        if self._tracks:
            self._redraw()

    def set_wide(self, wide: bool) -> None:
        if wide != self.wide:
            self.wide = wide
            self._redraw()

    def _lines_for(self, name: str) -> list[Text]:
        width = max((len(n) for n in self._names), default=4)
        track = self._tracks.get(name)
        line = Text(no_wrap=True, overflow="ellipsis")
        muted = self.palette("muted")
        # The cursor: the highlighted service's name reversed, where the panel has the focus.
        name_style = Style(bold=True, reverse=self.has_focus and name == self.selected)
        if track is None:
            line.append("◌ ", muted)
            line.append_text(data_text(name.ljust(width), name_style))
            line.append("  waiting for the first probe", muted)
            return [line]
        sample = track.samples[-1]
        style = self.palette(sample.status)
        line.append(MARKS.get(sample.status, "?") + " ", style)
        line.append_text(data_text(name.ljust(width), name_style))
        line.append(f"  {sample.status:<8}", style)
        latency = f"{sample.latency_ms:.0f} ms" if sample.latency_ms is not None else "—"
        line.append(f" {latency:>7}")
        line.append(f"  {duration(max(0.0, self._now - track.changed_at)):>5}", muted)
        # As much history as the panel has room for (a cut-off "▆█…" tells nothing).
        room = (self.size.width or 80) - line.cell_len - 2
        shown = min(HISTORY if self.wide else 10, room)
        if shown >= 3:
            line.append("  ")
            line.append_text(sparkline(list(track.samples)[-shown:], self.palette))
        if self.wide and sample.url:
            line.append("  ")
            line.append_text(data_text(sample.url, muted, self.redact))
        lines = [line]
        if sample.status != "up" and sample.detail:
            detail = Text(DETAIL_PREFIX, muted)
            detail.append_text(data_text(sample.detail, self.palette(TONES.get(sample.status, "")),
                                         self.redact, limit=400))
            lines.append(detail)
        return lines

    def _redraw(self) -> None:
        if not self._names:
            self.update(Text("no services configured", self.palette("empty")))
            return
        rows: list[Text | Table] = []
        for name in self._names:
            for line in self._lines_for(name):
                if line.plain.startswith(DETAIL_PREFIX):
                    # the detail wraps under itself, not under the service's mark
                    grid = Table.grid()
                    grid.add_column(width=len(DETAIL_PREFIX), no_wrap=True)
                    grid.add_column(ratio=1)
                    grid.add_row(line[:len(DETAIL_PREFIX)], line[len(DETAIL_PREFIX):])
                    rows.append(grid)
                else:
                    rows.append(line)
        self.update(Group(*rows))

    def on_resize(self) -> None:
        self._redraw()
