"""Deprecated import paths: which modules say so, who still imports them, and the runtime
warning that is the same deprecation."""

from __future__ import annotations

import pytest
from claimcheck.collectors.deprecated_imports import (
    deprecated_import_findings,
    deprecated_modules,
    message_matches,
    replacement_named,
)
from claimcheck.collectors.judge import phase_findings
from claimcheck.collectors.models import Counts, PhaseRun, WarningRecord
from claimcheck.collectors.source_index import load_index

LEGACY_PACKAGE = {
    "app/__init__.py": "",
    "app/legacy/__init__.py": '''
        """Old chat internals."""
        import warnings

        warnings.warn("app.legacy is deprecated; use app.core instead", DeprecationWarning,
                      stacklevel=2)
        from .helpers import helper  # its own files are the deprecated code, not its users
        ''',
    "app/legacy/helpers.py": "def helper(): ...\n",
    "app/core.py": "def helper(): ...\n",
    "app/views.py": "from app.legacy.helpers import helper  # runs app/legacy/__init__\n",
    "app/api/__init__.py": "",
    "app/api/routes.py": '''
        def handler():
            from .. import legacy
            return legacy
        ''',
    "app/jobs.py": "import app.legacy as old\n",
    "app/clean.py": "from app.core import helper\n",
    "app/strings.py": 'DOC = """\nfrom app.legacy import helper\n"""\n',  # a string, not an import
    "tests/test_views.py": "from app import legacy\n",
}


def findings_of(root):
    findings, _ = deprecated_import_findings(load_index(root))
    return findings


def test_a_package_that_warns_on_import_is_named_with_every_importer(make_project) -> None:
    (finding,) = findings_of(make_project(LEGACY_PACKAGE))
    assert finding.kind == "deprecated-import" and finding.subject == "app.legacy"
    assert (finding.path, finding.line) == ("app/legacy/__init__.py", 4)
    assert finding.files == ("app/api/routes.py", "app/jobs.py", "app/views.py",
                             "tests/test_views.py")
    assert finding.count == 4
    for where in ("app/views.py:1", "app/jobs.py:1", "app/api/routes.py:2",
                  "tests/test_views.py:1"):
        assert where in finding.message
    assert 'importing it warns "app.legacy is deprecated; use app.core instead"' in (
        finding.message)
    assert "Import app.core instead." in finding.message


def test_a_docstring_deprecation_without_a_replacement_says_so(make_project) -> None:
    root = make_project({
        "old_api.py": '"""Deprecated: kept for plugins written before 2.0."""\nX = 1\n',
        "user.py": "from old_api import X\n",
        "options.py": '"""Options.\n\nUsage notes.\n\nFour.\n\n.. deprecated:: 1.4\n   the flag\n"""\n',
        "reader.py": "import options\n",  # a deprecated option, documented: not the module
    })
    (finding,) = findings_of(root)
    assert finding.subject == "old_api" and finding.files == ("user.py",)
    assert 'its docstring says "Deprecated: kept for plugins written before 2.0."' in (
        finding.message)
    assert "1 file still imports it" in finding.message
    assert "Its message names no replacement." in finding.message


def test_getattr_deprecation_counts_only_the_names_it_serves(make_project) -> None:
    root = make_project({
        "compat.py": '''
            import warnings
            from newlib import Manager

            _MOVED = {"OldManager": "newlib.Manager", "OldRouter": "newlib.Router"}


            def __getattr__(name):
                if name in _MOVED:
                    warnings.warn(f"{name} moved to {_MOVED[name]}", DeprecationWarning)
                    return Manager
                raise AttributeError(name)
            ''',
        "a.py": "from compat import OldManager\n",
        "b.py": "from compat import Manager\n",  # defined in compat: not deprecated
        "c.py": "from compat import (\n    OldRouter,\n)\n",
    })
    (finding,) = findings_of(root)
    assert finding.files == ("a.py", "c.py")
    assert "serves deprecated names (OldManager, OldRouter) from its __getattr__" in (
        finding.message)


def test_a_conditional_warning_is_not_a_deprecated_module(make_project) -> None:
    root = make_project({
        "backend.py": '''
            import warnings
            try:
                import fastlib as lib
            except ImportError:
                import slowlib as lib
                warnings.warn("slowlib is deprecated. Use fastlib instead.", DeprecationWarning)
            ''',
        "user.py": "import backend\n",
    })
    assert deprecated_modules(load_index(root)) == []


def test_a_deprecated_module_nobody_imports_is_no_finding(make_project) -> None:
    root = make_project({"old.py": '"""Deprecated: unused."""\n', "new.py": "x = 1\n"})
    assert findings_of(root) == []


@pytest.mark.parametrize(
    ("message", "replacement"),
    [
        ("app.legacy is deprecated; use app.core instead", "app.core"),
        ("moved to `pkg.new_module`", "pkg.new_module"),
        ("Deprecated in favour of NewRouter.", "NewRouter"),
        ("replaced by send_event()", "send_event"),
        ("cx_Oracle is deprecated. Use oracledb instead.", "oracledb"),
        ("import it from app.websocket_manager", "app.websocket_manager"),
        ("This module is deprecated.", None),
        ("Deprecated; use it with caution.", None),
        ("use the new API", None),
    ],
)
def test_the_replacement_is_named_only_when_the_message_names_one(message, replacement):
    assert replacement_named(message, "app.legacy") == replacement


def test_a_template_matches_the_runtime_text_it_formats() -> None:
    assert message_matches("… moved to …; update your imports", "OldManager moved to "
                           "newlib.Manager; update your imports")
    assert not message_matches("app.legacy is deprecated", "app.other is deprecated")
    assert not message_matches("…: …", "x: y")  # too little literal text to be sure


def _run(name: str, warnings: tuple[WarningRecord, ...]) -> PhaseRun:
    return PhaseRun(name=name, status="passed", exit_code=0, duration_s=1.0,
                    counts=Counts(collected=1, passed=1), warnings=warnings)


def test_the_runtime_warning_of_a_deprecated_import_is_one_finding_with_it(make_project):
    root = make_project(LEGACY_PACKAGE)
    same = WarningRecord("DeprecationWarning", "app.legacy is deprecated; use app.core instead",
                         path="<frozen importlib._bootstrap>", line=241,
                         nodeid="tests/test_views.py")
    other = WarningRecord("DeprecationWarning", "utcnow() is deprecated", path="app/clock.py",
                          line=3)
    # Raised by the module's own warn statement (stacklevel 1): its file and line.
    own = WarningRecord("DeprecationWarning", "something formatted differently",
                        path="/src/app/legacy/__init__.py", line=4)
    # Raised inside the deprecated package, but by another call: another deprecation.
    inside = WarningRecord("DeprecationWarning", "datetime.utcnow() is deprecated",
                           path="/src/app/legacy/__init__.py", line=9)
    unit, integration = _run("unit", (same, same, other, inside)), _run("integration",
                                                                         (same, own))
    findings, absorbed = deprecated_import_findings(load_index(root), [unit, integration])
    (finding,) = findings
    assert "At runtime it was raised 4 times (phases unit, integration)." in finding.message
    runtime = [f for f in phase_findings(unit) + phase_findings(integration)
               if f.kind == "deprecation"]
    assert len(absorbed) == 3 and all(f in runtime for f in absorbed)
    kept = sorted(f.message.split(": ", 1)[1] for f in runtime if f not in absorbed)
    assert [message.split(". ")[0] for message in kept] == [
        "datetime.utcnow() is deprecated", "utcnow() is deprecated"]
