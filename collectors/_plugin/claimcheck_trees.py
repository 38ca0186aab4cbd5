"""A test module's statement lines, found once and remembered between runs, where pytest parses
the whole module for each failure.

pytest formats a failure's traceback when it makes the report (`repr_failure`, bare or not,
whatever `--tb` the terminal later uses), an xfail's too. To show each entry's statement it
parses the entry's whole source file (`getstatementrange_ast`) and asks the tree where the
statement around the entry's line starts and ends (`get_statement_startend2`): the only thing
it reads from the tree is the sorted list of lines where statements start. It keeps the tree in
`astcache`, a dict that lives in one formatter (`FormattedExcinfo` in pytest 8,
`ExceptionInfoFormatter` in pytest 9), that is one failure: the next failure in the same module
parses it again. And pytest before 9.2 walks the whole tree again for every answer (pytest 9.2
keeps the list on the tree). On the bench's suites (modules of 290 lines) a parse takes about 4
ms and a walk 1.5 ms: bare pytest spends 110 to 160 ms on the 15 xfails of 3,000 passing tests
(6 to 8% of the run), and seconds on a red suite.

While claimcheck's plugin is configured, every formatter's `astcache` also asks the session's
`StatementLines`, which keeps each file's statement lines (a list of ints, nothing the garbage
collector walks) from its first parse on and hands pytest a stand-in tree that carries only
them (`statement_stub`); pytest reads nothing else from a tree, in every release from 7.0 to
9.2, and the plugin checks once per session that its pytest answers from the stand-in (where it
does not, nothing is changed). Lines are used only while their file's modification time and
size are what they were when it was parsed (pytest's source lines come through `linecache`,
which checks the same two). When claimcheck names a folder for them (`CLAIMCHECK_STATEMENTS`,
beside its remembered starts) the lines are also kept there between runs, one small JSON file
per project folder and Python, written at the session's end only when a file was parsed: the
next run of an unchanged module parses nothing to format its failures. The reports' text is
the same; the session's end (a config cleanup) puts pytest's class and function back.

For a pytest before 9.2, `share_source_trees` also has `get_statement_startend2` find a
tree's lines once (`statement_start_end`), keeping them on the tree as pytest 9.2 does, and
answer as that pytest's own code does (its walk and its answer are the same in every release
from 7.0 to 9.1). The bench's red suite under pytest 8.0 with that alone: claimcheck 8.66 s
before, 7.65 s after (medians of 5 runs in turn; bare pytest 12.1 s).

Standard library and pytest only, like every module of the plugin.
"""

from __future__ import annotations

import ast
import os
import sys
from bisect import bisect_right
from typing import Any, Callable

KEPT = 2_000  # files whose statement lines are kept, in the session and between runs
FORMATTERS = ("ExceptionInfoFormatter", "FormattedExcinfo")  # pytest 9's name, pytest 8's
STATEMENT_LINES = "_claimcheck_statement_lines"  # the attribute a tree keeps its lines in
PYTEST_LINES = "_pytest_statement_linenos"  # pytest 9.2's own attribute for them
STORE_FORMAT = 1  # the kept file's format; another is not read


def _stamp(path: Any) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None  # not a file (`<string>`): its lines are not kept
    return status.st_mtime_ns, status.st_size


# ----------------------------------------------------------------------------------------
# A tree's statement lines


def statement_lines(node: ast.AST) -> list[int]:
    """The sorted 0-based lines where the statements under `node` start, as pytest's
    `get_statement_startend2` collects them (decorators count as their definition's start,
    and a `finally` or `else` block as a statement of its own), walked once per tree."""
    for name in (STATEMENT_LINES, PYTEST_LINES):
        lines = getattr(node, name, None)
        if isinstance(lines, list):
            return lines
    lines = []
    for child in ast.walk(node):
        if isinstance(child, (ast.stmt, ast.ExceptHandler)):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                lines.extend(decorator.lineno - 1 for decorator in child.decorator_list)
            lines.append(child.lineno - 1)
            for name in ("finalbody", "orelse"):
                block = getattr(child, name, None)
                if block:
                    lines.append(block[0].lineno - 1 - 1)
    lines.sort()
    try:
        setattr(node, STATEMENT_LINES, lines)
    except AttributeError:  # a node that takes no attributes: walked again next time
        pass
    return lines


def statement_stub(lines: list[int]) -> ast.Module:
    """A tree with no statements that carries `lines`, where pytest (or
    `statement_start_end`) looks for a tree's statement lines before walking it."""
    stub = ast.Module(body=[], type_ignores=[])
    setattr(stub, STATEMENT_LINES, lines)
    setattr(stub, PYTEST_LINES, lines)
    return stub


def statement_start_end(lineno: int, node: ast.AST) -> tuple[int, int | None]:
    """pytest's `get_statement_startend2` before 9.2, answer for answer: the statement lines
    around `lineno` (a line before the first statement gets the last one, as there)."""
    lines = statement_lines(node)
    index = bisect_right(lines, lineno)
    start = lines[index - 1]
    end = lines[index] if index < len(lines) else None
    return start, end


def _answers_from_stubs(source: Any) -> bool:
    """Whether this pytest answers from a stand-in tree's lines (and so reads them, not the
    tree's statements); pytest 9.2 and the shared function do."""
    try:
        return source.get_statement_startend2(3, statement_stub([0, 5, 9])) == (0, 5)
    except Exception:  # noqa: BLE001 - another pytest, another shape: leave it alone
        return False


# ----------------------------------------------------------------------------------------
# The session's lines, and the file that keeps them between runs


def store_path(folder: str, rootdir: str) -> str:
    """The file keeping a project's statement lines for this Python: one per project folder
    (a checksum of its path) and interpreter kind (`cpython-311`)."""
    import hashlib

    digest = hashlib.sha256(rootdir.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return os.path.join(folder, f"{digest}-{sys.implementation.cache_tag}.json")


class StatementLines:
    """Each file's statement lines from its first parse on, while the file is unchanged; read
    from `store` (a file kept between runs) at the first failure, written back at `save` when
    a file was parsed."""

    def __init__(self, store: str | None = None, kept: int = KEPT) -> None:
        self.store = store
        self.kept = kept
        self.lines: dict[str, tuple[tuple[int, int], list[int]]] = {}
        self.loaded = store is None
        self.parsed_any = False

    def tree(self, path: Any) -> ast.Module | None:
        """A stand-in tree with `path`'s lines, if the file is as it was when parsed."""
        if not self.loaded:
            self._load()
        key = str(path)
        kept = self.lines.get(key)
        if kept is None:
            return None
        if _stamp(path) != kept[0]:
            self.lines.pop(key, None)  # the file changed since it was parsed
            return None
        return statement_stub(kept[1])

    def parsed(self, path: Any, tree: Any) -> None:
        """pytest has a tree of `path` (parsed, or the stand-in handed back): keep its lines."""
        stamp = _stamp(path)
        if stamp is None:
            return
        key = str(path)
        kept = self.lines.get(key)
        if kept is not None and kept[0] == stamp:
            return
        lines = statement_lines(tree)
        self.lines.pop(key, None)
        self.lines[key] = (stamp, lines)
        for oldest in list(self.lines)[:len(self.lines) - self.kept]:  # a copy, beside a thread
            self.lines.pop(oldest, None)
        self.parsed_any = True

    def _load(self) -> None:
        import json

        self.loaded = True
        try:
            with open(self.store, encoding="utf-8") as handle:  # type: ignore[arg-type]
                kept = json.load(handle)
            files = kept["files"] if kept.get("format") == STORE_FORMAT else {}
            for key, (mtime_ns, size, lines) in files.items():
                if (isinstance(key, str) and type(mtime_ns) is int and type(size) is int
                        and isinstance(lines, list) and lines
                        and all(type(line) is int for line in lines) and lines == sorted(lines)):
                    self.lines.setdefault(key, ((mtime_ns, size), lines))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass  # none yet, or not one this plugin wrote: the lines are found as pytest does

    def save(self) -> None:
        """Write the kept lines to `store` (atomically, readable by this user only) when a
        file was parsed in this session; never an error for the test run."""
        if self.store is None or not self.parsed_any:
            return
        import json

        files = {key: [stamp[0], stamp[1], lines]
                 for key, (stamp, lines) in list(self.lines.items())[-self.kept:]}
        temporary = f"{self.store}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.store), mode=0o700, exist_ok=True)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump({"format": STORE_FORMAT, "files": files}, handle,
                          separators=(",", ":"))
            os.replace(temporary, self.store)
        except (OSError, ValueError):
            try:
                os.unlink(temporary)
            except OSError:
                pass
        self.parsed_any = False


class FormatterTrees(dict):
    """One formatter's `astcache` (pytest calls `get` and sets items, nothing else): the trees
    it parsed itself, as pytest keeps them for one failure, then the session's lines."""

    def __init__(self, shared: StatementLines) -> None:
        super().__init__()
        self.shared = shared

    def get(self, key: Any, default: Any = None) -> Any:
        tree = dict.get(self, key)
        if tree is None:
            tree = self.shared.tree(key)
            if tree is not None:
                dict.__setitem__(self, key, tree)  # the session's: pytest hands it back
        return default if tree is None else tree

    def __setitem__(self, key: Any, tree: Any) -> None:
        """pytest keeps the tree it used for an entry: one it parsed goes to the session's
        lines too, one this formatter gave it (`get`) is already there."""
        if dict.get(self, key) is tree:
            return
        dict.__setitem__(self, key, tree)
        self.shared.parsed(key, tree)


def formatter_class() -> Any:
    """pytest's traceback formatter, where it has one of the names it had."""
    try:
        from _pytest._code import code
    except ImportError:
        return None
    for name in FORMATTERS:
        found = getattr(code, name, None)
        if isinstance(found, type):
            return found
    return None


def share_source_trees(store: str | None = None) -> Callable[[], None] | None:
    """Give every traceback formatter made from now on the session's `StatementLines` (kept
    in `store` between runs, when given), and an older pytest's `get_statement_startend2`
    its lines found once; returns what puts pytest's class and function back and writes the
    lines, or None where nothing was changed."""
    try:
        from _pytest._code import source
    except ImportError:
        return None
    formatter = formatter_class()
    fields = getattr(formatter, "__dataclass_fields__", {})
    params = getattr(formatter, "__dataclass_params__", None)
    if "astcache" not in fields or params is None or params.frozen:
        return None
    if getattr(formatter.__init__, "claimcheck_shares", False):
        return None  # already shared (a nested session); the outer one puts it back
    function = getattr(source, "get_statement_startend2", None)
    if function is None:
        return None
    if not hasattr(source, "_statement_linenos"):  # before pytest 9.2: walked per answer
        source.get_statement_startend2 = statement_start_end
    if not _answers_from_stubs(source):
        source.get_statement_startend2 = function
        return None
    original = formatter.__init__
    lines = StatementLines(store)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.astcache = FormatterTrees(lines)

    __init__.claimcheck_shares = True  # type: ignore[attr-defined]
    formatter.__init__ = __init__

    def put_back() -> None:
        formatter.__init__ = original
        source.get_statement_startend2 = function
        lines.save()

    return put_back
