"""`claimcheck init` on fixture projects: what it finds, what it keeps, what it refuses."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from claimcheck.collectors.config import load_config
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options
from claimcheck.tui.scaffold import plan_for, read_pytest_ini, run_init

ORIGINAL = """\
# Build settings: keep this comment.
[build-system]
requires = ["hatchling"]   # pinned below
build-backend = "hatchling.build"

[project]
name    = "shop"          # odd spacing on purpose
version = '1.0'
dependencies = [
    "httpx",  # trailing comma and comment
]

[tool.pytest.ini_options]
markers = [
    "slow: takes more than a second",
    "db(name): needs a database",
]
"""

TEST_FILES = {
    "tests/unit/test_cart.py": "def test_cart():\n    assert True\n",
    "tests/unit/billing/test_invoice.py": "def test_invoice():\n    assert True\n",
    "tests/integration/test_cart.py": "def test_cart_db():\n    assert True\n",
    "tests/e2e/test_checkout.py": "def test_checkout():\n    assert True\n",
    "tests/fixtures/test_not_a_phase.py": "",
    "tests/helpers.py": "",
}


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({**TEST_FILES, "pyproject.toml": ORIGINAL})


def init(root: Path, **kwargs: object) -> int:
    return run_init(Options(project=root, **kwargs))


def test_section_is_appended_and_everything_before_it_is_kept_byte_for_byte(shop, capsys):
    before = (shop / "pyproject.toml").read_bytes()

    assert init(shop) == ExitCode.GREEN

    after = (shop / "pyproject.toml").read_bytes()
    assert after.startswith(before)
    assert after[len(before):].lstrip(b"\n").startswith(b"[tool.claimcheck]")
    out = capsys.readouterr().out
    assert "[tool.claimcheck]" in out and "Next: claimcheck --report --project" in out


def test_written_config_loads_with_the_phases_and_gaps_found(shop):
    assert init(shop) == ExitCode.GREEN

    config = load_config(shop)
    assert config.source == shop / "pyproject.toml"
    assert [(p.name, p.pytest) for p in config.phases] == [
        ("unit", ("tests/unit",)),
        ("integration", ("tests/integration",)),
        ("e2e", ("tests/e2e",)),
    ]
    gaps = {gap.name: gap for gap in config.gaps}
    assert gaps["slow"].markers == ("slow",) and gaps["db"].markers == ("db",)
    assert gaps["billing"].match == ("*/billing/*",)
    # one area across phases (tests/unit/test_cart.py and tests/integration/test_cart.py),
    # and the patterns take in the area's next test file too
    assert gaps["cart"].match == ("*/test_cart.py*", "*/test_cart_*.py*")
    assert gaps["checkout"].match == ("*/test_checkout.py*", "*/test_checkout_*.py*")
    assert gaps["cart"].title == "Cart"
    assert "fixtures" not in gaps and "not_a_phase" not in gaps and "not-a-phase" not in gaps


def test_services_example_is_commented_out(shop):
    assert init(shop) == ExitCode.GREEN
    text = (shop / "pyproject.toml").read_text()
    assert "# [[tool.claimcheck.services]]" in text
    assert "services" not in tomllib.loads(text)["tool"]["claimcheck"]


def test_existing_section_is_refused_with_exit_4_naming_the_file(shop, capsys):
    assert init(shop) == ExitCode.GREEN
    capsys.readouterr()
    written = (shop / "pyproject.toml").read_bytes()

    assert init(shop) == ExitCode.USAGE

    err = capsys.readouterr().err
    assert str(shop / "pyproject.toml") in err and "--force" in err
    assert (shop / "pyproject.toml").read_bytes() == written


def test_force_replaces_the_section_and_keeps_the_rest(shop):
    path = shop / "pyproject.toml"
    path.write_text(ORIGINAL + '\n[tool.claimcheck]\npython = "python3"\n\n'
                    '[[tool.claimcheck.phases]]\nname = "old"\npytest = []\n\n'
                    "[tool.ruff]\nline-length = 99  # after the old section\n")

    assert init(shop, overwrite=True) == ExitCode.GREEN

    text = path.read_text()
    assert text.startswith(ORIGINAL)
    assert "[tool.ruff]\nline-length = 99  # after the old section\n" in text
    assert 'name = "old"' not in text and text.count("[tool.claimcheck]") == 1
    assert [p.name for p in load_config(shop).phases] == ["unit", "integration", "e2e"]


def test_dry_run_prints_and_writes_nothing(shop, capsys):
    before = (shop / "pyproject.toml").read_bytes()

    assert init(shop, dry_run=True) == ExitCode.GREEN

    assert (shop / "pyproject.toml").read_bytes() == before
    out = capsys.readouterr().out
    assert "[[tool.claimcheck.phases]]" in out and 'name = "unit"' in out


def test_creates_pyproject_when_missing(make_project):
    root = make_project({"tests/test_one.py": "def test_one():\n    assert True\n"})

    assert init(root) == ExitCode.GREEN

    config = load_config(root)
    assert [(p.name, p.pytest) for p in config.phases] == [("tests", ("tests",))]
    assert [gap.name for gap in config.gaps] == ["one"]


def test_loose_test_files_beside_phase_folders_get_a_phase_of_their_own(make_project):
    root = make_project({
        "tests/unit/test_a.py": "def test_a():\n    assert True\n",
        "tests/test_smoke.py": "def test_smoke():\n    assert True\n",
    })

    assert init(root) == ExitCode.GREEN

    phases = [(p.name, p.pytest) for p in load_config(root).phases]
    assert phases == [("unit", ("tests/unit",)), ("tests", ("tests", "--ignore=tests/unit"))]


def test_testpaths_are_used_when_there_are_no_phase_folders(make_project):
    root = make_project({
        "setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\ntestpaths = src/checks\n"
                     "markers =\n    network: talks to the network\n",
        "src/checks/test_x.py": "def test_x():\n    assert True\n",
    })

    assert init(root) == ExitCode.GREEN

    config = load_config(root)
    assert [(p.name, p.pytest) for p in config.phases] == [("tests", ("src/checks",))]
    assert {gap.name: gap.markers for gap in config.gaps}["network"] == ("network",)


def test_pytest_ini_wins_over_pyproject_like_pytest_itself(make_project):
    root = make_project({
        "pytest.ini": "[pytest]\nmarkers =\n    api: hits the API\n    flaky\n",
        "pyproject.toml": '[tool.pytest.ini_options]\nmarkers = ["ignored: not read"]\n',
        "tox.ini": "[pytest]\nmarkers =\n    alsoignored: no\n",
    })
    assert [name for name, _ in read_pytest_ini(root).markers] == ["api", "flaky"]


def test_tox_ini_markers_are_read(make_project):
    root = make_project({"tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\nmarkers =\n"
                                    "    gpu: needs a GPU\n"})
    assert read_pytest_ini(root).markers == (("gpu", "needs a GPU"),)


def test_crlf_files_stay_crlf(make_project):
    root = make_project({"tests/unit/test_a.py": "def test_a():\n    assert True\n"})
    original = b'[project]\r\nname = "crlf"\r\n'
    (root / "pyproject.toml").write_bytes(original)

    assert init(root) == ExitCode.GREEN

    data = (root / "pyproject.toml").read_bytes()
    assert data.startswith(original)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert [p.name for p in load_config(root).phases] == ["unit"]


def test_invalid_toml_is_left_alone_with_exit_4(make_project, capsys):
    root = make_project({"pyproject.toml": "[project\nname = 1\n"})
    before = (root / "pyproject.toml").read_bytes()

    assert init(root) == ExitCode.USAGE

    assert "not valid TOML" in capsys.readouterr().err
    assert (root / "pyproject.toml").read_bytes() == before


def test_real_world_layout_through_the_command_line(make_project):
    """A layout like many open-source projects: tests/ with subpackages and pytest.ini markers,
    a conftest, data folders, a setup.cfg without pytest settings; run as the real CLI."""
    root = make_project({
        "pytest.ini": "[pytest]\naddopts = -ra --strict-markers\ntestpaths = tests\n"
                      "markers =\n    slow: marks tests as slow (deselect with '-m \"not slow\"')\n"
                      "    network: requires network access\n    ssl(version): TLS tests\n",
        "setup.cfg": "[metadata]\nname = requests-like\n\n[flake8]\nmax-line-length = 100\n",
        "src/pkg/__init__.py": "",
        "src/pkg/api.py": '"""The public HTTP API.\n\nMore words here."""\n',
        "src/pkg/utils.py": "",
        "src/pkg/models/__init__.py": '"""Database models and their relations."""\n',
        "tests/__init__.py": "",
        "tests/conftest.py": "",
        "tests/test_api.py": "def test_get():\n    assert True\n",
        "tests/test_utils.py": "def test_quote():\n    assert True\n",
        "tests/testserver/__init__.py": "",
        "tests/testserver/server.py": "",
        "tests/unit/test_models.py": "def test_model():\n    assert True\n",
        "tests/data/sample.json": "{}",
    })
    result = subprocess.run(
        [sys.executable, "-m", "claimcheck", "init", "--project", str(root)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    config = load_config(root)
    assert [(p.name, p.pytest) for p in config.phases] == [
        ("unit", ("tests/unit",)),
        ("tests", ("tests", "--ignore=tests/unit")),
    ]
    gaps = {gap.name: gap for gap in config.gaps}
    assert {"slow", "network", "ssl", "api", "utils", "models"} <= set(gaps)
    assert "testserver" not in gaps and "conftest" not in gaps
    assert gaps["ssl"].title == "ssl: TLS tests"
    assert gaps["api"].title == "The public HTTP API"  # the module's docstring
    assert gaps["models"].title == "Database models and their relations"
    assert gaps["utils"].title == "Utils"

    # and pytest, run the way the written phase says, collects exactly the loose files
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *config.phase("tests").pytest],
        cwd=root, capture_output=True, text=True, check=False,
    )
    assert "tests/test_api.py::test_get" in collected.stdout
    assert "test_models" not in collected.stdout


def test_plan_without_any_tests_is_one_plain_pytest_phase(tmp_path):
    plan = plan_for(tmp_path)
    assert plan.phases == [("tests", [])] and plan.gaps == []


def test_gaps_name_areas_and_catch_the_next_test_file(make_project):
    """A cache library's layout: one test file per cache class, none named after a module.

    Each file used to become its own gap titled "Rr", "Lfu"... with a pattern for that file
    alone, so the next test file landed in `unassigned`. Areas the code names keep their row
    (titled from the module's docstring); the one-file areas that name no module share one."""
    root = make_project({
        "src/cachetools/__init__.py": '"""Extensible memoizing collections and decorators."""\n',
        "src/cachetools/keys.py": '"""Key functions for memoizing decorators."""\n',
        "src/cachetools/func.py": '"""`functools.lru_cache` compatible memoizing decorators."""\n',
        "tests/test_keys.py": "def test_k():\n    assert True\n",
        "tests/test_func.py": "def test_f():\n    assert True\n",
        "tests/test_rr.py": "def test_rr():\n    assert True\n",
        "tests/test_lfu.py": "def test_lfu():\n    assert True\n",
        "tests/test_ttl.py": "def test_ttl():\n    assert True\n",
    })
    assert init(root) == ExitCode.GREEN
    config = load_config(root)
    gaps = {gap.name: gap for gap in config.gaps}
    assert set(gaps) == {"keys", "func", "cachetools"}
    assert gaps["keys"].title == "Key functions for memoizing decorators"
    assert gaps["cachetools"].title == "Extensible memoizing collections and decorators"
    assert set(gaps["cachetools"].match) == {"*/test_rr.py*", "*/test_lfu.py*", "*/test_ttl.py*"}

    from claimcheck.collectors.gaps import gaps_for_test
    from claimcheck.collectors.models import TestResult

    phases = [phase.name for phase in config.phases]
    later = TestResult(nodeid="tests/test_keys_hashing.py::test_new", outcome="passed",
                       phase=phases[0])
    assert gaps_for_test(later, config.gaps, phases) == ("keys",)


def test_tests_inside_the_package_give_one_gap_per_area(make_project):
    root = make_project({
        "pkg/__init__.py": "",
        "pkg/auth.py": '"""Who may do what."""\n',
        "pkg/tests/__init__.py": "",
        "pkg/tests/test_auth.py": "def test_a():\n    assert True\n",
        "pkg/tests/test_auth_tokens.py": "def test_t():\n    assert True\n",
        "pkg/tests/test_billing.py": "def test_b():\n    assert True\n",
        "pkg/tests/test_billing_refunds.py": "def test_r():\n    assert True\n",
    })
    plan = plan_for(root)
    names = {name: (title, match) for name, title, match, _ in plan.gaps}
    assert set(names) == {"auth", "billing"}  # not one gap named after the package
    assert names["auth"] == ("Who may do what", ["*/test_auth.py*", "*/test_auth_*.py*"])
    assert names["billing"][0] == "Billing"


def test_an_empty_folder_says_there_are_no_tests(tmp_path, capsys):
    assert init(tmp_path) == ExitCode.GREEN
    err = capsys.readouterr().err
    assert "no test files (test_*.py or *_test.py) found" in err and str(tmp_path) in err
