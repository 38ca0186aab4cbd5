"""The static audit in a real run, as a new user meets it: `claimcheck --report` on a small
project with three managers, two routers and a deprecated package still in use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MANAGER = '''
"""{doc}"""


class WebSocketManager:
    def connect(self, ws): ...
    def send_event(self, run, event): ...
'''
ROUTER = "class MessageRouter:\n    def route(self, message): ...\n"

PROJECT = {
    "pyproject.toml": """
        [tool.claimcheck]
        single_source = ["WebSocketManager", "MessageRouter"]

        [[tool.claimcheck.phases]]
        name = "unit"
        pytest = ["tests"]

        [tool.claimcheck.gaps]
        websocket = { title = "WebSocket layer", match = ["*websocket*", "*ws*"] }
        routing = { match = ["*rout*"] }
        """,
    "chat/__init__.py": "",
    "chat/websocket.py": MANAGER.format(doc="The manager everyone should use."),
    "chat/ws_v2.py": MANAGER.format(doc="Rewritten for v2."),
    "chat/old/__init__.py": '''
        """The 1.x layer."""
        import warnings

        warnings.warn("chat.old is deprecated; use chat.websocket instead", DeprecationWarning,
                      stacklevel=2)
        ''',
    "chat/old/ws.py": MANAGER.format(doc="The 1.x manager."),
    "chat/routing.py": ROUTER,
    "chat/bus.py": ROUTER,
    "chat/app.py": "from chat.websocket import WebSocketManager\nfrom chat.routing import *\n",
    "chat/jobs.py": "from chat.old.ws import WebSocketManager\n",
    "tests/test_ws.py": """
        from chat.old import ws
        from chat.websocket import WebSocketManager


        def test_manager():
            assert WebSocketManager().connect(None) is None
        """,
}


@pytest.fixture
def report(make_project) -> tuple[Path, dict, str, str]:
    root = make_project(PROJECT)
    args = [sys.executable, "-m", "claimcheck", "--project", str(root), "--report"]
    markdown = root / "summary.md"
    result = subprocess.run(args + ["--format", "json", "--write", f"markdown={markdown}",
                                    "--write", f"text={root / 'report.txt'}"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr  # the tests pass: findings are not the verdict
    return (root, json.loads(result.stdout), markdown.read_text(encoding="utf-8"),
            (root / "report.txt").read_text(encoding="utf-8"))


def test_each_duplicate_and_the_deprecated_package_is_named_with_every_file(report) -> None:
    _, document, _, _ = report
    findings: dict[str, list[dict]] = {}
    for finding in document["findings"]:
        findings.setdefault(finding["kind"], []).append(finding)
    managers, routers = findings["duplicate-definition"]
    assert (managers["subject"], managers["count"]) == ("WebSocketManager", 3)
    assert managers["files"] == ["chat/websocket.py", "chat/old/ws.py", "chat/ws_v2.py"]
    assert managers["gaps"] == ["websocket"]
    assert "imports the one in chat.websocket most (2 of the 3 files" in managers["message"]
    assert (routers["subject"], routers["files"]) == ("MessageRouter",
                                                      ["chat/routing.py", "chat/bus.py"])
    (deprecated,) = findings["deprecated-import"]
    assert deprecated["subject"] == "chat.old"
    assert deprecated["files"] == ["chat/jobs.py", "tests/test_ws.py"]
    assert "Import chat.websocket instead." in deprecated["message"]
    # The warning the test run recorded is the same deprecation: one finding, not two.
    assert "At runtime it was raised 1 time (phase unit)." in deprecated["message"]
    assert "deprecation" not in findings


def test_the_matrix_and_the_map_say_what_the_gaps_files_hold(report) -> None:
    root, document, markdown, text = report
    websocket = next(gap for gap in document["gaps"] if gap["name"] == "websocket")
    assert websocket["notes"] == ["duplicate definition: WebSocketManager",
                                  "imports deprecated: chat.old"]
    assert "  websocket: duplicate definition: WebSocketManager; imports deprecated: chat.old" \
        in text
    assert "- **websocket**: duplicate definition: WebSocketManager; imports deprecated: " \
        "chat.old" in markdown
    assert "```mermaid\nflowchart LR\n" in markdown
    assert document["map"]["nodes"][0]["notes"] == websocket["notes"]
    assert (root / ".claimcheck" / ".gitignore").is_file()


def test_the_sources_are_read_while_the_phase_runs(make_project) -> None:
    """The audit's reading of the sources happens on a thread beside pytest, not after the
    last test: a test that waits for the cache sees it written while it runs."""
    files = {key: value for key, value in PROJECT.items() if not key.startswith("tests/")}
    files["tests/test_wait.py"] = """
        import pathlib
        import time


        def test_the_cache_appears_while_this_test_runs():
            cache = pathlib.Path(__file__).parents[1] / ".claimcheck" / "source-index.json"
            deadline = time.monotonic() + 60
            while not cache.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert cache.exists()
        """
    root = make_project(files)
    done = subprocess.run([sys.executable, "-m", "claimcheck", "--project", str(root),
                           "--report", "--format", "json", "--no-history"],
                          capture_output=True, text=True, timeout=180)
    document = json.loads(done.stdout)
    assert document["phases"][0]["counts"]["passed"] == 1, done.stdout[-2000:]
    kinds = {finding["kind"] for finding in document["findings"]}
    assert "duplicate-definition" in kinds  # the audit still reports, from the warm cache
