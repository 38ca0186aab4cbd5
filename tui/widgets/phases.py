"""One row per phase: where it is, what it found so far, and why it did not run.

The counts are the report's own columns (`Counts`): xfail and xpass get a column of their own
once some phase has one, as in the report, and `done` counts a file that could not be collected
as the error it is in the `error` column, so a row always adds up.

A phase's note (why it is blocked, what pytest refused, "rerunning what failed") is the one
thing in the strip a person must read whole, so it is never cut: it sits in the last column
where it fits, and where it does not (a narrow terminal, a long refusal) on a line of its own
beneath its phase, wrapped. A blocked phase's status already names the service that blocked it
(`blocked by backend`), so its note says only why (`connection refused`).

A Line API view rather than a DataTable, because a table cannot give a cell a line of its own;
the rows are few (one per phase), so they are laid out afresh on each change, ten times a
second at most. The cursor row is what `R` reruns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from claimcheck.tui.widgets._keys import LIST_KEYS
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import Clip, clean_line, data_text, duration
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

# (column key, header, always shown). The optional ones appear once some phase has any.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("phase", "phase", True), ("status", "status", True), ("progress", "progress", True),
    ("passed", "pass", True), ("failed", "fail", True), ("errors", "error", True),
    ("skipped", "skip", True), ("xfailed", "xfail", False), ("xpassed", "xpass", False),
    ("elapsed", "time", True), ("note", "note", True),
)
RIGHT = {"passed", "failed", "errors", "skipped", "xfailed", "xpassed", "elapsed"}
BAR_WIDTH = 8
NARROW_BAR_WIDTH = 4  # where the columns would not fit with the full bar
MIN_NOTE_WIDTH = 12  # a note column narrower than this puts notes on lines of their own
QUIET_STATUSES = {"pending", "running"}  # their notes ("queued") may be cut: they explain nothing
NOTE_MARK = "└ "


@dataclass(frozen=True)
class PhaseView:
    """What the strip shows for one phase; built from the live model's `PhaseLive`."""

    name: str
    status: str = "pending"
    done: int = 0  # outcomes so far: tests finished plus files that could not be collected
    total: int = 0  # selected tests (collected minus deselected) plus collection errors
    passed: int = 0
    failed: int = 0
    errors: int = 0  # test errors and collection errors, as the report's `error`
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    elapsed_s: float | None = None
    note: str = ""  # "blocked by auth: connection refused", "rerunning what failed (--lf)"
    blocker: str = ""  # the required service that is down, named in the status itself


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    if total <= 0:
        return "▱" * width
    filled = min(width, round(width * done / total))
    return "▰" * filled + "▱" * (width - filled)


def note_text(view: PhaseView) -> str:
    """The note as the strip shows it: for a blocked phase without the words the status says."""
    note = view.note
    if view.blocker:
        prefix = f"blocked by {view.blocker}"
        if note.startswith(prefix):
            note = note[len(prefix):].lstrip(":").strip()
    return note


@dataclass(frozen=True)
class _Layout:
    columns: tuple[str, ...]
    widths: dict[str, int]
    bar: int
    note_width: int  # 0: every note that must be read goes on a line of its own


class PhaseStrip(ScrollView, can_focus=True):
    """Per-phase status, progress done/total, the report's counts, time and note."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "phase-strip--header", "phase-strip--cursor", "phase-strip--cursor-blurred",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "up", show=False),
        Binding("down", "cursor(1)", "down", show=False),
        Binding("home", "edge(0)", "first", show=False),
        Binding("end", "edge(1)", "last", show=False),
        *LIST_KEYS,
    ]

    cursor_row: reactive[int] = reactive(0, repaint=False)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.palette = Palette(self)
        self._views: dict[str, PhaseView] = {}  # phase -> last view, in row order
        self._lines: list[tuple[int, Text]] = []  # (row, line) below the header
        self._header = Text()
        self._laid_out_for = -1  # the width the lines were laid out for

    # ------------------------------------------------------------------ what is shown

    @property
    def row_count(self) -> int:
        return len(self._views)

    @property
    def phases(self) -> tuple[str, ...]:
        return tuple(self._views)

    def cells_for(self, view: PhaseView, bar: int = BAR_WIDTH) -> dict[str, Text]:
        style = self.palette
        status_style = style(view.status)
        if view.total or view.done:
            total = max(view.total, view.done)
            progress = Text.assemble((progress_bar(view.done, total, bar),
                                      status_style if status_style else style("muted")),
                                     f" {view.done:,}/{total:,}")
        else:
            progress = Text("—", style("muted"))
        status = Text(view.status, status_style)
        if view.blocker:
            status.append_text(data_text(f" by {view.blocker}", status_style))

        def count(value: int, tone: str) -> Text:
            return Text(f"{value:,}", style(tone) if value else style("muted"))

        return {
            "phase": data_text(view.name, "bold", one_line=True),
            "status": status,
            "progress": progress,
            "passed": count(view.passed, "good"),
            "failed": count(view.failed, "failed"),
            "errors": count(view.errors, "failed"),
            "skipped": Text(f"{view.skipped:,}", style("muted")),
            "xfailed": Text(f"{view.xfailed:,}", style("muted")),
            "xpassed": Text(f"{view.xpassed:,}", style("muted")),
            "elapsed": Text(duration(view.elapsed_s) if view.status != "blocked" else "—",
                            style("muted") if view.status != "running" else ""),
            "note": data_text(note_text(view), style("warn"), one_line=True),
        }

    def get_cell(self, name: str, column: str) -> Text:
        """The text one column shows for one phase (the note whole, wherever it is drawn)."""
        return self.cells_for(self._views[name])[column]

    def note_shown(self, name: str) -> str:
        """The note as drawn now, joined over its lines (tests: never cut)."""
        row = list(self._views).index(name)
        self._layout_if_needed()
        own = [line.plain for r, line in self._lines if r == row][1:]
        if own:
            return " ".join(part.strip().removeprefix(NOTE_MARK) for part in own)
        return self._row_note(row)

    @property
    def selected_phase(self) -> str | None:
        """The phase under the cursor, for `R`."""
        names = list(self._views)
        return names[self.cursor_row] if 0 <= self.cursor_row < len(names) else None

    def clip(self) -> Clip | None:
        """`c`: the highlighted phase, its status and its note."""
        name = self.selected_phase
        if name is None:
            return None
        view = self._views[name]
        status = self.cells_for(view)["status"].plain
        note = note_text(view)
        return Clip("phase", f"{name} {status}" + (f": {note}" if note else ""))

    # ------------------------------------------------------------------ changes

    def show_phase(self, view: PhaseView) -> None:
        """Add or update the row for `view.name`."""
        if self._views.get(view.name) == view:
            return
        self._views[view.name] = view
        self._laid_out_for = -1
        if self.is_mounted:
            self._relayout()

    def on_resize(self) -> None:
        self._laid_out_for = -1
        self._relayout()

    def _relayout(self) -> None:
        self._layout_if_needed()
        height = len(self._lines) + 1
        if self.virtual_size.height != height:
            self.virtual_size = Size(self.size.width, height)  # a layout: its height changed
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._layout_if_needed(width)
        return len(self._lines) + 1

    # ------------------------------------------------------------------ layout

    def _wanted_columns(self) -> tuple[str, ...]:
        views = self._views.values()
        return tuple(key for key, _, always in COLUMNS
                     if always or any(getattr(view, key) for view in views))

    def _choose(self, width: int) -> _Layout:
        columns = self._wanted_columns()
        headers = {key: header for key, header, _ in COLUMNS}
        for bar in (BAR_WIDTH, NARROW_BAR_WIDTH):
            cells = [self.cells_for(view, bar) for view in self._views.values()]
            widths = {key: max([len(headers[key])] + [c[key].cell_len for c in cells])
                      for key in columns if key != "note"}
            used = 1 + sum(width_ + 2 for width_ in widths.values())
            if used + MIN_NOTE_WIDTH <= width or bar == NARROW_BAR_WIDTH:
                break
        return _Layout(columns, widths, bar, max(0, width - used - 1))

    def _layout_if_needed(self, width: int | None = None) -> None:
        width = width if width is not None else (self.scrollable_content_region.width
                                                 or self.size.width or 120)
        if width == self._laid_out_for:
            return
        self._laid_out_for = width
        layout = self._choose(width)
        header_cells = {key: Text(header) for key, header, _ in COLUMNS}
        self._header = self._row_text(header_cells, layout, "note")
        lines: list[tuple[int, Text]] = []
        for row, view in enumerate(self._views.values()):
            cells = self.cells_for(view, layout.bar)
            note = cells["note"]
            fits = note.cell_len <= layout.note_width
            own_line = bool(note.plain) and not fits and view.status not in QUIET_STATUSES
            lines.append((row, self._row_text(cells, layout, "" if own_line else "note")))
            if own_line:
                indent = 1 + layout.widths["phase"] + 2
                room = max(8, width - indent - len(NOTE_MARK) - 1)
                wrapped = Text(note.plain, note.style).wrap(self.app.console, room)
                for index, part in enumerate(wrapped):
                    mark = NOTE_MARK if index == 0 else " " * len(NOTE_MARK)
                    lines.append((row, Text.assemble(" " * indent, (mark, self.palette("muted")),
                                                     part, no_wrap=True, end="")))
        self._lines = lines
        self._layout = layout

    def _row_text(self, cells: dict[str, Text], layout: _Layout, note: str) -> Text:
        line = Text(" ", no_wrap=True, end="")
        for key in layout.columns:
            if key == "note":
                if note and layout.note_width:
                    cell = cells[note].copy()
                    cell.truncate(layout.note_width, overflow="ellipsis")
                    line.append_text(cell)
                continue
            cell = cells[key].copy()
            width = layout.widths[key]
            if key in RIGHT:
                cell.pad_left(width - cell.cell_len)
            cell.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(cell)
            line.append("  ")
        return line

    def _row_note(self, row: int) -> str:
        """The note as its row's last column shows it."""
        view = list(self._views.values())[row]
        return clean_line(note_text(view))

    # ------------------------------------------------------------------ cursor and keys

    def move_cursor(self, *, row: int) -> None:
        self.cursor_row = max(0, min(row, self.row_count - 1))

    def watch_cursor_row(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        rows = [index for index, (row, _) in enumerate(self._lines) if row == self.cursor_row]
        if not rows:
            return
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if rows[0] < top:
            self.scroll_to(y=rows[0], animate=False, immediate=True)
        elif rows[-1] >= top + visible:
            self.scroll_to(y=rows[-1] - visible + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_edge(self, end: int) -> None:
        self.move_cursor(row=self.row_count - 1 if end else 0)

    def on_click(self, event: events.Click) -> None:
        index = event.y - 1 + round(self.scroll_y)
        if event.y >= 1 and 0 <= index < len(self._lines):
            self.move_cursor(row=self._lines[index][0])

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        self._layout_if_needed()
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return self._strip(self._header.copy(), width,
                               base + self.get_component_rich_style("phase-strip--header"))
        index = y - 1 + round(self.scroll_y)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        row, line = self._lines[index]
        over = None
        if row == self.cursor_row:
            name = "phase-strip--cursor" if self.has_focus else "phase-strip--cursor-blurred"
            over = self.get_component_rich_style(name)
        return self._strip(line.copy(), width, base, over)

    def _strip(self, line: Text, width: int, style: Style, over: Style | None = None) -> Strip:
        line.truncate(width, overflow="ellipsis", pad=True)
        segments = [segment for segment in line.render(self.app.console) if segment.text != "\n"]
        strip = Strip(Segment.apply_style(segments, style, over))
        return strip.adjust_cell_length(width, style + over if over else style)
