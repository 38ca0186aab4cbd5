"""The command center's panels, declared once.

Their border titles, the focus keys 1-6, the focus tooltip, the help screen and the command
palette are all built from `PANELS`; `panel_title` draws "[3] failures (11)" with the key drawn
as a key and the count as a count.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text


@dataclass(frozen=True)
class Panel:
    """One panel of the command center; its number is its place in `PANELS`."""

    id: str  # the widget's id, and its name in tooltips and the command palette
    title: str  # the border title after the key: "[2] gaps × phases"
    label: str  # what the help screen calls it
    shows: str  # what the help screen says it shows
    side: bool = False  # in the side column (one at a time when narrow)


PANELS: tuple[Panel, ...] = (
    Panel("phases", "phases", "phases",
          "status and progress per phase; R reruns the highlighted one"),
    Panel("matrix", "gaps × phases", "gap matrix",
          "✖ failed+errors/ran, ✔ ran (all passed), 'no evidence' or 'no ev.': nothing ran; "
          "Enter filters the failures"),
    Panel("failures", "failures", "failures",
          "file, test and message; the highlighted one opens its message beneath; Enter "
          "opens the traceback, captured output and gaps; c copies the node id"),
    Panel("findings", "findings", "findings",
          "import errors by missing module, then other problems with the evidence; Enter "
          "opens a finding in full, space folds a group", side=True),
    Panel("services", "services", "services",
          "status, latency, time since the last change, recent history; c copies the "
          "highlighted service's URL and detail", side=True),
    Panel("events", "events", "events",
          "tests, phases and service changes above; WebSocket frames in a lane of their own "
          "beneath; p pauses", side=True),
)


def panel_title(panel_id: str, count: str = "", key_style: Style | str = "bold") -> Text:
    """"[3] failures (11)": the panel's focus key, drawn as a key, its title, and a count."""
    number, panel = next((n, p) for n, p in enumerate(PANELS, 1) if p.id == panel_id)
    title = Text.assemble(("[", "dim"), (str(number), key_style), ("]", "dim"), " ",
                          panel.title)
    if count:
        title.append(f" ({count})")
    return title
