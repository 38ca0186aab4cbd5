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
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def read_git_info(root: Path | str) -> GitInfo | None:
    """The branch, short commit and dirtiness of the repository holding `root`, or None.

    Blocking (runs up to three short `git` commands): call it from a thread.
    """
    root = Path(root)
    if not root.is_dir() or _git(root, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    branch = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    sha = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(branch=branch or None, commit=sha[:7] if sha else None, dirty=bool(status),
                   sha=sha or None)
