"""claimcheck's test selection inside a pytest session, for `claimcheck verify` only.

Loaded with `-p claimcheck_select` (this folder is on PYTHONPATH for every phase), possibly
under another interpreter than claimcheck's, so it imports nothing but the standard library
and pytest. It does nothing unless one of its variables is set:

`CLAIMCHECK_LIST_DIR`   (with `--collect-only`) every collected item, after the project's own
                        -k/-m/--deselect, is written to `<dir>/<pid>-<n>.jsonl` as
                        {"nodeid", "markers"}: claimcheck decides which belong to a gap with
                        the same rule as its matrix (collectors/gaps.py), outside pytest.
`CLAIMCHECK_SELECT_FILE` a JSON list of node ids: every other item is deselected (reported
                        through `pytest_deselected`, so counts stay honest), and files and
                        folders holding none of them are not even collected, so a verify costs
                        its gap's share of the suite rather than the whole collection.

Marker names are read exactly as claimcheck_stream reads them, so the gap a test is selected
into is the gap its result is counted under.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

ENV_LIST_DIR = "CLAIMCHECK_LIST_DIR"
ENV_SELECT_FILE = "CLAIMCHECK_SELECT_FILE"
_sequence = itertools.count(1)


def _markers_of(item: Any) -> list[str]:
    return list(dict.fromkeys(mark.name for mark in item.iter_markers()))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    select = os.environ.get(ENV_SELECT_FILE)
    if select:
        config.pluginmanager.register(_Selector(config, select), "claimcheck_selector")
    listing = os.environ.get(ENV_LIST_DIR)
    if listing and getattr(config, "workerinput", None) is None:
        config.pluginmanager.register(_Lister(listing), "claimcheck_lister")


class _Lister:
    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, f"{os.getpid()}-{next(_sequence)}.jsonl")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        with open(self.path, "w", encoding="utf-8") as handle:
            for item in session.items:
                handle.write(json.dumps({"nodeid": item.nodeid,
                                         "markers": _markers_of(item)}) + "\n")


class _Selector:
    def __init__(self, config: pytest.Config, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            self.wanted: frozenset[str] = frozenset(json.load(handle))
        root = Path(str(config.rootpath))
        files = {(root / nodeid.split("::", 1)[0]) for nodeid in self.wanted}
        # Prune collection only when every selected id names a real file under the rootdir:
        # anything else (a doctest text file, an id from another rootdir) collects everything.
        self.files: frozenset[Path] | None = (
            frozenset(files) if files and all(path.is_file() for path in files) else None)
        self.folders: frozenset[Path] = frozenset(
            parent for path in (self.files or ()) for parent in path.parents)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        if self.files is None:
            return None
        if collection_path.name in ("conftest.py", "__init__.py"):
            return None
        if collection_path in self.files or collection_path in self.folders:
            return None
        return True  # a file or folder holding no selected test

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        kept = [item for item in items if item.nodeid in self.wanted]
        dropped = [item for item in items if item.nodeid not in self.wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept
