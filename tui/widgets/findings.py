"""What is wrong with the evidence itself, the import errors first.

The same findings the report lists, one row each, grouped by kind, so the panel's count, each
group's count and the report's "Findings (N)" are the same numbers. An import error in a
conftest hides hundreds of tests behind one row, so each import error lists the files it kept
from being collected beneath it; everything else (false greens, phases that ran no tests, port
mismatches, uncollected test classes, unregistered markers, deprecations) follows, most severe
first. A Tree, so a long list folds and the keyboard can walk it.

A row shows what fits on one line; Enter on a finding (or on a file beneath it) opens its
detail, where the whole message, every file and the fix are written out (space folds a group).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar, Iterable

from claimcheck.collectors.models import Finding
from claimcheck.collectors.report.common import finding_where
from claimcheck.tui.widgets._keys import TREE_KEYS
from claimcheck.tui.widgets._palette import Palette
from claimcheck.tui.widgets._text import Clip, Redact, data_text
from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

KIND_TITLES: dict[str, str] = {
    "usage-error": "arguments or config pytest refused",
    "import-error": "import / collection errors",
    "false-green": "false greens",
    "no-tests": "phases that ran no tests",
    "uncollected-tests": "test code pytest will not collect",
    "unregistered-marker": "unregistered markers",
    "deprecation": "deprecations",
    "port-mismatch": "port mismatches",
    "crashed-test": "tests a pytest session died in",
    "interrupted-session": "sessions ended early (pytest.exit, KeyboardInterrupt)",
    "claim-broken": "CLAIMS BROKEN: claimed fixed, red again",
    "tests-disappeared": "tests that disappeared since the last run",
    "claim-stale": "claims whose tests are gone",
    "shard-overlap": "tests that ran in more than one shard",
    "shard-missing": "tests that ran in no shard",
    "shard-mismatch": "shards of different commits or configurations",
    "shard-unverified": "shards that do not say what they left out",
    "duplicate-definition": "single-source names defined more than once",
    "single-source-missing": "single-source names defined nowhere",
    "possible-duplicate": "possible duplicate implementations",
    "deprecated-import": "deprecated modules still imported",
    "audit-error": "files the source audit could not read",
}
KIND_ORDER = ("claim-broken", "tests-disappeared", "crashed-test", "interrupted-session",
              "usage-error", "import-error", "false-green", "no-tests", "shard-missing",
              "shard-mismatch", "shard-overlap", "shard-unverified", "port-mismatch",
              "uncollected-tests", "unregistered-marker", "duplicate-definition",
              "single-source-missing", "deprecated-import", "deprecation", "claim-stale",
              "possible-duplicate", "audit-error")
SEVERE = {"claim-broken", "tests-disappeared", "crashed-test", "interrupted-session",
          "usage-error", "import-error", "false-green", "no-tests", "port-mismatch",
          "shard-missing", "shard-mismatch"}


def finding_line(finding: Finding) -> str:
    """A finding as one line of plain text: `[phase] message  path:line`."""
    prefix = f"[{finding.phase}] " if finding.phase else ""
    where = finding_where(finding)
    return f"{prefix}{finding.message}" + (f"  {where}" if where else "")


@dataclass(frozen=True)
class FindingRef:
    """What a row of the tree stands for: a finding, or one of the files it names."""

    finding: Finding
    file: str | None = None


class FindingsPanel(Tree[FindingRef]):
    """Findings grouped by kind, one row per finding; import errors list their files."""

    BINDINGS: ClassVar[list[BindingType]] = [*TREE_KEYS]

    @dataclass
    class FindingChosen(Message):
        """Enter on a finding or one of its files: show it in full."""

        finding: Finding

    def __init__(self, redact: Redact | None = None, **kwargs: object) -> None:
        super().__init__(Text("findings"), **kwargs)  # type: ignore[arg-type]
        self.show_root = False
        self.auto_expand = False  # Enter opens a finding; space folds
        self.redact = redact
        self.palette = Palette(self)
        self._signature: tuple[Finding, ...] | None = None
        self.count = 0  # findings shown: the report's "Findings (N)"

    def on_mount(self) -> None:
        self._show_empty()

    def on_focus(self) -> None:
        if self.cursor_line < 0 and self.last_line >= 0:
            self.cursor_line = 0  # j and c act on a row from the first key on

    def on_tree_node_selected(self, event: Tree.NodeSelected[FindingRef]) -> None:
        event.stop()
        ref = event.node.data
        if ref is None:
            event.node.toggle()  # a group's title folds it, as before
        else:
            self.post_message(self.FindingChosen(ref.finding))

    @property
    def selected(self) -> FindingRef | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def clip(self) -> Clip | None:
        """`c`: the highlighted finding as one line, or the file highlighted beneath it."""
        ref = self.selected
        if ref is None:
            return None
        if ref.file is not None:
            return Clip("file", ref.file)
        return Clip("finding", finding_line(ref.finding))

    def _show_empty(self, *, judged: bool = False) -> None:
        """Before the first judgement "no findings yet"; after one, the evidence has none."""
        words = "no findings: nothing wrong with the evidence" if judged else "no findings yet"
        self.root.add_leaf(Text(words, self.palette("empty")))

    def show_findings(self, findings: Iterable[Finding]) -> None:
        """Rebuild the tree (it is small), keeping it untouched when nothing changed."""
        findings = tuple(findings)
        if findings == self._signature:
            return
        self._signature = findings
        self.count = len(findings)
        self.clear()
        if not findings:
            self._show_empty(judged=True)
            return
        by_kind: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_kind[finding.kind].append(finding)
        kinds = [k for k in KIND_ORDER if k in by_kind] + sorted(set(by_kind) - set(KIND_ORDER))
        for kind in kinds:
            items = by_kind[kind]
            style = self.palette("failed" if kind in SEVERE else "notice")
            title = Text.assemble((KIND_TITLES.get(kind, kind), style),
                                  (f"  {len(items)}", self.palette("muted")))
            group = self.root.add(title, expand=True)
            for finding in items:
                if kind == "import-error":
                    self._add_import_error(group, finding)
                else:
                    self._add_finding(group, finding)

    def _add_finding(self, group: TreeNode[Finding], finding: Finding) -> None:
        muted = self.palette("muted")
        label = data_text(finding.message, redact=self.redact, one_line=True, limit=160)
        prefix = Text(f"[{finding.phase}] " if finding.phase else "", muted)
        node_label = Text.assemble(prefix, label)
        where = finding_where(finding)
        if where:
            node_label.append_text(data_text(f"  {where}", muted, self.redact))
        if len(finding.files) > 1:
            node = group.add(node_label, data=FindingRef(finding), expand=False)
            for path in finding.files:
                node.add_leaf(data_text(path, muted, self.redact), data=FindingRef(finding, path))
        else:
            group.add_leaf(node_label, data=FindingRef(finding))

    def _add_import_error(self, group: TreeNode[Finding], finding: Finding) -> None:
        """What is missing, then every file it kept from being collected."""
        muted = self.palette("muted")
        files = list(finding.files or ((finding.path,) if finding.path else ()))
        count = len(files) or finding.count
        label = data_text(finding.message, self.palette("message"), self.redact, one_line=True,
                          limit=160)
        label.append(f"  {count} file{'s' if count != 1 else ''}", muted)
        if finding.phase:
            label.append(f"  ({finding.phase})", muted)
        node = group.add(label, data=FindingRef(finding), expand=True)
        for path in files:
            node.add_leaf(data_text(path, "", self.redact), data=FindingRef(finding, path))
