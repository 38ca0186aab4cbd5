"""The running story, in two lanes: what the run did, and what the streams said; newest last.

A WebSocket stream can send frames many times a second for as long as claimcheck runs (the
demo's agents never stop); in one log they push every test, phase and service line out of view
within seconds. So the panel keeps two lanes: the run lane (failures, phase starts and ends,
collection errors, service changes, a stream connecting or dropping) and, beneath it, the frames
lane, which appears once a frame arrives. Each is bounded on its own, so frames never evict a
run line. Pausing and the `/` filter apply to both.

Each lane is a Line API widget (as toolong does): lines are kept as `Text` in a bounded deque and
turned into segments only when they scroll into view, so adding a batch, pausing, resuming and
filtering cost nothing proportional to the log - a key press never waits for 2,000 lines to
re-render. The app hands over lines already coalesced per flush (passes summarised per batch,
floods of frames folded). Pausing freezes the view, not the recording; resuming shows what
arrived.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import ClassVar, Iterable

from claimcheck.tui.widgets._keys import vim_keys
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._scroll import grow_virtual_size
from claimcheck.tui.widgets._text import Clip
from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

MAX_LINES = 2000
_CACHE = 256  # rendered strips kept (a screenful or two)


class EventLane(ScrollView, can_focus=True):
    """A filtered, pausable, bounded log of one-line `Text`s."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *vim_keys("scroll_down", "scroll_up", "scroll_home", "scroll_end")]

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.max_lines = max_lines
        self.paused = False
        self.filter_text = ""
        self._lines: deque[Text] = deque(maxlen=max_lines)
        self._view: list[Text] = []  # what is shown: filtered, frozen while paused
        self._unseen = 0
        self._strips: OrderedDict[tuple[int, int], Strip] = OrderedDict()
        self._widest = 0

    @property
    def kept(self) -> tuple[Text, ...]:
        return tuple(self._lines)

    @property
    def shown(self) -> tuple[Text, ...]:
        return tuple(self._view)

    @property
    def unseen(self) -> int:
        return self._unseen

    def _matches(self, line: Text) -> bool:
        return not self.filter_text or self.filter_text.lower() in line.plain.lower()

    def add_lines(self, lines: Iterable[Text]) -> int:
        """Keep `lines`; show them unless paused. Returns how many were added."""
        fresh: list[Text] = []
        for line in lines:
            fresh.extend(line.split("\n") if "\n" in line.plain else (line,))
        if not fresh:
            return 0
        self._lines.extend(fresh)
        if self.paused:
            self._unseen += sum(1 for line in fresh if self._matches(line))
            return len(fresh)
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        self._view.extend(line for line in fresh if self._matches(line))
        if len(self._view) > self.max_lines:
            del self._view[: len(self._view) - self.max_lines]
            self._strips.clear()
        self._resize_view(follow)
        return len(fresh)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        if not self.paused:
            self._rebuild()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            if self._unseen or len(self._view) != len(self._lines):
                self._rebuild()
            self._unseen = 0

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

    def last_shown(self) -> Text | None:
        """The newest line in view: what `c` copies from a lane."""
        bottom = min(len(self._view), round(self.scroll_y) + self.scrollable_content_region.height)
        return self._view[bottom - 1] if bottom > 0 else None

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


class EventStream(Widget):
    """The events panel: the run lane above, the frames lane beneath once frames arrive."""


    paused: reactive[bool] = reactive(False)
    filter_text: reactive[str] = reactive("")

    def __init__(self, max_lines: int = MAX_LINES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_lane = EventLane(max_lines, id="events-run")
        self.frame_lane = EventLane(max_lines, id="events-frames")

    def compose(self) -> ComposeResult:
        yield self.run_lane
        yield self.frame_lane

    def on_mount(self) -> None:
        self.frame_lane.display = False
        self.frame_lane.border_title = "frames"

    @property
    def lanes(self) -> tuple[EventLane, EventLane]:
        return self.run_lane, self.frame_lane

    @property
    def kept(self) -> tuple[Text, ...]:
        """Every line kept, whatever the filter or pause: the run lane's, then the frames'."""
        return self.run_lane.kept + self.frame_lane.kept

    @property
    def shown(self) -> tuple[Text, ...]:
        """The lines the lanes hold now (filtered; frozen while paused)."""
        return self.run_lane.shown + self.frame_lane.shown

    @property
    def unseen(self) -> int:
        """Matching lines that arrived while paused."""
        return self.run_lane.unseen + self.frame_lane.unseen

    def add_lines(self, lines: Iterable[Text]) -> None:
        """Lines of the run: tests, phases, services."""
        if self.run_lane.add_lines(lines) and self.paused:
            self._update_title()

    def add_frames(self, lines: Iterable[Text]) -> None:
        """Lines of the streams' frames; the lane appears with the first."""
        added = self.frame_lane.add_lines(lines)
        if added and not self.frame_lane.display:
            self.frame_lane.display = True
        if added and self.paused:
            self._update_title()

    def clear(self) -> None:
        for lane in self.lanes:
            lane.clear()

    def clip(self) -> Clip | None:
        """`c`: the newest line in view of the focused lane (the run lane otherwise)."""
        focused = self.screen.focused
        lane = focused if focused in self.lanes else self.run_lane
        assert isinstance(lane, EventLane)
        line = lane.last_shown()
        return Clip("event", line.plain) if line is not None else None

    def watch_filter_text(self, text: str) -> None:
        for lane in self.lanes:
            lane.set_filter(text)
        self._update_title()

    def watch_paused(self, paused: bool) -> None:
        for lane in self.lanes:
            lane.set_paused(paused)
        self._update_title()

    def _update_title(self) -> None:
        parts = []
        if self.paused:
            unseen = self.unseen
            parts.append(f"PAUSED (+{unseen:,})" if unseen else "PAUSED")
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.border_subtitle = Text("  ".join(parts), Palette(self)("notice")) if parts else ""
