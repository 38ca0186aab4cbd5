"""`m`: the map of phases, the services they need, the events those owe, and the gaps.

Drawn from the report on screen (`RunReport.dependency_map`, coloured by the run) in the text
form `claimcheck map --format text` prints (`depmap_render.map_lines`): services first, each
with the phases it holds up, so a red service shows at a glance which phases it blocks; then
the phases with the gaps they hold tests of; then the gaps with their notes (duplicate
definitions, deprecated imports). A report opened from a file carries no map: it is built from
its evidence here, the same way; before any judgement, the configuration alone (nothing run).
Scrolls; drawn again for the width and when a newer judgement arrives.
"""

from __future__ import annotations

from typing import Callable

from claimcheck.collectors.config import Config
from claimcheck.collectors.depmap import build_map, evidence_of_run
from claimcheck.collectors.depmap_render import MapLine, map_lines
from claimcheck.collectors.models import DependencyMap, RunReport
from claimcheck.collectors.report.common import sources_text
from claimcheck.tui.widgets._palette import PALETTE_CLASSES, Palette
from claimcheck.tui.widgets._text import Redact
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

TONES = {"ok": "good", "bad": "bad", "warn": "warn", "unknown": "muted"}  # palette names
MIN_WIDTH = 40
TITLE = Text.assemble(("map", "bold"), ("  services first: a red one lists the phases it blocks; "
                                        "then phases and their gaps, then gaps and their notes",
                                        "dim"))


def dependency_map_of(config: Config, report: RunReport | None) -> DependencyMap:
    """The report's map; built from its evidence when it has none (opened from a file); the
    configuration's own (nothing run, nothing probed) before any judgement."""
    if report is None:
        return build_map(config)
    if report.dependency_map is not None:
        return report.dependency_map
    return build_map(config, evidence_of_run(report.phases, report.services, report.gaps,
                                             report.findings,
                                             source=sources_text(report) or "this run"))


class MapScreen(Screen[None]):
    """The map as coloured text lines in a scrolling view. esc or q closes it."""

    COMPONENT_CLASSES = PALETTE_CLASSES
    BINDINGS = [Binding("escape,q", "close", "back", key_display="esc/q")]

    def __init__(self, config: Config, report_of: Callable[[], RunReport | None],
                 redact: Redact | None = None) -> None:
        super().__init__()
        self.config = config
        self.report_of = report_of
        self.redact = redact
        self.report = report_of()
        self.lines: list[MapLine] = []
        self._width = 0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="map-body"):
            yield Static(TITLE, id="map-title")
            yield Static(id="map-lines")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#map-body").focus()
        self.set_interval(1.0, self._follow, name="follow the judgement")

    def on_resize(self) -> None:
        self.draw()

    def _follow(self) -> None:
        report = self.report_of()
        if report is not self.report and report is not None:
            self.report = report
            self.draw(force=True)

    def draw(self, force: bool = False) -> None:
        # The screen's width less the view's padding and its scrollbar: known on the first
        # resize, before the view itself is laid out.
        width = max(MIN_WIDTH, self.size.width - 3)
        if width == self._width and not force:
            return
        self._width = width
        self.lines = map_lines(dependency_map_of(self.config, self.report), width=width,
                               redactor=self.redact)
        palette = Palette(self)
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, line in enumerate(self.lines):
            if index:
                text.append("\n")
            if line.tone == "heading":
                text.append("\n" + line.text, "bold underline")
            else:
                text.append(line.text, palette(TONES[line.tone]) if line.tone in TONES else "")
        self.query_one("#map-lines", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)
