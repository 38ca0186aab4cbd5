"""`?`: every key and panel of the command center, read from its bindings and its panel list
(the screen passes both), so the help cannot drift from what the keys do."""

from __future__ import annotations

from typing import Iterable

from claimcheck.tui.widgets._keys import KeyScroll
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

INTRO = (
    "claimcheck runs the test phases, probes the services and listens to their event streams, "
    "and shows what the evidence says. A cell that says 'no evidence' means nothing ran there: "
    "it is not green."
)

def _key_label(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "escape": "esc", "full_stop": "."}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """A modal listing keys and panels; any of esc, ? or q closes it."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("question_mark", "close", "close", show=False),
        Binding("q", "close", "close", show=False),
    ]

    def __init__(self, bindings: list[Binding],
                 panels: Iterable[tuple[str, str, str]] = (),
                 more_keys: Iterable[tuple[str, str]] = ()) -> None:
        """`panels`: (key, name, what it shows) for each panel, in key order; `more_keys`:
        (keys, what they do) for keys the panels bind themselves (Enter, j/k...)."""
        super().__init__()
        self._keys_shown = bindings
        self._panels = tuple(panels)
        self._more_keys = tuple(more_keys)

    def compose(self) -> ComposeResult:
        with KeyScroll(id="help-body"):
            yield Static(Text("claimcheck — keys", "bold"), id="help-title")
            yield Static(id="help-intro")
            yield Static(id="help-keys", classes="help-block")
            yield Static(Text("panels", "bold"), classes="help-heading")
            yield Static(id="help-panels", classes="help-block")
            yield Static(id="help-closing")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Filled once mounted: the palette's styles come from app.tcss, applied by now."""
        palette = Palette(self)
        key_style, muted = palette("key"), palette("muted")
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style=key_style, no_wrap=True)
        keys.add_column()
        seen: set[str] = set()
        for binding in self._keys_shown:
            if binding.action in seen or not binding.description:
                continue
            if not binding.show and binding.action.startswith("focus_panel"):
                continue  # 2-6 are listed with 1 ("1-6")
            seen.add(binding.action)
            label = binding.key_display or ", ".join(
                _key_label(k.strip()) for k in binding.key.split(","))
            keys.add_row(label, binding.tooltip or binding.description)
        for label, what in self._more_keys:
            keys.add_row(label, what)
        panels = Table.grid(padding=(0, 2))
        panels.add_column(style=key_style, no_wrap=True)
        panels.add_column(style="bold", no_wrap=True)
        panels.add_column()
        for row in self._panels:
            panels.add_row(*row)
        self.query_one("#help-intro", Static).update(Text(INTRO, muted))
        self.query_one("#help-keys", Static).update(keys)
        self.query_one("#help-panels", Static).update(panels)
        self.query_one("#help-closing", Static).update(
            Text("esc or q closes this help; ctrl+p opens the command palette", muted))
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
