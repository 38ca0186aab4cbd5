"""The map: its model from configuration and evidence, and the Mermaid and text drawings."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from claimcheck.collectors.config import Config, parse_config
from claimcheck.collectors.depmap import (
    build_map,
    evidence_of_json,
    evidence_of_run,
    map_to_dict,
)
from claimcheck.collectors.depmap_render import map_lines, mermaid_label, render_mermaid
from claimcheck.collectors.gaps import gap_matrix
from claimcheck.collectors.models import (
    Counts,
    EventCheck,
    Finding,
    PhaseRun,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.report.json_report import render_json
from claimcheck.collectors.report.markdown import render_markdown


def make_config(root: Path, *, phase_names=("unit", "e2e", "staging"), service_names=None,
                gaps=None) -> Config:
    service_names = service_names or {"auth": "http", "backend": "http", "events": "ws"}
    services = []
    for name, kind in service_names.items():
        scheme = "ws" if kind == "ws" else "http"
        item = {"name": name, "url": f"{scheme}://127.0.0.1:9/{kind}"}
        if kind == "ws":
            item["expect_events"] = ["agent_started", "tool_completed"]
        services.append(item)
    names = list(service_names)
    phases = [{"name": phase_names[0], "pytest": []},
              {"name": phase_names[1], "pytest": [], "requires": names[:2]},
              {"name": phase_names[2], "pytest": [], "requires": names[:1]}]
    table = {"phases": phases, "services": services,
             "gaps": gaps or {"auth": {"title": "Service auth", "match": ["*auth*"]},
                              "websocket": {"match": ["*ws*"]}}}
    return parse_config(table, root=root, source=root / "pyproject.toml")


def run(name: str, status: str, tests=(), reason=None) -> PhaseRun:
    passed = sum(t.outcome == "passed" for t in tests)
    failed = sum(t.outcome == "failed" for t in tests)
    return PhaseRun(name=name, status=status, exit_code=None, duration_s=0.1,
                    counts=Counts(collected=len(tests), passed=passed, failed=failed),
                    tests=tuple(tests), reason=reason)


def sample(name: str, status: str, events: EventCheck | None = None) -> ServiceSample:
    return ServiceSample(name=name, kind="http", url="http://127.0.0.1:9/", status=status,
                         detail="connection refused" if status == "down" else "ok",
                         checked_at=1.0, events=events)


def evidence(config: Config):
    runs = [
        run("unit", "failed", [TestResult("tests/test_auth.py::t", "failed", "unit"),
                               TestResult("tests/test_ws.py::t", "passed", "unit")]),
        run("e2e", "blocked", reason="blocked by backend: connection refused"),
    ]
    samples = [sample("auth", "up"), sample("backend", "down"),
               sample("events", "degraded", EventCheck(("agent_started", "tool_completed"),
                                                       ("agent_started",), ("tool_completed",)))]
    rows = gap_matrix(runs, config.gaps)
    findings = [Finding("duplicate-definition", None, "app/ws.py", 3, "...",
                        files=("app/ws.py",), subject="WebSocketManager", gaps=("websocket",))]
    return runs, samples, rows, findings


def test_the_configuration_alone_gives_structure_and_no_state(tmp_path: Path) -> None:
    dependency_map = build_map(make_config(tmp_path))
    states = {(node.kind, node.name): (node.status, node.tone) for node in dependency_map.nodes}
    assert states[("phase", "e2e")] == ("not run", "unknown")
    assert states[("service", "backend")] == ("not probed", "unknown")
    assert states[("event", "tool_completed")] == ("not checked", "unknown")
    assert states[("gap", "auth")] == ("not run", "unknown")
    edges = {(edge.source, edge.target, edge.kind) for edge in dependency_map.edges}
    assert edges == {
        ("phase_1", "service_0", "requires"), ("phase_1", "service_1", "requires"),
        ("phase_2", "service_0", "requires"),
        ("service_2", "event_2_0", "expects"), ("service_2", "event_2_1", "expects"),
    }
    assert "configuration only" in dependency_map.evidence


def test_evidence_colours_every_node_and_marks_what_blocked_a_phase(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    dependency_map = build_map(config, evidence_of_run(*evidence(config)))
    nodes = {(node.kind, node.name): node for node in dependency_map.nodes}
    assert (nodes[("phase", "unit")].tone, nodes[("phase", "e2e")].status) == ("bad", "blocked")
    assert nodes[("phase", "staging")].status == "not run"
    assert [nodes[("service", n)].tone for n in ("auth", "backend", "events")] == [
        "ok", "bad", "warn"]
    assert nodes[("event", "agent_started")].status == "seen"
    assert nodes[("event", "tool_completed")].status == "missing"
    assert nodes[("gap", "websocket")].notes == ("duplicate definition: WebSocketManager",)
    assert nodes[("gap", "auth")].detail == "Service auth"
    kinds = {(edge.source, edge.target): (edge.kind, edge.label) for edge in dependency_map.edges}
    assert kinds[("phase_1", "service_1")] == ("blocked-by", "blocked-by")  # backend was down
    assert kinds[("phase_1", "service_0")] == ("requires", "requires")  # auth was up
    assert kinds[("gap_0", "phase_0")] == ("covers", "✖ 1/1")
    assert kinds[("gap_1", "phase_0")] == ("covers", "✔ 1")


def test_a_json_report_gives_the_same_map_as_the_run_it_describes(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    runs, samples, rows, findings = evidence(config)
    report = RunReport(project=str(tmp_path), started_at=1.0, duration_s=1.0, phases=tuple(runs),
                       gaps=rows, findings=tuple(findings), services=tuple(samples),
                       verdict="red", exit_code=1)
    from_json = build_map(config, evidence_of_json(json.loads(render_json(report))))
    from_run = build_map(config, evidence_of_run(runs, samples, rows, findings))
    assert from_json.nodes == from_run.nodes and from_json.edges == from_run.edges


@pytest.mark.parametrize("document", [{}, {"schema": "other"}, [],
                                      {"schema": "claimcheck.report/1", "phases": [{}]}])
def test_evidence_that_is_not_a_report_is_refused(document) -> None:
    with pytest.raises(ValueError, match="not a claimcheck JSON report"):
        evidence_of_json(document)


# ----------------------------------------------------------------------------------------
# Mermaid

HOSTILE = ['say "hi"', "a#b;c", "<script>x</script>", "```", "%%{init: {'theme':'dark'}}%%",
           "two\nlines", "\x1b[31mred", "end", "graph TD", "a-->b", "[x]|y|"]

_ID = r"[a-z][a-z0-9_]*"
_LABEL = r'"(?:[^"<>#`%\n\x00-\x1f]|#\w+;|<br/>)*"'
_GRAMMAR = [
    re.compile(r"flowchart LR"),
    re.compile(rf"  subgraph {_ID}\[{_LABEL}\]"),
    re.compile(rf"    {_ID}\[{_LABEL}\]"),
    re.compile(r"  end"),
    re.compile(rf"  {_ID} (?:-->|==>|-\.->)(?:\|{_LABEL}\|)? {_ID}"),
    re.compile(r"  classDef (?:ok|bad|warn|unknown) [\w:#,.\- ]+"),
    re.compile(rf"  class {_ID}(?:,{_ID})* (?:ok|bad|warn|unknown)"),
    re.compile(r"  linkStyle \d+(?:,\d+)* [\w:#,.\- ]+"),
]


def assert_mermaid_subset(text: str) -> None:
    """Every line is one of the statements the renderer may write, with safe ids and labels."""
    for line in text.rstrip("\n").split("\n"):
        assert any(rule.fullmatch(line) for rule in _GRAMMAR), line


def hostile_map(tmp_path: Path):
    names = {name: ("ws" if index == 2 else "http") for index, name in enumerate(HOSTILE[:3])}
    config = make_config(tmp_path, phase_names=tuple(HOSTILE[3:6]), service_names=names,
                         gaps={HOSTILE[6]: {"match": ["*"], "title": HOSTILE[7]},
                               HOSTILE[8]: {"match": ["*"], "title": HOSTILE[9]},
                               HOSTILE[10]: {"match": ["*"]}})
    return build_map(config)


def test_mermaid_ids_and_labels_are_safe_whatever_the_names(tmp_path: Path) -> None:
    text = render_mermaid(hostile_map(tmp_path))
    assert_mermaid_subset(text)
    assert "```" not in text and "%%" not in text and "\x1b" not in text
    assert "say #quot;hi#quot;" in text and "#lt;script#gt;" in text
    assert "a#35;b;c" in text and "#96;#96;#96;" in text and "\\x1b[31mred" in text


def test_the_subset_check_rejects_what_would_break_mermaid() -> None:
    for broken in ['    a["x"y"]', '    a["<b>"]', "    a b", '  a -->|"x"| b c']:
        with pytest.raises(AssertionError):
            assert_mermaid_subset(broken)


def test_mermaid_colours_every_node_by_tone_and_thickens_blocking_edges(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    dependency_map = build_map(config, evidence_of_run(*evidence(config)))
    text = render_mermaid(dependency_map)
    assert_mermaid_subset(text)
    classes = dict(re.findall(r"  class (\S+) (\w+)", text))
    assigned = {node: tone for ids, tone in classes.items() for node in ids.split(",")}
    assert assigned == {node.id: node.tone for node in dependency_map.nodes}
    blocked = next(i for i, e in enumerate(dependency_map.edges) if e.kind == "blocked-by")
    assert f"  linkStyle {blocked} stroke:#dc2626" in text
    assert '  phase_1 ==>|"blocked by"| service_1' in text
    assert 'gap_1["websocket<br/>green<br/>duplicate definition: WebSocketManager"]' in text


def test_mermaid_label_escapes_entity_characters_once() -> None:
    assert mermaid_label('#quot; "') == "#35;quot; #quot;"


def test_markdown_report_carries_the_map_as_a_mermaid_block(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    runs, samples, rows, findings = evidence(config)
    report = RunReport(project="p", started_at=1.0, duration_s=1.0, phases=tuple(runs), gaps=rows,
                       findings=tuple(findings), services=tuple(samples), verdict="red",
                       exit_code=1,
                       dependency_map=build_map(config, evidence_of_run(*evidence(config))))
    markdown = render_markdown(report)
    block = markdown.split("### Map\n\n```mermaid\n", 1)[1].split("\n```\n", 1)[0]
    assert block + "\n" == render_mermaid(report.dependency_map)
    assert "- **websocket**: duplicate definition: WebSocketManager" in markdown  # matrix note
    document = json.loads(render_json(report))
    assert document["map"] == map_to_dict(report.dependency_map)
    assert document["gaps"][1]["notes"] == ["duplicate definition: WebSocketManager"]


@pytest.mark.skipif(not os.environ.get("CLAIMCHECK_MMDC"),
                    reason="set CLAIMCHECK_MMDC to a mermaid-cli command (mmdc [-p config])")
def test_mermaid_cli_renders_the_map(tmp_path: Path) -> None:
    """The real parser: `npm install @mermaid-js/mermaid-cli` with a Chromium for puppeteer."""
    config = make_config(tmp_path)
    for index, dependency_map in enumerate([hostile_map(tmp_path),
                                            build_map(config, evidence_of_run(*evidence(config)))]):
        source = tmp_path / f"map{index}.mmd"
        source.write_text(render_mermaid(dependency_map), encoding="utf-8")
        target = tmp_path / f"map{index}.svg"
        command = os.environ["CLAIMCHECK_MMDC"].split() + ["-i", str(source), "-o", str(target)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stderr
        assert "<svg" in target.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------
# Text


def test_text_shows_which_phases_a_down_service_blocks(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    lines = map_lines(build_map(config, evidence_of_run(*evidence(config))))
    text = [line.text for line in lines]
    backend = text.index("✗ backend  down: connection refused")
    assert text[backend + 1] == "  └─ blocks ✗ e2e (blocked)"
    assert lines[backend + 1].tone == "bad"
    auth = text.index("✓ auth  up")
    assert text[auth + 1:auth + 3] == ["  ├─ needed by ✗ e2e (blocked)",
                                       "  └─ needed by ? staging (not run)"]
    assert "  ├─ expects ✓ agent_started (seen)" in text
    assert "  └─ expects ✗ tool_completed (missing)" in text
    assert "  └─ gaps: auth ✖ 1/1, websocket ✔ 1" in text
    assert "  └─ ! duplicate definition: WebSocketManager" in text


def test_text_fits_80_columns_and_shows_control_codes_as_typed(tmp_path: Path) -> None:
    lines = map_lines(hostile_map(tmp_path), width=80)
    assert all(len(line.text) <= 80 for line in lines)
    joined = "\n".join(line.text for line in lines)
    assert "\x1b" not in joined and "\\x1b[31mred" in joined
    assert "two\\x0alines" in joined  # a newline in a name stays on its line
    long = make_config(tmp_path, phase_names=("p" * 200, "e2e", "staging"))
    assert all(len(line.text) <= 80 for line in map_lines(build_map(long), width=80))
