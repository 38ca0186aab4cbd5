"""A fixture project in git, and `claimcheck` run on it as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import UNUSED_PLUGINS, clean_env, write_project

PYPROJECT = f"""
[tool.pytest.ini_options]
addopts = "{UNUSED_PLUGINS} -p no:cacheprovider"
markers = ["auth: authentication"]

[tool.claimcheck.gaps]
auth = {{ title = "Service authentication", match = ["*auth*"], markers = ["auth"] }}
db = {{ title = "Database", match = ["*db*"] }}

[[tool.claimcheck.phases]]
name = "unit"
pytest = ["tests/unit"]

[[tool.claimcheck.phases]]
name = "integration"
pytest = ["tests/integration"]
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "tests/unit/test_auth.py": """
        def test_login():
            assert True

        def test_logout():
            assert True
    """,
    "tests/unit/test_db.py": """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_query(n):
            assert n >= 0
    """,
    "tests/unit/test_tokens.py": """
        import pytest

        @pytest.mark.auth
        def test_token_expiry():
            assert True

        def test_unrelated():
            assert True
    """,
    "tests/integration/test_flow_auth.py": """
        def test_handshake():
            assert True
    """,
    "tests/integration/test_other.py": "def test_other():\n    assert True\n",
}


def user_env(**extra: str) -> dict[str, str]:
    """A fixture project's environment (`clean_env`) with a git identity for its commits."""
    return clean_env(GIT_AUTHOR_NAME="Ada Lovelace", GIT_AUTHOR_EMAIL="ada@example.org",
                     GIT_COMMITTER_NAME="Ada Lovelace", GIT_COMMITTER_EMAIL="ada@example.org",
                     **extra)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          env=user_env(), check=True)
    return done.stdout.strip()


def make_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_project(root, FILES if files is None else files)
    # As every real project has: bytecode is never committed (else a run that rewrites a
    # .pyc would make the tree dirty, as it does where Python writes bytecode, in CI).
    (root / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ada Lovelace")
    git(root, "config", "user.email", "ada@example.org")
    commit(root, "initial")
    return root


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def claimcheck(root: Path, *args: str, timeout: float = 180,
               **env: str) -> subprocess.CompletedProcess[str]:
    command, rest = (args[0], args[1:]) if args and not args[0].startswith("-") else ("", args)
    argv = [sys.executable, "-m", "claimcheck"]
    argv += [command, "--project", str(root), *rest] if command else ["--project", str(root),
                                                                       *rest]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=user_env(**env), stdin=subprocess.DEVNULL)


def report_json(root: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    done = claimcheck(root, "--report", "--format", "json", *args)
    assert done.stdout, done.stderr
    return json.loads(done.stdout), done
