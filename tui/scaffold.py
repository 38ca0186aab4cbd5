"""`claimcheck init`: a starting `[tool.claimcheck]` written from what the project already has.

The test folders become phases, the registered pytest markers and the test packages/modules
become gaps, and a commented services block shows the shape of the rest. The new section is
appended to `pyproject.toml` as text, so every byte the team wrote before it (comments, key
order, quoting, line endings) stays exactly as it was; tomlkit builds the section itself, and
is used to take an old section out only with `--force`.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

import tomlkit
from claimcheck.collectors.config import (
    DEFAULT_PHASE_DIRS,
    Config,
    ConfigError,
    parse_config,
)
from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.gaps import default_gap
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options
from tomlkit.exceptions import TOMLKitError

MAX_GAPS = 40  # beyond this a matrix stops being readable; the rest are listed in a comment
_SKIPPED_DIRS = {"__pycache__", "fixtures", "data", "snapshots", "__snapshots__", "helpers",
                 "node_modules"}
_VENV_DIRS = {".venv", "venv", "env", ".tox", ".nox", "site-packages", "build", "dist"}
_DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
_VENV_PYTHONS = (".venv/bin/python", "venv/bin/python", ".venv/Scripts/python.exe",
                 "venv/Scripts/python.exe")

SERVICES_EXAMPLE = """\
# Services claimcheck probes beside the tests. Uncomment and edit; `${VAR}` reads the
# environment, and header values are secrets that are never shown or saved.
#
# [[tool.claimcheck.services]]
# name = "api"
# url = "http://127.0.0.1:8000/health"
# expect_status = 200
# process = "uvicorn"          # helps spot the service listening on another port
#
# [[tool.claimcheck.services]]
# name = "events"
# url = "ws://127.0.0.1:8000/ws"
# headers = { Authorization = "Bearer ${API_TOKEN}" }
# expect_events = ["started", "completed"]
# stream = true
"""


@dataclass(frozen=True)
class PytestIni:
    """The pytest settings init needs, from whichever file pytest itself would read."""

    source: str | None  # "pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg" or None
    markers: tuple[tuple[str, str], ...] = ()  # (name, description)
    testpaths: tuple[str, ...] = ()
    python_files: tuple[str, ...] = _DEFAULT_PYTHON_FILES


@dataclass
class Plan:
    """What init found and will write, kept apart from the TOML so tests can read it."""

    phases: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, pytest args)
    gaps: list[tuple[str, str, list[str], list[str]]] = field(default_factory=list)
    omitted_gaps: list[str] = field(default_factory=list)
    python: str | None = None
    ini: PytestIni = field(default_factory=lambda: PytestIni(source=None))
    test_files: int = 0  # test files found, as pytest's python_files names them


class InitError(Exception):
    """A reason to stop with exit 4 and a sentence that names the file."""


# ----------------------------------------------------------------------------------------
# Reading the project


def read_pytest_ini(root: Path) -> PytestIni:
    """pytest's own precedence: pytest.ini, pyproject.toml, tox.ini, setup.cfg."""
    pytest_ini = root / "pytest.ini"
    if pytest_ini.is_file():
        return _ini_settings(pytest_ini, "pytest", always=True) or PytestIni(source="pytest.ini")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        table = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if isinstance(table, dict):
            return PytestIni(
                source="pyproject.toml",
                markers=_parse_markers(table.get("markers", [])),
                testpaths=_as_list(table.get("testpaths", [])),
                python_files=_as_list(table.get("python_files", [])) or _DEFAULT_PYTHON_FILES,
            )
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        found = _ini_settings(root / name, section)
        if found is not None:
            return found
    return PytestIni(source=None)


def _ini_settings(path: Path, section: str, *, always: bool = False) -> PytestIni | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return PytestIni(source=path.name) if always else None
    if not parser.has_section(section):
        return PytestIni(source=path.name) if always else None
    values = parser[section]
    return PytestIni(
        source=path.name,
        markers=_parse_markers(values.get("markers", "")),
        testpaths=tuple(values.get("testpaths", "").split()),
        python_files=tuple(values.get("python_files", "").split()) or _DEFAULT_PYTHON_FILES,
    )


def _as_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()


def _parse_markers(value: Any) -> tuple[tuple[str, str], ...]:
    """`name: description` or `name(arg): description`, one per line or list item."""
    lines = value.splitlines() if isinstance(value, str) else [str(item) for item in value or []]
    markers: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in lines:
        line = line.strip()
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*(?::\s*(.*))?$", line)
        if not match or match.group(1) in seen:
            continue
        seen.add(match.group(1))
        markers.append((match.group(1), (match.group(2) or "").strip()))
    return tuple(markers)


def _is_test_file(path: Path, patterns: Iterable[str]) -> bool:
    return path.suffix == ".py" and any(path.match(pattern) for pattern in patterns)


def _test_files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts[:-1]):
            continue
        if _is_test_file(path, patterns):
            found.append(path)
    return found


def _test_root(root: Path, ini: PytestIni) -> tuple[Path | None, list[str]]:
    """The folder phases are carved from, and the testpaths to fall back on."""
    testpaths = [path for path in ini.testpaths if (root / path).exists()]
    for candidate in (*testpaths, "tests", "test"):
        if (root / candidate).is_dir():
            return root / candidate, testpaths
    return None, testpaths


def _phase_name(folder: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", folder.lower()).strip("-") or "tests"


def _posix(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def plan_for(root: Path) -> Plan:
    """Decide the phases and gaps for the project at `root` without writing anything."""
    ini = read_pytest_ini(root)
    plan = Plan(ini=ini, python=next((p for p in _VENV_PYTHONS if (root / p).exists()), None))
    test_root, testpaths = _test_root(root, ini)

    subfolders: list[Path] = []
    loose: list[Path] = []
    if test_root is not None:
        for child in sorted(test_root.iterdir()):
            if child.is_dir() and not child.name.startswith(".") \
                    and child.name not in _SKIPPED_DIRS and _test_files(child, ini.python_files):
                subfolders.append(child)
            elif child.is_file() and _is_test_file(child, ini.python_files):
                loose.append(child)

    order = {name: index for index, name in enumerate(DEFAULT_PHASE_DIRS)}
    subfolders.sort(key=lambda path: (order.get(path.name, len(order)), path.name))
    if subfolders:
        names: set[str] = set()
        for folder in subfolders:
            name = _phase_name(folder.name)
            while name in names:
                name += "-2"
            names.add(name)
            plan.phases.append((name, [_posix(folder, root)]))
        if loose and test_root is not None:
            rest = _phase_name(test_root.name)
            while rest in names:
                rest += "-rest"
            ignores = [f"--ignore={_posix(folder, root)}" for folder in subfolders]
            plan.phases.append((rest, [_posix(test_root, root), *ignores]))
    elif testpaths:
        plan.phases.append(("tests", list(testpaths)))
    elif test_root is not None:
        plan.phases.append((_phase_name(test_root.name), [_posix(test_root, root)]))
    else:
        plan.phases.append(("tests", []))

    plan.test_files = len(_project_test_files(root, test_root, ini))
    plan.gaps, plan.omitted_gaps = _gaps(root, test_root, subfolders, loose, ini,
                                         [name for name, _ in plan.phases])
    return plan


def _gaps(root: Path, test_root: Path | None, subfolders: list[Path], loose: list[Path],
          ini: PytestIni, phase_names: Iterable[str] = ()
          ) -> tuple[list[tuple[str, str, list[str], list[str]]], list[str]]:
    """One gap per registered marker and per area of code the tests are about.

    The area is the default grouping's (`gaps.default_gap`), so a written config starts out
    grouping exactly as claimcheck does without one: `tests/unit/test_auth.py` and
    `tests/integration/test_auth.py` are both "auth", `tests/unit/billing/` is "billing".
    Patterns catch the area's future files too (`*/test_auth_*.py*`), titles come from the
    docstring of the project's module or package of that name, and areas of a single test file
    that name no module of the project are merged into one row instead of a row each.
    """
    gaps: dict[str, dict[str, Any]] = {}

    def gap(name: str, title: str) -> dict[str, Any]:
        key = _phase_name(name)
        return gaps.setdefault(key, {"title": title, "match": [], "markers": []})

    for marker, description in ini.markers:
        entry = gap(marker, _shorten(f"{marker}: {description}") if description
                    else _humane(marker))
        entry["markers"].append(marker)

    files = _project_test_files(root, test_root, ini)
    if not files:
        return _gap_rows(gaps)
    phases = frozenset(name.lower() for name in phase_names)
    areas: dict[str, list[str]] = {}
    for path in files:
        areas.setdefault(default_gap(path, phases), []).append(path)
    markers = {_phase_name(marker) for marker, _ in ini.markers}
    clusters = _clustered(areas, known=markers)
    modules = source_docstrings(root)

    def small(name: str, members: list[str]) -> bool:
        paths = [path for area in members for path in areas[area]]
        return (len(paths) == 1 and name not in modules and name not in markers
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


def _project_test_files(root: Path, test_root: Path | None, ini: PytestIni) -> list[str]:
    """Every test file pytest would find, as node-id paths relative to the root."""
    if test_root is not None:
        bases = [test_root]
    else:
        bases = [root / path for path in ini.testpaths if (root / path).is_dir()] or [root]
    found: list[str] = []
    for base in bases:
        for path in _test_files(base, ini.python_files):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part in _SKIPPED_DIRS or part in _VENV_DIRS
                   for part in relative.parts[:-1]):
                continue
            found.append(relative.as_posix())
    return sorted(dict.fromkeys(found))


# ----------------------------------------------------------------------------------------
# Writing it


def render_section(plan: Plan, newline: str = "\n") -> str:
    """The `[tool.claimcheck]` section as TOML text, ready to append."""
    doc = tomlkit.document()
    section = tomlkit.table()
    section.add(tomlkit.comment("Written by `claimcheck init`; edit freely. Phases run in order."))
    if plan.python:
        section.add("python", plan.python)
    phases = tomlkit.aot()
    for name, args in plan.phases:
        phase = tomlkit.table()
        phase.add("name", name)
        phase.add("pytest", args)
        phases.append(phase)
    section.add("phases", phases)
    if plan.gaps:
        gaps = tomlkit.table(is_super_table=True)
        for name, title, match, markers in plan.gaps:
            entry = tomlkit.table()
            entry.add("title", title)
            if match:
                entry.add("match", match)
            if markers:
                entry.add("markers", markers)
            gaps.add(name, entry)
        section.add("gaps", gaps)
    tool = tomlkit.table(is_super_table=True)
    tool.add("claimcheck", section)
    doc.add("tool", tool)
    text = tomlkit.dumps(doc).rstrip("\n") + "\n"
    if plan.omitted_gaps:
        text += (f"\n# {len(plan.omitted_gaps)} more test topics were left out to keep the "
                 f"matrix readable: {', '.join(plan.omitted_gaps)}\n")
    text += "\n" + SERVICES_EXAMPLE
    return text.replace("\n", newline) if newline != "\n" else text


def has_section(text: str) -> bool:
    data = tomllib.loads(text)
    tool = data.get("tool")
    return isinstance(tool, dict) and "claimcheck" in tool


def without_section(text: str, path: Path) -> str:
    """The file with its `[tool.claimcheck]` (and everything under it) taken out, for --force."""
    try:
        doc = tomlkit.parse(text)
        tool = doc["tool"]
        tool.remove("claimcheck")  # type: ignore[union-attr]
        if not tool:  # an empty [tool] left behind would be noise
            doc.remove("tool")
    except (TOMLKitError, KeyError, AttributeError) as exc:
        raise InitError(f"{path}: cannot remove the existing [tool.claimcheck]: {exc}") from None
    return tomlkit.dumps(doc)


def compose(original: str, section: str) -> str:
    """Append `section` after the existing text, one blank line between them."""
    if not original.strip():
        return section
    newline = "\r\n" if "\r\n" in original else "\n"
    stripped = original
    separator = ""
    if not stripped.endswith(("\n", "\r")):
        separator = newline
    return stripped + separator + newline + section


def validate(text: str, root: Path, path: Path) -> Config:
    """The written file must load exactly as `claimcheck` will load it."""
    table = tomllib.loads(text)["tool"]["claimcheck"]
    return parse_config(table, root=root, source=path)


def run_init(options: Options) -> int:
    root = Path(options.project).resolve()
    path = root / "pyproject.toml"
    try:
        if not root.is_dir():
            raise InitError(f"{root}: project folder does not exist")
        original = _read(path)
        try:
            exists = has_section(original)
        except tomllib.TOMLDecodeError as exc:
            raise InitError(f"{path}: not valid TOML, so init leaves it alone: {exc}") from None
        if exists and not options.overwrite:
            raise InitError(
                f"{path} already has a [tool.claimcheck] section; "
                "rerun with --force to replace it, or edit it by hand"
            )
        base = without_section(original, path) if exists else original
        plan = plan_for(root)
        newline = "\r\n" if "\r\n" in original else "\n"
        section = render_section(plan, newline)
        result = compose(base, section)
        try:
            config = validate(result, root, path)
        except (ConfigError, tomllib.TOMLDecodeError, KeyError) as exc:
            print(f"claimcheck init: internal error: the section it built does not load: {exc}",
                  file=sys.stderr)
            return ExitCode.INTERNAL
    except InitError as exc:
        print(f"claimcheck init: {exc}", file=sys.stderr)
        return ExitCode.USAGE

    if not plan.test_files:
        patterns = " or ".join(plan.ini.python_files)
        print(f"claimcheck init: no test files ({patterns}) found under {root}; the phase "
              f"{plan.phases[0][0]!r} runs plain pytest until there are some, and claimcheck "
              "will report it as no-evidence", file=sys.stderr)
    if options.dry_run:
        print(f"# claimcheck init --dry-run: would append to {path}\n")
        print(section, end="")
        return ExitCode.GREEN
    write_atomic(path, result)
    print(_summary(plan, config, path, created=not original, replaced=exists))
    print(section, end="")
    print(f"\nNext: {_next_command(root)}")
    return ExitCode.GREEN


def _read(path: Path) -> str:
    if not path.exists():
        return ""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InitError(f"{path}: not UTF-8 text, so init leaves it alone") from None
    except OSError as exc:
        raise InitError(f"{path}: cannot read: {exc.strerror}") from None


def _summary(plan: Plan, config: Config, path: Path, *, created: bool, replaced: bool) -> str:
    verb = "Created" if created else "Replaced [tool.claimcheck] in" if replaced else "Added " \
        "[tool.claimcheck] to"
    markers = f" (markers from {plan.ini.source})" if plan.ini.markers else ""
    return (f"{verb} {path}: {len(config.phases)} phase(s) "
            f"({', '.join(phase.name for phase in config.phases)}), "
            f"{len(config.gaps)} gap(s){markers} from {plan.test_files} test file(s).\n")


def _next_command(root: Path) -> str:
    if root == Path.cwd().resolve():
        return "claimcheck --report"
    return f"claimcheck --report --project {shlex.quote(str(root))}"
