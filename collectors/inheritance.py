"""Whether a test class derives from unittest.TestCase, resolved statically as Python would.

pytest collects every `unittest.TestCase` subclass whatever its name. A class reaches it through
intermediate bases (`class LoginTests(ApiBase)`, `ApiBase(unittest.TestCase)` in
`tests/base.py`), so the audit follows the bases: through the module's own classes and
assignments (`Base = unittest.TestCase`), and through imports into the project's other modules,
found the way pytest's `prepend` import mode finds them (the file's first folder without an
`__init__.py`, the rootdir, `src/`, and the folders between).

Every answer is True, False or None. None means unsure (a base from a library that is not known,
a star import, a name bound differently in two branches of a `try`), and the audit stays silent
on an unsure class rather than report one pytest collects.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Iterable, Iterator, Tuple, Union

MAX_FILE_BYTES = 2_000_000
# What `ast.parse` raises for a file it cannot read: not Python, NUL bytes, or nested deeper
# than the parser's own stack (200,000 `a+a+...` terms: RecursionError; 100,000 `not`s:
# MemoryError). pytest reports such a file as a collection error; an audit skips it.
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)
_MAX_DEPTH = 30  # bases deeper than this are unsure (and a cycle ends here)

# Libraries whose names never lead to unittest.TestCase.
_NOT_TESTCASE_MODULES = frozenset({
    "abc", "typing", "typing_extensions", "enum", "collections", "collections.abc",
    "dataclasses", "contextlib", "numbers", "io", "pathlib", "threading",
})
_UNITTEST_MODULES = frozenset({"unittest", "unittest.case", "unittest.async_case"})
_UNITTEST_CLASSES = frozenset({"TestCase", "IsolatedAsyncioTestCase", "FunctionTestCase"})


@dataclass(frozen=True)
class Binding:
    """What a module-level name is bound to."""

    kind: str  # "class", "alias" (an assignment), "import" (a module), "from" (a name in one)
    node: ast.AST | None = None  # the ClassDef, or the assigned expression
    module: str = ""  # for imports: the absolute dotted module name
    name: str = ""  # for "from": the imported name


@dataclass(frozen=True)
class External:
    """A class from outside the project: only its module and name are known."""

    module: str
    name: str


@dataclass(eq=False)
class Module:
    """One parsed module's top-level names (also those bound inside `if` / `try`)."""

    path: Path | None
    package: str  # the dotted package a relative import starts from
    names: dict[str, list[Binding]] = field(default_factory=dict)
    star_import: bool = False

    def bind(self, name: str, binding: Binding) -> None:
        self.names.setdefault(name, []).append(binding)


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import: the body, and the branches of if / try / with."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.With, ast.AsyncWith)):
            yield from _top_level(statement.body)
            yield from _top_level(getattr(statement, "orelse", []))
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            yield from _top_level(statement.body)  # type: ignore[attr-defined]
            for handler in statement.handlers:  # type: ignore[attr-defined]
                yield from _top_level(handler.body)
            yield from _top_level(statement.orelse)  # type: ignore[attr-defined]
            yield from _top_level(statement.finalbody)  # type: ignore[attr-defined]


def _absolute(module: str | None, level: int, package: str) -> str:
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*base, module] if module else base)


def read_module(tree: ast.Module, path: Path | None, package: str) -> Module:
    module = Module(path, package)
    for statement in _top_level(tree.body):
        if isinstance(statement, ast.ClassDef):
            module.bind(statement.name, Binding("class", _header_of(statement)))
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            value = statement.value
            module.bind(statement.targets[0].id,
                        Binding("alias", value if dotted(value) is not None else None))
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    module.bind(alias.asname, Binding("import", module=alias.name))
                else:
                    top = alias.name.split(".")[0]
                    module.bind(top, Binding("import", module=top))
        elif isinstance(statement, ast.ImportFrom):
            source = _absolute(statement.module, statement.level, package)
            for alias in statement.names:
                if alias.name == "*":
                    module.star_import = True
                else:
                    module.bind(alias.asname or alias.name,
                                Binding("from", module=source, name=alias.name))
    return module


def _header_of(node: ast.ClassDef) -> ast.ClassDef:
    """The class without its body: a resolver keeps every module it reads, and whole trees
    kept alive make each of the garbage collector's passes longer (Django's 761 test files,
    every one parsed: 8.3 s with their trees kept, 3.5 s with the headers)."""
    return ast.ClassDef(name=node.name, bases=node.bases, keywords=[], body=[],
                        decorator_list=[], lineno=node.lineno, col_offset=node.col_offset)


def dotted(node: ast.expr) -> list[str] | None:
    """`unittest.TestCase` -> ['unittest', 'TestCase']; None for anything else."""
    if isinstance(node, ast.Subscript):  # Generic[T], Base[int]
        return dotted(node.value)
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return None if head is None else [*head, node.attr]
    return None


# Where a dotted name leads: a class of the project's (with its module), a library's, or unsure.
Target = Union[Tuple[Module, ast.ClassDef], External, None]


def _same(one: object, other: object) -> bool:
    if isinstance(one, tuple) and isinstance(other, tuple):
        return one[0] is other[0] and one[1] is other[1]
    return one == other


class Resolver:
    """Resolves classes across one project's modules; each file is read and parsed once."""

    def __init__(self, root: Path | None) -> None:
        """`root` None: one file alone; every import leads outside the project."""
        self.root = Path(root) if root is not None else None
        self.modules: dict[Path, Module | None] = {}

    # -- modules -------------------------------------------------------------------------

    def testcases_by_headers(self, path: Path, data: bytes, names: Collection[str]) -> set[str]:
        """Which of the classes `names` of this file surely derive from unittest.TestCase,
        told from the file's column-0 imports and class headers alone (`skeleton_of`): a
        test file of Django's takes 12 ms to parse whole, its skeleton a fraction of one.

        Sound as the whole parse is: every name an answer reads is bound nowhere else in the
        file (`_bound_only_where_seen`), and only a sure True counts; a skeleton that holds
        more than the module (a `class` line inside a string) can only make an answer unsure.
        A class left out is not "no TestCase", only not proven one here. A name the file
        defines twice is proven only when each of its definitions is."""
        skeleton = skeleton_of(data) if names else None
        if skeleton is None:
            return set()
        source, tree = skeleton
        package = self._package_of(path) if self.root is not None else ""
        module = read_module(tree, path, package)  # not kept: other files get the real one
        proven: set[str] = set()
        refuted: set[str] = set()
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name not in names:
                continue
            if (_bound_only_where_seen(data, source, _heads_consulted(module, node))
                    and self.is_testcase(module, node) is True):
                proven.add(node.name)
            else:
                refuted.add(node.name)
        return proven - refuted

    def module_for(self, path: Path, tree: ast.Module | None = None) -> Module | None:
        key = Path(path)
        if key not in self.modules:
            if tree is None:
                tree = self._parse(key)
            package = self._package_of(key) if self.root is not None else ""
            self.modules[key] = None if tree is None else read_module(tree, key, package)
        return self.modules[key]

    @staticmethod
    def _parse(path: Path) -> ast.Module | None:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                return None
            return ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, *UNPARSABLE):
            return None

    def _basedir(self, path: Path) -> Path:
        """pytest's prepend mode: the first folder upwards without an `__init__.py`."""
        folder = path.parent
        while (folder / "__init__.py").exists() and folder != folder.parent:
            folder = folder.parent
        return folder

    def _package_of(self, path: Path) -> str:
        basedir = self._basedir(path)
        try:
            parts = path.relative_to(basedir).with_suffix("").parts
        except ValueError:
            return ""
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        else:
            parts = parts[:-1]
        return ".".join(parts)

    def _search_roots(self, importer: Path | None) -> list[Path]:
        if self.root is None:
            return []
        roots: list[Path] = []
        if importer is not None:
            roots.append(self._basedir(importer))
            folder = importer.parent
            while folder != folder.parent and (folder == self.root or self.root in folder.parents):
                roots.append(folder)
                folder = folder.parent
        roots += [self.root, self.root / "src"]
        return list(dict.fromkeys(roots))

    def find_module(self, name: str, importer: Path | None) -> Path | None:
        """The project file that `import name` loads, or None when it is not the project's."""
        if not name:
            return None
        relative = Path(*name.split("."))
        for root in self._search_roots(importer):
            for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    # -- classes -------------------------------------------------------------------------

    def is_testcase(self, module: Module, node: ast.ClassDef, depth: int = 0) -> bool | None:
        """Whether the class derives from unittest.TestCase: True, False or None (unsure)."""
        if depth > _MAX_DEPTH:
            return None
        answers = [self._base_is_testcase(module, base, depth + 1) for base in node.bases]
        if any(answer is True for answer in answers):
            return True
        if any(answer is None for answer in answers):
            return None
        return False

    def _base_is_testcase(self, module: Module, base: ast.expr, depth: int) -> bool | None:
        target = self.resolve(module, dotted(base), depth)
        if target is None:
            return None
        if isinstance(target, External):
            return _external_is_testcase(target.module, target.name)
        owner, node = target
        return self.is_testcase(owner, node, depth)

    def resolve(self, module: Module, parts: list[str] | None, depth: int) -> Target:
        """Where a dotted name leads: a project class, an (external module, name), or None."""
        if not parts or depth > _MAX_DEPTH:
            return None
        head, rest = parts[0], parts[1:]
        bindings = module.names.get(head)
        if not bindings:
            if module.star_import:
                return None
            if not rest and hasattr(builtins, head):
                return External("builtins", head)
            return None
        results = [self._follow(module, binding, rest, depth) for binding in bindings]
        first = results[0]
        return first if all(_same(result, first) for result in results) else None

    def _follow(self, module: Module, binding: Binding, rest: list[str], depth: int) -> Target:
        if binding.kind == "class":
            return (module, binding.node) if not rest else None  # type: ignore[return-value]
        if binding.kind == "alias":
            parts = dotted(binding.node) if isinstance(binding.node, ast.expr) else None
            return self.resolve(module, parts + rest, depth + 1) if parts else None
        if binding.kind == "import":
            return self._in_module(binding.module, rest, module.path, depth)
        # from module import name: a submodule, or a name defined in the module
        submodule = f"{binding.module}.{binding.name}" if binding.module else binding.name
        if rest and self.find_module(submodule, module.path) is not None:
            return self._in_module(submodule, rest, module.path, depth)
        return self._in_module(binding.module, [binding.name, *rest], module.path, depth)

    def _in_module(self, name: str, rest: list[str], importer: Path | None,
                   depth: int) -> Target:
        if not rest:
            return None  # a module itself is not a class
        path = self.find_module(name, importer)
        if path is None:
            return External(".".join([name, *rest[:-1]]), rest[-1])  # pkg.sub.Name
        target = self.module_for(path)
        if target is None:
            return None
        deeper = self.find_module(f"{name}.{rest[0]}", importer) if len(rest) > 1 else None
        if deeper is not None:
            return self._in_module(f"{name}.{rest[0]}", rest[1:], importer, depth + 1)
        return self.resolve(target, rest, depth + 1)


# Column-0 import statements (parenthesized or continued lines too) and class headers.
_SKELETON_STATEMENT = re.compile(
    rb"^(?:from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\([^)]*\)|(?:\\\n|[^\n])*)"
    rb"|import[ \t]+(?:\\\n|[^\n])*"
    rb"|class[ \t]+\w+[ \t]*(?:\([^)]*\))?)",
    re.MULTILINE,
)
_STAR_IMPORT = re.compile(rb"\bimport[ \t(\\\n]*\*")


def skeleton_of(data: bytes) -> tuple[bytes, ast.Module] | None:
    """The file's column-0 imports and class headers (bodies `pass`) as a module of its own,
    with its source; None when it does not parse or the file has a star import."""
    if _STAR_IMPORT.search(data):
        return None
    lines = []
    for match in _SKELETON_STATEMENT.finditer(data):
        statement = match.group(0)
        lines.append(statement + b": pass" if statement.startswith(b"class") else statement)
    source = b"\n".join(lines) + b"\n"
    try:
        return source, ast.parse(source, filename="<skeleton>")
    except UNPARSABLE:
        return None


def _heads_consulted(module: Module, node: ast.ClassDef) -> set[str]:
    """The first names of the class's bases and, through the module's own classes, of theirs:
    every module-level name the resolver reads to answer for this class."""
    heads: set[str] = set()
    pending = [node]
    while pending:
        for base in pending.pop().bases:
            parts = dotted(base)
            if not parts or parts[0] in heads:
                continue
            heads.add(parts[0])
            pending += [binding.node for binding in module.names.get(parts[0], ())
                        if binding.kind == "class" and isinstance(binding.node, ast.ClassDef)]
    return heads


def _bound_only_where_seen(data: bytes, skeleton: bytes, names: Iterable[str]) -> bool:
    """Every occurrence of each name in the file is one the skeleton holds: nothing outside
    its imports and class headers (an assignment, a nested import, a `def`, even a mention in
    a docstring) can bind the name differently from what the skeleton says."""
    for name in names:
        raw = name.encode()
        if data.count(raw) != skeleton.count(raw) and \
                _word_count(data, raw) != _word_count(skeleton, raw):
            return False
    return True


def _word_count(text: bytes, name: bytes) -> int:
    """How often `name` stands as a whole name (not an attribute) in `text`."""
    count = 0
    for match in re.finditer(re.escape(name) + rb"(?![\w\x80-\xff])", text):
        before = text[match.start() - 1] if match.start() else 32
        if not (before >= 0x80 or chr(before).isalnum() or chr(before) in "_."):
            count += 1
    return count


def _external_is_testcase(module: str, name: str) -> bool | None:
    """A class from outside the project, known by its module and name, or None."""
    if module in _UNITTEST_MODULES:
        return name in _UNITTEST_CLASSES or None
    if name.endswith("TestCase"):  # django.test.TestCase, absl's parameterized.TestCase...
        return True
    if module == "builtins" or module in _NOT_TESTCASE_MODULES:
        return False
    return None
