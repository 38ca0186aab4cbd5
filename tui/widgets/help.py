"""`?`: every key the command center answers to, read from the bindings so it cannot drift."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

INTRO = (
    "claimcheck runs the test phases, probes the services and listens to their event streams, "
    "and shows what the evidence says. A cell that says 'no evidence' means nothing ran there: "
    "it is not green."
)

PANELS = (
    ("1", "phases", "status and progress per phase; R reruns the highlighted one"),
    ("2", "gap matrix", "✖ failed+errors/ran, ✔ ran (all passed), 'no evidence' or 'no ev.': "
                        "nothing ran; Enter filters the failures"),
    ("3", "failures", "Enter opens the traceback, captured output and gaps; c copies the id"),
    ("4", "findings", "import errors by missing module, then other problems with the evidence"),
    ("5", "services", "status, latency, time since the last change, recent history"),
    ("6", "events", "tests, phase and service changes, WebSocket frames; p pauses"),
)


def _key_label(key: str) -> str:
    return {"question_mark": "?", "slash": "/", "escape": "esc", "full_stop": "."}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """A modal listing keys and panels; any of esc, ? or q closes it."""

    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("question_mark", "close", "close", show=False),
        Binding("q", "close", "close", show=False),
    ]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self._keys_shown = bindings

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold #58a6ff", no_wrap=True)
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
        panels = Table.grid(padding=(0, 2))
        panels.add_column(style="bold #58a6ff", no_wrap=True)
        panels.add_column(style="bold", no_wrap=True)
        panels.add_column()
        for row in PANELS:
            panels.add_row(*row)
        with VerticalScroll(id="help-body"):
            yield Static(Text("claimcheck — keys", "bold"), id="help-title")
            yield Static(Text(INTRO, "dim"))
            yield Static(keys, classes="help-block")
            yield Static(Text("panels", "bold"), classes="help-heading")
            yield Static(panels, classes="help-block")
            yield Static(Text("esc closes this help; ctrl+p opens the command palette", "dim"))
        yield Footer(compact=True, show_command_palette=False)

    def action_close(self) -> None:
        self.dismiss(None)
