"""`claimcheck init`: a starting `[tool.claimcheck]` written from what the project already has.

The test folders become phases, the registered pytest markers and the test packages/modules
become gaps, and a commented services block shows the shape of the rest. The new section is
appended to `pyproject.toml` as text, so every byte the team wrote before it (comments, key
order, quoting, line endings) stays exactly as it was; tomlkit builds the section itself, and
is used to take an old section out only with `--force`.
"""

from __future__ import annotations

import configparser
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import tomlkit
from claimcheck.collectors.config import (
    DEFAULT_PHASE_DIRS,
    Config,
    ConfigError,
    parse_config,
)
from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options
from claimcheck.tui.scaffold_gaps import config_name, propose_gaps
from tomlkit.exceptions import TOMLKitError

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
            name = config_name(folder.name)
            while name in names:
                name += "-2"
            names.add(name)
            plan.phases.append((name, [_posix(folder, root)]))
        if loose and test_root is not None:
            rest = config_name(test_root.name)
            while rest in names:
                rest += "-rest"
            ignores = [f"--ignore={_posix(folder, root)}" for folder in subfolders]
            plan.phases.append((rest, [_posix(test_root, root), *ignores]))
    elif testpaths:
        plan.phases.append(("tests", list(testpaths)))
    elif test_root is not None:
        plan.phases.append((config_name(test_root.name), [_posix(test_root, root)]))
    else:
        plan.phases.append(("tests", []))

    files = _project_test_files(root, test_root, ini)
    plan.test_files = len(files)
    plan.gaps, plan.omitted_gaps = propose_gaps(root, files, ini.markers,
                                                [name for name, _ in plan.phases])
    return plan


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
