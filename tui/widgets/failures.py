"""The failures and errors, newest last, keyed by phase and node id.

A Line API widget (as toolong does, and as the event stream here does): rows are kept as
results and turned into segments only when they scroll into view, with the rendered strips
cached per row. Appending a batch of failures, moving the cursor or filtering costs a screenful
of lines at most - a DataTable re-renders every visible row on any change, which is what kept
keys waiting while 20,000 results streamed in.

Bounded: a 20,000-test phase with 5,000 failures shows the first `limit` and a "... N more" row
(Enter on it shows more). Passes are only counted elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, Sequence

from claimcheck.collectors.live import failure_key, split_key
from claimcheck.collectors.models import TestResult
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._scroll import grow_virtual_size
from claimcheck.tui.widgets._text import Redact, data_text, duration
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["FailureList", "MORE_KEY", "OUTCOME_LABELS", "failure_key", "split_key"]

MORE_KEY = "__more__"
# The label of each outcome; the style is for the failure detail screen, which draws outside
# this list (here the palette's `failed` and `outcome-error` classes style them).
OUTCOME_LABELS = {"failed": ("FAIL", "bold #f85149"), "error": ("ERROR", "bold #ff7b72 reverse")}
OUTCOME_TONES = {"failed": "failed", "error": "outcome-error"}
COLUMNS = ("phase", "outcome", "test", "message")
WIDE_COLUMNS = COLUMNS + ("where", "time")
HEADERS = {"phase": "phase", "outcome": "", "test": "test", "message": "message",
           "where": "where", "time": "time"}
_CACHE = 512  # rendered rows kept (a few screenfuls)
# Before the message, since the last run on this branch (tui/over_time.py: Marks.failure).
MARK_WORDS = {"new": ("NEW", "bad"), "still": ("still", "muted"), "flaky": ("flaky", "warn")}
MarksOf = Callable[[str, str, bool], tuple[str, ...]]  # (phase, nodeid, collection) -> marks
WHERE_WIDTH = 32
WHERE_MIN_WIDTH = 130  # the panel width from which the crash location gets its own column


class FailureList(ScrollView, can_focus=True):
    """Failed and errored tests, one line each; Enter opens the failure detail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "open", show=False),
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "failure-list--header", "failure-list--cursor", "failure-list--cursor-blurred",
        *PALETTE_CLASSES,
    }

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)

    @dataclass
    class FailureChosen(Message):
        key: str

    def __init__(self, limit: int = 2000, redact: Redact | None = None,
                 marks: MarksOf | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.redact = redact
        self.marks = marks  # "new" / "still" failing since the last run, "flaky"
        self.palette = Palette(self)
        self.wide = False
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._shown: dict[str, TestResult] = {}
        self._hidden = 0  # matching failures beyond the limit
        self._strips: dict[tuple[str, bool, bool], Strip] = {}
        self._phase_width = 5
        self.test_width = 48
        self.empty_note = "no failed or errored test so far"

    # ------------------------------------------------------------------ what is shown

    @property
    def keys(self) -> Sequence[str]:
        return tuple(self._keys)

    @property
    def hidden(self) -> int:
        return self._hidden

    @property
    def row_count(self) -> int:
        """Rows including the "... N more" row."""
        return len(self._keys) + (1 if self._hidden else 0)

    @property
    def has_more_row(self) -> bool:
        return bool(self._hidden)

    def get_row_index(self, key: str) -> int:
        if key == MORE_KEY and self._hidden:
            return len(self._keys)
        return self._index[key]

    def get_cell(self, key: str, column: str) -> Text:
        """The text one column shows for one failure (before it is cut to the line)."""
        return self._cells(self._shown[key])[column]

    @property
    def selected_key(self) -> str | None:
        if not self._keys or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    # ------------------------------------------------------------------ changes

    def reset(self, results: Iterable[TestResult], total: int) -> None:
        """Show the first `limit` of `results` (`total` is how many match in all).

        The cursor stays on the same failure when it is still listed, else at the same place.
        """
        selected, row = self.selected_key, self.cursor_row
        self._keys, self._index, self._shown = [], {}, {}
        self._hidden = 0
        self._strips.clear()
        self.extend(results, total)
        if selected is not None and selected in self._index:
            row = self._index[selected]
        self.move_cursor(row=row)

    def extend(self, results: Iterable[TestResult], total: int) -> None:
        """Append rows for new failures while under the limit; count the rest."""
        room = self.limit - len(self._keys)
        for result in results:
            key = failure_key(result.phase, result.nodeid)
            if key in self._index:
                self.update_row(result)
                continue
            if room <= 0:
                continue
            self._index[key] = len(self._keys)
            self._keys.append(key)
            self._shown[key] = result
            room -= 1
            if len(result.phase) > self._phase_width:
                self._phase_width = min(16, len(result.phase))
                self._strips.clear()
        self._hidden = max(0, total - len(self._keys))
        self._strips.pop((MORE_KEY, False, False), None)
        self._strips.pop((MORE_KEY, True, False), None)
        self._strips.pop((MORE_KEY, True, True), None)
        self._resized()

    def update_row(self, result: TestResult) -> None:
        key = failure_key(result.phase, result.nodeid)
        if key not in self._index:
            return
        self._shown[key] = result
        for cursor in (False, True):
            for focus in (False, True):
                self._strips.pop((key, cursor, focus), None)
        self._refresh_row(self._index[key])

    def discard(self, key: str, total: int) -> None:
        """Remove a test that no longer fails (it passed on a rerun)."""
        if key in self._index:
            selected = self.selected_key
            del self._keys[self._index[key]]
            self._shown.pop(key, None)
            self._index = {k: i for i, k in enumerate(self._keys)}
            if selected is not None and selected in self._index:
                self.cursor_row = self._index[selected]
            self._strips.clear()
        self._hidden = max(0, total - len(self._keys))
        self.move_cursor(row=self.cursor_row)
        self._resized()

    def marks_changed(self) -> None:
        """The marks were worked out again (a run was judged): draw the rows afresh."""
        self._strips.clear()
        self.refresh()

    def set_empty_note(self, note: str) -> None:
        """What the list says while it has no row (nothing failed, or nothing matches)."""
        if note != self.empty_note:
            self.empty_note = note
            if not self.row_count:
                self.refresh()

    def set_wide(self, wide: bool) -> None:
        """Show the where and time columns (at 200 columns there is room)."""
        if wide != self.wide:
            self.wide = wide
            self._layout_changed()

    def on_resize(self) -> None:
        """Give the node id about half the width, so the message stays in view."""
        width = max(24, int(self.size.width * (0.3 if self.wide else 0.45)))
        if width != self.test_width:
            self.test_width = width
        self._layout_changed()

    def _layout_changed(self) -> None:
        self._strips.clear()
        self._resized()

    def _resized(self) -> None:
        grow_virtual_size(self, Size(self.size.width, self.row_count + 1))  # +1: the header
        self.refresh()

    # ------------------------------------------------------------------ cursor and keys

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        rows_visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows_visible:
            self.scroll_to(y=self.cursor_row - rows_visible + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        y = row + 1 - round(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.move_cursor(row=self.cursor_row + direction * page)

    def action_edge(self, end: int) -> None:
        self.move_cursor(row=self.row_count - 1 if end else 0)

    def action_choose(self) -> None:
        if not self.row_count:
            return
        if self.cursor_row >= len(self._keys):
            self.limit += 2000
            self.post_message(self.FailureChosen(MORE_KEY))
        else:
            self.post_message(self.FailureChosen(self._keys[self.cursor_row]))

    def on_click(self, event: events.Click) -> None:
        """Click selects a row; a click on the selected row opens it (mouse is optional)."""
        row = event.y + round(self.scroll_y) - 1
        if event.y < 1 or not 0 <= row < self.row_count:
            return
        if row == self.cursor_row:
            self.action_choose()
        else:
            self.move_cursor(row=row)

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)

    # ------------------------------------------------------------------ drawing

    def _columns(self, width: int) -> tuple[str, ...]:
        """Wide screens add the time, and the crash location where the panel has room."""
        if not self.wide:
            return COLUMNS
        return WIDE_COLUMNS if width >= WHERE_MIN_WIDTH else COLUMNS + ("time",)

    def _widths(self, width: int) -> dict[str, int]:
        """Column widths inside `width`; the message takes what is left."""
        columns = self._columns(width)
        widths = {"phase": self._phase_width, "outcome": 5, "test": self.test_width}
        if "where" in columns:
            widths["where"] = WHERE_WIDTH
        if "time" in columns:
            widths["time"] = 7
        used = sum(widths.values()) + 2 * len(columns)
        widths["message"] = max(8, width - used)
        return widths

    def _cells(self, result: TestResult) -> dict[str, Text]:
        label = OUTCOME_LABELS.get(result.outcome, (result.outcome.upper(), ""))[0]
        muted = self.palette("muted")
        cells = {
            "phase": data_text(result.phase, muted, one_line=True),
            "outcome": Text(label, self.palette(OUTCOME_TONES.get(result.outcome, "failed"))),
            "test": data_text(result.nodeid, redact=self.redact, one_line=True,
                              limit=self.test_width, keep_tail=True),
            "message": data_text(result.message, self.palette("message"), self.redact, one_line=True,
                                 limit=200),
        }
        if self.marks is not None:
            marks = Text()
            for mark in self.marks(result.phase, result.nodeid, result.when == "collect"):
                word, tone = MARK_WORDS.get(mark, (mark, "notice"))
                marks.append(word + " ", self.palette(tone))
            if marks:
                cells["message"] = Text.assemble(marks, cells["message"])
        if self.wide:
            where = f"{result.path}:{result.line}" if result.path and result.line else (
                result.path or "")
            cells["where"] = data_text(where, muted, self.redact, one_line=True,
                                       limit=WHERE_WIDTH, keep_tail=True)
            ran = result.when != "collect"  # a file that failed to import has no run time
            cells["time"] = Text(duration(result.duration_s) if ran else "", muted)
        return cells

    def _line(self, cells: dict[str, Text], widths: dict[str, int]) -> Text:
        line = Text(no_wrap=True, end="")
        for column in (c for c in WIDE_COLUMNS if c in widths):
            cell = cells.get(column, Text(""))
            cell = cell.copy()
            cell.truncate(widths[column], overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(cell)
            line.append(" ")
        return line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        row = y - 1 + round(self.scroll_y)
        if row >= self.row_count:
            if row == 0 and self.empty_note:
                return self._strip(Text(f" {self.empty_note}", self.palette("empty")), width,
                                   base)
            return Strip.blank(width, base)
        key = self._keys[row] if row < len(self._keys) else MORE_KEY
        cursor = row == self.cursor_row
        focused = cursor and self.has_focus
        cached = self._strips.get((key, cursor, focused))
        if cached is not None and cached.cell_length == width:
            return cached
        if key == MORE_KEY:
            line = Text(f"  … {self._hidden:,} more (Enter to show more)",
                        self.palette("notice"))
        else:
            line = self._line(self._cells(self._shown[key]), self._widths(width))
        over = None
        if cursor:
            name = "failure-list--cursor" if focused else "failure-list--cursor-blurred"
            over = self.get_component_rich_style(name)
        strip = self._strip(line, width, base, over)
        if len(self._strips) > _CACHE:
            self._strips.clear()
        self._strips[(key, cursor, focused)] = strip
        return strip

    def _header(self, width: int, base: Style) -> Strip:
        widths = self._widths(width)
        cells = {column: Text(HEADERS[column]) for column in WIDE_COLUMNS}
        style = base + self.get_component_rich_style("failure-list--header")
        return self._strip(self._line(cells, widths), width, style)

    def _strip(self, line: Text, width: int, style: Style, over: Style | None = None) -> Strip:
        """One line of segments: `style` beneath the text's own styles, `over` (the cursor)
        on top of them, so the highlighted row reads in one colour like a DataTable's."""
        line.truncate(width, overflow="ellipsis", pad=True)
        segments = [segment for segment in line.render(self.app.console) if segment.text != "\n"]
        strip = Strip(Segment.apply_style(segments, style, over))
        return strip.adjust_cell_length(width, style + over if over else style)
