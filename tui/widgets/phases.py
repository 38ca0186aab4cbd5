"""One row per phase: where it is, what it found so far, and why it did not run.

A DataTable with the phase name as row key, so a row keeps its place (and the cursor) while its
cells change ten times a second, and `R` can rerun the phase under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from claimcheck.tui.widgets._text import data_text, duration
from rich.text import Text
from textual.widgets import DataTable

STATUS_STYLES: dict[str, str] = {
    "pending": "dim",
    "running": "bold #58a6ff",
    "passed": "bold #3fb950",
    "failed": "bold #f85149",
    "error": "bold #f85149",
    "crashed": "bold #f85149",
    "timeout": "bold #f85149",
    "no-tests": "bold #d29922",
    "interrupted": "bold #f0883e",
    "blocked": "bold #d29922",
}

COLUMNS = ("phase", "status", "progress", "passed", "failed", "errors", "skipped", "elapsed",
           "note")
HEADERS = ("phase", "status", "progress", "pass", "fail", "error", "skip", "time", "note")


@dataclass(frozen=True)
class PhaseView:
    """What the strip shows for one phase; built by the app from the live counters."""

    name: str
    status: str = "pending"
    done: int = 0
    collected: int = 0  # selected: collected minus deselected, summed over sessions
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    elapsed_s: float | None = None
    note: str = ""  # "blocked by auth: connection refused", "rerunning 12 failed"
    blocker: str = ""  # the required service that is down, named in the status itself


def progress_bar(done: int, total: int, width: int = 8) -> str:
    if total <= 0:
        return "▱" * width
    filled = min(width, round(width * done / total))
    return "▰" * filled + "▱" * (width - filled)


class PhaseStrip(DataTable):
    """Per-phase status, progress done/selected (collected minus deselected), counts, time."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._shown: dict[str, tuple[object, ...]] = {}

    def on_mount(self) -> None:
        for column, header in zip(COLUMNS, HEADERS):
            self.add_column(header, key=column)

    def cells_for(self, view: PhaseView) -> tuple[Text, ...]:
        status_style = STATUS_STYLES.get(view.status, "")
        if view.collected or view.done:
            total = max(view.collected, view.done)
            progress = Text.assemble((progress_bar(view.done, total), status_style or "dim"),
                                     f" {view.done:,}/{total:,}")
        else:
            progress = Text("—", "dim")
        status = Text(view.status, status_style)
        if view.blocker:
            status.append_text(data_text(f" by {view.blocker}", status_style))
        return (
            data_text(view.name, "bold"),
            status,
            progress,
            Text(f"{view.passed:,}", "#3fb950" if view.passed else "dim"),
            Text(f"{view.failed:,}", "bold #f85149" if view.failed else "dim"),
            Text(f"{view.errors:,}", "bold #f85149" if view.errors else "dim"),
            Text(f"{view.skipped:,}", "dim"),
            Text(duration(view.elapsed_s) if view.status != "blocked" else "—", "dim"
                 if view.status != "running" else ""),
            data_text(view.note, "#d29922", one_line=True, limit=80),
        )

    def show_phase(self, view: PhaseView) -> None:
        """Add or update the row for `view.name`, touching only cells that changed."""
        cells = self.cells_for(view)
        plain = tuple(cell.plain for cell in cells) + (view.status,)
        previous = self._shown.get(view.name)
        if previous == plain:
            return
        self._shown[view.name] = plain
        if previous is None or view.name not in self.rows:
            self.add_row(*cells, key=view.name)
            return
        for column, cell, old, new in zip(COLUMNS, cells, previous, plain):
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
