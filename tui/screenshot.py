"""`S` (and the command palette's "Screenshot"): an SVG of the screen where a person finds it.

Textual saves a screenshot in the user's Downloads folder, which a server, an SSH box or a CI
runner rarely has, and then only says "Failed to save screenshot". claimcheck saves in the
folder it was started from (or `$CLAIMCHECK_SCREENSHOTS`), makes that folder if it has to, and
says the path, or in one line why it could not.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping

from claimcheck.collectors.files import write_atomic

ENV_DIR = "CLAIMCHECK_SCREENSHOTS"


def screenshot_dir(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """`$CLAIMCHECK_SCREENSHOTS` (`~` expanded, relative to the working folder), else the
    working folder itself."""
    environ = os.environ if environ is None else environ
    base = cwd if cwd is not None else Path.cwd()
    configured = environ.get(ENV_DIR, "").strip()
    if not configured:
        return base
    path = Path(configured).expanduser()
    return path if path.is_absolute() else base / path


def screenshot_name(project: str, now: float | None = None) -> str:
    """claimcheck-<project>-<local time>.svg, safe as a file name anywhere."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in project).strip(".-")
    return f"claimcheck-{safe or 'project'}-{stamp}.svg"


def save_svg(svg: str, project: str, *, folder: Path | None = None,
             now: float | None = None) -> Path:
    """Write the SVG (atomically) and return its path; OSError says why it could not."""
    folder = folder if folder is not None else screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / screenshot_name(project, now)
    counter = 1
    while path.exists():  # two in the same second
        path = folder / f"{path.stem.rsplit('~', 1)[0]}~{counter}.svg"
        counter += 1
    write_atomic(path, svg)
    return path
