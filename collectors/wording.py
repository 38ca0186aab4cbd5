"""How findings say things: paths as pytest names them, counts, lists, commands, and the few
shapes of pytest's own text that findings quote (`E   Type: message`, `path:N: in <module>`).

Shared by the judge, the marker and refusal findings and the static audit, so a path or a
command reads the same in every finding. Pure.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Sequence

from claimcheck.collectors.models import PytestSettings

FILES_SHOWN = 5

E_LINE = re.compile(r"^E\s+(?P<type>[\w.]+): (?P<message>.*)$", re.MULTILINE)
MODULE_FRAME = re.compile(r"^(?P<path>\S[^\n]*?):(?P<line>\d+): in <module>$", re.MULTILINE)


def relative_path(path: str | None, settings: PytestSettings | None) -> str | None:
    """Paths in findings are relative to the rootdir, like pytest's node ids, when possible."""
    if not path:
        return path
    posix = path.replace("\\", "/")
    if settings is not None and settings.rootdir and posix.startswith("/"):
        root = settings.rootdir.replace("\\", "/").rstrip("/") + "/"
        if posix.startswith(root):
            return posix[len(root):]
    return posix


def list_files(files: Sequence[str], limit: int = FILES_SHOWN) -> str:
    """'a, b, c and 4 more': a finding's message stays one readable sentence."""
    shown = ", ".join(files[:limit])
    rest = len(files) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def its(count: int) -> str:
    return "its" if count == 1 else "their"


def nodeid_file(nodeid: str | None) -> str | None:
    """`tests/test_a.py::test_x` -> `tests/test_a.py`."""
    return nodeid.split("::", 1)[0] if nodeid else None


def inifile_name(settings: PytestSettings | None) -> str | None:
    """The config file's path as a person would type it (relative to the rootdir)."""
    if settings is None or not settings.inifile:
        return None
    return relative_path(settings.inifile, settings)


def command_text(argv: Sequence[str], limit: int = 120) -> str:
    """The command as a person reads it: an absolute program path shortened to its name
    (`/root/.venv/bin/python` -> `python`), so the part that matters fits the line."""
    if not argv:
        return "the phase command"
    program = argv[0]
    if os.path.isabs(program):
        program = os.path.basename(program) or program
    text = shlex.join([program, *argv[1:]])
    return f"`{text if len(text) <= limit else text[: limit - 3] + '...'}`"


def last_e_line(longrepr: str) -> tuple[str, str] | None:
    """The exception pytest shows last in a traceback: (type, message)."""
    matches = list(E_LINE.finditer(longrepr or ""))
    if not matches:
        return None
    return matches[-1].group("type"), matches[-1].group("message").strip()


_DEFAULTS = PytestSettings(rootdir="")


def setting_text(settings: PytestSettings, name: str) -> str:
    """`python_classes = ["Test*"] (set in pyproject.toml)`, or `(pytest's default)`: the value
    and where it really comes from, since a default is not something a file set."""
    value: tuple[str, ...] = getattr(settings, name)
    shown = "[" + ", ".join(f'"{item}"' for item in value) + "]"
    if value == getattr(_DEFAULTS, name):
        where = "pytest's default"
    else:
        inifile = inifile_name(settings)
        where = f"set in {inifile}" if inifile else "set on the command line"
    return f"{name} = {shown} ({where})"
