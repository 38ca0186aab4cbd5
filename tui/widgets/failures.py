"""The failures and errors, newest last, keyed by phase and node id.

A Line API widget (as toolong does, and as the event stream here does): rows are kept as
results and turned into segments only when they scroll into view, with the rendered strips
cached per row. Appending a batch of failures, moving the cursor or filtering costs a screenful
of lines at most - a DataTable re-renders every visible row on any change, which is what kept
keys waiting while 20,000 results streamed in.

Bounded: a 20,000-test phase with 5,000 failures shows the first `limit` and a "... N more" row
(Enter on it shows more). Passes are only counted elsewhere.

What a person reads a failure by is its file, its test name and its message. A node id is
shortened in the middle (`shorten_nodeid`: the file and the test's name stay), the test column
is only as wide as the longest id needs, and the message gets the rest. Where the failures are
few enough to fit twice over, each takes two lines: the node id with the whole width, the
message beneath it with the whole width too. And the highlighted failure opens its whole message
beneath it, wrapped to the panel's width, so j/k read one message after another in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, Sequence

from claimcheck.collectors.live import failure_key, split_key
from claimcheck.collectors.models import TestResult
from claimcheck.tui.widgets._keys import LIST_KEYS
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._scroll import grow_virtual_size
from claimcheck.tui.widgets._text import Clip, Redact, clean_line, data_text, duration
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
_CACHE = 512  # rendered lines kept (a few screenfuls)
# Before the message, since the last run on this branch (tui/over_time.py: Marks.failure).
MARK_WORDS = {"new": ("NEW", "bad"), "still": ("still", "muted"), "flaky": ("flaky", "warn")}
MarksOf = Callable[[str, str, bool], tuple[str, ...]]  # (phase, nodeid, collection) -> marks
WHERE_WIDTH = 32
WHERE_MIN_WIDTH = 130  # the panel width from which the crash location gets its own column
MIN_TEST_WIDTH = 24  # a node id shorter than this says too little, however long the message
TEST_SHARE = 0.6  # on one line, the node id takes at most this share of what the two share
MIN_MESSAGE_WIDTH = 24  # a message column narrower than this is left out (read it beneath)
MESSAGE_INDENT = 4  # a message on its own line starts here: under the phase, clear of the edge
MAX_OPEN_LINES = 6  # the highlighted failure's message opens to at most this many lines


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
        *LIST_KEYS,
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "failure-list--header", "failure-list--cursor", "failure-list--cursor-blurred",
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
        self._strips: dict[tuple[str, bool, bool, int], Strip] = {}
        self._phase_width = 5
        self._longest_id = 0  # the longest node id listed, as shown (escaped)
        self.lines_per_row = 1  # 2 where every row fits with its message on a line of its own
        self._open_cache: tuple[tuple[str, int, int], TestResult, list[Text]] | None = None
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

    @property
    def selected_key(self) -> str | None:
        if not self._keys or self.cursor_row >= len(self._keys):
            return None
        return self._keys[self.cursor_row]

    def clip(self) -> Clip | None:
        """`c`: the highlighted failure's node id."""
        key = self.selected_key
        return Clip("node id", self._shown[key].nodeid) if key is not None else None

    # ------------------------------------------------------------------ changes

    def reset(self, results: Iterable[TestResult], total: int, *, to_top: bool = False) -> None:
        """Show the first `limit` of `results` (`total` is how many match in all).

        The cursor stays on the same failure when it is still listed, else at the same place;
        `to_top` (a new filter) puts it on the first row, the first match.
        """
        selected, row = self.selected_key, self.cursor_row
        self._keys, self._index, self._shown = [], {}, {}
        self._hidden = 0
        self._longest_id = 0
        self._strips.clear()
        self.extend(results, total)
        if to_top:
            row = 0
        elif selected is not None and selected in self._index:
            row = self._index[selected]
        self.move_cursor(row=row)
        if to_top:
            self.scroll_to(y=0, animate=False, immediate=True)

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
            longest = len(clean_line(result.nodeid, self.redact))
            if longest > self._longest_id:
                self._longest_id = longest
                self._strips.clear()
        self._hidden = max(0, total - len(self._keys))
        self._forget_row(MORE_KEY)
        self._resized()

    def update_row(self, result: TestResult) -> None:
        key = failure_key(result.phase, result.nodeid)
        if key not in self._index:
            return
        self._shown[key] = result
        self._forget_row(key)
        self._refresh_row(self._index[key])

    def _forget_row(self, key: str) -> None:
        for cursor, focus in ((False, False), (True, False), (True, True)):
            for part in (0, 1):
                self._strips.pop((key, cursor, focus, part), None)

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
        self._open_cache = None
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
        self._layout_changed()

    def _layout_changed(self) -> None:
        self._strips.clear()
        self._resized()

    def _rows_visible(self) -> int:
        """Lines for rows: the panel's height less the header."""
        return max(1, self.scrollable_content_region.height - 1)

    # Line layout. Every row has `lines_per_row` lines (the second: its message, cut to the
    # line), except the highlighted failure, whose message opens whole beneath it (wrapped, up
    # to MAX_OPEN_LINES); the rows below move down by the difference.

    def _opened(self) -> int | None:
        """The row whose whole message is open beneath it: the highlighted failure."""
        return self.cursor_row if self.cursor_row < len(self._keys) else None

    def _open_height(self) -> int:
        opened = self._opened()
        if opened is None:
            return self.lines_per_row
        width = self.size.width or 80
        lines = self._message_lines(self._shown[self._keys[opened]], width)
        return max(self.lines_per_row, 1 + len(lines))

    def _line_count(self) -> int:
        extra = 0 if self._opened() is None else self._open_height() - self.lines_per_row
        return self.row_count * self.lines_per_row + extra

    def _row_top(self, row: int) -> int:
        opened = self._opened()
        extra = self._open_height() - self.lines_per_row if opened is not None else 0
        return row * self.lines_per_row + (extra if opened is not None and row > opened else 0)

    def _row_height(self, row: int) -> int:
        return self._open_height() if row == self._opened() else self.lines_per_row

    def _locate(self, line: int) -> tuple[int, int]:
        """(row, part) of a line below the header; parts from 1 are message lines."""
        per_row = self.lines_per_row
        opened = self._opened()
        if opened is None or line < opened * per_row:
            return divmod(line, per_row)
        height = self._open_height()
        if line < opened * per_row + height:
            return opened, line - opened * per_row
        row, part = divmod(line - opened * per_row - height, per_row)
        return opened + 1 + row, part

    def _resized(self) -> None:
        """Two lines a row while every row fits so; the virtual height follows."""
        lines = 2 if 0 < self.row_count and 2 * self.row_count <= self._rows_visible() else 1
        if lines != self.lines_per_row:
            self.lines_per_row = lines
            self._strips.clear()
            self.call_after_refresh(self._scroll_to_cursor)
        grow_virtual_size(self, Size(self.size.width, self._line_count() + 1))  # +1: header
        self.refresh()

    # ------------------------------------------------------------------ cursor and keys

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        # the open message moved with the cursor: every line between moved too
        grow_virtual_size(self, Size(self.size.width, self._line_count() + 1))
        self.refresh()
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        lines_visible = self._rows_visible()
        top = round(self.scroll_y)
        first = self._row_top(self.cursor_row)
        last = first + self._row_height(self.cursor_row) - 1
        if first < top:
            self.scroll_to(y=first, animate=False, immediate=True)
        elif last >= top + lines_visible:
            self.scroll_to(y=last - lines_visible + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        top = self._row_top(row)
        for part in range(self._row_height(row)):
            y = top + part + 1 - round(self.scroll_y)
            if 1 <= y < self.size.height:
                self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        page = max(1, self._rows_visible() // self.lines_per_row - 1)
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
        row = self._locate(event.y + round(self.scroll_y) - 1)[0]
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
        """Column widths inside `width` (a width of 0: the column is left out).

        On two lines the node id has the line to itself and the message the line beneath. On
        one, the node id takes what its longest needs, or `TEST_SHARE` of the room when the
        message would be left too little; where even then the message would get fewer than
        `MIN_MESSAGE_WIDTH` cells (a narrow panel: "AssertionError: ap…" says nothing), the
        node id takes the line and the message is read beneath the highlighted failure.
        """
        columns = self._columns(width)
        widths = {"phase": self._phase_width, "outcome": 5}
        if "where" in columns:
            widths["where"] = WHERE_WIDTH
        if "time" in columns:
            widths["time"] = 7
        fixed = sum(widths.values()) + 2 * len(columns)
        room = max(0, width - fixed)
        if self.lines_per_row == 2:
            widths["test"], widths["message"] = max(8, room + 2), 0
            return widths
        need = self._longest_id or MIN_TEST_WIDTH
        if room - need >= MIN_MESSAGE_WIDTH:
            widths["test"] = need
        elif room - int(room * TEST_SHARE) >= MIN_MESSAGE_WIDTH:
            widths["test"] = max(MIN_TEST_WIDTH, int(room * TEST_SHARE))
        else:
            widths["test"], widths["message"] = max(8, room + 2), 0
            return widths
        widths["message"] = room - widths["test"]
        return widths

    def _cells(self, result: TestResult, widths: dict[str, int]) -> dict[str, Text]:
        label = OUTCOME_LABELS.get(result.outcome, (result.outcome.upper(), ""))[0]
        muted = self.palette("muted")
        cells = {
            "phase": data_text(result.phase, muted, one_line=True),
            "outcome": Text(label, self.palette(OUTCOME_TONES.get(result.outcome, "failed"))),
            "test": data_text(result.nodeid, redact=self.redact, one_line=True,
                              limit=widths["test"], nodeid=True),
            "message": data_text(result.message, self.palette("message"), self.redact,
                                 one_line=True, limit=max(8, widths["message"])),
        }
        marks = self._marks(result)
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

    def get_cell(self, key: str, column: str) -> Text:
        """The text one column shows for one failure, as wide as the panel gives it now."""
        return self._cells(self._shown[key], self._widths(self.size.width or 120))[column]

    def _marks(self, result: TestResult) -> Text:
        """NEW / still / flaky, before the message wherever the message is shown."""
        marks = Text()
        if self.marks is not None:
            for mark in self.marks(result.phase, result.nodeid, result.when == "collect"):
                word, tone = MARK_WORDS.get(mark, (mark, "notice"))
                marks.append(word + " ", self.palette(tone))
        return marks

    def _line(self, cells: dict[str, Text], widths: dict[str, int]) -> Text:
        line = Text(no_wrap=True, end="")
        for column in (c for c in WIDE_COLUMNS if c in widths and widths[c]):
            cell = cells.get(column, Text(""))
            cell = cell.copy()
            cell.truncate(widths[column], overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(cell)
            line.append(" ")
        return line

    def _message_lines(self, result: TestResult, width: int) -> list[Text]:
        """The highlighted failure's message, whole: wrapped under it, from near the left
        edge to the right, at most MAX_OPEN_LINES (the detail has the rest), and its whole
        node id above the message when its row had to shorten it and there is room."""
        # At most half the panel's height, so a short panel still shows other failures: the
        # whole node id first when its row shortens it (the file is what a person reads first),
        # then the message in what is left, at least a line of it (Enter has the rest).
        most = max(2, min(MAX_OPEN_LINES, self._rows_visible() // 2))
        key = (failure_key(result.phase, result.nodeid), width, most)
        cached = self._open_cache
        if cached is not None and cached[0] == key and cached[1] == result:
            return cached[2]
        room = max(8, width - MESSAGE_INDENT - 1)
        lines: list[Text] = []
        nodeid = clean_line(result.nodeid, self.redact)
        if len(nodeid) > self._widths(width)["test"]:  # shortened on its row: here whole
            lines += self._wrapped(Text(nodeid, self.palette("muted")), room, 2)
        message = Text.assemble(self._marks(result),
                                data_text(result.message or "(no message)",
                                          self.palette("message"), self.redact, one_line=True))
        lines += self._wrapped(message, room, max(1, most - len(lines)))
        lines = [self._indented(part, first=index == 0) for index, part in enumerate(lines)]
        self._open_cache = (key, result, lines)
        return lines

    def _wrapped(self, text: Text, room: int, most: int) -> list[Text]:
        text.no_wrap = False
        wrapped = list(text.wrap(self.app.console, room, overflow="fold"))
        if len(wrapped) > most:
            wrapped = wrapped[:most]
            wrapped[-1].truncate(room - 1)
            wrapped[-1].append("…")
        return wrapped

    def _indented(self, text: Text, *, first: bool) -> Text:
        mark = "└ " if first else "  "
        return Text.assemble(" " * (MESSAGE_INDENT - 2), (mark, self.palette("muted")),
                             text.rstrip() or text, no_wrap=True, end="")

    def _message_line(self, result: TestResult, width: int) -> Text:
        """A row's second line: its message, cut to the line."""
        room = max(1, width - MESSAGE_INDENT - 1)
        message = Text.assemble(self._marks(result),
                                data_text(result.message or "(no message)",
                                          self.palette("message"), self.redact, one_line=True,
                                          limit=room))
        message.truncate(room, overflow="ellipsis")
        return self._indented(message, first=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        index = y - 1 + round(self.scroll_y)
        row, part = self._locate(index)
        if row >= self.row_count:
            if index == 0 and self.empty_note:
                return self._strip(Text(f" {self.empty_note}", self.palette("empty")), width,
                                   base)
            return Strip.blank(width, base)
        key = self._keys[row] if row < len(self._keys) else MORE_KEY
        cursor = row == self.cursor_row
        focused = cursor and self.has_focus
        cached = self._strips.get((key, cursor, focused, part))
        if cached is not None and cached.cell_length == width:
            return cached
        if key == MORE_KEY:
            line = Text(f"  … {self._hidden:,} more (Enter to show more)" if part == 0 else "",
                        self.palette("notice"))
        else:
            result = self._shown[key]
            if part == 0:
                widths = self._widths(width)
                line = self._line(self._cells(result, widths), widths)
            elif cursor:
                lines = self._message_lines(result, width)
                line = lines[part - 1] if part - 1 < len(lines) else Text("")
            else:
                line = self._message_line(result, width)
        over = None
        if cursor:
            name = "failure-list--cursor" if focused else "failure-list--cursor-blurred"
            over = self.get_component_rich_style(name)
        strip = self._strip(line, width, base, over)
        if len(self._strips) > _CACHE:
            self._strips.clear()
        self._strips[(key, cursor, focused, part)] = strip
        return strip

    def _header(self, width: int, base: Style) -> Strip:
        widths = self._widths(width)
        cells = {column: Text(HEADERS[column]) for column in WIDE_COLUMNS}
        if self.lines_per_row == 2:
            cells["test"] = Text("test, and its message beneath")
        elif not widths["message"]:
            cells["test"] = Text("test (the highlighted one's message beneath it)")
        style = base + self.get_component_rich_style("failure-list--header")
        return self._strip(self._line(cells, widths), width, style)

    def _strip(self, line: Text, width: int, style: Style, over: Style | None = None) -> Strip:
        """One line of segments: `style` beneath the text's own styles, `over` (the cursor)
        on top of them, so the highlighted row reads in one colour like a DataTable's."""
        line.truncate(width, overflow="ellipsis", pad=True)
        segments = [segment for segment in line.render(self.app.console) if segment.text != "\n"]
        strip = Strip(Segment.apply_style(segments, style, over))
        return strip.adjust_cell_length(width, style + over if over else style)
