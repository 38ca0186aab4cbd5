"""Two parses of a test module for all of its failures, where pytest parses it for each.

pytest formats a failure's traceback when it makes the report (`repr_failure`, bare or not,
whatever `--tb` the terminal later uses). To show each entry's statement it parses the entry's
whole source file (`getstatementrange_ast`), and it keeps the tree in `astcache`, a dict that
lives in one formatter (`FormattedExcinfo` in pytest 8, `ExceptionInfoFormatter` in pytest 9),
that is one failure: the next failure in the same module parses the module again. On the
bench's red suite (10,000 tests of which 500 fail, 40 modules of 290 lines) that was about 3 s
of a 15 s run under pytest 8.0.

While claimcheck's plugin is configured, every formatter's `astcache` also asks the session's
`SourceTrees`, which keeps a file's tree from the second failure that parses it on: a module
failing many times is parsed twice, not once per failure. A file parsed for one failure only is
remembered by its stamp, its tree left to die with its formatter as under bare pytest: a green
suite's few xfails (formatted like failures) would otherwise keep thousands of AST nodes per
module alive, which every full garbage collection of the test process walks and which make
those collections come sooner (20,000 tests under pytest 9.2: 12 full collections instead of
bare pytest's 11, about 0.3 s). A tree is used only while its file's size and modification time
are what they were when it was parsed (pytest's source lines come through `linecache`, which
checks the same two), and only the last `KEPT` files' trees are kept. The reports' text is the
same; the session's end (a config cleanup) puts pytest's class back. Where pytest's class does
not look as expected (no `astcache` field), nothing is changed.

A tree kept is then asked, once per traceback entry, where the entry's statement starts and
ends (`get_statement_startend2`). pytest before 9.2 walks the whole tree for each answer (2,400
nodes, about 1.5 ms, for each of the bench's modules; two answers per failure), where pytest
9.2 remembers the tree's sorted statement lines on the tree. While the plugin is configured,
`share_statement_lines` gives an older pytest the same memory, as pytest 9.2 keeps it (on the
node, so it lives and dies with the tree), and answers as that pytest's own code does, whose
walk and answer are the same in every release from 7.0 to 9.1. The bench's red suite under
pytest 8.0: claimcheck 8.66 s before, 7.65 s after (medians of 5 runs in turn; bare pytest 12.1 s).

Standard library and pytest only, like every module of the plugin.
"""

from __future__ import annotations

import ast
import os
from bisect import bisect_right
from typing import Any, Callable

KEPT = 16  # files whose trees are kept (failures come module by module)
PARSED_ONCE_KEPT = 64  # files parsed for one failure so far, remembered by their stamp only
FORMATTERS = ("ExceptionInfoFormatter", "FormattedExcinfo")  # pytest 9's name, pytest 8's


def _stamp(path: Any) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None  # not a file (`<string>`): its tree is not kept
    return status.st_mtime_ns, status.st_size


def _keep_newest(store: dict[Any, Any], key: Any, value: Any, kept: int) -> None:
    """Set `store[key]` as its newest entry and drop the oldest beyond `kept`."""
    store.pop(key, None)
    store[key] = value
    for oldest in list(store)[:len(store) - kept]:  # a copy: safe beside a thread
        store.pop(oldest, None)


class SourceTrees:
    """The session's trees: a file's tree is kept from the second failure that parses it.

    The first parse of a file is remembered by its stamp only, and its tree lives as long as
    pytest keeps it (in that failure's formatter): a suite whose modules fail once each, such
    as a green suite's xfails, keeps no tree alive beyond its failure, as under bare pytest
    (kept trees are thousands of objects each that every full garbage collection of the test
    process would walk, and make such collections come sooner). A file parsed again while it
    is unchanged is a module failing more than once: its tree is kept for the failures after.
    """

    def __init__(self, kept: int = KEPT, parsed_once_kept: int = PARSED_ONCE_KEPT) -> None:
        self.kept = kept
        self.parsed_once_kept = parsed_once_kept
        self.trees: dict[Any, tuple[tuple[int, int], Any]] = {}
        self.parsed_once: dict[Any, tuple[int, int]] = {}

    def tree(self, path: Any) -> Any:
        """The kept tree of `path`, if the file is as it was when parsed; else None."""
        kept = self.trees.get(path)
        if kept is None:
            return None
        stamp, tree = kept
        if _stamp(path) != stamp:
            self.trees.pop(path, None)  # the file changed since it was parsed
            return None
        return tree

    def parsed(self, path: Any, tree: Any) -> None:
        """pytest parsed `path` for a failure: keep its tree if it did so before."""
        stamp = _stamp(path)
        if stamp is None:
            return
        if self.parsed_once.pop(path, None) == stamp:
            _keep_newest(self.trees, path, (stamp, tree), self.kept)
        else:
            _keep_newest(self.parsed_once, path, stamp, self.parsed_once_kept)

    def clear(self) -> None:
        self.trees.clear()
        self.parsed_once.clear()


class FormatterTrees(dict):
    """One formatter's `astcache` (pytest calls `get` and sets items, nothing else): the trees
    it parsed itself, as pytest keeps them for one failure, then the session's."""

    def __init__(self, shared: SourceTrees) -> None:
        super().__init__()
        self.shared = shared

    def get(self, key: Any, default: Any = None) -> Any:
        tree = dict.get(self, key)
        if tree is None:
            tree = self.shared.tree(key)
        return default if tree is None else tree

    def __setitem__(self, key: Any, tree: Any) -> None:
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


def share_source_trees() -> Callable[[], None] | None:
    """Give every traceback formatter made from now on the session's `SourceTrees`; returns
    what puts pytest's class back, or None where nothing was changed."""
    formatter = formatter_class()
    fields = getattr(formatter, "__dataclass_fields__", {})
    params = getattr(formatter, "__dataclass_params__", None)
    if "astcache" not in fields or params is None or params.frozen:
        return None
    if getattr(formatter.__init__, "claimcheck_shares", False):
        return None  # already shared (a nested session); the outer one puts it back
    original = formatter.__init__
    trees = SourceTrees()

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.astcache = FormatterTrees(trees)

    __init__.claimcheck_shares = True  # type: ignore[attr-defined]
    formatter.__init__ = __init__

    def put_back() -> None:
        formatter.__init__ = original
        trees.clear()

    return put_back


# ----------------------------------------------------------------------------------------
# A tree's statement lines, found once (pytest 9.2 does so itself)

STATEMENT_LINES = "_claimcheck_statement_lines"  # the attribute a tree keeps them in


def statement_lines(node: ast.AST) -> list[int]:
    """The sorted 0-based lines where the statements under `node` start, as pytest's
    `get_statement_startend2` collects them (decorators count as their definition's start,
    and a `finally` or `else` block as a statement of its own), walked once per tree."""
    lines: list[int] | None = getattr(node, STATEMENT_LINES, None)
    if lines is not None:
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


def statement_start_end(lineno: int, node: ast.AST) -> tuple[int, int | None]:
    """pytest's `get_statement_startend2` before 9.2, answer for answer: the statement lines
    around `lineno` (a line before the first statement gets the last one, as there)."""
    lines = statement_lines(node)
    index = bisect_right(lines, lineno)
    start = lines[index - 1]
    end = lines[index] if index < len(lines) else None
    return start, end


def share_statement_lines() -> Callable[[], None] | None:
    """Have an older pytest find a tree's statement lines once (`statement_start_end`);
    returns what puts pytest's function back, or None where nothing was changed (pytest 9.2
    and later remember them itself, or the function is not where it was)."""
    try:
        from _pytest._code import source
    except ImportError:
        return None
    original = getattr(source, "get_statement_startend2", None)
    if (original is None or hasattr(source, "_statement_linenos")
            or original is statement_start_end):
        return None  # remembered by pytest, not found, or already shared (a nested session)
    source.get_statement_startend2 = statement_start_end

    def put_back() -> None:
        source.get_statement_startend2 = original

    return put_back
