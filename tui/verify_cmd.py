"""`claimcheck verify GAP ...` and `claimcheck show EVIDENCE_ID`.

The evidence block goes to stdout, ready to paste; progress goes to stderr only when it is a
terminal; the exit code is verify's verdict (0 only on positive evidence, 4 for an unknown gap
or test, listing the known ones).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

from claimcheck.collectors.claims import claims_path, dirty_paths
from claimcheck.collectors.config import Config, ConfigError, load_config
from claimcheck.collectors.evidence import (
    evidence_id,
    evidence_taken,
    last_full_checker,
    render_block,
    store_verify,
    stored_listing,
)
from claimcheck.collectors.history import HistoryError, HistoryStore
from claimcheck.collectors.pytest_run import EnvironmentProblem
from claimcheck.collectors.recording import history_location
from claimcheck.collectors.secrets import Redactor, strip_control
from claimcheck.collectors.verdict import ExitCode
from claimcheck.collectors.verify import (
    Target,
    UnknownTarget,
    VerifyResult,
    finish_stragglers,
    gather_verify,
)
from claimcheck.tui.guard import guarded
from claimcheck.tui.options import Options


def warn(text: str) -> None:
    print(f"claimcheck: warning: {text}", file=sys.stderr)


def load(options: Options) -> Config | int:
    """The configuration, or exit code 4 after one line on stderr."""
    try:
        config = load_config(options.project, options.config)
    except ConfigError as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    for note in config.warnings:
        warn(note)
    return config


def verify(config: Config, target: Target, history: Path | None) -> tuple[VerifyResult, str]:
    """Run verify and store its evidence: (result, the Markdown block). Blocking."""
    from claimcheck.tui.signals import terminate_as_interrupt

    redactor = Redactor(config.secrets)
    tty = sys.stderr.isatty()

    def note(text: str) -> None:
        if tty:
            print(f"claimcheck: {strip_control(redactor(text))}", file=sys.stderr)

    async def gather() -> VerifyResult:
        try:
            return await gather_verify(config, target, on_note=note,
                                       last_full=_guarded(last_full_checker(config, history,
                                                                            target)),
                                       stored_listing=stored_listing(config, history))
        finally:
            await finish_stragglers()

    with terminate_as_interrupt():
        result = asyncio.run(gather())
    result = _claims_file_is_not_dirt(config, result)
    stored = history is not None
    try:
        result = replace(result, evidence_id=evidence_id(result, evidence_taken(history)))
    except (HistoryError, sqlite3.Error) as error:
        warn(f"history not read: {error}")
        result = replace(result, evidence_id=evidence_id(result))
    block = render_block(result, redactor=redactor, stored=stored)
    if history is not None:
        try:
            store_verify(config, history, result, block, warn)
        except (HistoryError, sqlite3.Error, OSError) as error:
            warn(f"evidence not stored in {history}: {error}")
            block = render_block(result, redactor=redactor, stored=False)
    return result, block


def _guarded(check: Callable) -> Callable:
    def guarded(*args: object) -> object:
        try:
            return check(*args)
        except (HistoryError, sqlite3.Error) as error:
            warn(f"history not read, so disappeared tests were not checked: {error}")
            return None, []

    return guarded


def _claims_file_is_not_dirt(config: Config, result: VerifyResult) -> VerifyResult:
    """An uncommitted claims.toml changes no test: the tree counts as clean without it."""
    if not result.provenance.dirty:
        return result
    dirty = dirty_paths(config.root)
    ledger = claims_path(config.root).resolve()
    if dirty is None or any(path.resolve() != ledger for path in dirty):
        return result
    provenance = replace(result.provenance, dirty=False)
    return replace(result, provenance=provenance,
                   report=replace(result.report, provenance=provenance))


def run_verify_command(options: Options) -> int:
    target = Target(gaps=tuple(options.gaps), nodeids=tuple(options.nodeids))
    if not target.gaps and not target.nodeids:
        print("claimcheck verify: error: name at least one GAP or --nodeid ID", file=sys.stderr)
        return ExitCode.USAGE
    config = load(options)
    if isinstance(config, int):
        return config
    history = history_location(config.root, options.history, options.no_history)
    outcome = run_guarded(lambda: verify(config, target, history))
    if isinstance(outcome, int):
        return outcome
    result, block = outcome
    sys.stdout.write(block)
    sys.stdout.flush()
    return result.exit_code


def run_guarded(action: Callable[[], object]) -> object:
    """Run a verify-like action; usage problems exit 4, Ctrl-C 2, anything else 3, in a line."""
    return guarded(action, (UnknownTarget, ConfigError, EnvironmentProblem))


def run_show(options: Options) -> int:
    history = history_location(options.project, options.history, options.no_history)
    if history is None:
        print("claimcheck: show reads the history; drop --no-history", file=sys.stderr)
        return ExitCode.USAGE
    try:
        with HistoryStore(history, create=False) as store:
            found = store.evidence(options.evidence_id)
            recent = store.evidence_ids(5) if found is None else []
    except (HistoryError, sqlite3.Error) as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    if found is None:
        known = ", ".join(recent) if recent else "none stored yet"
        print(f"claimcheck: no evidence {options.evidence_id!r} in {history}; recent: {known}",
              file=sys.stderr)
        return ExitCode.USAGE
    block, _ = found
    sys.stdout.write(block)
    return ExitCode.GREEN
