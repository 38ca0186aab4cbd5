"""The top line: the verdict first, then what was tested and for how long.

The verdict is the one thing someone glancing over a shoulder must read correctly, so each state
has its own word and colour, and "no evidence" is never green.
"""

from __future__ import annotations

from claimcheck.collectors.gitinfo import GitInfo
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import data_text, duration
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

VERDICT_LABELS: dict[str, str] = {
    "green": " GREEN ",
    "red": " RED ",
    "no-evidence": " NO EVIDENCE ",
    "running": " RUNNING ",
    "interrupted": " INTERRUPTED ",
}


class VerdictHeader(Static):
    """Verdict badge, project, git branch and commit, elapsed time."""


    verdict: reactive[str] = reactive("no-evidence")
    project: reactive[str] = reactive("")
    git: reactive[GitInfo | None] = reactive(None)
    elapsed_s: reactive[float | None] = reactive(None)
    detail: reactive[str] = reactive("")  # e.g. "2/3 phases" while running

    def render(self) -> Table:
        palette = Palette(self)
        label = VERDICT_LABELS.get(self.verdict, f" {self.verdict.upper()} ")
        style = palette(f"badge-{self.verdict}") if self.verdict in VERDICT_LABELS else "reverse"
        left = Text.assemble((label, style), " ")
        left.append_text(data_text(self.project, "bold"))
        if self.git is not None:
            left.append("  ")
            left.append(self.git.branch or "detached", "cyan")
            if self.git.commit:
                left.append(f" @ {self.git.commit}", "dim")
            if self.git.dirty:
                left.append(" dirty", "bold yellow")
        if self.detail:
            left.append("  ")
            left.append_text(data_text(self.detail, "dim"))
        right = Text(duration(self.elapsed_s) if self.elapsed_s is not None else "", "bold")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        return grid
