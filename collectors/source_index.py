"""The project's own Python source, indexed for the static audits and cached by file mtimes.

The single-source and deprecated-import audits ask questions about every module of a project
("who defines `WebSocketManager`?", "who imports `app.legacy`?") and must answer them in well
under a second on a 2,000-file tree, without ever importing the project's code. A full
`ast.parse` of 2,000 ordinary files costs seconds, so the index has two tiers:

* a **scan** of every file: byte-level regexes over the source find the `class` / `def` names
  and the import statements, and whether the file mentions deprecation. It is a prefilter, so
  it may over-report (a `class Foo:` inside a docstring) but never misses a definition or an
  import statement written the ordinary way;
* **facts** (`collectors.module_facts`), the exact answers from `ast`, extracted only for the
  files the scan points an audit at.

Both tiers are kept in ``.claimcheck/source-index.json`` inside the project (with its own
``.gitignore``), keyed by path, modification time and size: an unchanged file is neither read
nor parsed again. The cache is an optimisation only: a project folder that cannot be written,
or a cache file that is damaged or from another version, just means everything is read again.

What is "the project's own code": every ``.py`` file under the root except hidden folders,
virtualenvs (any folder holding ``pyvenv.cfg``), ``site-packages``, ``node_modules``,
``__pycache__``, ``build``, ``dist``, ``*.egg-info`` and vendored folders (``vendor``,
``_vendor``, ``vendored``, ``third_party``). Each file has a role: ``test`` (under a ``tests`` /
``test`` / ``testing`` folder, or named ``test_*.py``, ``*_test.py``, ``tests.py``,
``conftest.py``), ``aux`` (under ``docs``, ``doc``, ``examples``, ``example``, ``benchmarks``,
``bench``) or ``code``. Definitions count only in ``code``; importers count in every role.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.module_facts import (
    ModuleFacts,
    extract_facts,
    facts_from_json,
)

CACHE_DIR = ".claimcheck"
CACHE_FILE = "source-index.json"
CACHE_SCHEMA = 5  # bump whenever FileScan or ModuleFacts change shape or meaning
MAX_FILE_BYTES = 2_000_000

SKIP_DIRS = frozenset({
    "node_modules", "__pycache__", "site-packages", "build", "dist", "venv", "CVS", "_darcs",
    "vendor", "_vendor", "vendored", "third_party", "__pypackages__",
})
TEST_DIRS = frozenset({"tests", "test", "testing"})
AUX_DIRS = frozenset({"docs", "doc", "examples", "example", "benchmarks", "bench"})
_TEST_FILE = re.compile(r"^(?:test_.*|.*_test|tests|conftest)\.py$")

# One match per `class` / `def` (with its name) or import statement (with its text), at any
# indentation, and per other line of code at column 0.
_LOGICAL_REST = rb"((?:\\\n|[^\n])*)"  # the rest of a line, backslash continuations too
_STATEMENT = re.compile(  # `*+`: indentation is never given back to retry the keywords
    rb"\n(?:([ \t]*+)(?:(class|def|async[ \t]+def)[ \t]+([A-Za-z_\x80-\xff][\w\x80-\xff]*)"
    rb"|from[ \t\\]+(\.+[\w.\x80-\xff]*|[\w.\x80-\xff]+)[ \t\\]+import(?:[ \t]|\\\n)*"
    rb"(\([^)]*\)|(?:\\\n|[^\n])*)"
    rb"|import[ \t\\]+" + _LOGICAL_REST + rb")"
    rb"|([^\s#)\]}@'\"]))"  # any other code at column 0
)
_COMMENT = re.compile(r"#[^\n]*")
_TOP_WARN = re.compile(rb"\n(?:_?warnings\.)?warn\(")
_MODULE_GETATTR = re.compile(rb"\n(?:async[ \t]+)?def[ \t]+__getattr__[ \t]*\(")
_HEAD_BYTES = 4096  # how much of a module docstring the scan reads
_DOCSTRING_START = re.compile(rb"(?:\s|#[^\n]*)*[rRuU]?(\"\"\"|\'\'\'|\"|\')")


@dataclass(frozen=True)
class FileScan:
    """What the cheap scan says about one file: enough to know which files to parse."""

    relpath: str  # posix, relative to the project root
    role: str  # "code", "test" or "aux"
    mtime_ns: int
    size: int
    # `class X` at column 0, in order, with the `def` names of its body (a prefilter: a
    # column-0 line of a multi-line string may end the body early)
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # every `class X` / `def X` name at any depth, but the methods of column-0 classes
    defined: frozenset[str] = frozenset()
    # (module as written, with leading dots for relative imports; names imported from it)
    imports: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Mentions deprecation where a module says it of itself: a column-0 `warn(` call, a
    # module `__getattr__`, or the first bytes (where the docstring is).
    may_deprecate: bool = False

    @property
    def top_classes(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.classes)


@dataclass
class IndexStats:
    """How much work a load really did: what the cache saved is measured, not assumed."""

    files: int = 0
    scanned: int = 0  # files read and scanned this time
    parsed: int = 0  # files parsed with ast this time
    cached_facts: int = 0  # facts served from the cache


@dataclass
class SourceIndex:
    """Every source file of a project, with lazily parsed facts; see the module docstring."""

    root: Path
    files: dict[str, FileScan]
    packages: frozenset[str]  # folders (relative, posix) that hold an __init__.py
    stats: IndexStats = field(default_factory=IndexStats)
    _facts: dict[str, ModuleFacts] = field(default_factory=dict)
    _cached_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _modules: dict[str, list[str]] | None = None
    _names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _resolved: dict[tuple[str, str], str] = field(default_factory=dict)
    _dirty: bool = False

    # -- modules ------------------------------------------------------------------------

    def module_names(self, relpath: str) -> tuple[str, ...]:
        """The dotted names a file is imported by (the first is the one packages give it)."""
        names = self._names.get(relpath)
        if names is None:
            names = self._names[relpath] = module_names(relpath, self.packages)
        return names

    def package_of(self, relpath: str) -> str:
        """The package relative imports in this file start from."""
        names = self.module_names(relpath)
        name = names[0] if names else ""
        return name if relpath.endswith("__init__.py") else name.rpartition(".")[0]

    def resolve(self, relpath: str, written: str) -> str:
        """An import's module as written in `relpath` (".x", "..pkg.y", "a.b") -> absolute."""
        if not written.startswith("."):
            return written
        key = (relpath, written)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolved[key] = resolve_module(written, self.package_of(relpath))
        return resolved

    def files_of_module(self, module: str) -> list[str]:
        if self._modules is None:
            modules: dict[str, list[str]] = {}
            for relpath in self.files:
                for name in self.module_names(relpath):
                    modules.setdefault(name, []).append(relpath)
            self._modules = modules
        return self._modules.get(module, [])

    def is_module(self, module: str) -> bool:
        return bool(self.files_of_module(module))

    # -- facts --------------------------------------------------------------------------

    def facts(self, relpath: str) -> ModuleFacts:
        """The exact, ast-derived facts of one file (parsed once, then cached)."""
        known = self._facts.get(relpath)
        if known is not None:
            return known
        cached = self._cached_facts.get(relpath)
        if cached is not None:
            try:
                facts = facts_from_json(cached)
            except (TypeError, ValueError, KeyError, IndexError):
                facts = None
            if facts is not None:
                self._facts[relpath] = facts
                self.stats.cached_facts += 1
                return facts
        try:
            data = (self.root / relpath).read_bytes()
        except OSError:
            data = b""
        facts = extract_facts(data)
        self.stats.parsed += 1
        self._facts[relpath] = facts
        self._dirty = True
        return facts

    # -- cache --------------------------------------------------------------------------

    def save(self) -> None:
        """Write the cache when something changed; a read-only project is not an error."""
        if not self._dirty:
            return
        entries: dict[str, Any] = {}
        for relpath, scan in self.files.items():
            facts = self._facts.get(relpath)
            facts_json = facts.to_json() if facts is not None else self._cached_facts.get(relpath)
            entries[relpath] = [scan.mtime_ns, scan.size, _scan_to_json(scan), facts_json]
        document = {"schema": CACHE_SCHEMA, "files": entries}
        folder = self.root / CACHE_DIR
        try:
            folder.mkdir(exist_ok=True)
            ignore = folder / ".gitignore"
            if not ignore.exists():
                write_atomic(ignore, "# claimcheck's cache: never commit it\n*\n")
            write_atomic(folder / CACHE_FILE, json.dumps(document, separators=(",", ":")))
        except OSError:
            return
        self._dirty = False


def load_index(root: Path | str, *, use_cache: bool = True) -> SourceIndex:
    """Index every source file under `root`: unchanged files come from the cache unread."""
    root = Path(root)
    cached = _read_cache(root) if use_cache else {}
    files: dict[str, FileScan] = {}
    cached_facts: dict[str, dict[str, Any]] = {}
    packages: set[str] = set()
    stats = IndexStats()
    dirty = not use_cache or len(cached) == 0
    for relpath, mtime_ns, size in walk_sources(root):
        folder = relpath.rpartition("/")[0]
        if relpath.endswith("__init__.py"):
            packages.add(folder)
        entry = cached.get(relpath)
        scan = None
        if entry is not None and entry[0] == mtime_ns and entry[1] == size:
            scan = _scan_from_json(relpath, mtime_ns, size, entry[2])
            if scan is not None and entry[3] is not None:
                cached_facts[relpath] = entry[3]
        if scan is None:
            scan = scan_file(root, relpath, mtime_ns, size)
            stats.scanned += 1
            dirty = True
        files[relpath] = scan
    if set(cached) - set(files):
        dirty = True  # files were deleted: rewrite without them
    stats.files = len(files)
    index = SourceIndex(root=root, files=files, packages=frozenset(packages), stats=stats,
                        _cached_facts=cached_facts)
    index._dirty = dirty and use_cache
    return index


# ----------------------------------------------------------------------------------------
# Walking


def _skip_dir(path: str, name: str) -> bool:
    if name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def walk_sources(root: Path) -> Iterator[tuple[str, int, int]]:
    """(relative posix path, mtime_ns, size) of every source file, in a stable order."""
    stack = [(str(root), "")]
    while stack:
        path, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except OSError:
            continue
        folders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not _skip_dir(entry.path, entry.name):
                        folders.append((entry.path, prefix + entry.name + "/"))
                elif entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_size <= MAX_FILE_BYTES:
                        yield prefix + entry.name, info.st_mtime_ns, info.st_size
            except OSError:
                continue
        stack.extend(reversed(folders))


def role_of(relpath: str) -> str:
    parts = relpath.split("/")
    folders = {part.lower() for part in parts[:-1]}
    if folders & TEST_DIRS or _TEST_FILE.match(parts[-1]):
        return "test"
    if folders & AUX_DIRS:
        return "aux"
    return "code"


# ----------------------------------------------------------------------------------------
# Module names


def module_names(relpath: str, packages: frozenset[str] | set[str]) -> tuple[str, ...]:
    """`app/routers/base.py` -> ("app.routers.base",); `src/pkg/x.py` -> ("pkg.x", ...).

    The first name walks up while the folder is a package (holds ``__init__.py``), as the
    import system sees a project whose root (or ``src``) is on sys.path. The second, when it
    differs, is the whole path (without a leading ``src``/``lib``): namespace packages, and
    scripts run from the root.
    """
    parts = relpath[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    folders = relpath.split("/")[:-1]
    start = len(folders)
    while start > 0 and "/".join(folders[:start]) in packages:
        start -= 1
    primary = ".".join(parts[start:])
    whole = parts[1:] if parts and parts[0] in ("src", "lib") and len(parts) > 1 else parts
    names = [primary] if primary else []
    full = ".".join(whole)
    if full and full != primary:
        names.append(full)
    return tuple(names)


def resolve_module(written: str, package: str) -> str:
    """Absolute module for an import written `written` inside `package` ("" if unresolvable)."""
    level = len(written) - len(written.lstrip("."))
    rest = written[level:]
    if level == 0:
        return rest
    base = package.split(".") if package else []
    if level - 1 > len(base):
        return ""
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([rest] if rest else []))


def ancestors(module: str) -> list[str]:
    """"a.b.c" -> ["a", "a.b", "a.b.c"]: every module importing it executes."""
    parts = module.split(".")
    return [".".join(parts[: end + 1]) for end in range(len(parts))]


# ----------------------------------------------------------------------------------------
# The scan


def _imported_names(text: str) -> tuple[str, ...]:
    """`a, b as c` or `(a,\n b)  # note` -> ("a", "b")."""
    text = _COMMENT.sub("", text).replace("\\", " ").replace("(", " ").replace(")", " ")
    names = []
    for part in text.split(","):
        words = part.split()
        if words:
            names.append(words[0])
    return tuple(names)


def scan_source(data: bytes) -> tuple[tuple, frozenset[str], tuple, bool]:
    """(top-level classes with their methods, defined names, imports, may deprecate).

    One `findall` yields every `class` / `def` with its name, every import statement with
    its text, and every other line of code at column 0 (which ends a class body); the loop
    then only looks at tuples, as it runs for every definition of every file on a cold cache.
    """
    data = b"\n" + data
    classes: list[tuple[bytes, list[bytes]]] = []
    defined: set[bytes] = set()
    imports: list[tuple[str, tuple[str, ...]]] = []
    method_indent: bytes | None = None
    for indent, keyword, name, source, taken, plain, other in _STATEMENT.findall(data):
        if other:
            method_indent = None  # code at column 0: any class body is over
        elif name:
            if not indent:
                if keyword == b"class":
                    classes.append((name, []))
                    method_indent = b""
                else:
                    method_indent = None
            elif method_indent is not None and keyword != b"class":
                if method_indent == b"":
                    method_indent = indent
                if indent == method_indent:
                    classes[-1][1].append(name)
                    continue  # a method is never a module-level definition
            defined.add(name)
        elif source:
            if not indent:
                method_indent = None
            imports.append((source.decode("utf-8", "replace"),
                            _imported_names(taken.decode("utf-8", "replace"))))
        elif plain:
            if not indent:
                method_indent = None
            imports.extend((module, ()) for module in
                           _imported_names(plain.decode("utf-8", "replace")))
    deprecates = (b"eprecat" in data or b"EPRECAT" in data) and (
        b"deprecat" in _leading_docstring(data).lower() or _TOP_WARN.search(data) is not None
        or _MODULE_GETATTR.search(data) is not None)
    return (tuple((_text(name), tuple(_text(m) for m in methods)) for name, methods in classes),
            frozenset(_text(name) for name in defined), tuple(imports), deprecates)


def _text(name: bytes) -> str:
    return name.decode("utf-8", "replace")


def _leading_docstring(data: bytes) -> bytes:
    """The module docstring's bytes (bounded), after any comments and blank lines."""
    found = _DOCSTRING_START.match(data)
    if found is None:
        return b""
    quote = found.group(1)
    stop = data.find(quote, found.end(), found.end() + _HEAD_BYTES)
    return data[found.end(): stop if stop >= 0 else found.end() + _HEAD_BYTES]


def scan_file(root: Path, relpath: str, mtime_ns: int, size: int) -> FileScan:
    try:
        data = (root / relpath).read_bytes()
    except OSError:
        data = b""
    classes, defined, imports, deprecates = scan_source(data)
    return FileScan(relpath=relpath, role=role_of(relpath), mtime_ns=mtime_ns, size=size,
                    classes=classes, defined=defined, imports=imports,
                    may_deprecate=deprecates)


# ----------------------------------------------------------------------------------------
# Cache encoding


def _scan_to_json(scan: FileScan) -> list[Any]:
    return [[[name, list(methods)] for name, methods in scan.classes], list(scan.defined),
            [[module, list(names)] for module, names in scan.imports],
            scan.may_deprecate]


def _scan_from_json(relpath: str, mtime_ns: int, size: int, value: Any) -> FileScan | None:
    """A cached scan; anything malformed means "scan the file again", never an error."""
    try:
        classes, defined, imports, deprecates = value
        return FileScan(
            relpath=relpath, role=role_of(relpath), mtime_ns=mtime_ns, size=size,
            classes=tuple((name, tuple(methods)) for name, methods in classes),
            defined=frozenset(defined),
            imports=tuple((module, tuple(names)) for module, names in imports),
            may_deprecate=deprecates is True,
        )
    except (TypeError, ValueError):
        return None


def _read_cache(root: Path) -> dict[str, list[Any]]:
    try:
        with (root / CACHE_DIR / CACHE_FILE).open("rb") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("schema") != CACHE_SCHEMA:
        return {}
    files = document.get("files")
    if not isinstance(files, dict):
        return {}
    return {
        relpath: entry for relpath, entry in files.items()
        if isinstance(entry, list) and len(entry) == 4
    }
