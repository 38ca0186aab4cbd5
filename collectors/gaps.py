"""Which coordination gap a test belongs to, and the gaps x phases matrix.

A "gap" is a slice of the system where claims tend to outrun evidence (factory conflicts,
router fragmentation, WebSocket interface mismatches, service auth...). The matrix answers
"for each gap, what does each phase really say?", so nobody can call a gap closed while one
phase is red or has never run a test for it.

Membership rules (public contract, quoted by the README):

* A configured gap matches a test when any of its ``match`` globs matches the test's node id
  (case-insensitive, fnmatch syntax, over the whole node id, which starts with the file path:
  ``*factory*``, ``tests/integration/test_auth*``), or when the test carries any of its
  ``markers`` (marker names compare exactly, as pytest compares them).
* A test belongs to EVERY gap it matches. A test that matches none is counted under the gap
  ``unassigned``, shown as a row only when something landed there.
* A collection error belongs to the gaps its path matches (``match`` globs only: an error has
  no markers), otherwise to ``unassigned``.
* With no gaps configured, each test belongs to exactly one default gap, ``default_gap``,
  named after the area of code the test is about, from the file part of the node id (before
  ``::``), lower-cased so ``Auth`` and ``auth`` share a row. A leading ``src/`` or ``lib/`` is
  ignored. Generic test roots and phase names (``tests``, ``test``, ``testing``, ``unit``,
  ``integration``, ``e2e``, ``staging``, ``functional``, ``system``, ``acceptance``,
  ``smoke``, ``regression`` and the configured phase names) are not areas:

  - tests under such a folder belong to the first other folder below it
    (``tests/unit/websocket/test_manager.py``: ``websocket``), else to their module without a
    ``test_`` prefix or ``_test`` / ``_tests`` suffix (``tests/unit/test_auth.py`` and
    ``tests/integration/test_auth.py``: ``auth``; ``pkg/tests/test_auth.py``: ``auth``);
    when the test folder sits inside a subpackage, that subpackage
    (``scipy/linalg/tests/test_basic.py``: ``linalg``);
  - files beside the code (doctests, ``pkg/test_x.py``) belong to the subpackage below the
    top-level package, else to their module (``src/pkg/auth.py``: ``auth``;
    ``pkg/routers/agents.py``: ``routers``; ``pkg/__init__.py``: ``pkg``).

  The title is the name.

Cells count what pytest said: passed, xfailed and xpassed count as passed; test errors and
collection errors count as error; skips are counted but are not evidence. A row is ``red``
when any cell failed or errored, ``no-evidence`` when no cell executed a test, else ``green``.
A cell reads the same everywhere (``cell_words``): ``✖ 3/12`` (3 of the 12 that ran failed or
errored), ``✔ 12`` (12 ran, none failed), ``no evidence`` (no test of the gap ran in the phase;
``no evidence (4 skip)`` when its tests were all skipped).

``MatrixBuilder`` is the single code path: ``judge_gaps`` feeds it finished runs for a report,
the live model feeds it results as they stream in and redraws only the cells ``add_result``
says it touched. Either way it remembers which gaps each test landed in (``gaps_of``), so a
test is classified once.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from claimcheck.collectors.config import GapConfig
from claimcheck.collectors.models import (
    UNASSIGNED_GAP,
    CollectionError,
    GapCell,
    GapRow,
    GapStatus,
    PhaseRun,
    TestResult,
)

GENERIC_TEST_FOLDERS: frozenset[str] = frozenset(
    {
        "tests", "test", "testing", "unit", "integration", "e2e", "staging", "functional",
        "system", "acceptance", "smoke", "regression",
    }
)

# Which GapCell field each pytest outcome adds to. Unknown outcomes are not evidence.
_BUCKET: dict[str, str] = {
    "passed": "passed",
    "xfailed": "passed",
    "xpassed": "passed",
    "failed": "failed",
    "error": "error",
    "skipped": "skipped",
}


# ----------------------------------------------------------------------------------------
# Membership


def _star_match(text: str, segments: tuple[str, ...]) -> bool:
    """fnmatch for a glob whose only wildcard is `*`, split on it: no regex, no backtracking."""
    if len(segments) == 1:
        return text == segments[0]
    first, last = segments[0], segments[-1]
    if not text.startswith(first) or not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    if end < position:
        return False
    for segment in segments[1:-1]:
        found = text.find(segment, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


@dataclass(frozen=True)
class _GapMatcher:
    """A gap's rules compiled once, cheapest test first.

    Most globs are `prefix*`, `*word*` or `*suffix`; those become single C-level string calls
    (str.startswith takes a tuple), so 20,000 node ids x 20 gaps classify in a fraction of a
    second. Other `*`-only globs use `_star_match`; globs with `?` or `[` fall back to a regex.
    """

    name: str
    markers: frozenset[str]
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    contains: tuple[str, ...]
    star_globs: tuple[tuple[str, tuple[str, ...]], ...]  # (longest literal, segments)
    regex: re.Pattern[str] | None

    def matches(self, lowered: str, markers: Sequence[str]) -> bool:
        if self.prefixes and lowered.startswith(self.prefixes):
            return True
        for word in self.contains:
            if word in lowered:
                return True
        if self.suffixes and lowered.endswith(self.suffixes):
            return True
        if lowered in self.exact:
            return True
        for longest, segments in self.star_globs:
            if longest in lowered and _star_match(lowered, segments):
                return True
        if self.regex is not None and self.regex.match(lowered) is not None:
            return True
        return bool(markers) and not self.markers.isdisjoint(markers)


@lru_cache(maxsize=1024)
def _compile_gap(gap: GapConfig) -> _GapMatcher:
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    contains: list[str] = []
    star_globs: list[tuple[str, tuple[str, ...]]] = []
    others: list[str] = []
    for pattern in gap.match:
        lowered = pattern.lower()
        if "?" in lowered or "[" in lowered:
            others.append(lowered)
            continue
        segments = tuple(lowered.split("*"))
        inner = [segment for segment in segments if segment]
        if len(segments) == 1:
            exact.add(lowered)
        elif not inner:
            prefixes.append("")  # "*" alone matches everything
        elif len(inner) == 1 and segments[-1] == "" and segments[0] == inner[0]:
            prefixes.append(inner[0])
        elif len(inner) == 1 and segments[0] == "" and segments[-1] == inner[0]:
            suffixes.append(inner[0])
        elif len(inner) == 1 and segments[0] == "" and segments[-1] == "":
            contains.append(inner[0])
        else:
            star_globs.append((max(inner, key=len), segments))
    regex = None
    if others:
        body = "|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in others)
        regex = re.compile(body, re.IGNORECASE | re.DOTALL)
    return _GapMatcher(
        name=gap.name,
        markers=frozenset(gap.markers),
        exact=frozenset(exact),
        prefixes=tuple(prefixes),
        suffixes=tuple(suffixes),
        contains=tuple(contains),
        star_globs=tuple(star_globs),
        regex=regex,
    )


def node_path(nodeid: str) -> str:
    """The file part of a node id: what precedes the first ``::``."""
    return nodeid.split("::", 1)[0]


def _strip_test_affixes(stem: str) -> str:
    lowered = stem.lower()
    if lowered.startswith("test_") and len(stem) > 5:
        return stem[5:]
    for suffix in ("_tests", "_test"):
        if lowered.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


SOURCE_ROOTS: frozenset[str] = frozenset({"src", "lib"})


@lru_cache(maxsize=16384)
def _default_gap_for_path(path: str, phase_names: frozenset[str]) -> str:
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    if parts and parts[0].lower() in SOURCE_ROOTS and len(parts) > 1:
        parts = parts[1:]
    if not parts:
        return UNASSIGNED_GAP
    is_module = parts[-1].endswith(".py")
    folders = [part.lower() for part in (parts[:-1] if is_module else parts)]
    stem = _strip_test_affixes(parts[-1][:-3]).lower() if is_module else None
    dropped = GENERIC_TEST_FOLDERS | phase_names
    test_root = next((index for index, folder in enumerate(folders) if folder in dropped), None)
    if test_root is None:
        # Beside the code (a doctest, `pkg/test_x.py`): below the top-level package, the
        # subpackage, else the module; `__init__` stands for its package.
        inside = folders[1:]
        if inside:
            return inside[0]
        if stem is not None and stem != "__init__":
            return stem
        return folders[0] if folders else parts[-1].lower()
    before, after = folders[:test_root], folders[test_root + 1:]
    if len(before) >= 2:
        return before[1]  # scipy/linalg/tests/test_basic.py: "linalg", not "scipy"
    topic = next((folder for folder in after if folder not in dropped), None)
    if topic is not None:
        return topic
    if stem is not None:
        return stem
    return folders[-1]  # a folder-only path (a package's collection error) of generic names


def default_gap(nodeid: str, phase_names: Iterable[str] = ()) -> str:
    """The gap a test lands in when none are configured (rule in the module docstring)."""
    names = frozenset(name.lower() for name in phase_names)
    return _default_gap_for_path(node_path(nodeid), names)


def _configured_gaps(
    text: str, markers: Sequence[str], matchers: Sequence[_GapMatcher]
) -> tuple[str, ...]:
    lowered = text.lower()
    names = tuple(matcher.name for matcher in matchers if matcher.matches(lowered, markers))
    return names or (UNASSIGNED_GAP,)


def gaps_for_test(
    result: TestResult, gaps: Sequence[GapConfig], phase_names: Iterable[str] = ()
) -> tuple[str, ...]:
    """Every gap a test belongs to; ``("unassigned",)`` when none match."""
    return test_gap_namer(gaps, phase_names)(result.nodeid, result.markers)


def test_gap_namer(
    gaps: Sequence[GapConfig], phase_names: Iterable[str] = ()
) -> Callable[[str, Sequence[str]], tuple[str, ...]]:
    """`gaps_for_test` with the configuration compiled once: (node id, markers) -> gap names.

    For a report of 20,000 tests, where compiling per call would cost a tenth of a second.
    """
    if gaps:
        matchers = [_compile_gap(gap) for gap in gaps]
        return lambda nodeid, markers: _configured_gaps(nodeid, markers, matchers)
    key = frozenset(name.lower() for name in phase_names)
    return lambda nodeid, markers: (_default_gap_for_path(node_path(nodeid), key),)


test_gap_namer.__test__ = False  # type: ignore[attr-defined]  # a factory, not a pytest test


def gaps_for_path(
    path: str, gaps: Sequence[GapConfig], phase_names: Iterable[str] = ()
) -> tuple[str, ...]:
    """The gaps a collection error (or any node id without markers) belongs to."""
    return test_gap_namer(gaps, phase_names)(path, ())


# ----------------------------------------------------------------------------------------
# The matrix


def row_status(cells: Iterable[GapCell]) -> GapStatus:
    """red beats everything; a row whose cells never executed a test is no-evidence."""
    cells = list(cells)
    if any(cell.failed or cell.error for cell in cells):
        return "red"
    if not any(cell.has_evidence for cell in cells):
        return "no-evidence"
    return "green"


NO_EVIDENCE = "no evidence"


def cell_status(cell: GapCell | None) -> GapStatus:
    """One cell judged as a row is: red, no-evidence (nothing ran, skips included) or green."""
    return row_status([cell]) if cell is not None else "no-evidence"


def cell_words(cell: GapCell | None) -> str:
    """What a matrix cell says, in the TUI and in every report alike.

    `✖ 3/12`: 3 of the 12 tests that ran failed or errored. `✔ 12`: 12 ran, none failed.
    `no evidence`: no test of this gap ran in this phase (`(4 skip)`: its 4 tests were skipped),
    which is never green.
    """
    if cell is None or not cell.has_evidence:
        skipped = cell.skipped if cell is not None else 0
        return f"{NO_EVIDENCE} ({skipped} skip)" if skipped else NO_EVIDENCE
    bad = cell.failed + cell.error
    return f"✖ {bad}/{cell.ran}" if bad else f"✔ {cell.ran}"


@dataclass
class _MutableCell:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0

    def add(self, bucket: str, amount: int) -> None:
        setattr(self, bucket, getattr(self, bucket) + amount)

    def freeze(self) -> GapCell:
        return GapCell(self.passed, self.failed, self.error, self.skipped)


class MatrixBuilder:
    """Incremental gaps x phases counts shared by the report and the TUI.

    Adding the same test (or collection error) twice in one phase replaces the earlier outcome,
    so a streamed result followed by the phase's final run never double counts.
    """

    def __init__(self, gaps: Sequence[GapConfig], phase_names: Sequence[str] = ()) -> None:
        self.gaps: tuple[GapConfig, ...] = tuple(gaps)
        self._phases: list[str] = []
        self._phase_set: frozenset[str] = frozenset()
        self._phase_key: frozenset[str] = frozenset()  # lower-cased, for default grouping
        self._cells: dict[str, dict[str, _MutableCell]] = {}
        # (phase, "test"|"error", nodeid) -> (gap names, bucket), to replace on re-add
        self._seen: dict[tuple[str, str, str], tuple[tuple[str, ...], str]] = {}
        self._matchers = tuple(_compile_gap(gap) for gap in self.gaps)
        for phase in phase_names:
            self.add_phase(phase)

    @property
    def phases(self) -> tuple[str, ...]:
        return tuple(self._phases)

    def add_phase(self, phase: str) -> None:
        """Make every row show a cell for `phase`, even before (or without) any result."""
        if phase not in self._phase_set:
            self._phases.append(phase)
            self._phase_set = frozenset(self._phases)
            self._phase_key = frozenset(name.lower() for name in self._phases)

    def reset_phase(self, phase: str) -> None:
        """Forget everything recorded for `phase` (a rerun starts from an empty column)."""
        self.add_phase(phase)
        for key in [key for key in self._seen if key[0] == phase]:
            names, bucket = self._seen.pop(key)
            for name in names:
                self._cells[name][phase].add(bucket, -1)

    def add_result(self, phase: str, result: TestResult) -> tuple[str, ...]:
        """Count one test's outcome; returns the gap names whose cell changed."""
        bucket = _BUCKET.get(result.outcome)
        if bucket is None:
            return ()
        self.add_phase(phase)  # before grouping: the phase's own name is a generic folder
        if self.gaps:
            names = _configured_gaps(result.nodeid, result.markers, self._matchers)
        else:
            names = (_default_gap_for_path(node_path(result.nodeid), self._phase_key),)
        return self._record(phase, ("test", result.nodeid), names, bucket)

    def add_collection_error(self, phase: str, error: CollectionError) -> tuple[str, ...]:
        """Count a file that could not be collected as one error in each gap its path matches."""
        self.add_phase(phase)
        if self.gaps:
            names = _configured_gaps(error.path, (), self._matchers)
        else:
            names = (_default_gap_for_path(node_path(error.path), self._phase_key),)
        return self._record(phase, ("error", error.path), names, "error")

    def add_run(self, run: PhaseRun) -> None:
        """Replace the phase's column with a finished (or snapshotted) run."""
        self.reset_phase(run.name)
        for result in run.tests:
            self.add_result(run.name, result)
        for error in run.collection_errors:
            self.add_collection_error(run.name, error)

    def _record(
        self, phase: str, key: tuple[str, str], names: tuple[str, ...], bucket: str
    ) -> tuple[str, ...]:
        self.add_phase(phase)
        seen_key = (phase, *key)
        previous = self._seen.get(seen_key)
        touched = list(names)
        if previous is not None:
            old_names, old_bucket = previous
            for name in old_names:
                self._cells[name][phase].add(old_bucket, -1)
            touched += [name for name in old_names if name not in names]
        for name in names:
            self._cells.setdefault(name, {}).setdefault(phase, _MutableCell()).add(bucket, 1)
        self._seen[seen_key] = (names, bucket)
        return tuple(touched)

    def gaps_of(self, phase: str, nodeid: str, *, collection_error: bool = False
                ) -> tuple[str, ...]:
        """The gaps a test (or a collection error) of `phase` was counted in; () if never added."""
        seen = self._seen.get((phase, "error" if collection_error else "test", nodeid))
        return seen[0] if seen is not None else ()

    def test_gaps(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """phase -> node id -> gap names, for every test added (collection errors left out)."""
        membership: dict[str, dict[str, tuple[str, ...]]] = {}
        for (phase, kind, nodeid), (names, _) in self._seen.items():
            if kind == "test":
                membership.setdefault(phase, {})[nodeid] = names
        return membership

    def cell(self, gap: str, phase: str) -> GapCell:
        cell = self._cells.get(gap, {}).get(phase)
        return cell.freeze() if cell is not None else GapCell()

    def row(self, name: str) -> GapRow:
        title = next((gap.title for gap in self.gaps if gap.name == name), name)
        cells = {phase: self.cell(name, phase) for phase in self._phases}
        return GapRow(name=name, title=title, status=row_status(cells.values()), cells=cells)

    def row_names(self) -> tuple[str, ...]:
        """Configured order then `unassigned` if used; default grouping sorted by name."""
        if not self.gaps:
            return tuple(sorted(name for name in self._cells if self._landed(name)))
        names = [gap.name for gap in self.gaps]
        if UNASSIGNED_GAP not in names and self._landed(UNASSIGNED_GAP):
            names.append(UNASSIGNED_GAP)
        return tuple(names)

    def rows(self) -> tuple[GapRow, ...]:
        return tuple(self.row(name) for name in self.row_names())

    def _landed(self, name: str) -> bool:
        return any(cell.freeze().total for cell in self._cells.get(name, {}).values())


def gap_matrix(runs: Sequence[PhaseRun], gaps: Sequence[GapConfig]) -> tuple[GapRow, ...]:
    """One row per gap with a cell for every phase run (an empty cell means no evidence)."""
    return judge_gaps(runs, gaps)[0]


def judge_gaps(
    runs: Sequence[PhaseRun], gaps: Sequence[GapConfig]
) -> tuple[tuple[GapRow, ...], dict[str, dict[str, tuple[str, ...]]]]:
    """The matrix and each test's gaps, from one classification of every test."""
    builder = MatrixBuilder(gaps, [run.name for run in runs])
    for run in runs:
        builder.add_run(run)
    return builder.rows(), builder.test_gaps()
