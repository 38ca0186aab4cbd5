"""`j`/`k` and `g`/`G`: the keys k9s, lazygit and less move with, beside the arrows and Home/End.

Each list, table, tree and scrolling view of the command center binds them to the actions its
arrows and Home/End already run, so the two sets can never move differently.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll


def vim_keys(down: str, up: str, top: str, bottom: str) -> list[Binding]:
    """`j` down, `k` up, `g` to the first line, `G` to the last (hidden from footers)."""
    return [
        Binding("j", down, "down", show=False),
        Binding("k", up, "up", show=False),
        Binding("g", top, "first", show=False),
        Binding("G", bottom, "last", show=False, key_display="G"),
    ]


LIST_KEYS = vim_keys("cursor(1)", "cursor(-1)", "edge(0)", "edge(1)")  # FailureList, lanes
TABLE_KEYS = vim_keys("cursor_down", "cursor_up", "scroll_top", "scroll_bottom")  # DataTable
TREE_KEYS = vim_keys("cursor_down", "cursor_up", "scroll_home", "scroll_end")  # Tree
SCROLL_KEYS = vim_keys("scroll_down", "scroll_up", "scroll_home", "scroll_end")  # containers


class KeyScroll(VerticalScroll):
    """A detail or help screen's body: the arrows, Home/End and j/k/g/G scroll it."""

    BINDINGS = [*SCROLL_KEYS]
