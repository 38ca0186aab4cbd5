"""One parse of a test module for all of its failures, where pytest parses it for each.

pytest formats a failure's traceback when it makes the report (`repr_failure`, bare or not,
whatever `--tb` the terminal later uses). To show each entry's statement it parses the entry's
whole source file (`getstatementrange_ast`), and it keeps the tree in `astcache`, a dict that
lives in one formatter (`FormattedExcinfo` in pytest 8, `ExceptionInfoFormatter` in pytest 9),
that is one failure: the next failure in the same module parses the module again. On the
bench's red suite (10,000 tests of which 500 fail, 40 modules of 290 lines) that was about 3 s
of a 15 s run under pytest 8.0.

While claimcheck's plugin is configured, every formatter gets one shared `SourceTrees`
instead: the same trees, parsed once while the file is unchanged. A tree is used only while its
file's size and modification time are what they were when it was parsed (pytest's source lines
come through `linecache`, which checks the same two), and only the last `KEPT` files' trees are
kept. The reports' text is the same; the session's end (a config cleanup) puts pytest's class
back. Where pytest's class does not look as expected (no `astcache` field), nothing is changed.

Standard library and pytest only, like every module of the plugin.
"""

from __future__ import annotations

import os
from typing import Any, Callable

KEPT = 16  # files whose trees are kept (failures come module by module)
FORMATTERS = ("ExceptionInfoFormatter", "FormattedExcinfo")  # pytest 9's name, pytest 8's


def _stamp(path: Any) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None  # not a file (`<string>`): its tree is not kept
    return status.st_mtime_ns, status.st_size


class SourceTrees(dict):
    """path -> (stamp, parsed tree); pytest calls `get` and sets items, nothing else, and gets
    the tree only while the file is as it was parsed."""

    def __init__(self, kept: int = KEPT) -> None:
        super().__init__()
        self.kept = kept

    def get(self, key: Any, default: Any = None) -> Any:
        kept = dict.get(self, key)
        if kept is None:
            return default
        stamp, tree = kept
        if _stamp(key) != stamp:
            self.pop(key, None)  # the file changed since it was parsed
            return default
        return tree

    def __setitem__(self, key: Any, tree: Any) -> None:
        stamp = _stamp(key)
        if stamp is None:
            return
        self.pop(key, None)  # the newest last: the oldest is dropped first
        dict.__setitem__(self, key, (stamp, tree))
        for oldest in list(self)[:len(self) - self.kept]:  # a copy: safe beside a thread
            self.pop(oldest, None)


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
    """Give every traceback formatter made from now on one `SourceTrees`; returns what puts
    pytest's class back, or None where nothing was changed."""
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
        self.astcache = trees

    __init__.claimcheck_shares = True  # type: ignore[attr-defined]
    formatter.__init__ = __init__

    def put_back() -> None:
        formatter.__init__ = original
        trees.clear()

    return put_back
