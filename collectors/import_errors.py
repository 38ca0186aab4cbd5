"""import-error: files that never got collected because an import broke.

Grouped by what is missing (the name or module, without its location), so one broken rename
shows as one finding listing every file it took down: test files, a folder's conftest.py or
__init__.py (everything under that folder), or an initial conftest (no session at all).

Pure: a `PhaseRun` in, findings out, most files first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from claimcheck.collectors.models import CollectionError, Finding, PhaseRun
from claimcheck.collectors.refusal import conftest_import_error
from claimcheck.collectors.wording import (
    MODULE_FRAME,
    its,
    last_e_line,
    list_files,
    plural,
)

IMPORT_ERROR_TYPES = frozenset({"ImportError", "ModuleNotFoundError"})

_TRAILING_LOCATION = re.compile(r" \((?:unknown location|[^()]*\.py[cw]?|[^()]*[/\\][^()]*)\)$")
_CANNOT_IMPORT = re.compile(
    r"^cannot import name '(?P<name>[^']+)' from (?:partially initialized module )?"
    r"'(?P<module>[^']+)'"
)
_CIRCULAR = "partially initialized module"
_NO_MODULE = re.compile(r"^No module named '(?P<module>[^']+)'")


def is_import_error(error: CollectionError) -> bool:
    if error.error_type in IMPORT_ERROR_TYPES:
        return True
    last = last_e_line(error.longrepr)
    if last is not None and last[0] in IMPORT_ERROR_TYPES:
        return True
    return error.longrepr.startswith("ImportError while importing test module")


def import_key(error: CollectionError) -> str:
    """What is missing, without the location: one key per broken name or module."""
    last = last_e_line(error.longrepr)
    text = last[1] if last is not None and last[0] in IMPORT_ERROR_TYPES else error.message
    text = text.strip().splitlines()[0] if text.strip() else error.error_type
    text = re.sub(r"^(?:ImportError|ModuleNotFoundError):\s*", "", text)
    return _TRAILING_LOCATION.sub("", text)


def import_line(error: CollectionError) -> int | None:
    """The line of the test file's own import that led to the failure, from the traceback."""
    path = error.path.split("::", 1)[0].replace("\\", "/")
    found: int | None = None
    for match in MODULE_FRAME.finditer(error.longrepr or ""):
        frame = match.group("path").replace("\\", "/")
        if frame == path or frame.endswith("/" + path) or path.endswith("/" + frame):
            found = int(match.group("line"))
    return found


def _import_fix(key: str) -> str:
    cannot = _CANNOT_IMPORT.match(key)
    if cannot and _CIRCULAR in key:
        return (f"This is a circular import around '{cannot.group('module')}': move the shared "
                "code into a module both sides import, or import inside the function.")
    if cannot:
        return (f"Restore '{cannot.group('name')}' in {cannot.group('module')}, or update these "
                "imports to whatever replaced it.")
    missing = _NO_MODULE.match(key)
    if missing:
        return (f"Restore or rename the module '{missing.group('module')}', fix the import "
                "path, or install the package that provides it in the interpreter the phase "
                "uses (and check rootdir / pythonpath).")
    return "Fix the import or restore the name."


@dataclass(frozen=True)
class _Broken:
    """One thing an import error kept from being collected, named as a person looks for it."""

    file: str  # the file whose import failed: a test file, a conftest.py, an __init__.py
    line: int | None
    scope: str | None  # the folder it took down; None for a test file itself
    startup: bool = False  # an initial conftest: pytest started no session at all


def _folder_module(error: CollectionError) -> tuple[str, int | None] | None:
    """For a folder's collection error (pytest names `tests/sub`), the module in it whose
    import failed (`tests/sub/conftest.py`): the first `<module>` frame inside the folder."""
    folder = error.path.split("::", 1)[0].replace("\\", "/").rstrip("/").lstrip("./")
    for match in MODULE_FRAME.finditer(error.longrepr or ""):
        frame = match.group("path").replace("\\", "/")
        if not folder:  # the rootdir itself
            if frame.rsplit("/", 1)[-1] in ("conftest.py", "__init__.py"):
                return frame, int(match.group("line"))
        elif frame.startswith(folder + "/"):
            return frame, int(match.group("line"))
        if "/" + folder + "/" in frame:  # an absolute frame
            return frame[frame.index("/" + folder + "/") + 1:], int(match.group("line"))
    return None


def _broken(error: CollectionError, startup: bool) -> _Broken:
    path = error.path.split("::", 1)[0]
    if startup:
        return _Broken(path, import_line(error), None, startup=True)
    if not path.endswith(".py"):
        module = _folder_module(error)
        if module is not None:
            return _Broken(module[0], module[1], path.rstrip("/") + "/")
        return _Broken(path, import_line(error), path.rstrip("/") + "/")
    return _Broken(path, import_line(error), None)


def _what_it_took_down(items: Sequence[_Broken]) -> str:
    parts: list[str] = []
    test_files = [item.file for item in items if item.scope is None and not item.startup]
    if test_files:
        parts.append(f"{plural(len(test_files), 'test file')} cannot be collected, so none of "
                     f"{its(len(test_files))} tests ran: {list_files(test_files)}")
    for item in items:
        if item.startup:
            parts.append(f"{item.file} cannot be imported, so pytest started no session and "
                         "no test of this phase ran")
        elif item.scope is not None:
            parts.append(f"{item.file} cannot be imported, so no test under {item.scope} ran")
    return "; ".join(parts)


def import_errors(run: PhaseRun) -> list[Finding]:
    """One finding per missing name/module, listing every file it kept from being collected."""
    groups: dict[str, list[_Broken]] = {}
    conftest = conftest_import_error(run)
    errors = [(error, False) for error in run.collection_errors]
    errors += [(conftest, True)] if conftest is not None else []
    for error, startup in errors:
        if is_import_error(error):
            groups.setdefault(import_key(error), []).append(_broken(error, startup))
    findings: list[Finding] = []
    for key, items in groups.items():
        unique: dict[str, _Broken] = {}
        for item in items:
            unique.setdefault(item.file, item)
        items = list(unique.values())
        files = tuple(unique)
        first = items[0]
        findings.append(
            Finding(
                kind="import-error",
                phase=run.name,
                path=first.file,
                line=first.line,
                message=f"{key} — {_what_it_took_down(items)}. {_import_fix(key)}",
                files=files,
                count=len(files),
            )
        )
    findings.sort(key=lambda finding: (-finding.count, finding.message))
    return findings
