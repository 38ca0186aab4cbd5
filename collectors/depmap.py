"""The map: how phases, services, event expectations and gaps depend on each other, and how
each of them stands.

The incident's question "where is the canonical diagram?" had no answer: the dependencies
lived in people's heads. Here they come from the configuration (a phase's ``requires``, a
service's ``expect_events``, the gaps), and the states from evidence: this run's
(`evidence_of_run`, what every report carries), a JSON report written earlier
(`evidence_of_json`), or none (everything "not run" / "not probed").

Edges: gap -> phase (``covers``, labelled with the matrix cell: ``1/3``, ``ok 5``), phase ->
service (``requires``; ``blocked-by`` when the phase was blocked while that service was down),
service -> event (``expects``). Node ids are made from positions (``phase_0``, ``event_2_1``),
never from names, so any name is safe in every renderer. Each node has a tone every view
colours the same way: ``ok``, ``bad``, ``warn`` or ``unknown``.

Pure: no file, network or clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.models import (
    DependencyMap,
    Finding,
    GapCell,
    GapRow,
    MapEdge,
    MapNode,
    PhaseRun,
    ServiceSample,
)
from claimcheck.collectors.report.common import gap_cell_text, gap_notes

NOT_RUN = "not run"
NOT_PROBED = "not probed"
NOT_CHECKED = "not checked"

_TONES: dict[str, str] = {
    # phases
    "passed": "ok", "failed": "bad", "error": "bad", "timeout": "bad", "crashed": "bad",
    "blocked": "bad", "no-tests": "warn", "interrupted": "warn", "pending": "unknown",
    "running": "unknown", NOT_RUN: "unknown",
    # services and events
    "up": "ok", "down": "bad", "degraded": "warn", NOT_PROBED: "unknown",
    "seen": "ok", "missing": "bad", NOT_CHECKED: "unknown",
    # gaps
    "green": "ok", "red": "bad", "no-evidence": "warn",
}


def tone_of(status: str) -> str:
    return _TONES.get(status, "unknown")


@dataclass(frozen=True)
class PhaseState:
    status: str
    detail: str = ""


@dataclass(frozen=True)
class ServiceState:
    status: str
    detail: str = ""
    seen: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    events_checked: bool = False


@dataclass(frozen=True)
class GapState:
    status: str
    cells: Mapping[str, str] = field(default_factory=dict)  # phase -> matrix cell text


@dataclass(frozen=True)
class MapEvidence:
    """The states the map colours its nodes by, wherever they came from."""

    phases: Mapping[str, PhaseState] = field(default_factory=dict)
    services: Mapping[str, ServiceState] = field(default_factory=dict)
    gaps: Mapping[str, GapState] = field(default_factory=dict)  # in matrix order
    notes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # gap -> static findings
    source: str = "configuration only: nothing run or probed"


def evidence_of_run(runs: Sequence[PhaseRun] = (), samples: Sequence[ServiceSample] = (),
                    gap_rows: Sequence[GapRow] = (), findings: Sequence[Finding] = (),
                    source: str = "this run") -> MapEvidence:
    return MapEvidence(
        phases={run.name: PhaseState(run.status, run.reason or "") for run in runs},
        services={sample.name: _service_state(sample) for sample in samples},
        gaps={row.name: GapState(row.status, {phase: gap_cell_text(cell)
                                              for phase, cell in row.cells.items()})
              for row in gap_rows},
        notes=gap_notes(findings),
        source=source,
    )


def _service_state(sample: ServiceSample) -> ServiceState:
    events = sample.events
    return ServiceState(
        status=sample.status, detail=sample.detail,
        seen=events.seen if events else (), missing=events.missing if events else (),
        events_checked=events is not None,
    )


def evidence_of_json(document: Mapping[str, Any], source: str = "a report") -> MapEvidence:
    """States from a `claimcheck.report/1` document; raises ValueError when it is not one."""
    if not isinstance(document, Mapping) or document.get("schema") != "claimcheck.report/1":
        raise ValueError("not a claimcheck JSON report (schema claimcheck.report/1)")
    try:
        phases = {str(p["name"]): PhaseState(str(p["status"]), str(p.get("reason") or ""))
                  for p in document.get("phases", [])}
        services = {}
        for s in document.get("services", []):
            events = s.get("events")
            services[str(s["name"])] = ServiceState(
                status=str(s["status"]), detail=str(s.get("detail") or ""),
                seen=tuple(map(str, events["seen"])) if events else (),
                missing=tuple(map(str, events["missing"])) if events else (),
                events_checked=events is not None,
            )
        gaps = {}
        for g in document.get("gaps", []):
            cells = {}
            for phase, c in g.get("cells", {}).items():
                cells[str(phase)] = gap_cell_text(GapCell(int(c["passed"]), int(c["failed"]),
                                                          int(c["error"]), int(c["skipped"])))
            gaps[str(g["name"])] = GapState(str(g["status"]), cells)
        notes: dict[str, list[str]] = {}
        for g in document.get("gaps", []):
            if g.get("notes"):
                notes[str(g["name"])] = [str(note) for note in g["notes"]]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not a claimcheck JSON report: {type(error).__name__}: {error}"
                         ) from None
    started = document.get("started_at")
    where = f"{source} of {started}" if started else source
    return MapEvidence(phases=phases, services=services, gaps=gaps, notes=notes, source=where)


# ----------------------------------------------------------------------------------------


def build_map(config: Config, evidence: MapEvidence | None = None) -> DependencyMap:
    """The configuration's map, coloured by `evidence` (nothing run or probed without it)."""
    evidence = evidence or MapEvidence()
    nodes: list[MapNode] = []
    edges: list[MapEdge] = []
    phase_ids: dict[str, str] = {}
    service_ids: dict[str, str] = {}

    gap_names = [gap.name for gap in config.gaps]
    gap_names += [name for name in evidence.gaps if name not in gap_names]
    titles = {gap.name: gap.title for gap in config.gaps}
    for index, name in enumerate(gap_names):
        state = evidence.gaps.get(name)
        status = state.status if state else NOT_RUN
        title = titles.get(name, name)
        nodes.append(MapNode(id=f"gap_{index}", kind="gap", name=name, status=status,
                             tone=tone_of(status),
                             detail=title if _adds_words(title, name) else "",
                             notes=tuple(evidence.notes.get(name, ()))))

    for index, phase in enumerate(config.phases):
        state = evidence.phases.get(phase.name)
        status = state.status if state else NOT_RUN
        phase_ids[phase.name] = f"phase_{index}"
        nodes.append(MapNode(id=f"phase_{index}", kind="phase", name=phase.name, status=status,
                             tone=tone_of(status), detail=state.detail if state else ""))

    for index, service in enumerate(config.services):
        state = evidence.services.get(service.name)
        status = state.status if state else NOT_PROBED
        service_ids[service.name] = f"service_{index}"
        nodes.append(MapNode(id=f"service_{index}", kind="service", name=service.name,
                             status=status, tone=tone_of(status),
                             detail=state.detail if state else ""))
        for position, event in enumerate(service.expect_events):
            event_status = _event_status(event, state)
            nodes.append(MapNode(id=f"event_{index}_{position}", kind="event", name=event,
                                 status=event_status, tone=tone_of(event_status),
                                 parent=f"service_{index}"))
            edges.append(MapEdge(f"service_{index}", f"event_{index}_{position}", "expects"))

    for index, name in enumerate(gap_names):
        state = evidence.gaps.get(name)
        for phase, cell in (state.cells.items() if state else ()):
            if phase in phase_ids and cell != "—":
                edges.append(MapEdge(f"gap_{index}", phase_ids[phase], "covers", cell))

    for phase in config.phases:
        blocked = evidence.phases.get(phase.name, PhaseState(NOT_RUN)).status == "blocked"
        for required in phase.requires:
            down = evidence.services.get(required, ServiceState(NOT_PROBED)).status == "down"
            kind = "blocked-by" if blocked and down else "requires"
            edges.append(MapEdge(phase_ids[phase.name], service_ids[required], kind, kind))
    return DependencyMap(nodes=tuple(nodes), edges=tuple(_ordered(edges)),
                         evidence=evidence.source)


def _adds_words(title: str, name: str) -> bool:
    """"Router fragmentation" beside "router-fragmentation" only repeats the name."""
    def squash(text: str) -> str:
        return re.sub(r"[\s_-]+", "", text).lower()

    return bool(title) and squash(title) != squash(name)


def _event_status(event: str, state: ServiceState | None) -> str:
    if state is None or not state.events_checked:
        return NOT_CHECKED
    if event in state.missing:
        return "missing"
    return "seen" if event in state.seen else NOT_CHECKED


def _ordered(edges: list[MapEdge]) -> list[MapEdge]:
    """Gaps first, then phases, then services: the order the flowchart reads left to right."""
    rank = {"covers": 0, "requires": 1, "blocked-by": 1, "expects": 2}
    return sorted(edges, key=lambda edge: rank[edge.kind])


def map_to_dict(dependency_map: DependencyMap) -> dict[str, Any]:
    """The map as JSON: `claimcheck map --format json` and the report's "map" key."""
    return {
        "evidence": dependency_map.evidence,
        "nodes": [
            {"id": node.id, "kind": node.kind, "name": node.name, "status": node.status,
             "tone": node.tone, "detail": node.detail, "parent": node.parent,
             "notes": list(node.notes)}
            for node in dependency_map.nodes
        ],
        "edges": [
            {"source": edge.source, "target": edge.target, "kind": edge.kind,
             "label": edge.label}
            for edge in dependency_map.edges
        ],
    }


def blocked_phases(dependency_map: DependencyMap, service_id: str) -> list[MapNode]:
    """The phases a service holds up: those that require it (all of them while it is down)."""
    by_id = {node.id: node for node in dependency_map.nodes}
    return [by_id[edge.source] for edge in dependency_map.edges
            if edge.target == service_id and edge.kind in ("requires", "blocked-by")]
