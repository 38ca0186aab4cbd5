"""Deprecated import paths still in use: the module says it is deprecated, the code imports it.

A ``DeprecationWarning`` at runtime only shows the imports some test happened to execute, once
per process, and only where warnings are not filtered away. This audit reads the code instead:
a module that marks itself deprecated (see `collectors.module_facts`: it warns when imported,
its docstring says so, or its module ``__getattr__`` serves deprecated names), and every file
of the project, tests included, that imports it, whether or not anything ran that import.

Imports that count: ``import D``, ``import D.sub`` and ``from D.sub import x`` when D is a
deprecated package (importing a submodule runs the package's ``__init__``), ``from P import D``
when ``P.D`` is the deprecated module, relative imports resolved against the importing file's
package, imports inside functions and under ``TYPE_CHECKING``. For a ``__getattr__``
deprecation only ``from D import <a deprecated name>`` counts. Files inside the deprecated
package itself are not reported: they are the deprecated code, not its users.

The replacement is reported only when the module's own words name one ("use X instead",
"moved to X", "replaced by X", "in favour of X", "import it from X", "X instead").

Where a phase recorded the same warning at runtime (`judge.deprecations`): same text as the
module's message (formatted parts aside), or raised by the module's own warn statement (its
file and line), the two are one finding: the static one keeps every importer and says how often
the warning was raised, and the runtime one is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from claimcheck.collectors.judge import deprecations, is_deprecation
from claimcheck.collectors.models import Finding, PhaseRun, WarningRecord
from claimcheck.collectors.module_facts import ANY_PLACEHOLDER, NAME_PLACEHOLDER
from claimcheck.collectors.source_index import SourceIndex, ancestors
from claimcheck.collectors.wording import list_files, plural

_NAME = r"(`[A-Za-z_][\w.]*(?:\(\))?`|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?)"
_PHRASES = re.compile(
    r"\b(?:use|moved\s+to|renamed\s+to|relocated\s+to|replaced\s+by|superseded\s+by"
    r"|in\s+favou?r\s+of|import\s+(?:it\s+|them\s+|\w+\s+)?from)\s+(?:the\s+)?" + _NAME
    + r"(\s+instead\b)?",
    re.IGNORECASE,
)
_INSTEAD = re.compile(_NAME + r"\s+instead\b")
_NOT_A_NAME = frozenset({"it", "this", "that", "them", "the", "a", "an", "instead", "of",
                         "is", "be", "which", "new", "module", "package", "caution", "with",
                         "care", "another", "other", "something", "one"})
_MIN_MATCH_CHARS = 10  # a runtime message matches a template only on this much literal text
MAX_IMPORTERS_IN_MESSAGE = 25  # the rest are in the finding's files (every format lists them)


@dataclass(frozen=True)
class DeprecatedModule:
    module: str
    relpath: str
    line: int
    how: str  # "warns", "docstring" or "getattr"
    message: str  # the module's own words, its name filled in
    replacement: str | None
    names: tuple[str, ...] | None  # getattr: the deprecated names (None: any it does not define)
    top_names: frozenset[str]  # getattr with unknown names: what the module defines itself


def replacement_named(message: str, module: str = "") -> str | None:
    """The module or name a deprecation message tells people to use, if it names one.

    A candidate counts when it is written as code (`x`), is dotted or has an underscore or a
    capital (app.core, send_event, NewThing), or, a plain word, when "instead" follows it
    ("use oracledb instead"): "use it", "use caution" name nothing.
    """
    for pattern in (_PHRASES, _INSTEAD):
        for match in pattern.finditer(message):
            raw = match.group(1)
            candidate = raw.strip("`").removesuffix("()").rstrip(".")
            if not candidate or candidate.lower() in _NOT_A_NAME or candidate == module:
                continue
            instead = pattern is _INSTEAD or bool(match.group(2))
            if (raw.startswith("`") or "." in candidate or "_" in candidate
                    or candidate != candidate.lower() or instead):
                return candidate
    return None


def deprecated_modules(index: SourceIndex) -> list[DeprecatedModule]:
    """Every module of the project that says it is deprecated, in path order."""
    found: list[DeprecatedModule] = []
    for relpath, scan in index.files.items():
        if not scan.may_deprecate:
            continue
        facts = index.facts(relpath)
        mark = facts.deprecation
        names = index.module_names(relpath)
        if mark is None or not names:
            continue
        module = names[0]
        message = mark.message.replace(NAME_PLACEHOLDER, module)
        found.append(DeprecatedModule(
            module=module, relpath=relpath, line=mark.line, how=mark.how, message=message,
            replacement=replacement_named(message, module), names=mark.names,
            top_names=facts.top_names,
        ))
    return found


def importers_of(index: SourceIndex, deprecated: DeprecatedModule) -> list[tuple[str, int]]:
    """(file, line of its first such import) for every file that imports the deprecated path."""
    aliases = set(index.module_names(deprecated.relpath))
    tails = {alias.rpartition(".")[2] for alias in aliases}
    found: list[tuple[str, int]] = []
    for relpath, scan in index.files.items():
        if relpath == deprecated.relpath or _inside(index.module_names(relpath), aliases):
            continue
        # The scan's imports decide which files to parse: the same rule on rougher data.
        if not any(_mentions(written, names, tails)
                   and _imports(deprecated, aliases, index.resolve(relpath, written), names)
                   for written, names in scan.imports):
            continue
        for fact in index.facts(relpath).imports:
            base = index.resolve(relpath, fact.module)
            if base and _imports(deprecated, aliases, base, fact.names):
                found.append((relpath, fact.line))
                break
    return sorted(found)


def _inside(own: Iterable[str], aliases: set[str]) -> bool:
    return any(name == alias or name.startswith(alias + ".") for name in own for alias in aliases)


def _mentions(written: str, names: tuple[str, ...], tails: set[str]) -> bool:
    """The scan's verdict: could this import statement reach the module (by its last name)?"""
    return any(part in tails for part in written.lstrip(".").split(".")) or any(
        name in tails for name in names)


def _imports(deprecated: DeprecatedModule, aliases: set[str], base: str,
             names: tuple[str, ...]) -> bool:
    if deprecated.how == "getattr":
        if base not in aliases:
            return False
        if deprecated.names is not None:
            return any(name in deprecated.names for name in names)
        return any(name != "*" and name not in deprecated.top_names for name in names)
    executed = set(ancestors(base)) | {f"{base}.{name}" for name in names}
    return bool(executed & aliases)


# ----------------------------------------------------------------------------------------
# Runtime warnings that are the same deprecation


def message_matches(template: str, text: str) -> bool:
    """Does a runtime warning's text fit the module's message, formatted parts aside?"""
    fragments = [part for part in template.split(ANY_PLACEHOLDER) if part.strip()]
    if sum(len(part.strip()) for part in fragments) < _MIN_MATCH_CHARS:
        return False
    position = 0
    for fragment in fragments:
        found = text.find(fragment.strip(), position)
        if found < 0:
            return False
        position = found + len(fragment.strip())
    return True


def _runtime_matches(deprecated: DeprecatedModule, warning: WarningRecord,
                     paths: Sequence[str]) -> bool:
    """The same deprecation: its text fits the module's message, or it was raised by the
    module's own warn statement (its file and line). Other warnings raised inside the module
    are other deprecations and stay their own findings."""
    if not is_deprecation(warning) or deprecated.how == "docstring":
        return False
    if message_matches(deprecated.message, warning.message):
        return True
    if deprecated.how != "warns" or warning.line != deprecated.line or not warning.path:
        return False
    where = warning.path.replace("\\", "/")
    return any(where == path or where.endswith("/" + path) for path in paths)


def _same_at_runtime(deprecated: DeprecatedModule, runs: Sequence[PhaseRun]
                     ) -> tuple[list[Finding], int, list[str]]:
    """The runtime findings that are this deprecation, how often it fired, in which phases."""
    merged: list[Finding] = []
    raised = 0
    phases: list[str] = []
    for run in runs:
        hits = [w for w in run.warnings if _runtime_matches(deprecated, w, [deprecated.relpath])]
        if not hits:
            continue
        keys = {(w.category, w.message) for w in hits}
        whole = tuple(w for w in run.warnings if (w.category, w.message) in keys)
        merged.extend(deprecations(replace(run, warnings=whole)))
        raised += len(whole)
        phases.append(run.name)
    return merged, raised, phases


# ----------------------------------------------------------------------------------------


def deprecated_import_findings(index: SourceIndex, runs: Sequence[PhaseRun] = ()
                               ) -> tuple[list[Finding], list[Finding]]:
    """(deprecated-import findings, the runtime deprecation findings they stand for)."""
    findings: list[Finding] = []
    absorbed: list[Finding] = []
    for deprecated in deprecated_modules(index):
        importers = importers_of(index, deprecated)
        if not importers:
            continue
        same, raised, phases = _same_at_runtime(deprecated, runs)
        absorbed.extend(same)
        findings.append(_finding(deprecated, importers, raised, phases))
    findings.sort(key=lambda finding: (-finding.count, finding.path or ""))
    return findings, absorbed


def _finding(deprecated: DeprecatedModule, importers: Sequence[tuple[str, int]], raised: int,
             phases: Sequence[str]) -> Finding:
    module = deprecated.module
    said = deprecated.message.replace(ANY_PLACEHOLDER, "...").strip()
    if deprecated.how == "warns":
        what = f"{module} is deprecated: importing it warns \"{said}\""
    elif deprecated.how == "docstring":
        what = f"{module} is deprecated: its docstring says \"{said}\""
    else:
        names = ", ".join(deprecated.names) if deprecated.names else "names it does not define"
        what = f"{module} serves deprecated names ({names}) from its __getattr__: \"{said}\""
    where = [f"{path}:{line}" for path, line in importers]
    use = (f"Import {deprecated.replacement} instead." if deprecated.replacement
           else "Its message names no replacement.")
    runtime = ""
    if raised:
        runtime = (f" At runtime it was raised {plural(raised, 'time')} "
                   f"(phase{'s' if len(phases) > 1 else ''} {', '.join(phases)}).")
    return Finding(
        kind="deprecated-import", phase=None, path=deprecated.relpath, line=deprecated.line,
        message=(f"{what}. {plural(len(importers), 'file')} still "
                 f"{'imports' if len(importers) == 1 else 'import'} it: "
                 f"{list_files(where, limit=MAX_IMPORTERS_IN_MESSAGE)}. {use}{runtime}"),
        files=tuple(path for path, _ in importers),
        count=len(importers),
        subject=module,
    )
