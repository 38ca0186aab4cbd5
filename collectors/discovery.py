"""Static audit: test code that pytest will silently never collect.

A passing phase proves nothing about tests pytest never saw. The usual ways they go missing
make no noise: a class named ``CriticalWebSocketTests`` under ``python_classes = ["Test*"]``,
a ``Test`` class with an ``__init__`` (one easily-missed PytestCollectionWarning), a file
named ``websocket_checks.py`` under ``python_files = ["test_*.py"]``. This module finds them by
reading the source with ``ast`` (never importing it, so it is safe on a broken tree and needs no
running phase), against the settings the project's pytest really used (`PytestSettings`).

Name matching follows pytest exactly: a ``python_classes`` / ``python_functions`` entry matches
a name that starts with it, or, when it holds ``*``, ``?`` or ``[``, that fnmatch-es it
(case-sensitive); a ``python_files`` entry is an fnmatch glob over the file's basename, or over
its path when the entry holds a ``/``. Files named explicitly on the command line are collected
whatever their name, so they are never reported as "not matching python_files".

This audit, not `collectors.judge`, owns the ``__init__`` constructor case (see judge's module
docstring), so each such class is reported exactly once.

Bounded work: one walk that prunes hidden, virtualenv, ``node_modules``, ``__pycache__``,
``site-packages``, ``build`` and ``dist`` folders; each file read once; files that cannot
contain a test function, or whose classes are all correctly named with no constructor (regexes
over the bytes, see `_QuickLook`), are not parsed; files over 2 MB are skipped.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from claimcheck.collectors.inheritance import UNPARSABLE, Resolver
from claimcheck.collectors.models import Finding, PytestSettings
from claimcheck.collectors.pytest_config import (
    ConfigStyle,
    add_word,
    read_config_style,
    style_by_name,
)
from claimcheck.collectors.wording import inifile_name, plural, setting_text

MAX_FILE_BYTES = 2_000_000
SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "build", "dist", "venv", "CVS", "_darcs"}
)
_GLOB_CHARS = ("*", "?", "[")


# ----------------------------------------------------------------------------------------
# pytest's name rules


def _is_glob(option: str) -> bool:
    return any(char in option for char in _GLOB_CHARS)


def matches_name(name: str, options: Sequence[str]) -> bool:
    """pytest's python_classes / python_functions rule: prefix, or fnmatch when it is a glob."""
    return any(
        name.startswith(option) or (_is_glob(option) and fnmatchcase(name, option))
        for option in options
    )


def matches_file(relpath: str, patterns: Sequence[str]) -> bool:
    """pytest's python_files rule: a glob on the basename, or on the path when it has a '/'."""
    posix = relpath.replace("\\", "/")
    basename = posix.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" in pattern:
            if fnmatchcase("/" + posix, "*/" + pattern.lstrip("/")):
                return True
        elif fnmatchcase(basename, pattern):
            return True
    return False


@dataclass(frozen=True)
class _Context:
    """What every finding of one audit is phrased against."""

    settings: PytestSettings
    phase: str | None
    style: ConfigStyle | None  # the config file pytest read, for advice in its syntax
    # Node ids the phase could not collect (`tests/test_a.py::TestInit`): a warnings filter set
    # to error turns pytest's PytestCollectionWarning into one of these.
    errored: frozenset[str] = frozenset()
    inherited: frozenset[str] = frozenset()  # base names of collected classes (mixins)


def _context(settings: PytestSettings, phase: str | None, style: ConfigStyle | None,
             errored: Iterable[str] = ()) -> _Context:
    if style is None and settings.inifile:
        style = style_by_name(inifile_name(settings) or settings.inifile)
    return _Context(settings, phase, style, frozenset(errored))


# ----------------------------------------------------------------------------------------
# One module


@dataclass(frozen=True)
class ClassInfo:
    name: str
    line: int
    test_methods: int
    constructor: str | None  # "__init__", "__new__" or "@dataclass": what makes pytest skip it
    dunder_test: bool | None  # the class body's own `__test__ = ...`, None when absent
    bases: tuple[str, ...]  # simple names of the bases ("TestCase" for unittest.TestCase)
    # Derives from unittest.TestCase (through any base, imported or not); None when unsure.
    testcase: bool | None = False


@dataclass(frozen=True)
class ModuleScan:
    relpath: str
    classes: tuple[ClassInfo, ...]
    test_functions: int  # module-level functions pytest would treat as tests
    imports_test_framework: bool  # imports pytest or unittest: a strong hint it holds tests


def _simple_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        return _simple_name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):  # Generic[T]
        return _simple_name(node.value)
    return ""


def _is_test_function(node: ast.stmt, functions: Sequence[str]) -> bool:
    """A def pytest would collect: its name matches and it is not a fixture."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    if not matches_name(node.name, functions):
        return False
    return not any(_simple_name(decorator) == "fixture" for decorator in node.decorator_list)


def _dunder_test(body: Sequence[ast.stmt]) -> bool | None:
    for statement in body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        if any(isinstance(target, ast.Name) and target.id == "__test__" for target in targets):
            if isinstance(value, ast.Constant):
                return bool(value.value)
    return None


def _class_info(node: ast.ClassDef, functions: Sequence[str],
                testcase: bool | None) -> ClassInfo:
    constructor = None
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name in (
            "__init__", "__new__"
        ):
            constructor = statement.name
            break
    if constructor is None and any(_simple_name(d) == "dataclass" for d in node.decorator_list):
        constructor = "@dataclass"
    return ClassInfo(
        name=node.name,
        line=node.lineno,
        test_methods=sum(_is_test_function(statement, functions) for statement in node.body),
        constructor=constructor,
        dunder_test=_dunder_test(node.body),
        bases=tuple(_simple_name(base) for base in node.bases),
        testcase=testcase,
    )


def scan_module(relpath: str, tree: ast.Module, settings: PytestSettings,
                resolver: Resolver | None = None, path: Path | None = None) -> ModuleScan:
    """One module's classes and test functions; `resolver` follows the classes' bases into
    the project's other modules (alone, only through this module's own names)."""
    resolver = resolver or Resolver(None)
    module = resolver.module_for(path or Path(relpath), tree)
    classes = tuple(
        _class_info(node, settings.python_functions,
                    resolver.is_testcase(module, node) if module is not None else None)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    )
    functions = sum(_is_test_function(node, settings.python_functions) for node in tree.body)
    imports = False
    for node in tree.body:
        if isinstance(node, ast.Import):
            imports |= any(alias.name.split(".")[0] in ("pytest", "unittest")
                           for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imports |= node.module.split(".")[0] in ("pytest", "unittest")
    return ModuleScan(relpath, classes, functions, imports)


def collection(info: ClassInfo, settings: PytestSettings) -> bool | None:
    """Whether pytest (or its unittest plugin) picks the class up as a test class; None when
    that hangs on a base the audit cannot resolve."""
    if info.dunder_test is False:
        return False
    if info.testcase or info.dunder_test is True or matches_name(info.name,
                                                                 settings.python_classes):
        return True
    return None if info.testcase is None else False


def is_collected_class(info: ClassInfo, settings: PytestSettings) -> bool:
    """Whether pytest picks the class up, an unsure class counted as collected."""
    return collection(info, settings) is not False


def _rename_hint(name: str, settings: PytestSettings) -> str:
    prefix = next(
        (option.rstrip("*") for option in settings.python_classes
         if option and not _is_glob(option.rstrip("*"))),
        None,
    )
    if not prefix:
        return "rename it to match"
    stem = name
    for suffix in ("Tests", "Test"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"rename it to {prefix}{stem}"


def _pattern_hint(name: str) -> str:
    for suffix in ("Tests", "Test", "Suite"):
        if name.endswith(suffix):
            return f"*{suffix}"
    return name


def _constructor_effect(info: ClassInfo, relpath: str, ctx: _Context) -> str:
    """What pytest does with a test class that has a constructor, as the phase showed it."""
    shown = "__init__" if info.constructor == "@dataclass" else info.constructor
    warning = (f"PytestCollectionWarning: cannot collect test class '{info.name}' because it "
               f"has a {shown} constructor")
    nodeid = f"{relpath}::{info.name}"
    if nodeid in ctx.errored:
        return (f"a warnings filter set to error (filterwarnings = error, or -W error) turned "
                f"pytest's {warning} into a collection error of {nodeid}")
    return f"pytest only emits a {warning}"


def _class_findings(scan: ModuleScan, ctx: _Context) -> list[Finding]:
    settings = ctx.settings
    findings: list[Finding] = []
    for info in scan.classes:
        if not info.test_methods or info.dunder_test is False or info.testcase is not False:
            continue  # a TestCase (unittest collects it), or unsure: silent rather than wrong
        methods = plural(info.test_methods, "test method")
        if not is_collected_class(info, settings):
            if info.name in ctx.inherited:
                continue  # a mixin: its tests run through the Test class that inherits it
            add = add_word(ctx.style, "python_classes", settings.python_classes,
                           _pattern_hint(info.name))
            message = (
                f"Class {info.name} in {scan.relpath}:{info.line} has {methods} that pytest "
                f"never collects: its name does not match {setting_text(settings, 'python_classes')}. "
                f"Fix: {_rename_hint(info.name, settings)}, or {add}."
            )
        elif info.constructor is not None:
            message = (
                f"Class {info.name} in {scan.relpath}:{info.line} has {methods} that pytest "
                f"skips because it defines {info.constructor} "
                f"({_constructor_effect(info, scan.relpath, ctx)}). Fix: remove the constructor "
                "and build that state in fixtures or setup_method."
            )
        else:
            continue
        findings.append(
            Finding(
                kind="uncollected-tests",
                phase=ctx.phase,
                path=scan.relpath,
                line=info.line,
                message=message,
                files=(scan.relpath,),
                count=info.test_methods,
            )
        )
    return findings


def _file_rename_hint(name: str, patterns: Sequence[str]) -> str:
    """' (e.g. test_checks.py)' from the first pattern shaped `prefix*.py` or `*suffix.py`."""
    stem = name[:-3] if name.endswith(".py") else name
    for pattern in patterns:
        if "/" in pattern or pattern.count("*") != 1 or any(c in pattern for c in "?["):
            continue
        before, after = pattern.split("*")
        if after.endswith(".py"):
            return f" (e.g. {before}{stem}{after})"
    return ""


def _looks_like_test_code(scan: ModuleScan) -> bool:
    """Keep app code with a `def test_connection()` helper out of the file check."""
    return scan.imports_test_framework or "test" in scan.relpath.lower()


def _file_finding(scan: ModuleScan, ctx: _Context) -> Finding | None:
    settings = ctx.settings
    name = scan.relpath.rsplit("/", 1)[-1]
    if name in ("conftest.py", "__init__.py") or not _looks_like_test_code(scan):
        return None
    test_classes = [
        info for info in scan.classes
        if info.test_methods and collection(info, settings)
    ]
    lost = scan.test_functions + sum(info.test_methods for info in test_classes)
    if not lost:
        return None
    parts = []
    if scan.test_functions:
        parts.append(plural(scan.test_functions, "test function"))
    if test_classes:
        parts.append(f"{plural(len(test_classes), 'test class', 'test classes')} "
                     f"({', '.join(info.name for info in test_classes)})")
    add = add_word(ctx.style, "python_files", settings.python_files, name)
    return Finding(
        kind="uncollected-tests",
        phase=ctx.phase,
        path=scan.relpath,
        line=None,
        message=(
            f"{scan.relpath} holds {' and '.join(parts)} that pytest never collects: the file "
            f"name does not match {setting_text(settings, 'python_files')}. Fix: rename the file"
            f"{_file_rename_hint(name, settings.python_files)}, or {add}."
        ),
        files=(scan.relpath,),
        count=lost,
    )


def _findings_for(scan: ModuleScan, ctx: _Context, explicit: bool) -> list[Finding]:
    if explicit or matches_file(scan.relpath, ctx.settings.python_files):
        return _class_findings(scan, ctx)
    finding = _file_finding(scan, ctx)
    return [finding] if finding is not None else []


def _inherited_by_collected(
    scans: Iterable[ModuleScan], settings: PytestSettings
) -> frozenset[str]:
    return frozenset(
        base
        for scan in scans
        for info in scan.classes
        if is_collected_class(info, settings)
        for base in info.bases
    )


def audit_source(
    relpath: str,
    text: str | bytes,
    settings: PytestSettings,
    *,
    phase: str | None = None,
    explicit: bool = False,
) -> list[Finding]:
    """Findings for one file's source; a file that does not parse has none (pytest reports it)."""
    try:
        tree = ast.parse(text, filename=relpath)
    except UNPARSABLE:
        return []
    scan = scan_module(relpath.replace("\\", "/"), tree, settings)
    ctx = replace(_context(settings, phase, None),
                  inherited=_inherited_by_collected([scan], settings))
    return _findings_for(scan, ctx, explicit)


# ----------------------------------------------------------------------------------------
# The tree


def _prefilter(functions: Sequence[str]) -> re.Pattern[bytes] | None:
    """A bytes regex every file with a test function must match; None when globs forbid it."""
    if not functions or any(_is_glob(option) for option in functions):
        return None
    names = b"|".join(re.escape(option.encode()) for option in functions)
    return re.compile(rb"def\s+(?:" + names + rb")")


# A column-0 class header (name, bases) with the decorators right above it (lines that go on
# from a decorator start with a space or a closing bracket): where the class's statement starts.
_CLASS_HEADER = re.compile(
    rb"^(?:@[^\n]*\n(?:[ \t)\]}][^\n]*\n)*)*class\s+(\w+)\s*(?:\(([^)]*)\))?", re.MULTILINE)
_CONSTRUCTOR_HINT = re.compile(rb"def\s+__(?:init|new)__\b|dataclass")
_IMPORTS_UNITTEST = re.compile(rb"^import\s+unittest\s*(?:#.*)?$", re.MULTILINE)
# A base that makes any class a test class for pytest's unittest plugin, whatever its name:
# written out as the standard library's own, in a file that imports that module by its name.
_UNITTEST_BASES = frozenset({"unittest.TestCase", "unittest.IsolatedAsyncioTestCase"})


def _header_parts(raw: bytes) -> list[str]:
    """The bases of a class header as written (`unittest.TestCase`, `Base[int]`, `metaclass=M`)."""
    return [part.strip() for part in raw.decode("utf-8", "replace").split(",")]


def _header_bases(raw: bytes) -> list[str]:
    bases = []
    for part in _header_parts(raw):
        name = part.split("[", 1)[0].strip().rsplit(".", 1)[-1]
        if name.isidentifier():
            bases.append(name)
    return bases


def _class_bases(data: bytes) -> list[str]:
    return [base for match in _CLASS_HEADER.finditer(data) if match.group(2)
            for base in _header_bases(match.group(2))]


class _QuickLook:
    """Tells, for a file pytest collects, that it can yield no finding without parsing it.

    Sound, not approximate: check 1 needs a module-level class (a `class` at column 0) whose
    name python_classes rejects, with test methods, that is no `unittest.TestCase` (pytest's
    unittest plugin collects those whatever their name, and the audit never reports them);
    check 2 a class pytest collects with test methods and a constructor or @dataclass. Each
    column-0 class is cleared by the cheapest proof that holds, else the file is parsed:

    1. its name matches python_classes and the file has no constructor or `dataclass`;
    2. its base is written `unittest.TestCase` in a file that imports `unittest`;
    3. its bases lead to unittest.TestCase as the file's imports and class headers tell
       (`Resolver.testcases_by_headers`: Django's `class LoginTests(TestCase)`);
    4. its own statement, from its decorators to the next column-0 class (`_CLASS_HEADER`),
       parsed alone, shows no test method, `__test__ = False`, or (for a name pytest collects)
       no constructor. A `class` line inside a string cuts that text inside the string, which
       then does not parse: the whole file is parsed instead.

    Most test files pass, and skipping `ast.parse` for them is most of the audit's speed
    (idna's 1.4 MB `test_idna_uts46.py`: 0.6 s of parsing after every run's last test; Django's
    761 test files: 8 s).
    """

    def __init__(self, settings: PytestSettings, resolver: Resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        self.tests = _prefilter(settings.python_functions)

    def bases_if_silent(self, path: Path, data: bytes) -> list[str] | None:
        """The bases of the file's classes (for the mixin rule) when it can yield no finding;
        None when it needs a real parse."""
        constructors = _CONSTRUCTOR_HINT.search(data) is not None
        imports_unittest: bool | None = None
        classes = list(_CLASS_HEADER.finditer(data))
        bases: list[str] = []
        doubtful: dict[str, list[int]] = {}
        for index, match in enumerate(classes):
            header = match.group(2)
            name = match.group(1).decode("utf-8", "replace")
            if header:
                bases += _header_bases(header)
            if matches_name(name, self.settings.python_classes):
                if constructors:
                    doubtful.setdefault(name, []).append(index)
                continue
            if imports_unittest is None:
                imports_unittest = _IMPORTS_UNITTEST.search(data) is not None
            if not (imports_unittest and header
                    and _UNITTEST_BASES.intersection(_header_parts(header))):
                doubtful.setdefault(name, []).append(index)
        if doubtful:
            doubtful_with_bases = {name for name, where in doubtful.items()
                                   if all(classes[index].group(2) for index in where)}
            for name in self.resolver.testcases_by_headers(path, data, doubtful_with_bases):
                del doubtful[name]
        for name, where in doubtful.items():
            for index in where:
                end = classes[index + 1].start() if index + 1 < len(classes) else len(data)
                if not self._statement_is_silent(name, data[classes[index].start():end]):
                    return None
        return bases

    def _statement_is_silent(self, name: str, statement: bytes) -> bool:
        """Whether this class's own statement (with what follows it up to the next class)
        shows that it cannot be reported, whatever its bases turn out to be."""
        collected = matches_name(name, self.settings.python_classes)
        if not collected and self.tests is not None and self.tests.search(statement):
            return False  # a rejected class with tests: only the whole file can tell
        try:
            tree = ast.parse(statement)
        except UNPARSABLE:
            return False
        node = tree.body[0] if tree.body else None
        if not isinstance(node, ast.ClassDef) or node.name != name:
            return False
        info = _class_info(node, self.settings.python_functions, testcase=False)
        if not info.test_methods or info.dunder_test is False:
            return True
        return (collected or info.dunder_test is True) and info.constructor is None


def _skip_dir(path: str, name: str) -> bool:
    return (
        name.startswith(".")
        or name in SKIP_DIRS
        or name.endswith((".egg", ".egg-info"))
        or os.path.isfile(os.path.join(path, name, "pyvenv.cfg"))
    )


def _scan_roots(root: Path, settings: PytestSettings, paths: Sequence[str]) -> list[Path]:
    wanted = [path.split("::", 1)[0] for path in paths if path and not path.startswith("-")]
    if wanted:
        return [root / path for path in wanted]
    if settings.testpaths:
        found: list[Path] = []
        for entry in settings.testpaths:
            found += sorted(root.glob(entry)) if _is_glob(entry) else [root / entry]
        return found
    return [root]


def _python_files(starts: Sequence[Path]) -> Iterator[tuple[Path, bool]]:
    """(file, named explicitly) for every .py file under the starting points, once each."""
    seen: set[str] = set()
    for start in starts:
        if start.is_file():
            key = os.path.realpath(start)
            if start.suffix == ".py" and key not in seen:
                seen.add(key)
                yield start, True
            continue
        if not start.is_dir():
            continue
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(name for name in dirs if not _skip_dir(folder, name))
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    key = os.path.realpath(path)
                    if key not in seen:
                        seen.add(key)
                        yield Path(path), False


def _relpath(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class TestFilesRead:
    """What the audit read of the test files one pytest session looked at, before a word of
    any finding is chosen (`scan_test_files`); `uncollected_findings` words them."""

    __test__ = False

    settings: PytestSettings
    scans: tuple[tuple[ModuleScan, bool], ...]  # (module, named explicitly) of parsed files
    inherited: frozenset[str]  # base names of collected classes (mixins), quick looks too
    style: ConfigStyle | None


def scan_test_files(root: Path, settings: PytestSettings,
                    paths: Sequence[str] = ()) -> TestFilesRead:
    """Read and, where the quick look cannot decide, parse every file under `paths` (else
    testpaths, else the root). Needs only the session's settings, so a run can start it as
    soon as pytest has collected, beside the tests (`session.TestFileReadings`)."""
    root = Path(root)
    style = config_style(root, settings.inifile) if settings.inifile else None
    resolver = Resolver(root)
    prefilter = _prefilter(settings.python_functions)
    quick_look = _QuickLook(settings, resolver)
    scans: list[tuple[ModuleScan, bool]] = []
    quick_bases: set[str] = set()
    for path, explicit in _python_files(_scan_roots(root, settings, paths)):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if prefilter is not None and not prefilter.search(data):
            # No test of its own, but `class TestAuth(AuthChecks): pass` still runs the
            # mixin's tests: keep the bases so the mixin is not reported.
            quick_bases.update(_class_bases(data))
            continue
        relpath = _relpath(path, root)
        if explicit or matches_file(relpath, settings.python_files):
            bases = quick_look.bases_if_silent(path, data)
            if bases is not None:
                quick_bases.update(bases)
                continue
        try:
            tree = ast.parse(data, filename=str(path))
        except UNPARSABLE:
            continue  # pytest reports it as a collection error
        scans.append((scan_module(relpath, tree, settings, resolver, path), explicit))
    inherited = _inherited_by_collected((scan for scan, _ in scans), settings) | quick_bases
    return TestFilesRead(settings, tuple(scans), frozenset(inherited), style)


def uncollected_findings(read: TestFilesRead, phase: str | None = None,
                         errored: Iterable[str] = ()) -> list[Finding]:
    """The findings of what `scan_test_files` read, phrased for `phase`; `errored`: the node
    ids the phase reported as collection errors, so a class pytest refused is described as
    the phase saw it."""
    ctx = replace(_context(read.settings, phase, read.style, errored), inherited=read.inherited)
    findings: list[Finding] = []
    for scan, explicit in read.scans:
        findings += _findings_for(scan, ctx, explicit)
    return findings


def uncollected_tests(
    root: Path,
    settings: PytestSettings,
    paths: Sequence[str] = (),
    phase: str | None = None,
    errored: Iterable[str] = (),
) -> list[Finding]:
    """Every test pytest would silently skip under `paths` (else testpaths, else the root)."""
    return uncollected_findings(scan_test_files(root, settings, paths), phase, errored)


def marker_line(root: Path, relpath: str, marker: str) -> int | None:
    """The first line of `relpath` that uses `@pytest.mark.<marker>` (or `mark.<marker>`)."""
    pattern = re.compile(rf"\bmark\.{re.escape(marker)}\b")
    try:
        with open(root / relpath, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if pattern.search(text):
                    return number
    except OSError:
        return None
    return None


def config_style(root: Path, inifile: str) -> ConfigStyle:
    """The table of the config file pytest read, for advice in that file's syntax."""
    path = Path(inifile)
    if not path.is_absolute():
        path = Path(root) / path
    try:
        shown = path.relative_to(root).as_posix()
    except ValueError:
        shown = path.as_posix()
    return read_config_style(path, shown)
