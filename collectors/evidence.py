"""The evidence block `verify` prints, its id, and where it is kept.

The block is Markdown meant to be pasted under a "fixed" comment: what ran (the gap, the
tests per phase), where (commit, whether the tree was dirty, host, time, configuration
digest), the verdict with its reasons, and an evidence id. `claimcheck show ID` prints a
stored block again, byte for byte, from the history database.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from claimcheck.collectors.config import Config, PhaseConfig
from claimcheck.collectors.history import HistoryError, HistoryStore
from claimcheck.collectors.models import CollectionError, Counts, PhaseRun, Provenance
from claimcheck.collectors.report.common import duration_text
from claimcheck.collectors.report.markdown import md_code, md_escape
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verify import Collected, Target, VerifyResult, gap_members

MAX_LISTED = 20
_MARK = {"green": "✅", "red": "❌", "no-evidence": "⚠️", "interrupted": "⏹️"}


def evidence_id(result: VerifyResult, taken: Callable[[str], bool] = lambda _: False) -> str:
    """`ev-` and six hex digits of what was verified where and when; longer on a collision."""
    source = result.provenance
    seed = "\n".join([source.commit or "", source.host, f"{result.started_at:.6f}",
                      str(os.getpid()), *result.target.gaps, *result.target.nodeids])
    digest = hashlib.sha256(seed.encode("utf-8", "backslashreplace")).hexdigest()
    for length in range(6, len(digest) + 1):
        candidate = f"ev-{digest[:length]}"
        if not taken(candidate):
            return candidate
    return f"ev-{digest}"


def render_block(result: VerifyResult, *, redactor: Callable[[str], str] | None = None,
                 stored: bool = True) -> str:
    """The Markdown evidence block (see the module docstring)."""
    r = redactor or (lambda text: text)

    def esc(text: str) -> str:
        return md_escape(r(text))

    def code(text: str) -> str:
        return md_code(r(text))

    what = ", ".join(code(gap) for gap in result.target.gaps)
    if result.target.nodeids:
        chosen = ", ".join(code(n) for n in result.target.nodeids[:MAX_LISTED])
        what = ", ".join(part for part in (what, chosen) if part)
    titles = [result.titles[gap] for gap in result.target.gaps
              if result.titles.get(gap) and result.titles[gap] != gap]
    if titles:
        what += f" ({esc('; '.join(titles))})"
    mark = _MARK.get(result.verdict, "")
    if result.ok:
        head = f"{mark} verified: {what}"
    elif result.verdict == "no-evidence":
        head = f"{mark} no evidence for {what}"
    else:
        head = f"{mark} NOT verified ({esc(result.verdict)}): {what}"
    out = [f"### claimcheck verify {head}", ""]
    ran = sum(phase.ran for phase in result.phases)
    if result.ok:
        phases = len(result.phases)
        out.append(f"{ran} test{'s' if ran != 1 else ''} of it passed in {phases} "
                   f"phase{'s' if phases != 1 else ''}; none failed, none errored, every file "
                   "collected, none disappeared since the last full run.")
    else:
        out.append("Why:")
        out.extend(f"- {esc(reason)}" for reason in result.reasons)
    out.append("")
    if result.phases:
        out.append("| phase | status | selected | passed | failed | error | skipped | xfailed |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for phase in result.phases:
            c = phase.counts
            out.append(f"| {esc(phase.phase)} | {esc(phase.status)} | {phase.selected} | "
                       f"{c.passed + c.xpassed} | {c.failed} | {c.error} | {c.skipped} | "
                       f"{c.xfailed} |")
        out.append("")
    failures = [(phase.phase, nodeid, message) for phase in result.phases
                for nodeid, message in phase.failures]
    if failures:
        out.append("Failing:")
        for phase, nodeid, message in failures[:MAX_LISTED]:
            tail = f" — {esc(message)}" if message else ""
            out.append(f"- \\[{esc(phase)}\\] {code(nodeid)}{tail}")
        if len(failures) > MAX_LISTED:
            out.append(f"- … and {len(failures) - MAX_LISTED} more")
        out.append("")
    out.extend(_where(result, code, esc))
    if result.evidence_id:
        again = (f" (`claimcheck show {result.evidence_id}` prints this again)" if stored
                 else " (not stored: --no-history)")
        out.append(f"- evidence **{result.evidence_id}**{again}")
    return "\n".join(out) + "\n"


def _where(result: VerifyResult, code: Callable[[str], str],
           esc: Callable[[str], str]) -> list[str]:
    source: Provenance = result.provenance
    lines = []
    if source.commit:
        branch = f" on {code(source.branch)}" if source.branch else " (detached HEAD)"
        tree = ("**dirty working tree**: uncommitted changes were tested too" if source.dirty
                else "clean working tree")
        lines.append(f"- commit {code(source.commit)}{branch}, {tree}")
    else:
        lines.append("- no git commit: the evidence cannot be tied to a version of the code")
    when = datetime.fromtimestamp(result.started_at, tz=timezone.utc)
    lines.append(f"- host {code(source.host or 'unknown')}, "
                 f"{when.strftime('%Y-%m-%d %H:%M:%S UTC')}, "
                 f"{duration_text(result.duration_s)}, claimcheck "
                 f"{esc(result.report.tool_version or '?')}")
    if source.config_digest:
        lines.append(f"- configuration sha256 {code(source.config_digest[:16])}")
    if result.listed_from:
        lines.append("- tests chosen from the collection of an earlier run of this commit "
                     f"(clean tree, same configuration, this host): "
                     f"{esc('; '.join(result.listed_from))}")
    if result.baseline:
        lines.append(f"- compared with the last full run: {esc(result.baseline)}")
    else:
        lines.append("- no full run of this branch in the history: disappeared tests were not "
                     "checked")
    return lines


# ----------------------------------------------------------------------------------------
# History: the last full run, and keeping the evidence


def last_full_checker(config: Config, history: Path | None, target: Target
                      ) -> Callable[[Provenance, Sequence[Collected]], tuple[str | None,
                                                                           list[str]]]:
    """For `gather_verify`: the target's tests in the last full run on this branch that the
    target no longer collects (gone, renamed, or moved out of the gap)."""

    def check(provenance: Provenance, collected: Sequence[Collected]) -> tuple[str | None,
                                                                              list[str]]:
        if history is None or not history.exists():
            return None, []
        with HistoryStore(history, create=False) as store:
            gone: list[str] = []
            baseline = None
            for entry in collected:
                stored = store.last_full_tests(provenance.branch, entry.phase)
                if stored is None:
                    continue
                ref, tests = stored
                before = gap_members(config, [(t.nodeid, t.markers) for t in tests], target)
                now = gap_members(config, entry.items, target)
                gone.extend(sorted(before - now))
                when = datetime.fromtimestamp(ref.started_at, tz=timezone.utc)
                baseline = (f"{ref.branch or 'detached'} @ {ref.short_commit}, "
                            f"{when.strftime('%Y-%m-%d %H:%M UTC')}")
            return baseline, gone

    return check


def stored_listing(config: Config, history: Path | None
                   ) -> Callable[[Provenance, PhaseConfig], Collected | None]:
    """For `gather_verify`: a phase's collection from a complete run of this very commit."""

    def listing(provenance: Provenance, phase: PhaseConfig) -> Collected | None:
        if history is None or not history.exists() or not provenance.commit:
            return None
        try:
            with HistoryStore(history, create=False) as store:
                found = store.listing_at(provenance.commit, provenance.config_digest,
                                         provenance.host, phase.name)
        except (HistoryError, sqlite3.Error):
            return None
        if found is None:
            return None
        ref, tests, errors = found
        run = PhaseRun(name=phase.name, status="passed", exit_code=None, duration_s=0.0,
                       counts=Counts(collected=len(tests)), reason=f"run {ref.run_id}")
        return Collected(
            phase=phase.name, items=tuple((t.nodeid, t.markers) for t in tests),
            errors=tuple(CollectionError(path=path, error_type=kind, message=message)
                         for path, kind, message in errors), run=run)

    return listing


def store_verify(config: Config, history: Path, result: VerifyResult, block: str,
                 warn: Callable[[str], None]) -> None:
    """The verify run (scope `verify`) and its evidence block, for `show` and for history."""
    redact = Redactor(config.secrets)
    with HistoryStore(history, warn=warn) as store:
        run_id = store.begin_run(project=redact(str(config.root)), started_at=result.started_at,
                                 provenance=result.provenance, scope="verify",
                                 tool_version=result.report.tool_version)
        store.finish_run(run_id, result.report, redact)
        subject = result.target.describe()
        store.store_evidence(result.evidence_id, run_id, subject, result.ok, block)


def evidence_taken(history: Path | None) -> Callable[[str], bool]:
    if history is None or not history.exists():
        return lambda _: False

    def taken(candidate: str) -> bool:
        with HistoryStore(history, create=False) as store:
            return store.has_evidence_id(candidate)

    return taken
