"""Which code the evidence is about: branch, short commit and whether the tree is dirty.

The header shows it so a screenshot pasted into an incident channel says which commit was
tested. `git` is asked as a subprocess (no library), with a short timeout, and anything that goes
wrong - no git, not a repository, a detached HEAD - degrades to less information, never an error.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class GitInfo:
    branch: str | None  # None on a detached HEAD
    commit: str | None  # short hash; None in a repository without commits
    dirty: bool = False
    sha: str | None = None  # the full hash of the same commit


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],  # a reader: never takes the index's lock
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def read_git_info(root: Path | str) -> GitInfo | None:
    """The branch, short commit and dirtiness of the repository holding `root`, or None.

    Blocking (runs one `git status`, which answers all three): call it from a thread.
    """
    root = Path(root)
    if not root.is_dir():
        return None
    status = _git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return None  # no git, or not inside a work tree
    return git_info_of(status)


def git_info_of(status: str) -> GitInfo:
    """`git status --porcelain=v2 --branch` read: its `# branch.oid` and `# branch.head`
    headers, and whether any line names a changed file."""
    sha = branch = None
    dirty = False
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            value = line[len("# branch.oid "):].strip()
            sha = None if value == "(initial)" else value
        elif line.startswith("# branch.head "):
            value = line[len("# branch.head "):].strip()
            branch = None if value == "(detached)" else value
        elif line and not line.startswith("#"):
            dirty = True
    return GitInfo(branch=branch or None, commit=sha[:7] if sha else None, dirty=dirty,
                   sha=sha or None)
