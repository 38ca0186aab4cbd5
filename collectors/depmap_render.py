"""The map drawn two ways: Mermaid flowchart text (GitHub renders it) and plain text lines.

Mermaid safety: node ids are the map's own (``phase_0``: made from positions, never from
names), and every label is quoted with the characters Mermaid or a Markdown fence would read
as syntax written as Mermaid entity codes (``"`` ``#quot;``, ``#`` ``#35;``, ``<`` ``#lt;``,
``>`` ``#gt;``, ``&`` ``#amp;``, a backtick ``#96;``, ``%`` ``#37;`` so no label can open a
``%%{init}%%`` directive). Control characters are shown as visible escapes (``\\x1b``), as
everywhere in claimcheck. The graph only uses flowchart syntax every Mermaid since 9 accepts:
``flowchart LR``, subgraphs, ``-->|"label"|``, ``==>``, ``-.->``, ``classDef``, ``class`` and
``linkStyle``.

The text view (`map_lines`) is for a terminal 80 columns wide and up: services first, each
with the phases it holds up, so a down service shows at a glance which phases it blocks; then
phases with the gaps that have tests in them, then gaps with their notes. Every line carries
its tone, so the TUI colours it and plain text prints it as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from claimcheck.collectors.depmap import blocked_phases
from claimcheck.collectors.models import DependencyMap, MapEdge, MapNode

Redact = Callable[[str], str]

MERMAID_CLASSES = {
    "ok": "fill:#dcfce7,stroke:#16a34a,color:#14532d",
    "bad": "fill:#fee2e2,stroke:#dc2626,color:#7f1d1d,stroke-width:2px",
    "warn": "fill:#fef9c3,stroke:#ca8a04,color:#713f12",
    "unknown": "fill:#f3f4f6,stroke:#9ca3af,color:#374151,stroke-dasharray:4 3",
}
_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
                     "`": "#96;", "%": "#37;"}
_SECTIONS = (("gap", "sg_gaps", "Gaps"), ("phase", "sg_phases", "Phases"),
             ("service", "sg_services", "Services"), ("event", "sg_events", "Expected events"))
_DETAIL_CHARS = 48
_BREAKS = re.compile(r"[\r\n\t]+")
_SPACES = re.compile(r" {2,}")
SYMBOL = {"ok": "✓", "bad": "✗", "warn": "!", "unknown": "?"}


def visible(text: str) -> str:
    """Control characters as visible escapes: `\\x1b[31m` shows as typed, never as colour."""
    return "".join(
        f"\\x{ord(char):02x}" if ord(char) < 32 or 0x7F <= ord(char) <= 0x9F else char
        for char in text
    )


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def mermaid_label(text: str) -> str:
    """`text` as the inside of a quoted Mermaid label: nothing in it is Mermaid syntax."""
    flat = _SPACES.sub(" ", visible(_BREAKS.sub(" ", text)))
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in flat)


def _node_label(node: MapNode, r: Redact) -> str:
    lines = [node.name, node.status]
    if node.kind == "gap" and node.detail:
        lines.insert(1, node.detail)
    elif node.detail and node.tone in ("bad", "warn"):
        lines.append(_short(node.detail, _DETAIL_CHARS))
    lines += list(node.notes)
    return "<br/>".join(mermaid_label(r(line)) for line in lines)


_ARROWS = {"covers": "-->", "requires": "-->", "blocked-by": "==>", "expects": "-.->"}


def _edge_line(edge: MapEdge, r: Redact) -> str:
    arrow = _ARROWS[edge.kind]
    label = edge.label if edge.kind != "blocked-by" else "blocked by"
    if edge.kind == "expects" or not label:
        return f"  {edge.source} {arrow} {edge.target}"
    return f'  {edge.source} {arrow}|"{mermaid_label(r(label))}"| {edge.target}'


def render_mermaid(dependency_map: DependencyMap, *, redactor: Redact | None = None) -> str:
    """A Mermaid flowchart, left to right: gaps, phases, services, expected events."""
    r = redactor or (lambda text: text)
    out = ["flowchart LR"]
    for kind, section_id, title in _SECTIONS:
        members = [node for node in dependency_map.nodes if node.kind == kind]
        if not members:
            continue
        out.append(f'  subgraph {section_id}["{title}"]')
        for node in members:
            out.append(f'    {node.id}["{_node_label(node, r)}"]')
        out.append("  end")
    for edge in dependency_map.edges:
        out.append(_edge_line(edge, r))
    for tone, style in MERMAID_CLASSES.items():
        out.append(f"  classDef {tone} {style}")
    for tone in MERMAID_CLASSES:
        ids = [node.id for node in dependency_map.nodes if node.tone == tone]
        if ids:
            out.append(f"  class {','.join(ids)} {tone}")
    blocked = [str(i) for i, edge in enumerate(dependency_map.edges) if edge.kind == "blocked-by"]
    if blocked:
        out.append(f"  linkStyle {','.join(blocked)} stroke:#dc2626,stroke-width:3px")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------
# Text


@dataclass(frozen=True)
class MapLine:
    text: str
    tone: str  # "ok", "bad", "warn", "unknown", or "heading" / "plain"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def map_lines(dependency_map: DependencyMap, *, width: int = 80,
              redactor: Redact | None = None) -> list[MapLine]:
    """The map as a tree of text lines no wider than `width` (see the module docstring)."""
    r = redactor or (lambda text: text)

    def name(node: MapNode) -> str:
        return visible(r(node.name))

    def status(node: MapNode) -> str:
        detail = f": {_short(visible(r(node.detail)), _DETAIL_CHARS)}" \
            if node.detail and node.tone in ("bad", "warn") and node.kind != "gap" else ""
        return f"{node.status}{detail}"

    nodes = dependency_map.nodes
    by_id = {node.id: node for node in nodes}
    lines: list[MapLine] = [MapLine(_fit(f"evidence: {visible(r(dependency_map.evidence))}",
                                         width), "plain")]
    services = [node for node in nodes if node.kind == "service"]
    if services:
        lines.append(MapLine("SERVICES and the phases that need them", "heading"))
    for service in services:
        lines.append(MapLine(_fit(f"{SYMBOL[service.tone]} {name(service)}  {status(service)}",
                                  width), service.tone))
        children: list[MapLine] = []
        needed = blocked_phases(dependency_map, service.id)
        verb = "blocks" if service.tone == "bad" else "needed by"
        for phase in needed:
            children.append(MapLine(f"{verb} {SYMBOL[phase.tone]} {name(phase)} ({phase.status})",
                                    "bad" if service.tone == "bad" else phase.tone))
        if not needed:
            children.append(MapLine("no phase requires it", "plain"))
        for event in (node for node in nodes if node.parent == service.id):
            children.append(MapLine(f"expects {SYMBOL[event.tone]} {name(event)} ({event.status})",
                                    event.tone))
        for position, child in enumerate(children):
            branch = "└─ " if position == len(children) - 1 else "├─ "
            lines.append(MapLine(_fit("  " + branch + child.text, width), child.tone))

    phases = [node for node in nodes if node.kind == "phase"]
    if phases:
        lines.append(MapLine("PHASES and the gaps they hold tests of", "heading"))
    for phase in phases:
        lines.append(MapLine(_fit(f"{SYMBOL[phase.tone]} {name(phase)}  {status(phase)}", width),
                             phase.tone))
        covers = [(by_id[edge.source], edge.label) for edge in dependency_map.edges
                  if edge.target == phase.id and edge.kind == "covers"]
        if covers:
            text = ", ".join(f"{name(gap)} {visible(label)}" for gap, label in covers)
            lines.append(MapLine(_fit(f"  └─ gaps: {text}", width), "plain"))

    gaps = [node for node in nodes if node.kind == "gap"]
    if gaps:
        lines.append(MapLine("GAPS", "heading"))
    for gap in gaps:
        title = f" ({visible(r(gap.detail))})" if gap.detail else ""
        lines.append(MapLine(_fit(f"{SYMBOL[gap.tone]} {name(gap)}{title}  {gap.status}", width),
                             gap.tone))
        for position, note in enumerate(gap.notes):
            branch = "└─ " if position == len(gap.notes) - 1 else "├─ "
            lines.append(MapLine(_fit(f"  {branch}! {visible(r(note))}", width), "warn"))
    return lines


def render_map_text(dependency_map: DependencyMap, *, width: int = 80,
                    redactor: Redact | None = None) -> str:
    return "\n".join(line.text for line in map_lines(dependency_map, width=width,
                                                     redactor=redactor)) + "\n"
