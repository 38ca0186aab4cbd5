"""Colours by meaning: the one status-to-style map lives in app.tcss, not in the widgets.

Every status word (`passed`, `down`, `no-evidence`...), count, mark and event-log line is drawn
through a component class named `cc--<name>`, whose style app.tcss sets once for the whole
command center (plain class rules, so a name has one style wherever it is drawn). Every screen
lists `PALETTE_CLASSES` in its `COMPONENT_CLASSES`; a widget asks its `Palette` for a Rich
style by name, read from its screen; a name app.tcss does not style draws plain.

Only screens list them: Textual styles one virtual node per component class each time it
styles the node that lists it, so the 33 names in each of a dozen widgets were 1,200 styled
nodes before the first frame, a third of the time to it.
"""

from __future__ import annotations

from typing import Callable

from rich.style import Style
from textual.dom import NoScreen
from textual.screen import Screen
from textual.widget import Widget

STATUS_NAMES = (
    # phases
    "pending", "running", "passed", "failed", "error", "crashed", "timeout", "no-tests",
    "interrupted", "blocked",
    # verdicts and gap rows
    "green", "red", "no-evidence",
    # services
    "up", "degraded", "down",
)
TONE_NAMES = (
    "good", "bad", "warn", "info", "stopped", "message", "stream", "muted", "empty", "notice",
    "outcome-error", "key",
)
BADGE_NAMES = tuple(f"badge-{verdict}" for verdict in
                    ("green", "red", "no-evidence", "running", "interrupted"))
PALETTE_CLASSES: frozenset[str] = frozenset(
    f"cc--{name}" for name in STATUS_NAMES + TONE_NAMES + BADGE_NAMES)

StyleOf = Callable[[str], Style]


def plain(name: str) -> Style:
    """A palette for drawing outside a widget (tests, plain text): no style at all."""
    return Style.null()


class Palette:
    """`palette("failed")` -> the Rich style app.tcss gives `cc--failed` in this widget.

    Styles are read once the widget is mounted (before that, CSS has not reached it) and kept,
    since a frame asks for the same few names thousands of times.
    """

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._cache: dict[str, Style] = {}

    def __call__(self, name: str) -> Style:
        style = self._cache.get(name)
        if style is not None:
            return style
        widget = self._widget
        try:
            source = widget if isinstance(widget, Screen) else widget.screen
            style = source.get_component_rich_style(f"cc--{name}", partial=True)
        except (KeyError, NoScreen):
            style = Style.null()  # a status nobody styled (yet): drawn plain, never wrong
        if self._widget.is_mounted:
            self._cache[name] = style
        return style
