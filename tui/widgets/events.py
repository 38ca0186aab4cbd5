"""The running story: failures, phase and service changes, WebSocket frames; newest last.

A Line API widget (as toolong does): lines are kept as `Text` in a bounded deque and turned into
segments only when they scroll into view, so adding a batch, pausing, resuming and filtering
cost nothing proportional to the log - a key press never waits for 2,000 lines to re-render.
The app hands over lines already coalesced per flush (passes summarised per batch, floods of
frames folded). Pausing freezes the view, not the recording; resuming shows what arrived.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Iterable

from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._scroll import grow_virtual_size
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

MAX_LINES = 2000
_CACHE = 256  # rendered strips kept (a screenful or two)


class EventStream(ScrollView, can_focus=True):
    """A filtered, pausable, bounded log of one-line `Text`s."""

    COMPONENT_CLASSES = PALETTE_CLASSES

    paused: reactive[bool] = reactive(False)
    filter_text: reactive[str] = reactive("")

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_lines = max_lines
        self._lines: deque[Text] = deque(maxlen=max_lines)
        self._view: list[Text] = []  # what is shown: filtered, frozen while paused
        self._unseen = 0
        self._strips: OrderedDict[tuple[int, int], Strip] = OrderedDict()
        self._widest = 0

    @property
    def kept(self) -> tuple[Text, ...]:
        """Every line kept, whatever the filter or pause."""
        return tuple(self._lines)

    @property
    def shown(self) -> tuple[Text, ...]:
        """The lines the view holds now (filtered; frozen while paused)."""
        return tuple(self._view)

    @property
    def unseen(self) -> int:
        """Matching lines that arrived while paused."""
        return self._unseen

    def _matches(self, line: Text) -> bool:
        return not self.filter_text or self.filter_text.lower() in line.plain.lower()

    def add_lines(self, lines: Iterable[Text]) -> None:
        fresh: list[Text] = []
        for line in lines:
            fresh.extend(line.split("\n") if "\n" in line.plain else (line,))
        if not fresh:
            return
        self._lines.extend(fresh)
        if self.paused:
            self._unseen += sum(1 for line in fresh if self._matches(line))
            self._update_title()
            return
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        self._view.extend(line for line in fresh if self._matches(line))
        if len(self._view) > self.max_lines:
            del self._view[: len(self._view) - self.max_lines]
            self._strips.clear()
        self._resize_view(follow)

    def _rebuild(self) -> None:
        self._view = [line for line in self._lines if self._matches(line)]
        self._strips.clear()
        self._resize_view(True)

    def _resize_view(self, follow: bool) -> None:
        for line in self._view[-64:]:
            self._widest = max(self._widest, line.cell_len)
        grow_virtual_size(self, Size(self._widest, len(self._view)))
        if follow:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()

    def clear(self) -> None:
        self._lines.clear()
        self._view.clear()
        self._strips.clear()
        self._unseen = 0
        self._resize_view(True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if index >= len(self._view):
            return Strip.blank(width, style)
        line = self._view[index]
        key = (id(line), index)
        strip = self._strips.get(key)
        if strip is None:
            segments = [segment for segment in line.render(self.app.console)
                        if segment.text != "\n"]
            strip = Strip(Segment.apply_style(segments, style))
            self._strips[key] = strip
            if len(self._strips) > _CACHE:
                self._strips.popitem(last=False)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def watch_filter_text(self) -> None:
        if not self.paused:
            self._rebuild()
        self._update_title()

    def watch_paused(self, paused: bool) -> None:
        if not paused:
            if self._unseen or len(self._view) != len(self._lines):
                self._rebuild()
            self._unseen = 0
        self._update_title()

    def _update_title(self) -> None:
        parts = []
        if self.paused:
            parts.append(f"PAUSED (+{self._unseen:,})" if self._unseen else "PAUSED")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.border_subtitle = Text("  ".join(parts), Palette(self)("notice")) if parts else ""
