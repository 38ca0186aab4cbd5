"""What is wrong with the evidence itself, the import errors first.

An import error in a conftest hides hundreds of tests behind one line, so import and collection
errors are grouped by the missing module or name with every file that hit it; everything else
(uncollected test classes, unregistered markers, false greens, deprecations, port mismatches,
no tests) follows, grouped by kind. A Tree, so a long list folds and the keyboard can walk it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from claimcheck.collectors.models import Finding
from claimcheck.tui.widgets._text import Redact, data_text
from rich.text import Text
from textual.widgets import Tree

KIND_TITLES: dict[str, str] = {
    "import-error": "import / collection errors",
    "false-green": "false greens",
    "no-tests": "phases that ran no tests",
    "uncollected-tests": "test code pytest will not collect",
    "unregistered-marker": "unregistered markers",
    "deprecation": "deprecations",
    "port-mismatch": "port mismatches",
    "blocked": "blocked phases",
    "crashed-test": "tests a pytest session died in",
    "interrupted-session": "sessions ended early (pytest.exit, KeyboardInterrupt)",
}
KIND_ORDER = ("crashed-test", "interrupted-session", "import-error", "false-green", "no-tests",
              "blocked", "port-mismatch", "uncollected-tests", "unregistered-marker",
              "deprecation")
SEVERE = {"crashed-test", "interrupted-session", "import-error", "false-green", "no-tests",
          "blocked", "port-mismatch"}


def _where(finding: Finding) -> str:
    if finding.path and finding.line:
        return f"{finding.path}:{finding.line}"
    return finding.path or ""


class FindingsPanel(Tree[Finding]):
    """Findings grouped by kind; import errors grouped by what was missing, with their files."""

    def __init__(self, redact: Redact | None = None, **kwargs: object) -> None:
        super().__init__(Text("findings"), **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.redact = redact
        self._signature: tuple[Finding, ...] | None = None
        self.count = 0

    def on_mount(self) -> None:
        self._show_empty()

    def _show_empty(self) -> None:
        self.root.add_leaf(Text("no findings yet", "dim italic"))

    def show_findings(self, findings: Iterable[Finding]) -> None:
        """Rebuild the tree (it is small), keeping it untouched when nothing changed."""
        findings = tuple(findings)
        if findings == self._signature:
            return
        self._signature = findings
        self.count = sum(f.count for f in findings)
        self.clear()
        if not findings:
            self._show_empty()
            return
        by_kind: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_kind[finding.kind].append(finding)
        kinds = [k for k in KIND_ORDER if k in by_kind] + sorted(set(by_kind) - set(KIND_ORDER))
        for kind in kinds:
            items = by_kind[kind]
            style = "bold #f85149" if kind in SEVERE else "bold #d29922"
            title = Text.assemble((KIND_TITLES.get(kind, kind), style),
                                  (f"  {sum(f.count for f in items)}", "dim"))
            group = self.root.add(title, expand=True)
            if kind == "import-error":
                self._add_import_errors(group, items)
                continue
            for finding in items:
                label = data_text(finding.message, redact=self.redact, one_line=True, limit=160)
                where = _where(finding)
                prefix = Text.assemble((f"[{finding.phase}] " if finding.phase else "", "dim"))
                node_label = Text.assemble(prefix, label)
                if where:
                    node_label.append_text(data_text(f"  {where}", "dim", self.redact))
                if len(finding.files) > 1:
                    node = group.add(node_label, data=finding, expand=False)
                    for path in finding.files:
                        node.add_leaf(data_text(path, "dim", self.redact), data=finding)
                else:
                    group.add_leaf(node_label, data=finding)

    def _add_import_errors(self, group, items: list[Finding]) -> None:  # type: ignore[no-untyped-def]
        """One node per missing module or name, its files beneath, however the judge split them."""
        merged: dict[str, tuple[list[str], int, set[str]]] = {}
        for finding in items:
            files, count, phases = merged.setdefault(finding.message, ([], 0, set()))
            for path in finding.files or ((finding.path,) if finding.path else ()):
                if path not in files:
                    files.append(path)
            if finding.phase:
                phases.add(finding.phase)
            merged[finding.message] = (files, count + finding.count, phases)
        for message, (files, count, phases) in merged.items():
            label = data_text(message, "#ff7b72", self.redact, one_line=True, limit=160)
            label.append(f"  {len(files) or count} file{'s' if (len(files) or count) != 1 else ''}",
                         "dim")
            if phases:
                label.append(f"  ({', '.join(sorted(phases))})", "dim")
            node = group.add(label, expand=True)
            for path in files:
                node.add_leaf(data_text(path, "", self.redact))
