"""What `ast` says about one module: its definitions, its imports, whether it is deprecated.

Pure: bytes in, `ModuleFacts` out (and back from the JSON the source index caches). The code is
parsed, never imported or run, so a broken or hostile tree is as safe to audit as a clean one.

Deprecated, for a module, means one of three things the module itself says:

* ``warns``: a ``warnings.warn(message, DeprecationWarning)`` statement in the module's body
  (or ``PendingDeprecationWarning``, or a category whose name ends in ``DeprecationWarning``
  or reads ``RemovedIn...Warning``): importing the module warns. One under an ``if`` or in an
  ``except ImportError`` is a condition (a deprecated optional dependency), not the module;
* ``docstring``: the module docstring says so in its first two paragraphs (at most 12 lines):
  a line that starts with ``Deprecated`` (followed by punctuation, "since" or "in"), a
  ``.. deprecated::`` directive at column 0, the word ``DEPRECATED`` or ``(deprecated)``; or
  anywhere, "this module/package is (now) deprecated". A ``.. deprecated::`` further down
  documents an option or a parameter, not the module;
* ``getattr``: a module-level ``__getattr__`` that warns with a deprecation category (or calls a
  helper whose name says "deprecat"): the names it serves are deprecated. Which names: the
  strings its argument is compared with (``name == "Old"``, ``name in ("A", "B")``,
  ``name in _DEPRECATED`` for a module-level dict, set, list or tuple literal); None when it
  cannot tell, and then every name the module does not define itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Iterator

NAME_PLACEHOLDER = "{__name__}"  # f"{__name__} is deprecated": the module's own name
ANY_PLACEHOLDER = "…"  # any other formatted value: unknown text
_MAX_REFS = 2000

_DOC_DEPRECATED = re.compile(
    r"^(?:\.\.[ \t]+deprecated::|[ \t]*deprecated[ \t]*(?:[:.!;,(\u2014\u2013-]|since\b|in\b|$))"
    r"|\(deprecated\)",
    re.IGNORECASE | re.MULTILINE,
)
_DOC_SENTENCE = re.compile(
    r"\b(?:this|the)[ \t]+(?:module|package)[ \t]+(?:is|was|has[ \t]+been)[ \t]+"
    r"(?:now[ \t]+)?deprecated\b",
    re.IGNORECASE,
)
_HEAD_LINES = 12
_DOC_SHOUTED = re.compile(r"\bDEPRECATED\b")
_CATEGORY = re.compile(r"(?:\w*DeprecationWarning|RemovedIn\w*Warning)$")


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # "class" or "function"
    line: int
    methods: tuple[str, ...] = ()  # a class's own def names
    bases: tuple[str, ...] = ()  # a class's bases, as written ("base.Router", "Generic")


@dataclass(frozen=True)
class ImportFact:
    module: str  # as written, leading dots for relative imports: "..pkg.x", ".", "a.b"
    names: tuple[str, ...]  # what `from module import ...` takes; () for `import module`
    line: int
    top_level: bool  # at module level (re-exports live there), not inside a function


@dataclass(frozen=True)
class DeprecationMark:
    how: str  # "warns", "docstring" or "getattr"
    line: int
    message: str  # the warning's text, NAME_PLACEHOLDER / ANY_PLACEHOLDER where formatted
    names: tuple[str, ...] | None = None  # getattr: the names it serves (None: unknown)


@dataclass(frozen=True)
class ModuleFacts:
    docstring: str = ""  # first non-blank line of the module docstring
    definitions: tuple[Definition, ...] = ()  # module level, including under if / try / with
    imports: tuple[ImportFact, ...] = ()  # every import statement, anywhere in the file
    # Dotted attribute chains rooted at a name an import bound, with the binding replaced by
    # what it imported: `import app.ws as w; w.Manager()` gives "app.ws.Manager".
    refs: tuple[str, ...] = ()
    top_names: frozenset[str] = frozenset()  # names bound at module level
    deprecation: DeprecationMark | None = None
    syntax_error: bool = False

    def to_json(self) -> list[Any]:
        return [
            self.docstring,
            [[d.name, d.kind, d.line, list(d.methods), list(d.bases)] for d in self.definitions],
            [[i.module, list(i.names), i.line, i.top_level] for i in self.imports],
            list(self.refs),
            sorted(self.top_names),
            None if self.deprecation is None else [
                self.deprecation.how, self.deprecation.line, self.deprecation.message,
                None if self.deprecation.names is None else list(self.deprecation.names)],
            self.syntax_error,
        ]


def facts_from_json(value: list[Any]) -> ModuleFacts:
    docstring, definitions, imports, refs, top_names, deprecation, syntax_error = value
    mark = None
    if deprecation is not None:
        how, line, message, names = deprecation
        mark = DeprecationMark(str(how), int(line), str(message),
                               None if names is None else tuple(str(n) for n in names))
    return ModuleFacts(
        docstring=str(docstring),
        definitions=tuple(Definition(str(n), str(k), int(ln), tuple(m), tuple(b))
                          for n, k, ln, m, b in definitions),
        imports=tuple(ImportFact(str(m), tuple(n), int(ln), bool(t))
                      for m, n, ln, t in imports),
        refs=tuple(str(ref) for ref in refs),
        top_names=frozenset(str(name) for name in top_names),
        deprecation=mark,
        syntax_error=bool(syntax_error),
    )


# ----------------------------------------------------------------------------------------


def extract_facts(source: bytes) -> ModuleFacts:
    """Everything the audits need from one module; a file that does not parse says so."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ModuleFacts(syntax_error=True)
    docstring = ast.get_docstring(tree, clean=True) or ""
    definitions: list[Definition] = []
    top_names: set[str] = set()
    literals: dict[str, tuple[str, ...]] = {}
    getattr_def: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    module_warning: DeprecationMark | None = None
    top_imports: set[int] = set()
    aliases: dict[str, str] = {}  # `import ... as x` / `from ... import y as x`: x -> y
    for node in module_level(tree.body):
        if isinstance(node, ast.ClassDef):
            definitions.append(_class_definition(node, aliases))
            top_names.add(node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            definitions.append(Definition(node.name, "function", node.lineno))
            top_names.add(node.name)
            if node.name == "__getattr__":
                getattr_def = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            top_imports.add(id(node))
            for alias in node.names:
                top_names.add(alias.asname or alias.name.split(".")[0])
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in _bound_names(target):
                    top_names.add(name)
                    strings = _string_collection(node.value)
                    if strings is not None:
                        literals[name] = strings
    for node in tree.body:  # a warning under an `if` or `try` is a condition, not the module
        if isinstance(node, ast.Expr) and module_warning is None:
            warned = deprecation_warning(node.value)
            if warned is not None:
                module_warning = DeprecationMark("warns", node.lineno, warned)
    imports, refs = _imports_and_refs(tree, top_imports,
                                      source.decode("utf-8", "replace"))
    deprecation = module_warning
    if deprecation is None and b"eprecat" in source.lower():
        deprecation = _docstring_mark(tree, docstring)
        if deprecation is None and getattr_def is not None:
            deprecation = _getattr_mark(getattr_def, literals)
    first_line = next((line.strip() for line in docstring.splitlines() if line.strip()), "")
    return ModuleFacts(
        docstring=first_line,
        definitions=tuple(definitions),
        imports=imports,
        refs=refs,
        top_names=frozenset(top_names),
        deprecation=deprecation,
    )


def module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import: the body, and the blocks of module-level if/try/with."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.For, ast.While)):
            yield from module_level(node.body)
            yield from module_level(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from module_level(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            yield from module_level(node.body)
            for handler in node.handlers:
                yield from module_level(handler.body)
            yield from module_level(node.orelse)
            yield from module_level(node.finalbody)


def _class_definition(node: ast.ClassDef, aliases: dict[str, str]) -> Definition:
    """Bases as imported: `from x import Store as DBStore; class S(DBStore)` -> "Store"."""
    methods = tuple(item.name for item in node.body
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    bases = []
    for base in node.bases:
        name = dotted(base) or "?"
        head, dot, rest = name.partition(".")
        bases.append(aliases.get(head, head) + dot + rest)
    return Definition(node.name, "class", node.lineno, methods, tuple(bases))


def dotted(node: ast.expr) -> str | None:
    """`a.b.C` -> "a.b.C"; `Generic[T]` -> "Generic"; anything else None."""
    if isinstance(node, ast.Subscript):
        return dotted(node.value)
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _bound_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            yield from _bound_names(item)


def _string_collection(value: ast.expr | None) -> tuple[str, ...] | None:
    """The strings of a dict's keys or a set / list / tuple literal; None for anything else."""
    if isinstance(value, ast.Dict):
        items: list[ast.expr | None] = list(value.keys)
    elif isinstance(value, (ast.Set, ast.List, ast.Tuple)):
        items = list(value.elts)
    else:
        return None
    strings = tuple(item.value for item in items
                    if isinstance(item, ast.Constant) and isinstance(item.value, str))
    return strings or None


# ----------------------------------------------------------------------------------------
# Imports and the attribute chains rooted at what they bound


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones too, in source order, without visiting expressions
    (imports are statements, and walking every expression node costs more than the parse)."""
    pending = list(reversed(body))
    while pending:
        node = pending.pop()
        yield node
        children: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                children.extend(block)
        for handler in getattr(node, "handlers", ()):
            children.extend(handler.body)
        for case in getattr(node, "cases", ()):
            children.extend(case.body)
        pending.extend(reversed(children))


def _imports_and_refs(tree: ast.Module, top_level: set[int], text: str
                      ) -> tuple[tuple[ImportFact, ...], tuple[str, ...]]:
    imports: list[ImportFact] = []
    bindings: dict[str, str] = {}  # local name -> what it stands for ("app.ws", ".mod")
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports.append(ImportFact(alias.name, (), node.lineno, id(node) in top_level))
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    bindings.setdefault(head, head)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names = tuple(alias.name for alias in node.names)
            imports.append(ImportFact(module, names, node.lineno, id(node) in top_level))
            for alias in node.names:
                if alias.name != "*":
                    joiner = "" if module.endswith(".") else "."
                    bindings[alias.asname or alias.name] = module + joiner + alias.name
    imports.sort(key=lambda fact: fact.line)
    return tuple(imports), _refs(text, bindings)


def _refs(text: str, bindings: dict[str, str]) -> tuple[str, ...]:
    """`w.Manager.create` where an import bound `w`: read from the text (a regex is a hundred
    times cheaper than walking every expression node; a mention in a comment may count)."""
    if not bindings:
        return ()
    heads = "|".join(sorted((re.escape(name) for name in bindings), key=len, reverse=True))
    pattern = re.compile(r"(?<![\w.])(" + heads + r")((?:\.[A-Za-z_]\w*)+)")
    refs: set[str] = set()
    for match in pattern.finditer(text):
        target = bindings[match.group(1)]
        joiner = "" if target.endswith(".") else "."
        refs.add(target + joiner + match.group(2)[1:])
        if len(refs) >= _MAX_REFS:
            break
    return tuple(sorted(refs))


# ----------------------------------------------------------------------------------------
# Deprecation


def literal_text(node: ast.expr | None) -> str | None:
    """A warning message as far as the source spells it out; formatted parts as placeholders."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            elif (isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name)
                  and value.value.id == "__name__"):
                parts.append(NAME_PLACEHOLDER)
            else:
                parts.append(ANY_PLACEHOLDER)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_text(node.left), literal_text(node.right)
        if left is None and right is None:
            return None
        return (left if left is not None else ANY_PLACEHOLDER) + (
            right if right is not None else ANY_PLACEHOLDER)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return literal_text(node.left)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        return literal_text(node.func.value)
    return None


def _is_warn(func: ast.expr) -> bool:
    name = dotted(func) or ""
    return name in ("warn", "warnings.warn", "_warnings.warn", "warn_explicit",
                    "warnings.warn_explicit")


def deprecation_warning(node: ast.expr) -> str | None:
    """The message of a `warnings.warn(..., <deprecation category>)` call; None otherwise."""
    if not isinstance(node, ast.Call) or not _is_warn(node.func):
        return None
    category: ast.expr | None = node.args[1] if len(node.args) > 1 else None
    message: ast.expr | None = node.args[0] if node.args else None
    for keyword in node.keywords:
        if keyword.arg == "category":
            category = keyword.value
        elif keyword.arg == "message":
            message = keyword.value
    name = dotted(category) if category is not None else None
    if not name or not _CATEGORY.match(name.rpartition(".")[2]):
        return None
    text = literal_text(message)
    return text if text is not None else ANY_PLACEHOLDER


def _docstring_head(docstring: str) -> str:
    """The first two paragraphs (at most 12 lines): where a module says what it is. A
    `.. deprecated::` further down documents an option, not the module."""
    lines: list[str] = []
    paragraphs = 0
    for line in docstring.splitlines()[:_HEAD_LINES]:
        if not line.strip():
            if lines and lines[-1].strip():
                paragraphs += 1
                if paragraphs == 2:
                    break
        lines.append(line)
    return "\n".join(lines)


def _docstring_mark(tree: ast.Module, docstring: str) -> DeprecationMark | None:
    if not docstring:
        return None
    head = _docstring_head(docstring)
    match = (_DOC_DEPRECATED.search(head) or _DOC_SHOUTED.search(head)
             or _DOC_SENTENCE.search(docstring))
    if match is None:
        return None
    source = docstring if match.re is _DOC_SENTENCE else head
    lines = source.splitlines()
    index = source.count("\n", 0, match.start())
    said = []
    for line in lines[index:index + 3]:  # the sentence that says it, up to a blank line
        if not line.strip():
            break
        said.append(line.strip())
    first = tree.body[0] if tree.body else None
    return DeprecationMark("docstring", first.lineno if first else 1, " ".join(said))


def _getattr_mark(node: ast.FunctionDef | ast.AsyncFunctionDef,
                  literals: dict[str, tuple[str, ...]]) -> DeprecationMark | None:
    message: str | None = None
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Call):
            continue
        warned = deprecation_warning(inner)
        if warned is not None:
            message = warned
            break
        if "deprecat" in (dotted(inner.func) or "").lower():
            message = next((text for arg in inner.args
                            if (text := literal_text(arg)) and "deprecat" in text.lower()),
                           ANY_PLACEHOLDER)
            break
    if message is None:
        return None
    parameter = node.args.args[0].arg if node.args.args else None
    names: list[str] = []
    for inner in ast.walk(node):
        names.extend(_names_compared(inner, parameter, literals))
    unique = tuple(dict.fromkeys(names)) or None
    return DeprecationMark("getattr", node.lineno, message, unique)


def _names_compared(node: ast.AST, parameter: str | None,
                    literals: dict[str, tuple[str, ...]]) -> list[str]:
    """Strings the __getattr__ argument is compared with or looked up in."""
    if parameter is None:
        return []
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) \
            and node.left.id == parameter:
        found: list[str] = []
        for comparator in node.comparators:
            if isinstance(comparator, ast.Constant) and isinstance(comparator.value, str):
                found.append(comparator.value)
            elif isinstance(comparator, ast.Name) and comparator.id in literals:
                found.extend(literals[comparator.id])
            else:
                found.extend(_string_collection(comparator) or ())
        return found
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
            and node.value.id in literals and isinstance(node.slice, ast.Name) \
            and node.slice.id == parameter:
        return list(literals[node.value.id])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "get" and isinstance(node.func.value, ast.Name) \
            and node.func.value.id in literals and node.args \
            and isinstance(node.args[0], ast.Name) and node.args[0].id == parameter:
        return list(literals[node.func.value.id])
    return []
