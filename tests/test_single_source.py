"""Single source of truth: duplicate definitions, the copy the code imports, the suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from claimcheck.collectors.config import parse_config
from claimcheck.collectors.models import Finding
from claimcheck.collectors.single_source import (
    MAX_SUGGESTIONS,
    copies_of,
    duplicate_definitions,
    possible_duplicates,
)
from claimcheck.collectors.source_audit import audit_findings, single_source_violations
from claimcheck.collectors.source_index import load_index

MANAGER = '''
"""{doc}"""


class WebSocketManager:
    def connect(self, ws): ...
    def disconnect(self, ws): ...
    def send_event(self, run, event): ...
'''

INCIDENT = {
    "chat/__init__.py": "",
    "chat/core/__init__.py": "from .manager import WebSocketManager\n",
    "chat/core/manager.py": MANAGER.format(doc="The canonical connection manager."),
    "chat/ws/__init__.py": "",
    "chat/ws/manager.py": MANAGER.format(doc="A second manager, from the v2 push."),
    "chat/ws/router.py": "class MessageRouter:\n    def route(self, m): ...\n",
    "chat/bus.py": '''
        try:
            import ujson as json
        except ImportError:
            import json


        class MessageRouter:  # a fallback defined twice in one file counts once
            def route(self, m): ...
        if json is None:
            class MessageRouter:
                def route(self, m): ...
        ''',
    "chat/legacy.py": '''
        """Old manager (no docstring line here would be shown)."""
        class WebSocketManager:
            def connect(self, ws): ...
        ''',
    # who imports what
    "chat/app.py": "from chat.core import WebSocketManager\nfrom chat.ws.router import MessageRouter\n",
    "chat/views.py": '''
        from chat.core.manager import WebSocketManager


        def handler():
            from .ws import manager
            return manager.WebSocketManager()
        ''',
    "chat/docs_example.py": 'EXAMPLE = """\nclass WebSocketManager:\n    pass\n"""\n',
    # not the project's own code
    "tests/test_manager.py": "class WebSocketManager: ...\nfrom chat.legacy import WebSocketManager\n",
    "examples/echo.py": "class WebSocketManager: ...\n",
    ".venv/pyvenv.cfg": "home = /usr\n",
    ".venv/lib/ws.py": "class WebSocketManager: ...\n",
}


def by_subject(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.subject: finding for finding in findings}


def test_every_definition_is_named_with_its_file_line_docstring_and_importers(make_project):
    index = load_index(make_project(INCIDENT))
    copies = {copy.relpath: copy for copy in copies_of(index, "WebSocketManager")}
    assert sorted(copies) == ["chat/core/manager.py", "chat/legacy.py", "chat/ws/manager.py"]
    # core: re-exported by chat/core/__init__, imported through it by app, directly by views
    assert [path for path, _ in copies["chat/core/manager.py"].importers] == [
        "chat/app.py", "chat/core/__init__.py", "chat/views.py"]
    # ws: `from .ws import manager` then `manager.WebSocketManager()`
    assert copies["chat/ws/manager.py"].importers == (("chat/views.py", 5),)
    assert copies["chat/legacy.py"].importers == (("tests/test_manager.py", 2),)
    assert copies["chat/core/manager.py"].definition.line == 4

    found = by_subject(duplicate_definitions(index, ["WebSocketManager", "MessageRouter"]))
    manager = found["WebSocketManager"]
    assert manager.kind == "duplicate-definition" and manager.count == 3
    assert (manager.path, manager.line) == ("chat/core/manager.py", 4)  # the most imported
    assert manager.files == ("chat/core/manager.py", "chat/legacy.py", "chat/ws/manager.py")
    for where in ("chat/core/manager.py:4", "chat/ws/manager.py:4", "chat/legacy.py:2"):
        assert where in manager.message
    assert '("The canonical connection manager.")' in manager.message
    assert "imports the one in chat.core.manager most (3 of the 4 files" in manager.message

    router = found["MessageRouter"]
    assert router.files == ("chat/ws/router.py", "chat/bus.py") and router.count == 2
    assert "chat/bus.py:7" in router.message  # the first of the file's two, once


def test_tests_examples_virtualenvs_and_strings_never_count_as_definitions(make_project):
    index = load_index(make_project(INCIDENT))
    paths = {copy.relpath for copy in copies_of(index, "WebSocketManager")}
    assert not paths & {"tests/test_manager.py", "examples/echo.py", ".venv/lib/ws.py",
                        "chat/docs_example.py"}


def test_one_definition_is_no_finding_and_none_is_a_missing_one(make_project):
    index = load_index(make_project({"app/core.py": "def build(): ...\n"}))
    assert duplicate_definitions(index, ["build"]) == []
    (missing,) = duplicate_definitions(index, ["WebsocketManager"])
    assert (missing.kind, missing.subject, missing.count) == (  # one name: counted once
        "single-source-missing", "WebsocketManager", 1)
    assert "no file of the project's own code defines it" in missing.message


def test_a_tie_says_the_code_is_split(make_project):
    root = make_project({
        "a.py": "class Router:\n    pass\n", "b.py": "class Router:\n    pass\n",
        "c.py": "from a import Router\n", "d.py": "from b import Router\n",
    })
    (finding,) = duplicate_definitions(load_index(root), ["Router"])
    assert "split between a, b (1 importing file each)" in finding.message


def _config(root: Path, **table) -> object:
    return parse_config(table, root=root, source=root / "pyproject.toml")


def test_the_audit_tells_each_finding_its_gaps(make_project):
    root = make_project(INCIDENT)
    config = _config(root, single_source=["WebSocketManager"],
                     gaps={"ws": {"match": ["*manager*"]}, "legacy": {"match": ["*legacy*"]},
                           "auth": {"match": ["*auth*"]}})
    (finding,) = audit_findings(config, [], [])
    assert finding.gaps == ("ws", "legacy")

    assert single_source_violations(config, "legacy") == [finding]
    assert single_source_violations(config, "auth") == []
    assert single_source_violations(config) == [finding]


def test_an_audit_that_breaks_keeps_the_findings_and_says_so(make_project, monkeypatch):
    import claimcheck.collectors.source_audit as source_audit

    def broken(root: Path) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(source_audit, "load_index", broken)
    root = make_project(INCIDENT)
    earlier = Finding(kind="import-error", phase="unit", path="t.py", line=None, message="x")
    kept, error = audit_findings(_config(root), [], [earlier])
    assert kept is earlier
    assert (error.kind, error.phase, error.path) == ("audit-error", None, None)
    assert error.message == ("The static source audit failed (RuntimeError: a bug); the rest "
                             "of this report stands. Please report it.")


def test_single_source_empty_turns_suggestions_off_and_absent_turns_them_on(make_project):
    overlap = "class Cache:\n    def get_item(self): ...\n    def put_item(self): ...\n"
    root = make_project({"a.py": overlap, "b.py": overlap})
    assert [f.kind for f in audit_findings(_config(root), [], [])] == ["possible-duplicate"]
    assert audit_findings(_config(root, single_source=[]), [], []) == []


# ----------------------------------------------------------------------------------------
# Suggestions


def _class(name: str, methods: list[str], bases: str = "") -> str:
    body = "".join(f"    def {method}(self): ...\n" for method in methods)
    return f"class {name}{f'({bases})' if bases else ''}:\n{body}"


def test_a_class_written_twice_with_shared_methods_is_suggested(make_project):
    root = make_project({
        "app/ws.py": _class("Manager", ["subscribe", "send_event", "broadcast", "__init__"]),
        "app/v2/ws.py": _class("Manager", ["subscribe", "send_event", "close"]),
        "app/other.py": _class("Manager", ["render", "paint"]),  # same name, nothing alike
    })
    (finding,) = possible_duplicates(load_index(root))
    assert finding.kind == "possible-duplicate" and finding.subject == "Manager"
    assert finding.files == ("app/v2/ws.py", "app/ws.py") and finding.count == 2
    assert "send_event, subscribe" in finding.message and "50% of their methods" in finding.message


@pytest.mark.parametrize(
    "files",
    [
        # a family: both extend the same base of the project
        {"a.py": _class("Backend", ["load", "store", "purge"], "BaseBackend"),
         "b.py": _class("Backend", ["load", "store", "purge"], "base.BaseBackend")},
        # one extends the other, under an alias
        {"a.py": _class("Store", ["load", "store"]),
         "b.py": "from a import Store as _Store\n" + _class("Store", ["load", "store"], "_Store")},
        # only lifecycle names in common
        {"a.py": _class("Heart", ["start", "stop", "beat"]),
         "b.py": _class("Heart", ["start", "stop", "pulse"])},
        # private names are nobody's API
        {"a.py": _class("_Helper", ["load", "store"]), "b.py": _class("_Helper", ["load", "store"])},
        # tests are not the project's code
        {"tests/a.py": _class("Fake", ["load", "store"]),
         "tests/b.py": _class("Fake", ["load", "store"])},
    ],
    ids=["family", "extends-alias", "lifecycle", "private", "tests"],
)
def test_designs_are_not_suggested(make_project, files):
    assert possible_duplicates(load_index(make_project(files))) == []


def test_suggestions_are_capped_strongest_first_and_the_rest_named_once(make_project):
    files = {}
    for number in range(12):
        copies = 3 if number == 7 else 2
        for copy in range(copies):
            files[f"pkg{copy}/mod{number}.py"] = _class(f"Thing{number}", ["alpha", "beta"])
    findings = possible_duplicates(load_index(make_project(files)))
    assert len(findings) == MAX_SUGGESTIONS
    assert findings[0].subject == "Thing7" and findings[0].count == 3  # most copies first
    rest = findings[-1]
    assert rest.subject == "" and rest.count == 12 - (MAX_SUGGESTIONS - 1)
    assert rest.message.startswith(f"{rest.count} more classes look defined more than once")
