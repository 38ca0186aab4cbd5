"""`claimcheck map` from the command line: formats, evidence, probing, bad input."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from claimcheck.tui.cli import main

PROJECT = """
[tool.claimcheck]

[[tool.claimcheck.phases]]
name = "unit"
pytest = ["tests"]

[[tool.claimcheck.phases]]
name = "e2e"
pytest = ["tests"]
requires = ["api", "gone"]

[[tool.claimcheck.services]]
name = "api"
url = "http://127.0.0.1:{api}/health"

[[tool.claimcheck.services]]
name = "gone"
url = "http://127.0.0.1:{gone}/health"

[tool.claimcheck.gaps]
auth = {{ match = ["*auth*"] }}
"""


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def project(make_project, api_server) -> Path:
    return make_project({
        "pyproject.toml": PROJECT.format(api=api_server, gone=closed_port()),
        "tests/test_auth.py": "def test_login():\n    assert True\n",
    })


def test_default_is_the_configurations_mermaid_on_stdout(project: Path, capsys) -> None:
    assert main(["map", "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR\n")
    assert 'phase_1["e2e<br/>not run"]' in out and '-->|"requires"| service_1' in out


def test_evidence_from_a_json_report_colours_phases_and_gaps(project: Path, tmp_path: Path,
                                                             capsys) -> None:
    report = tmp_path / "cc.json"
    code = main(["--project", str(project), "--report", "--phase", "unit", "--format", "json",
                 "--output", str(report)])
    assert code == 1  # the e2e phase was not selected, `gone` is down: red
    capsys.readouterr()
    assert main(["map", "--project", str(project), "--evidence", str(report),
                 "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    nodes = {(node["kind"], node["name"]): node for node in document["nodes"]}
    assert nodes[("phase", "unit")]["status"] == "passed"
    assert nodes[("phase", "e2e")]["status"] == "not run"
    assert nodes[("service", "api")]["status"] == "up"
    assert nodes[("service", "gone")]["status"] == "down"
    assert nodes[("gap", "auth")]["status"] == "green"
    assert {"source": "gap_0", "target": "phase_0", "kind": "covers", "label": "✔ 1"} in (
        document["edges"])
    assert document["evidence"].startswith(f"report {report} of ")


def test_probe_colours_the_services_now_and_text_shows_what_a_down_one_blocks(
        project: Path, capsys) -> None:
    assert main(["map", "--project", str(project), "--probe", "--format", "text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "evidence: services probed now"
    gone = next(index for index, line in enumerate(lines) if line.startswith("✗ gone  down"))
    assert lines[gone + 1] == "  └─ blocks ? e2e (not run)"
    assert "✓ api  up" in lines


def test_output_file_is_written(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "map.mmd"
    assert main(["map", "--project", str(project), "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("flowchart LR")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "--evidence: file does not exist"),
        ("{oops", "--evidence: not valid JSON"),
        ('{"schema": "x"}', "--evidence: not a claimcheck JSON report"),
    ],
)
def test_bad_evidence_is_one_line_and_exit_4(project: Path, tmp_path: Path, capsys, content,
                                             expected) -> None:
    path = tmp_path / "evidence.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["map", "--project", str(project), "--evidence", str(path)]) == 4
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"claimcheck: {path}: ") and expected in line


def test_a_config_error_is_exit_4_from_a_real_process(make_project) -> None:
    root = make_project({"pyproject.toml": "[tool.claimcheck]\nsingle_source = 'X'\n"})
    result = subprocess.run([sys.executable, "-m", "claimcheck", "map", "--project", str(root)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.strip().endswith(
        "tool.claimcheck.single_source: expected a list of strings, got 'X'")
    assert "Traceback" not in result.stderr
