"""The gap x phase matrix: for each thing someone claims is fixed, what each phase says.

Small (gaps x phases), so it is a DataTable updated cell by cell, and only cells whose text
changed are touched. A cell says what the report's matrix says (`gaps.cell_words`): `✖ 1/2`
red, `✔ 4` green, `no evidence` where no test of the gap ran (dim italic, never a colour or a
number, so it can never be mistaken for a green zero), and `…` while its phase runs. Every
phase column must stay in view, so the table fits itself to its width: "no evidence" shortened
to a dim `no ev.` (explained in the panel title), then gap titles cut with an ellipsis. Only
when even that does not fit does the table scroll sideways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from claimcheck.collectors.gaps import NO_EVIDENCE, cell_status, cell_words
from claimcheck.collectors.models import GapCell
from claimcheck.tui.widgets._keys import TABLE_KEYS
from claimcheck.tui.widgets._palette import Palette, StyleOf, plain
from claimcheck.tui.widgets._text import Clip, data_text
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

GAP_COLUMN = "__gap__"
NO_EVIDENCE_SHORT = "no ev."
MIN_TITLE = 10  # below this a gap title says nothing; scroll sideways instead
STATUS_MARKS: dict[str, tuple[str, str]] = {  # row status -> (mark, palette name)
    "green": ("●", "green"),
    "red": ("●", "red"),
    "no-evidence": ("○", "no-evidence"),
    "running": ("◌", "info"),
}
CELL_STYLES = {"red": "failed", "green": "good", "no-evidence": "empty"}  # palette names
CHANGE_STYLES = {"worse": "bad", "better": "good"}  # a cell's move since the last run
NOTE_MARK = "⚠"  # the gap's files hold a duplicate definition or a deprecated import


@dataclass(frozen=True)
class MatrixRow:
    gap: str
    title: str
    status: str  # green, red, no-evidence
    cells: dict[str, GapCell] = field(default_factory=dict)  # phase -> cell (absent: nothing ran)
    # Since the last run on this branch (tui/over_time.py): phase -> "worse" / "better".
    changes: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # duplicate definitions, deprecated imports in its files


def widest_cell(tests: int) -> int:
    """The widest a cell of a phase running `tests` tests can get (`✖ 20000/20000`)."""
    return Text(cell_words(GapCell(failed=tests))).cell_len


def cell_text(cell: GapCell | None, running: bool = False, compact: bool = False,
              style: StyleOf = plain, change: str | None = None) -> Text:
    """The report's words for the cell (`cell_words`), or `…` while nothing ran and the phase
    runs; `compact` shortens only the no-evidence label ("no ev."): numbers are short already.
    `change`: "worse" or "better" since the last run, said after the words.
    """
    status = cell_status(cell)
    if status == "no-evidence" and running:
        return Text("…", style("info"))
    words = cell_words(cell)
    if status == "no-evidence" and compact:
        words = NO_EVIDENCE_SHORT
    text = Text(words, style(CELL_STYLES[status]))
    if change:
        text.append(" " + change, style(CHANGE_STYLES.get(change, "notice")))
    return text


@dataclass(frozen=True)
class _Layout:
    compact: bool = False
    title_limit: int | None = None  # characters of gap title shown; None: all
    widths: tuple[int, ...] = ()  # each phase column's content width
    gap_width: int | None = None  # the gap column's content width (None: not measured yet)


class GapMatrix(DataTable):
    """One row per gap, one column per phase; Enter on a cell filters the failure list."""

    BINDINGS = [*TABLE_KEYS]

    @dataclass
    class CellChosen(Message):
        """The person picked a gap (and a phase, or None for the whole row)."""

        gap: str
        phase: str | None

    def __init__(self, phases: tuple[str, ...] = (), title: str | Text = "",
                 **kwargs: object) -> None:
        super().__init__(cursor_type="cell", **kwargs)  # type: ignore[arg-type]
        self._phases = phases
        self._title = Text(title) if isinstance(title, str) else title
        self.palette = Palette(self)
        self._rows: dict[str, MatrixRow] = {}  # gap -> row, in display order
        # Not `_running`: that name is Textual's own flag for a running message pump, and an
        # empty set there silently stops every repaint (cells stuck on `…` after a rerun).
        self._running_phases: frozenset[str] = frozenset()
        self._layout: _Layout | None = None
        self._shown: dict[tuple[str, str], tuple[str, str]] = {}
        # A running phase's column, as wide as its widest cell can get (`✖ T/T` for its T
        # tests) when there is room: otherwise each count that gains a digit (10, 100, 1,000)
        # rebuilds the table, and every rebuild lays the whole screen out again.
        self._room_for: dict[str, int] = {}

    def on_mount(self) -> None:
        self._add_columns()
        self._show_title()

    def _add_columns(self) -> None:
        """Columns as wide as the layout measured them, so the table is drawn right at once:
        a width DataTable measures itself only arrives with its next idle, and a rebuild to
        the same overall size never asks for the repaint that would show it."""
        layout = self._layout or _Layout()
        self.add_column("gap", key=GAP_COLUMN, width=layout.gap_width)
        widths = layout.widths if len(layout.widths) == len(self._phases) else ()
        for index, phase in enumerate(self._phases):
            self.add_column(data_text(phase, "bold", one_line=True), key=phase,
                            width=widths[index] if widths else None)

    @property
    def compact(self) -> bool:
        return self._layout is not None and self._layout.compact

    def show_rows(self, rows: list[MatrixRow], running: frozenset[str] = frozenset(),
                  expected: Mapping[str, int] | None = None) -> None:
        """Bring the table in line with `rows`, adding new gaps and updating changed cells only.
        `expected`: how many tests each running phase will run, as far as is known."""
        for row in rows:
            self._rows[row.gap] = row
        self._running_phases = running
        self._room_for = {phase: widest_cell(count) for phase, count in (expected or {}).items()
                          if phase in running and count > 0}
        self._draw()

    def reset_rows(self) -> None:
        """Drop every row (the column layout stays); the next `show_rows` adds them in order."""
        self.clear()
        self._rows.clear()
        self._shown.clear()

    def on_resize(self) -> None:
        self._draw()

    # ------------------------------------------------------------------ drawing

    def _texts(self, row: MatrixRow, layout: _Layout) -> dict[str, Text]:
        mark, mark_style = STATUS_MARKS.get(row.status, ("?", ""))
        marks = Text(mark + " ", self.palette(mark_style))
        if row.notes:  # the notes themselves are spelled out beside the matrix (GapNotes)
            marks.append(NOTE_MARK + " ", self.palette("notice"))
        limit = (None if layout.title_limit is None
                 else max(1, layout.title_limit - marks.cell_len))
        texts = {GAP_COLUMN: Text.assemble(marks, data_text(row.title, one_line=True,
                                                            limit=limit))}
        for phase in self._phases:
            texts[phase] = cell_text(row.cells.get(phase), phase in self._running_phases,
                                     layout.compact, self.palette, row.changes.get(phase))
        return texts

    def _choose_layout(self) -> _Layout:
        """The widest layout that shows every column: full, compact, compact + short titles."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return self._layout or _Layout()
        pad = 2 * self.cell_padding
        rows = list(self._rows.values())
        full_titles = max((2 + 2 * bool(row.notes) + data_text(row.title, one_line=True).cell_len
                           for row in rows), default=3)
        widths: tuple[int, ...] = ()
        for compact in (False, True):
            widths = tuple(
                max([data_text(phase, one_line=True).cell_len]
                    + [cell_text(row.cells.get(phase), phase in self._running_phases, compact,
                                 change=row.changes.get(phase)).cell_len
                       for row in rows])
                for phase in self._phases)
            if not compact and self._room_for:
                roomy = tuple(max(wide, self._room_for.get(phase, 0))
                              for wide, phase in zip(widths, self._phases))
                if sum(roomy) + pad * len(roomy) + max(3, full_titles) + pad <= width:
                    return _Layout(False, None, roomy, max(3, full_titles))
            columns = sum(widths) + pad * len(widths)
            if columns + max(3, full_titles) + pad <= width:
                return _Layout(compact, None, widths, max(3, full_titles))
        room = width - columns - pad
        limit = max(MIN_TITLE, min(room, full_titles))
        return _Layout(True, limit, widths, max(3, limit))

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        layout = self._choose_layout()
        if layout != self._layout:
            self._layout = layout
            self._rebuild()
            self._show_title()
            return
        for row in self._rows.values():
            texts = self._texts(row, layout)
            if row.gap not in self.rows:
                self._add(row.gap, texts)
                continue
            for column, text in texts.items():
                signature = (text.plain, str(text.style))
                if self._shown.get((row.gap, column)) != signature:
                    self._shown[(row.gap, column)] = signature
                    self.update_cell(row.gap, column, text)

    def _add(self, gap: str, texts: dict[str, Text]) -> None:
        self.add_row(*texts.values(), key=gap)
        for column, text in texts.items():
            self._shown[(gap, column)] = (text.plain, str(text.style))

    def _rebuild(self) -> None:
        """New widths: re-add the (few) rows so columns are measured afresh; keep the cursor.

        A DataTable column only ever grows, so a cell that got shorter ("no evidence" -> "✔ 4")
        would otherwise leave its column too wide to fit the others."""
        cursor = self.cursor_coordinate
        self.clear(columns=True)
        self._shown.clear()
        self._add_columns()
        assert self._layout is not None
        for row in self._rows.values():
            self._add(row.gap, self._texts(row, self._layout))
        if self.row_count:
            self.move_cursor(row=min(cursor.row, self.row_count - 1), column=cursor.column,
                             animate=False)

    def set_title(self, title: Text) -> None:
        """The border title; the "no ev." legend is added when the cells use it."""
        self._title = title
        if self.is_mounted:
            self._show_title()

    def _show_title(self) -> None:
        title = self._title.copy()
        if self.compact:
            title.append("  ")
            title.append(NO_EVIDENCE_SHORT, self.palette("empty"))
            title.append(f" = {NO_EVIDENCE}", self.palette("muted"))
        self.border_title = title

    # ------------------------------------------------------------------ keys

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        gap = event.cell_key.row_key.value
        column = event.cell_key.column_key.value
        if gap is None:
            return
        self.post_message(self.CellChosen(gap, None if column == GAP_COLUMN else column))

    def clip(self) -> Clip | None:
        """`c`: the highlighted gap, and the words of the highlighted cell."""
        gap, phase = self.selected
        row = self._rows.get(gap) if gap is not None else None
        if row is None:
            return None
        name = row.title if row.title == row.gap else f"{row.gap} ({row.title})"
        if phase is None:
            return Clip("gap", f"{name}: {row.status}")
        return Clip("cell", f"{name} × {phase}: {cell_words(row.cells.get(phase))}")

    @property
    def selected(self) -> tuple[str | None, str | None]:
        """(gap, phase) under the cursor; phase is None on the gap column."""
        if not self.row_count:
            return None, None
        try:
            row_key, column_key = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None, None
        column = column_key.value
        return row_key.value, None if column == GAP_COLUMN else column
