"""Report writers: one module per format, and the registry the CLI's `--format` choices come from.

Every writer is a pure function of a `RunReport` (plus the redactor): the verdict's reasons,
each test's gaps and the matrix are decided once, when the report is assembled, so `--report`
in CI, the command center and the tests describe one run the same way.
Every string that came from a test, a service or the network is data: it goes through the
redactor, terminal control codes are never passed through, and nothing is read as rich markup,
Markdown or XML.

A new format is one module in this folder with a render function, and one `Writer` entry in
`WRITERS`. Writers are imported when a report is rendered, not when the registry is read, so
parsing the command line stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from claimcheck.collectors.models import RunReport
    from claimcheck.collectors.report.common import Redact


class Writer(NamedTuple):
    """One report format: its name on the command line and where its render function lives.
    (A named tuple: the registry is read before the first phase's pytest is spawned.)"""

    name: str
    description: str
    target: str  # "module:function" under claimcheck.collectors.report
    colors: bool = False  # takes `color=` (only text does)

    def load(self) -> Callable[..., str]:
        module, _, function = self.target.partition(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)


WRITERS: dict[str, Writer] = {
    writer.name: writer
    for writer in (
        Writer("text", "for a terminal or a CI log", "text:render_text", colors=True),
        Writer("json", "the versioned contract, claimcheck.report/1",
               "json_report:render_json"),
        Writer("markdown", "for a pull request or $GITHUB_STEP_SUMMARY",
               "markdown:render_markdown"),
        Writer("junit", "JUnit XML for CI test tabs", "junit:render_junit"),
        Writer("json-report", "pytest-json-report's document, for CI tools that read it",
               "pytest_json:render_pytest_json"),
    )
}
FORMATS: tuple[str, ...] = tuple(WRITERS)


def render(report: RunReport, fmt: str, *, redactor: Redact | None = None,
           color: bool = False) -> str:
    """`report` in format `fmt` (one of FORMATS)."""
    writer = WRITERS[fmt]
    kwargs: dict[str, object] = {"redactor": redactor}
    if writer.colors:
        kwargs["color"] = color
    return writer.load()(report, **kwargs)
