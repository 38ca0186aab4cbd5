"""Which commit the evidence is about, read from real git repositories in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

from claimcheck.collectors.gitinfo import git_info_of, read_git_info

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "init.defaultBranch=main"]


def git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def repository(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x = 1\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


def test_a_clean_checkout_names_its_branch_and_commit(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    info = read_git_info(root)
    sha = git(root, "rev-parse", "HEAD")
    assert info is not None
    assert (info.branch, info.sha, info.commit, info.dirty) == ("main", sha, sha[:7], False)
    assert read_git_info(root / "src") == info  # from a folder inside the repository too


def test_a_changed_tracked_file_is_dirty_and_an_untracked_one_is_not(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    (root / "notes.txt").write_text("scratch\n", encoding="utf-8")
    assert read_git_info(root).dirty is False
    (root / "src" / "app.py").write_text("x = 2\n", encoding="utf-8")
    assert read_git_info(root).dirty is True


def test_a_detached_head_has_no_branch_but_its_commit(tmp_path: Path) -> None:
    root = repository(tmp_path / "repo")
    sha = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "--detach")
    info = read_git_info(root)
    assert (info.branch, info.sha) == (None, sha)


def test_a_repository_without_commits_has_a_branch_and_no_commit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q")
    info = read_git_info(root)
    assert (info.branch, info.commit, info.sha, info.dirty) == ("main", None, None, False)


def test_outside_git_and_for_a_missing_folder_there_is_nothing_to_say(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    assert read_git_info(tmp_path / "plain") is None
    assert read_git_info(tmp_path / "missing") is None


def test_the_status_headers_are_read_and_every_other_line_is_a_change() -> None:
    status = ("# branch.oid 0123456789abcdef0123456789abcdef01234567\n"
              "# branch.head feature/x\n# branch.upstream origin/feature/x\n"
              "# branch.ab +1 -0\n1 .M N... 100644 100644 100644 a b src/app.py\n")
    info = git_info_of(status)
    assert (info.branch, info.commit, info.dirty) == ("feature/x", "0123456", True)
    assert git_info_of("# branch.oid (initial)\n# branch.head (detached)\n") == \
        git_info_of("")
