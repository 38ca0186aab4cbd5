"""`claimcheck claim GAP`, `claimcheck claim --withdraw GAP` and `claimcheck claims`.

A claim is made only on a green verify, on a clean working tree (the claim names the commit
that was tested, so that commit must be what ran), and lands in claims.toml for review.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from claimcheck.collectors.claims import (
    Claim,
    ClaimsError,
    claims_path,
    dirty_paths,
    git_user_name,
    judge_claims,
    load_claims,
    now_iso,
    record_claim,
    red_streak_start,
    withdraw_claim,
)
from claimcheck.collectors.config import Config
from claimcheck.collectors.history import HistoryError, HistoryStore
from claimcheck.collectors.models import (
    ClaimCheck,
    Counts,
    PhaseRun,
    Provenance,
    RunReport,
)
from claimcheck.collectors.recording import history_location
from claimcheck.collectors.report.common import claim_line
from claimcheck.collectors.report.markdown import md_code, md_escape
from claimcheck.collectors.secrets import strip_control
from claimcheck.collectors.verdict import ExitCode
from claimcheck.collectors.verify import Target
from claimcheck.tui.options import Options
from claimcheck.tui.verify_cmd import load, run_guarded, verify


def run_claim(options: Options) -> int:
    gap = options.gaps[0]
    config = load(options)
    if isinstance(config, int):
        return config
    try:
        if options.withdraw:
            return _withdraw(config, gap)
        load_claims(config.root)  # a ledger that does not read is refused before any test runs
    except ClaimsError as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    refusal = _tree_refusal(config.root)
    if refusal:
        print(f"claimcheck: claim refused: {refusal}", file=sys.stderr)
        return ExitCode.RED
    history = history_location(config.root, options.history, options.no_history)
    outcome = run_guarded(lambda: verify(config, Target(gaps=(gap,)), history))
    if isinstance(outcome, int):
        return outcome
    result, block = outcome
    sys.stdout.write(block)
    sys.stdout.flush()
    if not result.ok:
        why = "; ".join(result.reasons) or result.verdict
        print(f"claimcheck: claim refused: {gap} is not verified: {why}", file=sys.stderr)
        return ExitCode.INTERRUPTED if result.verdict == "interrupted" else ExitCode.RED
    source = result.provenance
    if not source.commit or source.dirty:
        print("claimcheck: claim refused: the working tree changed while verify ran; commit "
              "and claim again", file=sys.stderr)
        return ExitCode.RED
    claim = Claim(gap=gap, by=git_user_name(config.root), at=now_iso(), commit=source.commit,
                  evidence=result.evidence_id, note=options.note,
                  tests={phase.phase: phase.ran for phase in result.phases})
    try:
        replaced = record_claim(config.root, claim)
    except (ClaimsError, OSError) as error:
        print(f"claimcheck: claim not recorded: {error}", file=sys.stderr)
        return ExitCode.USAGE
    again = f" (replacing the claim of {replaced.day} by {replaced.by})" if replaced else ""
    print(f"claimcheck: claim recorded in {claims_path(config.root).name}{again}: {gap} fixed at "
          f"{source.commit[:9]} ({result.evidence_id}); commit it so the claim is reviewed with "
          "the change", file=sys.stderr)
    return ExitCode.GREEN


def _withdraw(config: Config, gap: str) -> int:
    removed = withdraw_claim(config.root, gap)
    if removed is None:
        known = ", ".join(claim.gap for claim in load_claims(config.root)) or "none"
        print(f"claimcheck: no claim on {gap!r} in {claims_path(config.root)}; open claims: "
              f"{known}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"claimcheck: withdrew the claim on {gap} (made {removed.day} by {removed.by}, "
          f"{removed.evidence}); commit {claims_path(config.root).name}", file=sys.stderr)
    return ExitCode.GREEN


def _tree_refusal(root: Path) -> str | None:
    """Why the working tree cannot back a claim, or None: it must be a clean git checkout."""
    dirty = dirty_paths(root)
    if dirty is None:
        return (f"{root} is not in a git repository; a claim records the commit it was "
                "verified at")
    ledger = claims_path(root).resolve()
    others = [path for path in dirty if path.resolve() != ledger]
    if others:
        shown = ", ".join(str(path) for path in others[:5])
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        return (f"uncommitted changes ({shown}{more}); commit them first, so the claim names "
                "the commit that was tested")
    return None


# ----------------------------------------------------------------------------------------


def run_claims(options: Options) -> int:
    """Every claim's state as the latest stored evidence on this branch judges it.

    Exit 1 when a claim is broken, so a CI step can gate on the ledger alone."""
    config = load(options)
    if isinstance(config, int):
        return config
    try:
        claims = load_claims(config.root)
    except ClaimsError as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    history = history_location(config.root, options.history, options.no_history)
    try:
        checks = judge_from_history(config, claims, history)
    except (HistoryError, sqlite3.Error) as error:
        print(f"claimcheck: warning: history not read: {error}", file=sys.stderr)
        checks = judge_from_history(config, claims, None)
    sys.stdout.write(render_claims(checks, options.list_format, claims_path(config.root)))
    return ExitCode.RED if any(check.state == "broken" for check in checks) else ExitCode.GREEN


def judge_from_history(config: Config, claims: list[Claim],
                       history: Path | None) -> list[ClaimCheck]:
    from claimcheck.collectors.session import provenance_of

    if not claims:
        return []
    if history is None or not history.exists():
        return [_unchecked(claim, "no run stored yet: run claimcheck --report") for claim in claims]
    branch = provenance_of(config).branch
    configured = [gap.name for gap in config.gaps] if config.gaps else None
    checks = []
    with HistoryStore(history, create=False) as store:
        for claim in claims:
            ref = store.latest_run_with_gap(claim.gap, branch)
            if ref is None:
                checks.append(_unchecked(claim, f"no stored run on {branch or 'this HEAD'} has "
                                                f"evidence on {claim.gap}"))
                continue
            phases = tuple(PhaseRun(name=name, status=status, exit_code=None, duration_s=0.0,
                                    counts=Counts())
                           for name, status in store.phase_statuses(ref.run_id).items())
            report = RunReport(project=str(config.root), started_at=ref.started_at,
                               duration_s=0.0, phases=phases,
                               gaps=tuple(store.gap_rows_of(ref.run_id)), findings=(),
                               services=(), verdict="", exit_code=0,
                               provenance=Provenance(commit=ref.commit, branch=ref.branch))
            earlier = store.gap_statuses(claim.gap, branch, before=ref.started_at,
                                         exclude=ref.run_id)

            def since(gap: str, ref=ref, earlier=earlier) -> str | None:
                return red_streak_start(ref.commit[:9] if ref.commit else None,
                                        [(r.commit, status) for r, status in earlier])

            (check,) = judge_claims([claim], report, configured_gaps=configured,
                                    red_since=since)
            when = ref.short_commit
            checks.append(ClaimCheck(**{**check.__dict__,
                                        "detail": f"{check.detail} (run {ref.run_id} at {when})"}))
    return checks


def _unchecked(claim: Claim, why: str) -> ClaimCheck:
    return ClaimCheck(gap=claim.gap, state="unchecked", by=claim.by, at=claim.at,
                      commit=claim.commit, evidence=claim.evidence, note=claim.note, detail=why)


def render_claims(checks: list[ClaimCheck], fmt: str, path: Path) -> str:
    if fmt == "json":
        return json.dumps({"claims_file": str(path), "claims": [
            {"gap": c.gap, "state": c.state, "by": c.by, "at": c.at, "commit": c.commit,
             "evidence": c.evidence, "note": c.note, "detail": c.detail, "failing": c.failing,
             "red_since": c.red_since} for c in checks]}, indent=2) + "\n"
    if fmt == "markdown":
        out = [f"### Claims ({len(checks)})", ""]
        if not checks:
            out.append(f"No open claims in `{path.name}`.")
        out.append("| gap | state | claimed | by | commit | evidence | detail |")
        out.append("|---|---|---|---|---|---|---|")
        for c in checks:
            out.append(f"| {md_escape(c.gap)} | **{c.state}** | {md_escape(c.at[:10])} | "
                       f"{md_escape(c.by)} | {md_code(c.commit[:9], in_table=True)} | "
                       f"{md_code(c.evidence, in_table=True)} | {md_escape(c.detail)} |")
        return "\n".join(out) + "\n"
    if not checks:
        return f"no open claims in {path}\n"
    order = {"broken": 0, "stale": 1, "unchecked": 2, "holding": 3}
    lines = [f"claims in {path}:"]
    for check in sorted(checks, key=lambda c: order.get(c.state, 9)):
        lines.append(f"  {strip_control(claim_line(check))}")
    return "\n".join(lines) + "\n"
