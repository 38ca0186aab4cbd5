"""One failure in full: where it lives, its gaps, the traceback and the captured output.

The traceback is text pytest printed, so it is shown as data: control sequences stripped,
secrets masked, then highlighted as Python (or as a Python traceback when it is one) with pytest's
`>` and `E` lines picked out. Nothing in it is ever parsed as markup.
"""

from __future__ import annotations

import re

from claimcheck.collectors.models import TestResult
from claimcheck.collectors.report.common import rerun_text, subtests_text
from claimcheck.tui.widgets._keys import KeyScroll
from claimcheck.tui.widgets._text import (
    Redact,
    clean,
    clipboard_text,
    data_text,
    duration,
)
from claimcheck.tui.widgets.failures import OUTCOME_LABELS
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

MAX_TRACEBACK_LINES = 4000
_LOCATION = re.compile(r"^[^\s].*:\d+: [A-Za-z_][\w.]*$")


def highlight_traceback(longrepr: str, redact: Redact | None = None,
                        theme: str = "monokai") -> Text:
    """Syntax-highlighted `Text` for a pytest longrepr; safe whatever it contains."""
    code = clean(longrepr, redact).expandtabs(4)
    lines = code.splitlines()
    note = ""
    if len(lines) > MAX_TRACEBACK_LINES:
        note = f"\n... {len(lines) - MAX_TRACEBACK_LINES:,} more lines not shown"
        code = "\n".join(lines[:MAX_TRACEBACK_LINES])
    lexer = "pytb" if "Traceback (most recent call last)" in code else "python"
    text = Syntax(code, lexer, theme=theme, background_color="default").highlight(code)
    # The theme paints its background behind each token (and the terminal's default behind
    # the rest), which shows as patches on the block; the block's own background should show.
    text.style = Style(color=_as_style(text.style).color)
    text.spans = [Span(span.start, span.end, _without_background(span.style))
                  for span in text.spans]
    text.no_wrap = False
    offset = 0
    for line in code.splitlines(keepends=True):
        stripped = line.rstrip("\n")
        if stripped.startswith("E ") or stripped == "E":
            text.stylize("bold #ff7b72", offset, offset + len(stripped))
        elif stripped.startswith(">"):
            text.stylize("bold #e3b341", offset, offset + 1)
        elif _LOCATION.match(stripped):
            text.stylize("#79c0ff underline", offset, offset + len(stripped))
        offset += len(line)
    if note:
        text.append(note, "dim italic")
    text.rstrip()
    return text


def _as_style(style: str | Style) -> Style:
    return style if isinstance(style, Style) else Style.parse(style or "none")


def _without_background(style: str | Style) -> Style:
    style = _as_style(style)
    return Style(color=style.color, bold=style.bold, italic=style.italic,
                 underline=style.underline)


class FailureDetailScreen(Screen[None]):
    """The failure's traceback, captured output, gaps and location. esc or q goes back."""

    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("q", "back", "back", show=False),  # as in a pager; q on the main screen quits
        Binding("c", "copy_nodeid", "copy node id"),
        Binding("S", "app.screenshot", "screenshot", key_display="S"),
    ]

    def __init__(self, result: TestResult, gaps: tuple[str, ...] = (),
                 redact: Redact | None = None) -> None:
        super().__init__()
        self.result = result
        self.gaps = gaps
        self.redact = redact

    def compose(self) -> ComposeResult:
        result = self.result
        label, style = OUTCOME_LABELS.get(result.outcome, (result.outcome.upper(), "bold"))
        title = Text.assemble((f" {label} ", style), " ",
                              data_text(result.nodeid, "bold", self.redact))
        where = f"{result.path}:{result.line}" if result.path and result.line else (
            result.path or "unknown")
        facts = Text()
        facts.append("phase ", "dim")
        facts.append_text(data_text(result.phase, "bold"))
        facts.append("   where ", "dim")
        facts.append_text(data_text(where, "#79c0ff", self.redact))
        facts.append("   stage ", "dim")
        facts.append(result.when)
        if result.when != "collect":  # a file that failed to import has no run time
            facts.append("   took ", "dim")
            facts.append(duration(result.duration_s))
        facts.append("\ngaps ", "dim")
        facts.append_text(data_text(", ".join(self.gaps) or "none", "bold"))
        if result.markers:
            facts.append("   markers ", "dim")
            facts.append_text(data_text(", ".join(result.markers)))
        if result.reruns:
            facts.append("   reruns ", "dim")
            facts.append(rerun_text(result), "bold #e3b341")
        if result.subtests is not None:
            facts.append("   subtests ", "dim")
            facts.append(subtests_text(result.subtests),
                         "bold #ff7b72" if result.subtests.failed else "")
        with KeyScroll(id="detail-body"):
            yield Static(title, id="detail-title")
            yield Static(facts, id="detail-facts")
            if result.message:
                yield Static(data_text(result.message, "bold #ff7b72", self.redact),
                             id="detail-message")
            yield Static(Text("traceback", "bold"), classes="detail-heading")
            body = (highlight_traceback(result.longrepr, self.redact) if result.longrepr
                    else Text("(pytest reported no traceback)", "dim italic"))
            yield Static(body, id="detail-traceback", classes="detail-block")
            for name, content in result.sections:
                yield Static(data_text(name, "bold"), classes="detail-heading")
                yield Static(data_text(content.rstrip("\n") or "(empty)", "", self.redact),
                             classes="detail-block detail-section")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_copy_nodeid(self) -> None:
        shown = clipboard_text(self.result.nodeid, self.redact)  # what the screen shows
        self.app.copy_to_clipboard(shown)
        self.notify(shown, title="copied node id", timeout=3, markup=False)
