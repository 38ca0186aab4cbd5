"""One row per phase: where it is, what it found so far, and why it did not run.

A DataTable with the phase name as row key, so a row keeps its place (and the cursor) while its
cells change ten times a second, and `R` can rerun the phase under the cursor. The counts are
the report's own columns (`Counts`): xfail and xpass get a column of their own once some phase
has one, as in the report, and `done` counts a file that could not be collected as the error it
is in the `error` column, so a row always adds up.
"""

from __future__ import annotations

from dataclasses import dataclass

from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import data_text, duration
from rich.text import Text
from textual.widgets import DataTable

# (column key, header, always shown). The optional ones appear once some phase has any.
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("phase", "phase", True), ("status", "status", True), ("progress", "progress", True),
    ("passed", "pass", True), ("failed", "fail", True), ("errors", "error", True),
    ("skipped", "skip", True), ("xfailed", "xfail", False), ("xpassed", "xpass", False),
    ("elapsed", "time", True), ("note", "note", True),
)


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


def progress_bar(done: int, total: int, width: int = 8) -> str:
    if total <= 0:
        return "▱" * width
    filled = min(width, round(width * done / total))
    return "▰" * filled + "▱" * (width - filled)


class PhaseStrip(DataTable):
    """Per-phase status, progress done/total, the report's counts, time and note."""

    COMPONENT_CLASSES = PALETTE_CLASSES

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.palette = Palette(self)
        self._views: dict[str, PhaseView] = {}  # phase -> last view, in row order
        self._shown: dict[str, tuple[object, ...]] = {}
        self._columns: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self._set_columns(self._wanted_columns())

    def _wanted_columns(self) -> tuple[str, ...]:
        views = self._views.values()
        return tuple(key for key, _, always in COLUMNS
                     if always or any(getattr(view, key) for view in views))

    def _set_columns(self, keys: tuple[str, ...]) -> None:
        """(Re)build the columns: rare, only when xfail or xpass first appear."""
        cursor = self.cursor_coordinate
        self.clear(columns=True)
        self._shown.clear()
        self._columns = keys
        headers = {key: header for key, header, _ in COLUMNS}
        for key in keys:
            self.add_column(headers[key], key=key)
        for view in self._views.values():
            self._draw(view)
        if self.row_count:
            self.move_cursor(row=min(cursor.row, self.row_count - 1), animate=False)

    def cells_for(self, view: PhaseView) -> dict[str, Text]:
        style = self.palette
        status_style = style(view.status)
        if view.total or view.done:
            total = max(view.total, view.done)
            progress = Text.assemble((progress_bar(view.done, total),
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
            "phase": data_text(view.name, "bold"),
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
            "note": data_text(view.note, style("warn"), one_line=True, limit=80),
        }

    def show_phase(self, view: PhaseView) -> None:
        """Add or update the row for `view.name`, touching only cells that changed."""
        self._views[view.name] = view
        if not self.is_mounted:
            return
        wanted = self._wanted_columns()
        if wanted != self._columns:
            self._set_columns(wanted)
            return
        self._draw(view)

    def _draw(self, view: PhaseView) -> None:
        cells = self.cells_for(view)
        shown = [cells[key] for key in self._columns]
        plain = tuple(cell.plain for cell in shown) + (view.status,)
        previous = self._shown.get(view.name)
        if previous == plain:
            return
        self._shown[view.name] = plain
        if previous is None or view.name not in self.rows:
            self.add_row(*shown, key=view.name)
            return
        for column, cell, old, new in zip(self._columns, shown, previous, plain):
            if old != new or column == "status":
                grow = cell.cell_len > self.columns[column].content_width  # type: ignore[index]
                self.update_cell(view.name, column, cell, update_width=grow)

    @property
    def selected_phase(self) -> str | None:
        """The phase under the cursor, for `R`."""
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return key.value
