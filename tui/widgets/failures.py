"""The failures and errors, newest last, keyed by phase and node id.

Bounded: a 20,000-test phase with 5,000 failures shows the first `limit` and a "... N more" row
(Enter on it shows more), because every DataTable row costs render time. Passes are only
counted elsewhere. Rows are appended in one `add_rows` call per flush, never one per test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from collectors.models import TestResult
from tui.widgets._text import Redact, data_text, duration

MORE_KEY = "__more__"
SEPARATOR = "\x1f"  # cannot appear in a phase name or a node id printed by pytest
OUTCOME_LABELS = {"failed": ("FAIL", "bold #f85149"), "error": ("ERROR", "bold #ff7b72 reverse")}


def failure_key(phase: str, nodeid: str) -> str:
    """The stable row key: a rerun replaces the row of the same test in the same phase."""
    return f"{phase}{SEPARATOR}{nodeid}"


def split_key(key: str) -> tuple[str, str]:
    phase, _, nodeid = key.partition(SEPARATOR)
    return phase, nodeid


class FailureList(DataTable):
    """Failed and errored tests; Enter opens the failure detail."""

    @dataclass
    class FailureChosen(Message):
        key: str

    def __init__(self, limit: int = 2000, redact: Redact | None = None, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.redact = redact
        self.wide = False
        self._keys: list[str] = []
        self._shown: dict[str, TestResult] = {}  # what the rows show, to redraw on resize
        self._hidden = 0  # matching failures beyond the limit
        self.test_width = 48

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        self.add_column("phase", key="phase")
        self.add_column("", key="outcome")
        self.add_column("test", key="test")
        self.add_column("message", key="message")
        if self.wide:
            self.add_column("where", key="where")
            self.add_column("time", key="time")

    def _cells(self, result: TestResult) -> list[Text]:
        label, style = OUTCOME_LABELS.get(result.outcome, (result.outcome.upper(), "bold"))
        cells = [
            data_text(result.phase, "dim"),
            Text(label, style),
            data_text(result.nodeid, redact=self.redact, one_line=True,
                      limit=self.test_width, keep_tail=True),
        ]
        cells.append(data_text(result.message, "#ff7b72", self.redact, one_line=True,
                               limit=self.test_width if self.wide else 200))
        if self.wide:
            where = f"{result.path}:{result.line}" if result.path and result.line else (
                result.path or "")
            cells.append(data_text(where, "dim", self.redact, one_line=True, limit=50,
                                   keep_tail=True))
            cells.append(Text(duration(result.duration_s), "dim"))
        return cells

    def _more_cells(self) -> list[Text]:
        width = len(self.columns)
        cells = [Text("")] * width
        cells[2] = Text(f"... {self._hidden:,} more (Enter to show more)", "bold #d29922")
        return cells

    @property
    def keys(self) -> Sequence[str]:
        return tuple(self._keys)

    @property
    def hidden(self) -> int:
        return self._hidden

    def reset(self, results: Iterable[TestResult], total: int) -> None:
        """Show the first `limit` of `results` (`total` is how many match in all)."""
        cursor = self.cursor_row
        self.clear()
        self._keys = []
        self._shown = {}
        self._hidden = 0
        self.extend(results, total)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)

    def set_wide(self, wide: bool) -> None:
        """Show the where and time columns (at 200 columns there is room)."""
        if wide != self.wide:
            self.wide = wide
            shown = [self._shown[key] for key in self._keys]
            total = len(self._keys) + self._hidden
            self.clear(columns=True)
            self._add_columns()
            self.reset(shown, total)

    def on_resize(self) -> None:
        """Give the node id about half the width, so the message stays in view."""
        width = max(24, int(self.size.width * (0.3 if self.wide else 0.45)))
        if width != self.test_width:
            self.test_width = width
            for key in self._keys:
                cells = self._cells(self._shown[key])
                self.update_cell(key, "test", cells[2])
                self.update_cell(key, "message", cells[3])

    def extend(self, results: Iterable[TestResult], total: int) -> None:
        """Append rows for new failures while under the limit; count the rest."""
        rows: list[list[Text]] = []
        keys: list[str] = []
        room = self.limit - len(self._keys)
        for result in results:
            if room <= 0:
                break
            key = failure_key(result.phase, result.nodeid)
            if key in self.rows:
                self.update_row(result)
                continue
            rows.append(self._cells(result))
            keys.append(key)
            self._shown[key] = result
            room -= 1
        if MORE_KEY in self.rows:
            self.remove_row(MORE_KEY)
        self.add_rows_keyed(rows, keys)
        self._keys.extend(keys)
        self._hidden = max(0, total - len(self._keys))
        if self._hidden:
            self.add_row(*self._more_cells(), key=MORE_KEY)

    def add_rows_keyed(self, rows: list[list[Text]], keys: list[str]) -> None:
        """Many rows in one go: DataTable lays out once per call, not once per row."""
        for row, key in zip(rows, keys):
            self.add_row(*row, key=key)

    def update_row(self, result: TestResult) -> None:
        key = failure_key(result.phase, result.nodeid)
        self._shown[key] = result
        for column, cell in zip(self.columns, self._cells(result)):
            self.update_cell(key, column, cell)

    def discard(self, key: str, total: int) -> None:
        """Remove a test that no longer fails (it passed on a rerun)."""
        if key in self.rows:
            self.remove_row(key)
            self._keys.remove(key)
            self._shown.pop(key, None)
        self._hidden = max(0, total - len(self._keys))
        if MORE_KEY in self.rows and not self._hidden:
            self.remove_row(MORE_KEY)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return None if key.value == MORE_KEY else key.value

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key == MORE_KEY:
            self.limit += 2000
            self.post_message(self.FailureChosen(MORE_KEY))
        elif key is not None:
            self.post_message(self.FailureChosen(key))
