"""Single source of truth, checked: one definition per name, and which copy the code really uses.

An incident's "single" `WebSocketManager` had eight implementations, each imported by some
part of the code; every fix went into one of them and the bug lived on in another. Two audits:

* ``duplicate-definition``: every name listed in ``single_source`` must be defined (a
  module-level ``class`` or ``def``, also under a module-level ``if`` / ``try``) in exactly one
  file of the project's own code (``code`` files of the source index: tests, docs, examples,
  virtualenvs and build folders do not count). Two definitions in one file (a version shim)
  are one. A finding lists every file and line, the first line of each defining module's
  docstring, and how many other files import each copy, so the person fixing it knows which
  one the code already relies on. A listed name with no definition at all is a
  ``single-source-missing`` finding (a typo in the configuration proves nothing).
* ``possible-duplicate`` (without ``single_source``): the same public class name defined at
  module level in several modules whose method names overlap (at least two shared methods,
  dunders and lifecycle names aside, and at least half of all their methods), unless one
  extends the other (``class Router(base.Router)``) or both extend the same non-builtin base (a family of
  backends is a design, not a copy). Names defined in more than `MAX_GROUP` modules are a
  convention (``Migration``, ``Command``) and are left alone; so are classes that share only
  lifecycle names (``start``, ``stop``, ``run``, ``close``...), and bases are read through
  import aliases (``from .db import SessionStore as DBStore``). At most `MAX_SUGGESTIONS`
  findings, strongest first (most copies, then most overlap); the rest are named in one
  more finding.

Importing counts a file once per copy: ``from M import Name`` (also through a package that
re-exports it, up to three hops), ``from M import *`` in a re-exporting ``__init__``, or
``import M`` / ``from pkg import M`` followed by ``M.Name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from claimcheck.collectors.models import Finding
from claimcheck.collectors.module_facts import Definition
from claimcheck.collectors.source_index import SourceIndex
from claimcheck.collectors.wording import plural

MAX_SUGGESTIONS = 8
MAX_GROUP = 20
MIN_SHARED_METHODS = 2
MIN_OVERLAP = 0.5
# Lifecycle names nearly every class with a lifetime has: sharing only these says nothing.
GENERIC_METHODS = frozenset({
    "start", "stop", "run", "close", "open", "setup", "teardown", "reset", "get", "set",
    "update", "clear", "main", "init", "shutdown", "cleanup",
})
_REEXPORT_HOPS = 3
# Bases that say nothing about a family: two classes deriving only from these are still copies.
BUILTIN_BASES = frozenset({
    "object", "Generic", "ABC", "ABCMeta", "Protocol", "Exception", "BaseException",
    "ValueError", "TypeError", "RuntimeError", "KeyError", "dict", "list", "tuple", "set",
    "str", "int", "float", "bytes", "type", "NamedTuple", "TypedDict", "Enum", "IntEnum",
    "StrEnum", "Flag", "IntFlag",
})


@dataclass(frozen=True)
class Copy:
    """One file's definition of a name, and who imports that copy."""

    relpath: str
    module: str
    definition: Definition
    docstring: str
    importers: tuple[tuple[str, int], ...]  # (file, line), one per importing file


# ----------------------------------------------------------------------------------------
# Who defines a name, who imports which copy


def copies_of(index: SourceIndex, name: str) -> list[Copy]:
    """Every `code` file's module-level definition of `name`, most imported first."""
    found: list[tuple[str, Definition]] = []
    for relpath, scan in index.files.items():
        if scan.role != "code" or name not in scan.defined:
            continue
        facts = index.facts(relpath)
        definition = next((d for d in facts.definitions if d.name == name), None)
        if definition is not None:
            found.append((relpath, definition))
    if not found:
        return []
    importers = importers_by_copy(index, name, [relpath for relpath, _ in found])
    copies = [
        Copy(relpath=relpath, module=_module(index, relpath), definition=definition,
             docstring=index.facts(relpath).docstring,
             importers=tuple(sorted(importers.get(relpath, {}).items())))
        for relpath, definition in found
    ]
    copies.sort(key=lambda copy: (-len(copy.importers), copy.relpath))
    return copies


def _module(index: SourceIndex, relpath: str) -> str:
    names = index.module_names(relpath)
    return names[0] if names else relpath


def importers_by_copy(index: SourceIndex, name: str, defining: Sequence[str]
                      ) -> dict[str, dict[str, int]]:
    """defining file -> {importing file: first line}: who uses which copy of `name`."""
    targets: dict[str, str] = {}  # module that provides the name -> defining file
    for relpath in defining:
        for module in index.module_names(relpath):
            targets.setdefault(module, relpath)
    _follow_reexports(index, name, targets, set(defining))
    result: dict[str, dict[str, int]] = {}
    for relpath, scan in index.files.items():
        if not _may_import(index, relpath, scan.imports, name, targets):
            continue
        facts = index.facts(relpath)
        hits: dict[str, int] = {}
        for fact in facts.imports:
            if name in fact.names or "*" in fact.names:
                source = targets.get(index.resolve(relpath, fact.module))
                if source is not None:
                    hits.setdefault(source, fact.line)
        for ref in facts.refs:
            module = _ref_module(index.resolve(relpath, ref), name, targets)
            if module is not None and targets[module] not in hits:
                hits[targets[module]] = _import_line(index, relpath, facts.imports, module)
        for source, line in hits.items():
            if source != relpath:
                result.setdefault(source, {})[relpath] = line
    return result


def _follow_reexports(index: SourceIndex, name: str, targets: dict[str, str],
                      defining: set[str]) -> None:
    """`pkg/__init__.py: from .ws import Name` makes `from pkg import Name` that copy's."""
    for _ in range(_REEXPORT_HOPS):
        added = False
        for relpath, scan in index.files.items():
            if relpath in defining or not any(name in names or "*" in names
                                              for _, names in scan.imports):
                continue
            own = index.module_names(relpath)
            if all(module in targets for module in own):
                continue
            for fact in index.facts(relpath).imports:
                if not fact.top_level or not (name in fact.names or "*" in fact.names):
                    continue
                source = targets.get(index.resolve(relpath, fact.module))
                if source is None:
                    continue
                if "*" in fact.names and not relpath.endswith("__init__.py"):
                    continue
                for module in own:
                    if module not in targets:
                        targets[module] = source
                        added = True
        if not added:
            return


def _may_import(index: SourceIndex, relpath: str, imports: Iterable[tuple[str, tuple]],
                name: str, targets: dict[str, str]) -> bool:
    """The scan's verdict: could this file import `name` from one of `targets`?"""
    for written, names in imports:
        if name in names or "*" in names:
            return True
        module = index.resolve(relpath, written)
        if module in targets or any(f"{module}.{item}" in targets for item in names):
            return True
    return False


def _ref_module(ref: str, name: str, targets: dict[str, str]) -> str | None:
    """"app.ws.Manager.create" -> "app.ws" when app.ws provides Manager."""
    parts = ref.split(".")
    for position in range(1, len(parts)):
        if parts[position] == name and ".".join(parts[:position]) in targets:
            return ".".join(parts[:position])
    return None


def _import_line(index: SourceIndex, relpath: str, imports: Iterable, module: str) -> int:
    """The line of the import that bound `module` (`import module`, `from pkg import mod`)."""
    for fact in imports:
        base = index.resolve(relpath, fact.module)
        if base == module or any(f"{base}.{item}" == module for item in fact.names) \
                or module.startswith(base + "."):
            return fact.line
    return 1


# ----------------------------------------------------------------------------------------
# duplicate-definition, single-source-missing


def _copy_text(copy: Copy) -> str:
    where = f"{copy.relpath}:{copy.definition.line}"
    doc = f' ("{copy.docstring}")' if copy.docstring else ""
    used = len(copy.importers)
    return f"{where}{doc}, imported by {plural(used, 'file') if used else 'no file'}"


def duplicate_definitions(index: SourceIndex, names: Sequence[str]) -> list[Finding]:
    """A finding per listed name that is not defined exactly once."""
    findings: list[Finding] = []
    for name in names:
        copies = copies_of(index, name)
        if len(copies) == 1:
            continue
        if not copies:
            findings.append(Finding(
                kind="single-source-missing", phase=None, path=None, line=None,
                message=(f"single_source lists {name}, but no file of the project's own code "
                         "defines it (tests, docs and examples do not count). Fix the "
                         "spelling, or remove it from single_source."),
                subject=name,
            ))
            continue
        findings.append(_duplicate_finding(name, copies))
    return findings


def _duplicate_finding(name: str, copies: Sequence[Copy]) -> Finding:
    listed = "; ".join(_copy_text(copy) for copy in copies)
    counts = [len(copy.importers) for copy in copies]
    importing = len({importer for copy in copies for importer, _ in copy.importers})
    if counts[0] and (len(counts) == 1 or counts[0] > counts[1]):
        if counts[0] == importing:
            share = "the only file" if importing == 1 else f"all {importing} files"
        else:
            share = f"{counts[0]} of the {importing} files"
        advice = (f"The rest of the code imports the one in {copies[0].module} most "
                  f"({share} importing {name}): keep that one, and make the others import "
                  "it instead of defining their own.")
    elif counts[0]:
        tied = [copy.module for copy in copies if len(copy.importers) == counts[0]]
        advice = (f"The code is split between {', '.join(tied)} "
                  f"({plural(counts[0], 'importing file')} each): choose one, and make the "
                  "others import it.")
    else:
        advice = "No other file imports any of them by name: choose one, and delete the others."
    return Finding(
        kind="duplicate-definition", phase=None,
        path=copies[0].relpath, line=copies[0].definition.line,
        message=(f"{name} must have one definition (single_source), but "
                 f"{len(copies)} files define it: {listed}. {advice}"),
        files=tuple(copy.relpath for copy in copies),
        count=len(copies),
        subject=name,
    )


# ----------------------------------------------------------------------------------------
# possible-duplicate


@dataclass(frozen=True)
class _Candidate:
    name: str
    copies: tuple[tuple[str, Definition], ...]
    shared: tuple[str, ...]  # methods every pair in the cluster shares with another
    overlap: float  # mean Jaccard similarity of the cluster's linked pairs


def _methods(definition: Definition) -> frozenset[str]:
    return frozenset(m for m in definition.methods
                     if not (m.startswith("__") and m.endswith("__")))


def _related(name: str, a: Definition, b: Definition) -> bool:
    """One extends the other, or both extend the same non-builtin base: a design, not a copy."""
    tails_a = {base.rpartition(".")[2] for base in a.bases}
    tails_b = {base.rpartition(".")[2] for base in b.bases}
    if name in tails_a or name in tails_b:
        return True
    return bool((tails_a & tails_b) - BUILTIN_BASES - {"?"})


def _candidate(name: str, copies: list[tuple[str, Definition]]) -> _Candidate | None:
    links: dict[int, set[int]] = {i: set() for i in range(len(copies))}
    scores: dict[tuple[int, int], float] = {}
    shared_methods: dict[int, set[str]] = {i: set() for i in range(len(copies))}
    for i in range(len(copies)):
        for j in range(i + 1, len(copies)):
            a, b = copies[i][1], copies[j][1]
            ma, mb = _methods(a), _methods(b)
            shared = ma & mb
            if len(shared - GENERIC_METHODS) < MIN_SHARED_METHODS:
                continue
            overlap = len(shared) / len(ma | mb)
            if overlap < MIN_OVERLAP or _related(name, a, b):
                continue
            links[i].add(j)
            links[j].add(i)
            scores[(i, j)] = overlap
            shared_methods[i] |= shared
            shared_methods[j] |= shared
    best: set[int] = set()
    seen: set[int] = set()
    for start in range(len(copies)):
        if start in seen or not links[start]:
            continue
        component, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node in component:
                continue
            component.add(node)
            stack.extend(links[node] - component)
        seen |= component
        if len(component) > len(best):
            best = component
    if len(best) < 2:
        return None
    members = sorted(best)
    pairs = [score for (i, j), score in scores.items() if i in best and j in best]
    shared = set.intersection(*(shared_methods[i] for i in members))
    shared = shared or set.union(*(shared_methods[i] for i in members))
    return _Candidate(name=name, copies=tuple(copies[i] for i in members),
                      shared=tuple(sorted(shared)), overlap=sum(pairs) / len(pairs))


def possible_duplicates(index: SourceIndex, limit: int = MAX_SUGGESTIONS) -> list[Finding]:
    """Classes that look written more than once; at most `limit` findings, strongest first."""
    groups: dict[str, dict[str, tuple[str, ...]]] = {}  # name -> {file: scanned methods}
    for relpath, scan in index.files.items():
        if scan.role != "code":
            continue
        for name, methods in scan.classes:
            if not name.startswith("_"):
                groups.setdefault(name, {}).setdefault(relpath, methods)
    candidates: list[_Candidate] = []
    for name, scanned in groups.items():
        if not 2 <= len(scanned) <= MAX_GROUP:
            continue
        # The scan's methods first: only a group that could qualify is parsed.
        rough = [(path, Definition(name, "class", 0, methods)) for path, methods in scanned.items()]
        if _candidate(name, rough) is None:
            continue
        copies = []
        files = list(scanned)
        for relpath in files:
            definition = next((d for d in index.facts(relpath).definitions
                               if d.name == name and d.kind == "class"), None)
            if definition is not None:
                copies.append((relpath, definition))
        candidate = _candidate(name, copies) if len(copies) >= 2 else None
        if candidate is not None:
            candidates.append(candidate)
    candidates.sort(key=lambda c: (-len(c.copies), -c.overlap, -len(c.shared), c.name))
    shown = candidates[:limit] if len(candidates) <= limit else candidates[:limit - 1]
    findings = [_suggestion(candidate) for candidate in shown]
    rest = candidates[len(shown):]
    if rest:
        names = ", ".join(candidate.name for candidate in rest[:12])
        more = f" and {len(rest) - 12} more" if len(rest) > 12 else ""
        findings.append(Finding(
            kind="possible-duplicate", phase=None, path=None, line=None,
            message=(f"{plural(len(rest), 'more class', 'more classes')} look defined more "
                     f"than once: {names}{more}. List the names that must be one in "
                     "single_source to check them exactly."),
            files=tuple(dict.fromkeys(path for c in rest for path, _ in c.copies)),
            count=len(rest),
        ))
    return findings


def _suggestion(candidate: _Candidate) -> Finding:
    copies = sorted(candidate.copies, key=lambda copy: copy[0])
    where = ", ".join(f"{path}:{definition.line}" for path, definition in copies)
    shown = ", ".join(candidate.shared[:6]) + (", ..." if len(candidate.shared) > 6 else "")
    first_path, first = copies[0]
    return Finding(
        kind="possible-duplicate", phase=None, path=first_path, line=first.line,
        message=(f"{candidate.name} may be one class written {len(candidate.copies)} times: "
                 f"{where} share the methods {shown} ({candidate.overlap:.0%} of their methods "
                 f"alike). If it is meant to be one, keep one and import it, and add "
                 f"{candidate.name} to single_source so claimcheck holds it to that."),
        files=tuple(path for path, _ in copies),
        count=len(copies),
        subject=candidate.name,
    )
