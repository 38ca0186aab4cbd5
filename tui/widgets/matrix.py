"""The gap x phase matrix: for each thing someone claims is fixed, what each phase says.

Small (gaps x phases), so it is a DataTable updated cell by cell, and only cells whose text
changed are touched. A cell where nothing ran says "no evidence" in a dim, distinct style so it
can never be mistaken for a green zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from collectors.models import GapCell
from tui.widgets._text import data_text

GAP_COLUMN = "__gap__"
NO_EVIDENCE = "no evidence"
STATUS_MARKS: dict[str, tuple[str, str]] = {
    "green": ("●", "#3fb950"),
    "red": ("●", "#f85149"),
    "no-evidence": ("○", "dim"),
    "running": ("◌", "#58a6ff"),
}


@dataclass(frozen=True)
class MatrixRow:
    gap: str
    title: str
    status: str  # green, red, no-evidence
    cells: dict[str, GapCell] = field(default_factory=dict)  # phase -> cell (absent: nothing ran)


def cell_text(cell: GapCell | None, running: bool = False) -> Text:
    """'failed+errors/total', red or green; 'no evidence' (dim italic) where nothing executed."""
    if cell is None or not cell.has_evidence:
        if running:
            return Text("…", "#58a6ff")
        label = NO_EVIDENCE if cell is None or not cell.skipped else f"{NO_EVIDENCE} ({cell.skipped} skip)"
        return Text(label, "dim italic")
    bad = cell.failed + cell.error
    style = "bold #f85149" if bad else "#3fb950"
    return Text(f"{bad}/{cell.total}", style)


class GapMatrix(DataTable):
    """One row per gap, one column per phase; Enter on a cell filters the failure list."""

    @dataclass
    class CellChosen(Message):
        """The person picked a gap (and a phase, or None for the whole row)."""

        gap: str
        phase: str | None

    def __init__(self, phases: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(cursor_type="cell", **kwargs)  # type: ignore[arg-type]
        self._phases = phases
        self._shown: dict[tuple[str, str], str] = {}
        self._titles: dict[str, str] = {}

    def on_mount(self) -> None:
        self.add_column("gap", key=GAP_COLUMN)
        for phase in self._phases:
            self.add_column(Text(phase, "bold", no_wrap=True), key=phase)

    def show_rows(self, rows: list[MatrixRow], running: frozenset[str] = frozenset()) -> None:
        """Bring the table in line with `rows`, adding new gaps and updating changed cells only."""
        for row in rows:
            mark, mark_style = STATUS_MARKS.get(row.status, ("?", ""))
            title = Text.assemble((mark + " ", mark_style), data_text(row.title, one_line=True))
            texts = {phase: cell_text(row.cells.get(phase), phase in running)
                     for phase in self._phases}
            if row.gap not in self.rows:
                self._titles[row.gap] = title.plain + mark_style
                self.add_row(title, *(texts[p] for p in self._phases), key=row.gap)
                for phase in self._phases:
                    self._shown[(row.gap, phase)] = texts[phase].plain + str(texts[phase].style)
                continue
            if self._titles.get(row.gap) != title.plain + mark_style:
                self._titles[row.gap] = title.plain + mark_style
                self.update_cell(row.gap, GAP_COLUMN, title, update_width=self._grows(GAP_COLUMN, title))
            for phase in self._phases:
                signature = texts[phase].plain + str(texts[phase].style)
                if self._shown.get((row.gap, phase)) != signature:
                    self._shown[(row.gap, phase)] = signature
                    self.update_cell(row.gap, phase, texts[phase],
                                     update_width=self._grows(phase, texts[phase]))

    def _grows(self, column: str, cell: Text) -> bool:
        """Only a wider cell needs the column re-measured (which re-lays out the screen)."""
        return cell.cell_len > self.columns[column].content_width  # type: ignore[index]

    def reset_rows(self) -> None:
        """Drop every row (the column layout stays); the next `show_rows` adds them in order."""
        self.clear()
        self._shown.clear()
        self._titles.clear()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        gap = event.cell_key.row_key.value
        column = event.cell_key.column_key.value
        if gap is None:
            return
        self.post_message(self.CellChosen(gap, None if column == GAP_COLUMN else column))

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
