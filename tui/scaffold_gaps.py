"""The gaps `claimcheck init` proposes: a row per registered marker and per area of code.

Areas are the default grouping's (`gaps.default_gap`), clustered when they are about one thing,
titled from the docstring of the project's module or package of that name, and matched by
patterns that also catch the area's future test files. Reads the project's source with `ast`,
never imports it; writes nothing.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from claimcheck.collectors.gaps import default_gap

MAX_GAPS = 40  # beyond this a matrix stops being readable; the rest are listed in a comment


def config_name(text: str) -> str:
    """A phase or gap name from a folder or marker: lower case, other characters as dashes."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "tests"


def propose_gaps(root: Path, files: list[str], markers: Iterable[tuple[str, str]],
                 phase_names: Iterable[str] = ()
                 ) -> tuple[list[tuple[str, str, list[str], list[str]]], list[str]]:
    """One gap per registered marker (`(name, description)`) and per area of code the tests
    (`files`, node-id paths) are about; the rows kept and the names left out past MAX_GAPS.

    The area is the default grouping's (`gaps.default_gap`), so a written config starts out
    grouping exactly as claimcheck does without one: `tests/unit/test_auth.py` and
    `tests/integration/test_auth.py` are both "auth", `tests/unit/billing/` is "billing".
    Patterns catch the area's future files too (`*/test_auth_*.py*`), titles come from the
    docstring of the project's module or package of that name, and areas of a single test file
    that name no module of the project are merged into one row instead of a row each.
    """
    gaps: dict[str, dict[str, Any]] = {}

    def gap(name: str, title: str) -> dict[str, Any]:
        key = config_name(name)
        return gaps.setdefault(key, {"title": title, "match": [], "markers": []})

    markers = tuple(markers)
    for marker, description in markers:
        entry = gap(marker, _shorten(f"{marker}: {description}") if description
                    else _humane(marker))
        entry["markers"].append(marker)

    if not files:
        return _gap_rows(gaps)
    phases = frozenset(name.lower() for name in phase_names)
    areas: dict[str, list[str]] = {}
    for path in files:
        areas.setdefault(default_gap(path, phases), []).append(path)
    marker_gaps = {config_name(marker) for marker, _ in markers}
    clusters = _clustered(areas, known=marker_gaps)
    modules = source_docstrings(root)

    def small(name: str, members: list[str]) -> bool:
        paths = [path for area in members for path in areas[area]]
        return (len(paths) == 1 and name not in modules and name not in marker_gaps
                and not _is_folder_area(members[0], paths))

    smalls = [name for name, members in clusters.items() if small(name, members)]
    merged = smalls if len(smalls) > 1 else []
    for name, members in clusters.items():
        if name in merged:
            continue
        entry = gap(name, modules.get(name) or _humane(name))
        # The cluster's own word catches its future files; a member's files it does not
        # already take in add their own patterns.
        paths = [path for area in members for path in areas[area]]
        globs = _area_globs(name, paths) if name not in members else []
        for area in sorted(members, key=lambda member: member != name):
            if not all(_glob_takes(globs, path) for path in areas[area]):
                globs += _area_globs(area, areas[area])
        for glob in globs:
            if glob not in entry["match"]:
                entry["match"].append(glob)
    if merged:
        packages = top_level_packages(root)
        name = packages[0] if len(packages) == 1 else "other"
        title = (modules.get(name) if len(packages) == 1 else None) or "Other tests"
        entry = gap(name, title)
        for cluster in merged:
            path = areas[clusters[cluster][0]][0]
            glob = f"*/{PurePosixPath(path).name}*" if "/" in path else f"{path}*"
            if glob not in entry["match"]:
                entry["match"].append(glob)
    return _gap_rows(gaps)


def _clustered(areas: dict[str, list[str]], known: Iterable[str] = ()) -> dict[str, list[str]]:
    """Cluster name -> the areas in it. Areas about one thing become one: those sharing their
    first word (`auth` and `auth_tokens`; `websocket_manager` and `websocket_events` become
    "websocket"), singular and plural alike (`routers`, `router_registration`), and an area
    named like a marker gap joins it (`factories` joins the `factory` marker's gap)."""
    by_word: dict[str, list[str]] = {}
    for area in areas:
        word = _singular(area.split("_", 1)[0])
        if len(word) >= 3:
            by_word.setdefault(word, []).append(area)
    names = {_singular(name): name for name in known}
    clustered: dict[str, list[str]] = {}
    for area in areas:
        word = _singular(area.split("_", 1)[0])
        members = by_word.get(word, [])
        if word in names:
            name = names[word]
        elif len(members) > 1:
            # the shortest member's own first word: "routers" over "router_registration"
            name = min(members, key=len).split("_", 1)[0]
        else:
            name = area
        clustered.setdefault(name, []).append(area)
    return clustered


def _glob_takes(globs: Iterable[str], path: str) -> bool:
    nodeid = f"{path}::test".lower()
    return any(fnmatch.fnmatchcase(nodeid, glob.lower()) for glob in globs)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _shorten(text: str, limit: int = 60) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return cut + "…"


def _gap_rows(gaps: dict[str, dict[str, Any]]
              ) -> tuple[list[tuple[str, str, list[str], list[str]]], list[str]]:
    rows = [(name, entry["title"], entry["match"], entry["markers"])
            for name, entry in gaps.items()]
    return rows[:MAX_GAPS], [row[0] for row in rows[MAX_GAPS:]]


def _humane(name: str) -> str:
    words = re.sub(r"[_-]+", " ", name).strip()
    return words[:1].upper() + words[1:] if words else name


def _is_folder_area(area: str, paths: list[str]) -> bool:
    return any(area in (part.lower() for part in PurePosixPath(path).parts[:-1])
               for path in paths)


def _area_globs(area: str, paths: list[str]) -> list[str]:
    """Globs over node ids that take in the area's files and the ones written later."""
    if _is_folder_area(area, paths):
        at_root = any(path.lower().startswith(area + "/") for path in paths)
        return ([f"{area}/*"] if at_root else []) + [f"*/{area}/*"]
    globs: list[str] = []
    nested = any("/" in path for path in paths)
    at_root = any("/" not in path for path in paths)
    suffix_style = any(PurePosixPath(path).stem.lower().endswith(("_test", "_tests"))
                       for path in paths)
    for prefix in (["*/"] if nested else []) + ([""] if at_root else []):
        globs += [f"{prefix}test_{area}.py*", f"{prefix}test_{area}_*.py*"]
        if suffix_style:
            globs += [f"{prefix}{area}_test.py*", f"{prefix}{area}_tests.py*"]
    return globs


_NOT_PROJECT_CODE = {"tests", "test", "testing", "docs", "doc", "build", "dist", "examples",
                     "scripts", "site-packages", "node_modules", "benchmarks", "bench"}


def top_level_packages(root: Path) -> list[str]:
    """The project's own import packages: folders with an `__init__.py` at the root or in src/."""
    found: list[str] = []
    for base in (root, root / "src"):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.is_dir() and (child / "__init__.py").is_file() \
                    and not child.name.startswith((".", "_")) \
                    and child.name.lower() not in _NOT_PROJECT_CODE:
                found.append(child.name)
    return found


def source_docstrings(root: Path) -> dict[str, str]:
    """area name -> first docstring line of the project's module or package of that name.

    Modules and subpackages of the project's own packages, two levels deep (`pkg/auth.py` and
    `pkg/routers/` give "auth" and "routers"); a leading underscore does not count
    (`_cached.py` is "cached"). Read with `ast`, never imported.
    """
    found: dict[str, str] = {}
    for package in top_level_packages(root):
        base = root / package if (root / package).is_dir() else root / "src" / package
        candidates = [(package, base / "__init__.py")]
        for child in sorted(base.iterdir()):
            if child.is_dir() and (child / "__init__.py").is_file():
                candidates.append((child.name, child / "__init__.py"))
            elif child.suffix == ".py" and child.name != "__init__.py":
                candidates.append((child.stem, child))
        for name, path in candidates:
            key = name.lstrip("_").lower()
            if key and key not in found:
                found[key] = _first_docstring_line(path)
    return found


def _first_docstring_line(path: Path) -> str:
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return ""
    text = ast.get_docstring(tree) or ""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return _shorten(line.rstrip("."))
