"""The static source audits as one step of judging a run, and as a question verify/claim ask.

`audit_findings` is the one call `session.collect_findings` makes: it indexes the project's
source (cached, see `collectors.source_index`), adds the single-source and deprecated-import
findings, tells each which gaps it concerns, and drops the runtime deprecation findings a
deprecated-import finding now stands for. `single_source_violations` answers "does gap G's
set of files hold a broken single-source rule?" for `verify` and `claim`.

Which gaps a finding concerns: with gaps configured, every gap whose ``match`` globs match one
of the finding's files (the same case-insensitive globs as for node ids, which start with a
path); with the default grouping, every gap of this run whose name is a folder, a module stem,
or a ``_``-separated part of one, on a file's path (``websocket`` for
``app/websocket_manager.py``). A duplicate definition concerns the files that define the name;
a deprecated import the files that still import it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterable, Sequence

from claimcheck.collectors.config import Config
from claimcheck.collectors.deprecated_imports import deprecated_import_findings
from claimcheck.collectors.gaps import gaps_for_path, test_gap_namer
from claimcheck.collectors.models import UNASSIGNED_GAP, Finding, PhaseRun, audit_error
from claimcheck.collectors.single_source import (
    duplicate_definitions,
    possible_duplicates,
)
from claimcheck.collectors.source_index import SourceIndex, load_index

_WORD_SPLIT = re.compile(r"[_\-.\s]+")


def audit_findings(config: Config, runs: Sequence[PhaseRun],
                   findings: Sequence[Finding]) -> list[Finding]:
    """`findings` with the static audits' findings added; runtime duplicates folded in."""
    try:
        index = load_index(config.root)
        found, absorbed = _audit(index, config, runs)
        index.save()
    except Exception as error:  # noqa: BLE001 - the rest of the evidence must still be reported
        return [*findings, audit_error("The static source audit", error)]
    drop = set(absorbed)
    kept = [finding for finding in findings if finding not in drop]
    gap_names = _run_gap_names(config, runs)
    return kept + [_with_gaps(finding, config, gap_names) for finding in found]


def warm_source_index(config: Config) -> None:
    """Read the project's sources into the cache while the phases run, so the audit after
    them reads the cache instead (Django's 2,822 files: 1.3 s cold, 0.26 s warm). Runs on a
    thread beside pytest; whatever goes wrong here, `audit_findings` meets it again and says so.
    """
    try:
        index = load_index(config.root)
        _audit(index, config, ())  # the facts the audits read are cached with the scan
        index.save()
    except Exception:  # noqa: BLE001, S110 - only a head start: the audit itself reports errors
        pass


def _audit(index: SourceIndex, config: Config, runs: Sequence[PhaseRun]
           ) -> tuple[list[Finding], list[Finding]]:
    found: list[Finding] = []
    if config.single_source:
        found += duplicate_definitions(index, config.single_source)
    elif config.single_source is None:
        found += possible_duplicates(index)
    deprecated, absorbed = deprecated_import_findings(index, runs)
    return found + deprecated, absorbed


def single_source_violations(config: Config, gap: str | None = None, *,
                             runs: Sequence[PhaseRun] = (),
                             index: SourceIndex | None = None) -> list[Finding]:
    """The broken single-source rules (`duplicate-definition`, `single-source-missing`).

    With `gap`, only the duplicate definitions whose defining files belong to that gap: a
    claim that gap G is fixed is not to be accepted while this returns anything. `runs` give
    the gap names of the default grouping (unneeded when gaps are configured).
    """
    if not config.single_source:
        return []
    index = index or load_index(config.root)
    findings = duplicate_definitions(index, config.single_source)
    index.save()
    gap_names = _run_gap_names(config, runs)
    findings = [_with_gaps(finding, config, gap_names) for finding in findings]
    if gap is None:
        return findings
    return [finding for finding in findings if gap in finding.gaps]


# ----------------------------------------------------------------------------------------


def _run_gap_names(config: Config, runs: Sequence[PhaseRun]) -> tuple[str, ...]:
    """The gaps of the default grouping that this run's tests landed in."""
    if config.gaps:
        return ()
    namer = test_gap_namer((), [run.name for run in runs])
    names: dict[str, None] = {}
    for run in runs:
        for test in run.tests:
            names.update(dict.fromkeys(namer(test.nodeid, ())))
        for error in run.collection_errors:
            names.update(dict.fromkeys(namer(error.path, ())))
    return tuple(name for name in names if name != UNASSIGNED_GAP)


def gaps_of_files(files: Iterable[str], config: Config, gap_names: Sequence[str] = ()
                  ) -> tuple[str, ...]:
    """The gaps a set of source files belongs to (rules in the module docstring)."""
    files = list(files)
    if config.gaps:
        touched = {name for path in files for name in gaps_for_path(path, config.gaps)}
        return tuple(gap.name for gap in config.gaps if gap.name in touched)
    found = []
    for name in gap_names:
        wanted = [word for word in _WORD_SPLIT.split(name.lower()) if word]
        if wanted and any(_path_has(path, wanted) for path in files):
            found.append(name)
    return tuple(found)


def _path_has(path: str, wanted: list[str]) -> bool:
    for part in path.lower().split("/"):
        stem = part[:-3] if part.endswith(".py") else part
        words = [word for word in _WORD_SPLIT.split(stem) if word]
        size = len(wanted)
        if any(words[start:start + size] == wanted for start in range(len(words) - size + 1)):
            return True
    return False


def _with_gaps(finding: Finding, config: Config, gap_names: Sequence[str]) -> Finding:
    if not finding.files:
        return finding
    return replace(finding, gaps=gaps_of_files(finding.files, config, gap_names))
