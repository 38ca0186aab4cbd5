"""The source index: what counts as the project's code, module names, the scan, the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from claimcheck.collectors.module_facts import extract_facts
from claimcheck.collectors.source_index import (
    CACHE_DIR,
    CACHE_FILE,
    load_index,
    module_names,
    resolve_module,
    role_of,
    scan_source,
)


@pytest.mark.parametrize(
    ("relpath", "packages", "names"),
    [
        ("app/routers/base.py", {"app", "app/routers"}, ("app.routers.base",)),
        ("app/routers/__init__.py", {"app", "app/routers"}, ("app.routers",)),
        ("src/pkg/x.py", {"src/pkg"}, ("pkg.x",)),
        ("setup.py", set(), ("setup",)),
        ("scripts/run.py", set(), ("run", "scripts.run")),
        ("ns/pkg/mod.py", {"ns/pkg"}, ("pkg.mod", "ns.pkg.mod")),
    ],
)
def test_module_names_follow_packages_then_the_whole_path(relpath, packages, names) -> None:
    assert module_names(relpath, frozenset(packages)) == names


@pytest.mark.parametrize(
    ("written", "package", "absolute"),
    [
        ("a.b", "app", "a.b"),
        (".x", "app.routers", "app.routers.x"),
        ("..x", "app.routers", "app.x"),
        (".", "app", "app"),
        ("...x", "app", ""),  # beyond the top package: unresolvable
    ],
)
def test_relative_imports_resolve_against_the_package(written, package, absolute) -> None:
    assert resolve_module(written, package) == absolute


@pytest.mark.parametrize(
    ("relpath", "role"),
    [
        ("app/core.py", "code"),
        ("tests/unit/test_core.py", "test"),
        ("app/tests/helpers.py", "test"),
        ("app/test_core.py", "test"),
        ("app/core_test.py", "test"),
        ("conftest.py", "test"),
        ("docs/conf.py", "aux"),
        ("examples/demo.py", "aux"),
        ("app/testing_utils.py", "code"),
    ],
)
def test_roles(relpath: str, role: str) -> None:
    assert role_of(relpath) == role


def test_scan_finds_definitions_and_every_shape_of_import() -> None:
    source = b'''"""Doc."""
import os, app.core as core
from . import sibling
from ..pkg.mod import (
    One,  # a comment
    Two as Three,
)
from app.x import \\
    Four
class Top(Base):
    def method(self): ...
    class Inner: ...
async def handler(): ...
def helper(): ...
'''
    classes, defined, imports, deprecation = scan_source(source)
    assert classes == (("Top", ("method",)),)  # its own defs, not the nested class's
    assert defined == {"Top", "Inner", "handler", "helper"}  # methods are never module-level
    assert ("os", ()) in imports and ("app.core", ()) in imports
    assert (".", ("sibling",)) in imports
    assert ("..pkg.mod", ("One", "Two")) in imports
    assert ("app.x", ("Four",)) in imports
    assert deprecation is False


def test_facts_are_exact_where_the_scan_is_not() -> None:
    source = b'''"""Canonical manager.

More words.
"""
DOC = """
class WebSocketManager:
    pass
"""
try:
    from fast import Router
except ImportError:
    class Router(base.Router):
        def add(self): ...
        def remove(self): ...
def build():
    import app.ws as w
    return w.Manager.create()
'''
    classes, defined, _, _ = scan_source(source)
    assert ("WebSocketManager", ()) in classes  # the scan is fooled by a string...
    facts = extract_facts(source)
    assert [d.name for d in facts.definitions] == ["Router", "build"]  # ...ast is not
    router = facts.definitions[0]
    assert (router.kind, router.methods, router.bases) == ("class", ("add", "remove"),
                                                           ("base.Router",))
    assert facts.docstring == "Canonical manager."
    assert facts.refs == ("app.ws.Manager.create",)  # the chain, through the alias
    assert [(i.module, i.top_level) for i in facts.imports] == [("fast", True), ("app.ws", False)]


def test_scan_gives_a_class_only_the_defs_of_its_own_body() -> None:
    source = b"""
class A:
    def one(self): ...

    async def two(self):
        def inner(): ...

if TYPE_CHECKING:
    def not_a_method(): ...

class B(A): ...
def three(): ...
"""
    classes, _, _, _ = scan_source(source)
    assert classes == (("A", ("one", "two")), ("B", ()))


@pytest.mark.parametrize(
    ("source", "may_deprecate"),
    [
        (b'"""Deprecated: use app.core."""\n', True),
        (b'# licence\n\n"""Old.\n\n.. deprecated:: 2.0\n"""\n', True),
        (b'import warnings\nwarnings.warn("x", DeprecationWarning)\n', True),
        (b'def __getattr__(name):\n    warn("deprecated", DeprecationWarning)\n', True),
        (b'"""Core."""\nfrom .util import deprecated\n', False),  # imports a helper, says nothing
        (b'def f():\n    warnings.warn("x", DeprecationWarning)\n', False),  # not at import
    ],
)
def test_scan_flags_only_files_that_may_call_themselves_deprecated(source, may_deprecate) -> None:
    assert scan_source(source)[3] is may_deprecate


def test_a_file_that_does_not_parse_is_marked_not_fatal() -> None:
    facts = extract_facts(b"def broken(:\n")
    assert facts.syntax_error and facts.definitions == ()


def test_walk_skips_virtualenvs_hidden_build_and_vendored_folders(make_project) -> None:
    root = make_project({
        "app/core.py": "x = 1\n",
        "env/pyvenv.cfg": "home = /usr\n",
        "env/lib/site.py": "x = 1\n",
        ".tox/py311/mod.py": "x = 1\n",
        "node_modules/pkg/a.py": "x = 1\n",
        "build/lib/app/core.py": "x = 1\n",
        "app.egg-info/x.py": "x = 1\n",
        "app/_vendor/six.py": "x = 1\n",
        "tests/test_core.py": "x = 1\n",
    })
    index = load_index(root, use_cache=False)
    assert sorted(index.files) == ["app/core.py", "tests/test_core.py"]
    assert index.files["tests/test_core.py"].role == "test"


def _touch(path: Path, text: str, mtime: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime, mtime))


def test_cache_rereads_a_changed_file_and_not_an_unchanged_one(make_project) -> None:
    root = make_project({"app/__init__.py": "", "app/a.py": "", "app/b.py": ""})
    _touch(root / "app/a.py", "class A:\n    def x(self): ...\n", 1_000_000_000)
    _touch(root / "app/b.py", "class B:\n    pass\n", 1_000_000_000)

    first = load_index(root)
    assert (first.stats.files, first.stats.scanned) == (3, 3)
    first.facts("app/a.py")
    first.facts("app/b.py")
    assert first.stats.parsed == 2
    first.save()
    assert (root / CACHE_DIR / ".gitignore").read_text().splitlines()[-1] == "*"

    unchanged = load_index(root)
    assert unchanged.stats.scanned == 0
    assert [d.name for d in unchanged.facts("app/a.py").definitions] == ["A"]
    assert (unchanged.stats.parsed, unchanged.stats.cached_facts) == (0, 1)

    _touch(root / "app/a.py", "class A2:\n    pass\n", 2_000_000_000)  # changed
    changed = load_index(root)
    assert changed.stats.scanned == 1  # only a.py is read again
    assert changed.files["app/a.py"].top_classes == ("A2",)
    assert [d.name for d in changed.facts("app/a.py").definitions] == ["A2"]
    assert [d.name for d in changed.facts("app/b.py").definitions] == ["B"]
    assert (changed.stats.parsed, changed.stats.cached_facts) == (1, 1)


def test_deleted_files_leave_the_cache_and_a_damaged_cache_is_ignored(make_project) -> None:
    root = make_project({"a.py": "class A: ...\n", "b.py": "class B: ...\n"})
    load_index(root).save()
    (root / "b.py").unlink()
    index = load_index(root)
    index.save()
    cached = json.loads((root / CACHE_DIR / CACHE_FILE).read_text())
    assert sorted(cached["files"]) == ["a.py"]

    (root / CACHE_DIR / CACHE_FILE).write_text("{not json")
    damaged = load_index(root)
    assert damaged.stats.scanned == 1 and damaged.files["a.py"].top_classes == ("A",)


def test_a_project_where_the_cache_cannot_be_written_is_still_audited(make_project) -> None:
    # A file where the cache folder would go: as unwritable as it gets, even for root.
    root = make_project({"a.py": "class A: ...\n", CACHE_DIR: "not a folder"})
    index = load_index(root)
    index.save()  # no error
    assert index.files["a.py"].top_classes == ("A",)
    assert (root / CACHE_DIR).read_text() == "not a folder"
    assert load_index(root).stats.scanned == 1  # nothing was cached
