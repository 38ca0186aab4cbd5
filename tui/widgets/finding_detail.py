"""One finding in full: what is wrong and how to fix it, where, and every file it names.

The findings panel gives a finding one line, which is rarely all of it: the message says what is
wrong, why it matters and what to do, and an import error can name dozens of files. Here the
message wraps to the width of the screen and every file is listed, so nothing needs leaving the
TUI to be read. Text is data: escaped and redacted like everything else.
"""

from __future__ import annotations

from claimcheck.collectors.models import Finding
from claimcheck.collectors.report.common import finding_where
from claimcheck.tui.widgets._keys import KeyScroll
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import Redact, clipboard_text, data_text
from claimcheck.tui.widgets.findings import KIND_TITLES, SEVERE, finding_line
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static


def finding_files(finding: Finding) -> list[str]:
    """Every file the finding names, its own location first, each once."""
    files = [finding_where(finding)] if finding.path else []
    files += [path for path in finding.files if path != finding.path]
    return files


class FindingDetailScreen(Screen[None]):
    """A finding's whole message, where it points, its files; esc or q goes back."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    BINDINGS = [
        Binding("escape", "back", "back"),
        Binding("q", "back", "back", show=False),
        Binding("c", "copy", "copy"),
        Binding("S", "app.screenshot", "screenshot", key_display="S"),
    ]

    def __init__(self, finding: Finding, redact: Redact | None = None) -> None:
        super().__init__()
        self.finding = finding
        self.redact = redact

    def compose(self) -> ComposeResult:
        with KeyScroll(id="detail-body"):
            yield Static(id="detail-title")
            yield Static(id="detail-facts")
            yield Static(classes="detail-heading", id="finding-message-heading")
            yield Static(id="finding-message", classes="detail-block")
            yield Static(classes="detail-heading", id="finding-files-heading")
            yield Static(id="finding-files", classes="detail-block")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Filled once mounted: the palette's styles come from app.tcss, applied by now."""
        finding, redact = self.finding, self.redact
        palette = Palette(self)
        muted = palette("muted")
        tone = palette("failed" if finding.kind in SEVERE else "notice")
        title = Text.assemble((f" {finding.kind} ", tone + Style(reverse=True)), " ",
                              (KIND_TITLES.get(finding.kind, finding.kind), "bold"))
        facts = Text()
        for label, value in (("phase", finding.phase or ""), ("where", finding_where(finding)),
                             ("about", finding.subject),
                             ("gaps", ", ".join(finding.gaps)),
                             ("occurrences", str(finding.count) if finding.count > 1 else "")):
            if value:
                if facts:
                    facts.append("   ")
                facts.append(f"{label} ", muted)
                facts.append_text(data_text(value, "bold", redact))
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#detail-facts", Static).update(facts or Text("(no location)", muted))
        self.query_one("#finding-message-heading", Static).update(
            Text("what is wrong, and the fix", "bold"))
        self.query_one("#finding-message", Static).update(
            data_text(finding.message, "", redact))
        files = finding_files(finding)
        self.query_one("#finding-files-heading", Static).update(
            Text(f"files ({len(files)})", "bold"))
        listing = Text("\n").join(data_text(path, palette("info"), redact, one_line=True)
                                  for path in files)
        self.query_one("#finding-files", Static).update(listing or Text("(none named)", muted))
        self.query_one("#detail-body").focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        shown = clipboard_text(finding_line(self.finding), self.redact)
        self.app.copy_to_clipboard(shown)
        self.notify(shown, title="copied finding", timeout=4, markup=False)
