"""Static audit of tests pytest would silently not collect, on real files in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from claimcheck.collectors.discovery import (
    audit_source,
    matches_file,
    matches_name,
    uncollected_tests,
)
from claimcheck.collectors.models import Finding, PytestSettings

from tests.conftest import write_project

TEST_STAR = PytestSettings(rootdir="/proj", inifile="/proj/pyproject.toml",
                           python_classes=("Test*",))

WS_SOURCE = """
    import pytest


    class CriticalWebSocketTests:
        def test_connect(self):
            pass

        async def test_reconnect(self):
            pass

        def helper(self):
            pass

        @pytest.fixture
        def test_looking_fixture(self):
            pass


    class TestManager:
        def test_ok(self):
            pass
"""


def audit(text: str, settings: PytestSettings = TEST_STAR,
          relpath: str = "tests/integration/test_ws.py") -> list[Finding]:
    return audit_source(relpath, textwrap.dedent(text).lstrip("\n"), settings, phase="integration")


# ----------------------------------------------------------------------------------------
# pytest's name rules


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("TestAuth", ("Test",), True),
        ("Testing", ("Test",), True),  # a prefix, as pytest does it
        ("AuthTest", ("Test",), False),
        ("CriticalWebSocketTests", ("Test*",), False),
        ("CriticalWebSocketTests", ("Test", "*Tests"), True),
        ("testAuth", ("Test",), False),  # case-sensitive on POSIX
        ("check_login", ("check_",), True),
        ("TestA", ("Test?",), True),
        ("TestAB", ("Test?",), False),  # a glob is matched whole: exactly one more character
    ],
)
def test_matches_name_follows_pytest(name: str, options: tuple[str, ...], expected: bool) -> None:
    assert matches_name(name, options) is expected


@pytest.mark.parametrize(
    ("relpath", "patterns", "expected"),
    [
        ("tests/test_a.py", ("test_*.py",), True),
        ("tests/a_test.py", ("test_*.py", "*_test.py"), True),
        ("tests/checks.py", ("test_*.py",), False),
        ("tests/unit/check_a.py", ("tests/unit/check_*.py",), True),
        ("other/unit/check_a.py", ("tests/unit/check_*.py",), False),
        ("tests/Test_a.py", ("test_*.py",), False),
    ],
)
def test_matches_file_follows_pytest(relpath: str, patterns: tuple[str, ...],
                                     expected: bool) -> None:
    assert matches_file(relpath, patterns) is expected


# ----------------------------------------------------------------------------------------
# 1. classes whose name python_classes excludes


def test_class_not_matching_python_classes_is_reported_with_setting_and_fix() -> None:
    [finding] = audit(WS_SOURCE)
    assert finding == Finding(
        kind="uncollected-tests",
        phase="integration",
        path="tests/integration/test_ws.py",
        line=4,
        message=(
            "Class CriticalWebSocketTests in tests/integration/test_ws.py:4 has 2 test methods "
            "that pytest never collects: its name does not match python_classes = [\"Test*\"] "
            "(set in pyproject.toml). Fix: rename it to TestCriticalWebSocket, or set "
            "python_classes = [\"Test*\", \"*Tests\"] under [tool.pytest.ini_options] in "
            "pyproject.toml."
        ),
        files=("tests/integration/test_ws.py",),
        count=2,
    )


def test_default_python_classes_is_named_as_the_default() -> None:
    [finding] = audit(WS_SOURCE, PytestSettings(rootdir="/proj"))
    assert 'python_classes = ["Test"] (pytest\'s default)' in finding.message
    assert finding.message.endswith("or create pytest.ini with a [pytest] section holding the "
                                    "line 'python_classes = Test *Tests'.")


def test_glob_python_classes_collects_what_it_matches() -> None:
    settings = PytestSettings(rootdir="/proj", inifile="/proj/pytest.ini",
                              python_classes=("*Tests",))
    [finding] = audit(WS_SOURCE, settings)
    # CriticalWebSocketTests matches "*Tests" now; TestManager does not (no prefix rule for it).
    assert finding.line == 19
    assert finding.message.startswith("Class TestManager in tests/integration/test_ws.py:19 has "
                                      "1 test method that pytest never collects")
    assert 'python_classes = ["*Tests"] (set in pytest.ini)' in finding.message
    assert "Fix: rename it to match, or set 'python_classes = *Tests TestManager' under " \
           "[pytest] in pytest.ini." in finding.message


def test_unittest_testcase_subclasses_are_collected_regardless_of_name() -> None:
    assert audit("""
        import unittest
        from django.test import TestCase as DjangoTestCase


        class LoginChecks(unittest.TestCase):
            def test_a(self):
                pass


        class ApiChecks(DjangoTestCase):
            def test_b(self):
                pass
    """) == []


def test_dunder_test_false_opts_out_and_true_opts_in() -> None:
    assert audit("""
        class BaseSuite:
            __test__ = False

            def test_shared(self):
                pass


        class AuthSuite:
            __test__ = True

            def test_a(self):
                pass
    """) == []


def test_mixin_used_by_a_collected_class_is_not_reported() -> None:
    assert audit("""
        class AuthChecks:
            def test_login(self):
                pass


        class TestAuth(AuthChecks):
            pass
    """) == []


def test_mixin_in_another_file_is_recognised_by_the_tree_walk(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        # The mixin sits in a collected file; the only class using it has no test of its own.
        "tests/test_base.py": "class AuthChecks:\n    def test_login(self):\n        pass\n",
        "tests/test_auth.py": "from tests.test_base import AuthChecks\n\n\n"
                              "class TestAuth(\n    AuthChecks,\n):\n    pass\n",
        "tests/test_orphans.py": "class OrphanChecks:\n    def test_x(self):\n        pass\n",
    })
    findings = uncollected_tests(root, TEST_STAR, ["tests"], "unit")
    assert [(f.path, f.line, f.count) for f in findings] == [("tests/test_orphans.py", 1, 1)]


def test_classes_without_test_methods_and_nested_classes_are_ignored() -> None:
    assert audit("""
        class Helper:
            def check(self):
                pass

            @staticmethod
            def build():
                pass


        def test_outer():
            class InnerTests:
                def test_inner(self):
                    pass
    """) == []


# ----------------------------------------------------------------------------------------
# 2. Test classes with a constructor


@pytest.mark.parametrize(
    ("body", "constructor"),
    [
        ("    def __init__(self):\n        self.x = 1\n", "__init__"),
        ("    def __new__(cls):\n        return super().__new__(cls)\n", "__new__"),
    ],
)
def test_test_class_with_constructor_is_reported(body: str, constructor: str) -> None:
    source = f"class TestInit:\n{body}\n    def test_y(self):\n        pass\n"
    [finding] = audit_source("tests/test_init.py", source, TEST_STAR)
    assert (finding.path, finding.line, finding.count) == ("tests/test_init.py", 1, 1)
    assert finding.message == (
        f"Class TestInit in tests/test_init.py:1 has 1 test method that pytest skips because it "
        f"defines {constructor} (pytest only emits a PytestCollectionWarning: cannot collect "
        f"test class 'TestInit' because it has a {constructor} constructor). Fix: remove the "
        "constructor and build that state in fixtures or setup_method."
    )


def test_dataclass_test_class_counts_as_init() -> None:
    [finding] = audit("""
        from dataclasses import dataclass


        @dataclass
        class TestRecord:
            value: int = 0

            def test_a(self):
                pass
    """)
    assert "defines @dataclass" in finding.message
    assert "because it has a __init__ constructor" in finding.message
    assert finding.line == 5


def test_constructor_in_class_without_tests_or_in_testcase_is_fine() -> None:
    assert audit("""
        import unittest


        class TestHelpers:
            def __init__(self):
                pass


        class TestLegacy(unittest.TestCase):
            def __init__(self, *args):
                super().__init__(*args)

            def test_a(self):
                pass
    """) == []


# ----------------------------------------------------------------------------------------
# 3. files python_files excludes


def test_file_not_matching_python_files_with_tests_is_reported() -> None:
    source = textwrap.dedent("""
        import pytest


        def test_connect():
            pass


        def test_send():
            pass


        class TestStream:
            def test_frames(self):
                pass


        class Helpers:
            def test_not_counted(self):
                pass
    """)
    [finding] = audit_source("tests/integration/websocket_checks.py", source, TEST_STAR,
                             phase="integration")
    assert finding == Finding(
        kind="uncollected-tests",
        phase="integration",
        path="tests/integration/websocket_checks.py",
        line=None,
        message=(
            "tests/integration/websocket_checks.py holds 2 test functions and 1 test class "
            "(TestStream) that pytest never collects: the file name does not match "
            "python_files = [\"test_*.py\", \"*_test.py\"] (pytest's default). Fix: rename the "
            "file (e.g. test_websocket_checks.py), or set python_files = [\"test_*.py\", "
            "\"*_test.py\", \"websocket_checks.py\"] under [tool.pytest.ini_options] in "
            "pyproject.toml."
        ),
        files=("tests/integration/websocket_checks.py",),
        count=3,
    )


def test_file_check_skips_conftest_init_and_app_code_helpers() -> None:
    source = "def test_connection(url):\n    return url\n"
    assert audit_source("tests/conftest.py", source, TEST_STAR) == []
    assert audit_source("tests/__init__.py", source, TEST_STAR) == []
    # Application code with a test_* helper and no pytest import is not a test file.
    assert audit_source("app/health.py", source, TEST_STAR) == []
    assert len(audit_source("app/health.py", "import pytest\n" + source, TEST_STAR)) == 1


def test_explicitly_named_file_is_collected_whatever_its_name() -> None:
    source = "def test_a():\n    pass\n"
    assert audit_source("tests/checks.py", source, TEST_STAR, explicit=True) == []


def test_custom_python_files_and_functions_are_respected() -> None:
    settings = PytestSettings(rootdir="/proj", python_files=("check_*.py",),
                              python_functions=("check_",))
    assert audit_source("tests/check_api.py", "def check_get():\n    pass\n", settings) == []
    [finding] = audit_source("tests/test_api.py", "def check_get():\n    pass\n", settings)
    assert 'python_files = ["check_*.py"] (set on the command line)' in finding.message
    assert "rename the file (e.g. check_test_api.py)" in finding.message


def test_unparsable_file_is_skipped() -> None:
    assert audit_source("tests/test_broken.py", "class X(:\n", TEST_STAR) == []


# ----------------------------------------------------------------------------------------
# The tree walk


def _tree(tmp_path: Path) -> Path:
    bad_class = "class FooTests:\n    def test_x(self):\n        pass\n"
    return write_project(tmp_path / "proj", {
        "tests/unit/test_ok.py": "class TestOk:\n    def test_a(self):\n        pass\n",
        "tests/integration/test_ws.py": bad_class,
        "tests/integration/.hidden/test_h.py": bad_class,
        "tests/node_modules/test_n.py": bad_class,
        "tests/__pycache__/test_c.py": bad_class,
        "tests/build/test_b.py": bad_class,
        "tests/dist/test_d.py": bad_class,
        "tests/venv/lib/test_v.py": bad_class,
        "tests/myenv/pyvenv.cfg": "home = /usr\n",
        "tests/myenv/lib/site-packages/test_s.py": bad_class,
        "tests/site-packages/test_s.py": bad_class,
        "app/test_app.py": bad_class,
        "tests/integration/test_broken.py": "def test_x(:\n",
    })


def test_tree_walk_prunes_tool_folders_and_uses_the_phase_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    findings = uncollected_tests(root, TEST_STAR, ["tests"], "unit")
    assert [(f.phase, f.path, f.line) for f in findings] == [
        ("unit", "tests/integration/test_ws.py", 1),
    ]


def test_tree_walk_falls_back_to_testpaths_then_root(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    in_app = PytestSettings(rootdir=str(root), python_classes=("Test*",), testpaths=("ap*",))
    assert [f.path for f in uncollected_tests(root, in_app, [], None)] == ["app/test_app.py"]
    everywhere = PytestSettings(rootdir=str(root), python_classes=("Test*",))
    assert [f.path for f in uncollected_tests(root, everywhere, [], None)] == [
        "app/test_app.py", "tests/integration/test_ws.py",
    ]


def test_tree_walk_accepts_node_ids_and_explicit_files(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "tests/checks.py": "def test_a():\n    pass\n",
        "tests/other_checks.py": "def test_b():\n    pass\n",
    })
    # Named on the command line: collected whatever its name, so nothing to report for it.
    assert uncollected_tests(root, TEST_STAR, ["tests/checks.py::test_a", "missing/"], "x") == []
    assert [f.path for f in uncollected_tests(root, TEST_STAR, ["tests"], "x")] == [
        "tests/checks.py", "tests/other_checks.py",
    ]


def test_overlapping_paths_scan_each_file_once(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    findings = uncollected_tests(root, TEST_STAR, ["tests", "tests/integration"], "unit")
    assert [f.path for f in findings] == ["tests/integration/test_ws.py"]


def test_glob_python_functions_disable_the_prefilter_but_still_work(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "tests/test_a.py": "class Checks:\n    def verify_x(self):\n        pass\n",
    })
    settings = PytestSettings(rootdir=str(root), python_functions=("*_x",))
    [finding] = uncollected_tests(root, settings, ["tests"], None)
    assert finding.message.startswith("Class Checks in tests/test_a.py:1 has 1 test method")


def test_audit_agrees_with_real_pytest_collection(tmp_path: Path) -> None:
    """What the audit calls uncollected is exactly what pytest leaves out."""
    root = write_project(tmp_path / "proj", {
        "pyproject.toml": '[tool.pytest.ini_options]\npython_classes = ["Test*"]\n',
        "tests/test_ws.py": """
            class CriticalWebSocketTests:
                def test_lost(self):
                    pass


            class TestInit:
                def __init__(self):
                    pass

                def test_lost_too(self):
                    pass


            class TestKept:
                def test_kept(self):
                    pass
        """,
        "tests/ws_checks.py": "import pytest\n\n\ndef test_lost_file():\n    pass\n",
    })
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected == ["tests/test_ws.py::TestKept::test_kept"]
    settings = PytestSettings(rootdir=str(root), inifile=str(root / "pyproject.toml"),
                              python_classes=("Test*",))
    findings = uncollected_tests(root, settings, ["tests"], None)
    assert sorted((f.path, f.line, f.count) for f in findings) == [
        ("tests/test_ws.py", 1, 1), ("tests/test_ws.py", 6, 1), ("tests/ws_checks.py", None, 1),
    ]


# ----------------------------------------------------------------------------------------
# unittest.TestCase through intermediate bases: pytest collects them whatever their name


def test_testcase_through_a_base_in_the_same_module_is_collected() -> None:
    findings = audit("""
        import unittest
        from unittest import TestCase as Case

        Alias = unittest.TestCase


        class ApiBase(unittest.TestCase):
            def setUp(self):
                self.client = object()


        class LoginChecks(ApiBase):
            def test_login(self):
                pass


        class AliasChecks(Alias):
            def test_alias(self):
                pass


        class RenamedChecks(Case):
            def test_renamed(self):
                pass


        class PlainChecks(object):
            def test_lost(self):
                pass
    """)
    assert [finding.message.split(" in ")[0] for finding in findings] == ["Class PlainChecks"]


def test_a_base_from_a_library_the_audit_does_not_know_is_unsure_and_silent() -> None:
    assert audit("""
        from somelib.testing import ServiceBase
        from somelib import *


        class ServiceChecks(ServiceBase):
            def test_a(self):
                pass


        class TestWithInit(ServiceBase):
            def __init__(self):
                pass

            def test_b(self):
                pass
    """) == []


UNITTEST_TREE = {
    "pytest.ini": "[pytest]\npython_classes = Test\n",
    "tests/__init__.py": "",
    "tests/base.py": """
        import unittest


        class ApiBase(unittest.TestCase):
            pass


        class NotACase:
            def helper(self):
                pass
    """,
    "tests/support/__init__.py": "",
    "tests/support/cases.py": """
        from ..base import ApiBase


        class DeepBase(ApiBase):
            pass
    """,
    "tests/test_imported.py": """
        from tests.base import ApiBase, NotACase
        from tests import base
        from .support.cases import DeepBase
        import tests.support.cases


        class LoginChecks(ApiBase):
            def test_login(self):
                pass


        class ModuleAttributeChecks(base.ApiBase):
            def test_attribute(self):
                pass


        class DeepChecks(DeepBase):
            def test_deep(self):
                pass


        class DottedChecks(tests.support.cases.DeepBase):
            def test_dotted(self):
                pass


        class HelperChecks(NotACase):
            def test_lost(self):
                pass
    """,
    # No __init__.py here: pytest's prepend mode puts this folder on sys.path.
    "other/common.py": """
        from unittest import TestCase


        class Shared(TestCase):
            pass
    """,
    "other/test_plain_import.py": """
        from common import Shared


        class SharedChecks(Shared):
            def test_shared(self):
                pass
    """,
}


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "n2"])
def test_audit_follows_bases_through_the_projects_imports_as_pytest_does(
        make_project, phase_python: str, xdist: bool) -> None:
    """The audit's uncollected classes are exactly what pytest leaves out, under this venv's
    pytest and the newest, serial and under xdist."""
    from tests.realrun import QUIET_ENV, claimcheck_json, claimcheck_table, findings_of

    args = ["-p", "xdist.plugin", "-n", "2", "tests", "other"] if xdist else ["tests", "other"]
    root = make_project({**UNITTEST_TREE, "pyproject.toml": claimcheck_table(
        phase_python, [{"name": "unit", "pytest": args}])})
    done = subprocess.run([phase_python, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests", "other"],
                          cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **QUIET_ENV})
    collected = sorted(line.split("::")[1] for line in done.stdout.splitlines() if "::" in line)
    assert collected == ["DeepChecks", "DottedChecks", "LoginChecks", "ModuleAttributeChecks",
                         "SharedChecks"], done.stdout

    code, report, stderr = claimcheck_json(root)
    assert code == 0, stderr
    assert report["phases"][0]["counts"]["passed"] == 5
    [lost] = findings_of(report, "uncollected-tests")
    assert (lost["path"], lost["line"], lost["count"]) == ("tests/test_imported.py", 27, 1)
    assert lost["message"].startswith("Class HelperChecks in tests/test_imported.py:27 has 1 "
                                      "test method that pytest never collects")


# ----------------------------------------------------------------------------------------
# Real runs: wording as the phase saw it, advice that works when applied

INIT_CLASS = """
    class TestInit:
        def __init__(self):
            self.ready = True

        def test_lost(self):
            pass


    def test_kept():
        pass
"""


@pytest.mark.parametrize("strict_warnings", [False, True], ids=["warning", "filterwarnings-error"])
def test_a_constructor_is_described_as_the_phase_saw_it(make_project, phase_python: str,
                                                        strict_warnings: bool) -> None:
    from tests.realrun import claimcheck_json, claimcheck_table, findings_of

    ini = "[pytest]\nfilterwarnings =\n    error\n" if strict_warnings else "[pytest]\n"
    root = make_project({"pytest.ini": ini, "tests/test_init.py": INIT_CLASS,
                         "pyproject.toml": claimcheck_table(
                             phase_python, [{"name": "unit", "pytest": ["tests"]}])})
    code, report, stderr = claimcheck_json(root)
    assert code == (1 if strict_warnings else 0), stderr
    [finding] = findings_of(report, "uncollected-tests")
    assert finding["message"].startswith(
        "Class TestInit in tests/test_init.py:1 has 1 test method that pytest skips because it "
        "defines __init__ (")
    warning = ("PytestCollectionWarning: cannot collect test class 'TestInit' because it has a "
               "__init__ constructor")
    if strict_warnings:
        assert (f"(a warnings filter set to error (filterwarnings = error, or -W error) turned "
                f"pytest's {warning} into a collection error of tests/test_init.py::TestInit)"
                ) in finding["message"]
        assert "only emits" not in finding["message"]
    else:
        assert f"(pytest only emits a {warning})" in finding["message"]


CLASS_STYLES = {
    "tool.pytest": ("pyproject.toml", '[tool.pytest]\nminversion = "9.0"\n', True),
    "tool.pytest+python_classes": ("pyproject.toml", '[tool.pytest]\npython_classes = ["Test"]\n',
                                   True),
    "ini_options": ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-ra"\n', False),
    "pytest.ini+python_classes": ("pytest.ini", "[pytest]\npython_classes = Test\n", False),
    "setup.cfg": ("setup.cfg", "[tool:pytest]\naddopts = -ra\n", False),
}


@pytest.mark.parametrize("style", list(CLASS_STYLES))
@pytest.mark.parametrize("which", ["pytest-latest", "pytest-here"])
def test_following_the_python_classes_advice_makes_pytest_collect_the_class(
        tmp_path: Path, style: str, which: str) -> None:
    from tests.realrun import (
        QUIET_ENV,
        apply_advice,
        claimcheck_json,
        claimcheck_table,
        findings_of,
        latest_pytest_python,
    )

    name, text, pytest9_only = CLASS_STYLES[style]
    if which == "pytest-here" and pytest9_only:
        pytest.skip("pytest 8 does not read this table")
    python = latest_pytest_python() if which == "pytest-latest" else sys.executable
    root = write_project(tmp_path / "proj", {
        name: text,
        "tests/test_web.py": "class WebChecks:\n    def test_page(self):\n        pass\n\n\n"
                             "def test_plain():\n    pass\n",
        "claimcheck.toml": claimcheck_table(python, [{"name": "unit", "pytest": ["tests"]}],
                                            top_level=True),
    })
    code, report, stderr = claimcheck_json(root, "--config", str(root / "claimcheck.toml"))
    assert code == 0, stderr
    [finding] = findings_of(report, "uncollected-tests")
    apply_advice(root, finding["message"])
    done = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:cacheprovider", "tests"], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **QUIET_ENV})
    assert "tests/test_web.py::WebChecks::test_page" in done.stdout, (finding["message"],
                                                                     done.stdout, done.stderr)


UNITTEST_ONLY = """\
import unittest


class UTS46Tests(unittest.TestCase):
    def test_a(self):
        pass
"""
NOT_A_TESTCASE = """

class HelperChecks:
    def test_b(self):
        pass
"""
DJANGO_STYLE = """\
from django.test import TestCase, override_settings


class BaseViewTests(TestCase):
    def setUp(self):
        self.url = "/"


@override_settings(
    ROOT_URLCONF="urls",
)
class LoginTests(BaseViewTests):
    def test_login(self):
        pass


class MockRequest:
    def __init__(self, user):
        self.user = user
"""
# The import the skeleton reads sits in a docstring; the name is really bound to `object`.
TESTCASE_REBOUND = '''\
"""Write tests like this:
from django.test import TestCase
"""
TestCase = object


class LoginChecks(TestCase):
    def test_login(self):
        pass
'''
# A `class` line at column 0 inside a docstring cuts the helper's own text short.
CLASS_IN_A_STRING = '''\
class HelperChecks:
    """Usage:
class TestExample:
    pass
"""

    def test_b(self):
        pass
'''
CONSTRUCTORS = """\
class Helper:
    def __init__(self, value):
        self.value = value


class TestWithHelper:
    def test_a(self):
        assert Helper(1).value == 1
"""
TEST_CLASS_WITH_CONSTRUCTOR = CONSTRUCTORS.replace("class Helper", "class TestHelper").replace(
    "self.value = value", "self.value = value\n\n    def test_b(self):\n        pass")


@pytest.mark.parametrize(("source", "parses", "reported"), [
    pytest.param(UNITTEST_ONLY, 0, 0, id="idna-unittest-testcase"),  # idna's shape
    pytest.param(UNITTEST_ONLY.replace("unittest.TestCase", "unittest.IsolatedAsyncioTestCase"),
                 0, 0, id="unittest-async-testcase"),
    pytest.param(UNITTEST_ONLY.replace("import unittest", "from compat import unittest"), 0, 0,
                 id="testcase-from-a-library"),  # *TestCase from a library: a TestCase
    pytest.param(UNITTEST_ONLY.replace("unittest.TestCase", "unittest.mock.Mock"), 1, 0,
                 id="another-unittest-base"),
    pytest.param(UNITTEST_ONLY + NOT_A_TESTCASE, 1, 1, id="a-class-the-parse-reports"),
    pytest.param(DJANGO_STYLE, 0, 0, id="django-bases-through-imports-and-headers"),
    pytest.param(DJANGO_STYLE.replace("import TestCase, ", "import *  # "), 1, 0,
                 id="star-import-unsure"),
    pytest.param(DJANGO_STYLE + "\n\nTestCase = dict\n", 1, 0, id="bound-twice-unsure"),
    pytest.param(DJANGO_STYLE.replace("self.url", "from compat import TestCase\n        self.url"),
                 1, 0, id="imported-again-in-a-function"),
    pytest.param(DJANGO_STYLE + NOT_A_TESTCASE, 1, 1, id="django-and-a-class-the-parse-reports"),
    pytest.param(TESTCASE_REBOUND, 1, 1, id="import-in-a-docstring-name-bound-elsewhere"),
    pytest.param(CLASS_IN_A_STRING, 1, 1, id="class-line-in-a-docstring"),
    pytest.param(CONSTRUCTORS, 0, 0, id="constructor-in-a-class-without-tests"),
    pytest.param(TEST_CLASS_WITH_CONSTRUCTOR, 1, 1, id="test-class-with-constructor"),
])
def test_the_quick_look_decides_without_a_parse_only_what_the_parse_decides_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, parses: int,
        reported: int) -> None:
    from claimcheck.collectors import discovery

    (tmp_path / "tests").mkdir()
    path = tmp_path / "tests" / "test_views.py"
    path.write_text(source)
    settings = PytestSettings(rootdir=str(tmp_path), inifile=None, python_classes=("Test*",))
    parsed: list[object] = []
    real_parse = discovery.ast.parse

    def counted_parse(source: object, filename: object = "<unknown>", *args: object,
                      **kwargs: object) -> object:
        if filename == str(path):  # the whole file, not its skeleton or one class alone
            parsed.append(filename)
        return real_parse(source, filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(discovery.ast, "parse", counted_parse)
    quick = uncollected_tests(tmp_path, settings, ["tests"])
    assert len(parsed) == parses
    monkeypatch.setattr(discovery._QuickLook, "bases_if_silent", lambda *args: None)
    parsed_whole = uncollected_tests(tmp_path, settings, ["tests"])
    assert [f.message for f in quick] == [f.message for f in parsed_whole]
    assert len(quick) == reported


WAITS_FOR_THE_READING = """
    import time
    from pathlib import Path


    class CriticalWebSocketTests:
        def test_connect(self):
            pass


    def test_waits_for_the_reading():
        mark = Path(__file__).parent.parent / "read"
        for _ in range(600):  # a bound against hanging, not a timing assertion
            if mark.exists():
                return
            time.sleep(0.05)
        raise AssertionError("claimcheck did not read the test files while the tests ran")
"""


async def test_a_run_reads_its_test_files_while_its_tests_run_and_the_judge_uses_that_reading(
        make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading starts once pytest has collected (its settings known), on a thread of its
    own: the test here passes only if the files are read before it ends. The judge then
    words that one reading; the files are not read again after the last test."""
    import threading

    from claimcheck.collectors import discovery
    from claimcheck.collectors.config import Config, PhaseConfig
    from claimcheck.collectors.session import run_evidence
    from tests.phase_runs import PYTEST_INI

    root = make_project({"pytest.ini": PYTEST_INI, "tests/test_ws.py": WAITS_FOR_THE_READING})
    real_scan = discovery.scan_test_files
    readers: list[str] = []

    def scan(*args: object, **kwargs: object) -> object:
        readers.append(threading.current_thread().name)
        read = real_scan(*args, **kwargs)  # type: ignore[arg-type]
        (root / "read").touch()
        return read

    monkeypatch.setattr(discovery, "scan_test_files", scan)
    config = Config(root=root, source=None, python=sys.executable, gaps=(),
                    phases=(PhaseConfig(name="unit", pytest=("tests",), timeout=120),))
    report = await run_evidence(config)
    assert report.phases[0].counts.passed == 1, report.phases[0]
    assert readers == ["claimcheck-test-files"]
    [finding] = [f for f in report.findings if f.kind == "uncollected-tests"]
    assert finding.phase == "unit"
    assert finding.message.startswith("Class CriticalWebSocketTests in tests/test_ws.py:5 has 1 "
                                      "test method that pytest never collects")


async def test_a_wrapper_phase_reads_its_test_files_once_for_its_first_session(
        make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that runs pytest twice: the judge audits with the first session's settings, so
    only that session starts a reading; the second would go unused."""
    import threading

    from claimcheck.collectors import discovery
    from claimcheck.collectors.config import Config, PhaseConfig
    from claimcheck.collectors.session import run_evidence
    from tests.phase_runs import PYTEST_INI

    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/a/test_a.py": WS_SOURCE,
        "tests/b/test_b.py": "def test_b():\n    pass\n",
        "run_both.py": """
            import subprocess, sys
            codes = [subprocess.run([sys.executable, "-m", "pytest", path]).returncode
                     for path in ("tests/a", "tests/b")]
            sys.exit(max(codes))
        """,
    })
    real_scan = discovery.scan_test_files
    readers: list[tuple[str, tuple[str, ...]]] = []

    def scan(root: Path, settings: PytestSettings, paths: list[str]) -> object:
        readers.append((threading.current_thread().name, tuple(paths)))
        return real_scan(root, settings, paths)

    monkeypatch.setattr(discovery, "scan_test_files", scan)
    config = Config(root=root, source=None, python=sys.executable, gaps=(), phases=(
        PhaseConfig(name="both", command=(sys.executable, "run_both.py"), timeout=120),))
    report = await run_evidence(config)
    assert report.phases[0].counts.passed == 2, report.phases[0]
    assert len(report.phases[0].sessions) == 2
    assert readers == [("claimcheck-test-files", ("tests/a",))]
    [finding] = [f for f in report.findings if f.kind == "uncollected-tests"]
    assert finding.path == "tests/a/test_a.py"


def test_a_file_nested_deeper_than_the_parser_goes_is_skipped_and_the_rest_audited(
        tmp_path: Path) -> None:
    """`ast.parse` raises RecursionError (or MemoryError) for a file pytest itself reports as
    a collection error; the audit goes on to the other files instead of ending the report."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_deep.py").write_text(
        "a = 1\nx = " + "+".join(["a"] * 200_000) + "\n\n\nclass DeepChecks:\n"
        "    def test_b(self):\n        pass\n")
    (tmp_path / "tests" / "test_ws.py").write_text(textwrap.dedent(WS_SOURCE))
    findings = uncollected_tests(tmp_path, PytestSettings(rootdir=str(tmp_path)), ["tests"])
    assert [finding.path for finding in findings] == ["tests/test_ws.py"]


def test_an_audit_that_fails_is_a_finding_and_the_rest_of_the_report_stands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claimcheck.collectors import discovery
    from claimcheck.collectors.config import Config, PhaseConfig
    from claimcheck.collectors.models import Counts, PhaseRun
    from claimcheck.collectors.session import collect_findings

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(discovery, "scan_test_files", broken)
    (tmp_path / "tests").mkdir()
    run = PhaseRun(name="unit", status="passed", exit_code=0, duration_s=0.1,
                   counts=Counts(collected=1, passed=1),
                   settings=PytestSettings(rootdir=str(tmp_path)))
    config = Config(root=tmp_path, source=None, python=sys.executable, gaps=(),
                    phases=(PhaseConfig(name="unit", pytest=("tests",)),))
    [finding] = [f for f in collect_findings(config, [run], []) if f.kind == "audit-error"]
    assert finding.phase == "unit"
    assert finding.message.startswith("The audit of tests pytest never collects failed "
                                      "(RuntimeError: a bug); the rest of this report stands.")
