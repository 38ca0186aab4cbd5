"""The claims ledger: "this gap is fixed", recorded beside the code and checked on every run.

`claimcheck claim GAP` records a claim only on a green `verify` (collectors/verify.py), in
`claims.toml` at the project root: a small, human-readable file that is committed, so a claim
is reviewed in the pull request that makes it and travels with the code. Every later run
judges every open claim against its own evidence:

* **broken**: the gap is red in this run (a test of it failed or errored, or a file of it
  failed to collect). A `claim-broken` finding, first in every report, and the verdict is red.
* **stale**: the tests the claim rested on are gone: fewer of the gap's tests ran in a phase
  than when the claim was made, the gap ran no test at all where its phases ran, or the gap is
  no longer configured. A `claim-stale` finding; never quietly holding.
* **holding**: the gap ran at least as many tests as it did for the claim, none failed.
* **unchecked**: none of the phases the claim rested on ran (a `--phase` run of others).

File format (one table per claim, in the order made):

    [[claim]]
    gap = "auth"
    by = "Ada Lovelace"                  # git config user.name of whoever claimed it
    at = "2026-12-01T10:02:11+00:00"     # when
    commit = "81c0a1f..."                # the commit verify ran on (clean tree)
    evidence = "ev-3f2a9c"               # `claimcheck show ev-3f2a9c` on the claimer's machine
    note = "token refresh fixed in #42"
    tests = { unit = 6, integration = 3 }  # tests of the gap that ran, per phase
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.models import ClaimCheck, Finding, RunReport

if TYPE_CHECKING:  # tomlkit edits the ledger; reading it, as every run does, needs tomllib only
    import tomlkit

CLAIMS_FILE = "claims.toml"
HEADER = (
    "claimcheck claims ledger: gaps claimed fixed, each on a green `claimcheck verify`.\n"
    "Made with `claimcheck claim GAP --note TEXT`, ended with `claimcheck claim --withdraw GAP`.\n"
    "Every run checks every claim here; a claimed gap that is red again fails the run."
)
COMPLETE_STATUSES = frozenset({"passed", "failed", "error", "no-tests"})


class ClaimsError(Exception):
    """claims.toml cannot be read; the message names the file, the key and what was expected."""


@dataclass(frozen=True)
class Claim:
    gap: str
    by: str
    at: str
    commit: str
    evidence: str
    note: str = ""
    tests: Mapping[str, int] = field(default_factory=dict)

    @property
    def day(self) -> str:
        return self.at[:10]


def claims_path(root: Path) -> Path:
    return Path(root) / CLAIMS_FILE


def load_claims(root: Path) -> list[Claim]:
    """The open claims, in the order made; no file means none."""
    path = claims_path(root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise ClaimsError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ClaimsError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"claim"})
    if unknown:
        raise ClaimsError(f"{path}: {unknown[0]}: unknown key; expected only [[claim]] tables")
    entries = data.get("claim", [])
    if not isinstance(entries, list):
        raise ClaimsError(f"{path}: claim: expected an array of tables ([[claim]])")
    claims = []
    for index, entry in enumerate(entries):
        claims.append(_claim(path, index, entry))
    return claims


def _claim(path: Path, index: int, entry: Any) -> Claim:
    where = f"{path}: claim[{index}]"
    if not isinstance(entry, dict):
        raise ClaimsError(f"{where}: expected a table")
    allowed = {"gap", "by", "at", "commit", "evidence", "note", "tests"}
    for key in entry:
        if key not in allowed:
            raise ClaimsError(f"{where}.{key}: unknown key; expected one of "
                              f"{', '.join(sorted(allowed))}")
    values: dict[str, Any] = {}
    for key in ("gap", "by", "at", "commit", "evidence", "note"):
        value = entry.get(key, "")
        if not isinstance(value, str):
            raise ClaimsError(f"{where}.{key}: expected a string, got {type(value).__name__}")
        if key != "note" and not value:
            raise ClaimsError(f"{where}.{key}: missing; expected a non-empty string")
        values[key] = value
    tests = entry.get("tests", {})
    if not isinstance(tests, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in tests.items()):
        raise ClaimsError(f"{where}.tests: expected a table of phase = count of tests")
    return Claim(tests=dict(tests), **values)


def record_claim(root: Path, claim: Claim) -> Claim | None:
    """Add `claim` (replacing an earlier claim of the same gap); the replaced one, if any.

    Edits the file with tomlkit, so comments and reviewers' notes in it survive.
    """
    import tomlkit

    load_claims(root)  # refuse to edit a file that does not read
    path = claims_path(root)
    document = _document(path)
    entries = document.get("claim")
    if entries is None:
        entries = tomlkit.aot()
        document["claim"] = entries
    replaced = None
    for index, entry in enumerate(list(entries)):
        if entry.get("gap") == claim.gap:
            replaced = _claim(path, index, entry.unwrap())
            del entries[index]
            break
    table = tomlkit.table()
    table["gap"] = claim.gap
    table["by"] = claim.by
    table["at"] = claim.at
    table["commit"] = claim.commit
    table["evidence"] = claim.evidence
    table["note"] = claim.note
    tests = tomlkit.inline_table()
    tests.update(dict(claim.tests))
    table["tests"] = tests
    entries.append(table)
    write_atomic(path, _text(document))
    return replaced


def withdraw_claim(root: Path, gap: str) -> Claim | None:
    """Remove the claim of `gap`; the claim removed, or None when there was none."""
    load_claims(root)
    path = claims_path(root)
    if not path.exists():
        return None
    document = _document(path)
    entries = document.get("claim")
    if not entries:
        return None
    for index, entry in enumerate(list(entries)):
        if entry.get("gap") == gap:
            removed = _claim(path, index, entry.unwrap())
            del entries[index]
            if not entries:
                del document["claim"]
            write_atomic(path, _text(document))
            return removed
    return None


def _text(document: tomlkit.TOMLDocument) -> str:
    import tomlkit

    text = tomlkit.dumps(document)
    return text if text.endswith("\n") else text + "\n"


def _document(path: Path) -> tomlkit.TOMLDocument:
    import tomlkit

    if path.exists():
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    document = tomlkit.document()
    for line in HEADER.splitlines():
        document.add(tomlkit.comment(line))
    document.add(tomlkit.nl())
    return document


# ----------------------------------------------------------------------------------------
# Judging claims against a run


def judge_claims(
    claims: Sequence[Claim],
    report: RunReport,
    *,
    configured_gaps: Sequence[str] | None,
    red_since: Callable[[str], str | None] | None = None,
) -> tuple[ClaimCheck, ...]:
    """Each claim's state in this run (rules in the module docstring).

    `configured_gaps`: the gap names of the configuration, or None under default grouping
    (where a gap exists as long as some test lands in it). `red_since(gap)`: the short commit
    where the gap's current red streak began, from history; this run's commit without it.
    """
    rows = {row.name: row for row in report.gaps}
    complete = {run.name for run in report.phases if run.status in COMPLETE_STATUSES}
    commit = report.provenance.short_commit if report.provenance else None
    checks = []
    for claim in claims:
        base = dict(gap=claim.gap, by=claim.by, at=claim.at, commit=claim.commit,
                    evidence=claim.evidence, note=claim.note)
        row = rows.get(claim.gap)
        cells = row.cells if row is not None else {}
        failing = sum(cell.failed + cell.error for cell in cells.values())
        if failing:
            per_phase = ", ".join(f"{phase} {cell.failed + cell.error}"
                                  for phase, cell in cells.items() if cell.failed + cell.error)
            since = (red_since(claim.gap) if red_since else None) or commit or "this run"
            checks.append(ClaimCheck(**base, state="broken", failing=failing, red_since=since,
                                     detail=f"red since {since}: {failing} failing "
                                            f"({per_phase})"))
            continue
        if configured_gaps is not None and claim.gap not in configured_gaps:
            checks.append(ClaimCheck(**base, state="stale",
                                     detail=f"gap {claim.gap} is no longer configured"))
            continue
        phases = [name for name in (claim.tests or {}) if name in complete]
        if not claim.tests:
            phases = sorted(complete)
        if not phases:
            wanted = ", ".join(claim.tests) or "any phase"
            checks.append(ClaimCheck(**base, state="unchecked",
                                     detail=f"not checked: none of its phases ran ({wanted})"))
            continue
        short = []
        for phase in phases:
            ran = cells[phase].ran if phase in cells else 0
            needed = claim.tests.get(phase, 1)
            if ran < needed:
                short.append(f"{phase}: {ran} of the {needed} tests it rested on ran")
        if short:
            checks.append(ClaimCheck(**base, state="stale",
                                     detail="; ".join(short) + " (removed, renamed or skipped)"))
            continue
        ran_total = sum(cells[phase].ran for phase in phases if phase in cells)
        checks.append(ClaimCheck(**base, state="holding",
                                 detail=f"{ran_total} tests ran in {', '.join(phases)}, "
                                        "none failed"))
    return tuple(checks)


def claim_findings(checks: Sequence[ClaimCheck]) -> list[Finding]:
    """`claim-broken` (red) and `claim-stale` findings, in the ledger's order."""
    findings = []
    for check in checks:
        made = f"claimed fixed on {check.at[:10]} at {check.commit[:7]} by {check.evidence}"
        who = f" ({check.by})" if check.by else ""
        if check.state == "broken":
            findings.append(Finding(kind="claim-broken", phase=None, path=CLAIMS_FILE, line=None,
                                    message=f"{check.gap}: {made}{who}; {check.detail}",
                                    count=check.failing))
        elif check.state == "stale":
            findings.append(Finding(kind="claim-stale", phase=None, path=CLAIMS_FILE, line=None,
                                    message=f"{check.gap}: {made}{who}; {check.detail}; "
                                            f"claim it again or withdraw it"))
    return findings


def red_streak_start(current_short: str | None,
                     earlier: Sequence[tuple[str | None, str]]) -> str | None:
    """Short commit where the current red streak began: `earlier` is (commit, status), newest
    first, of the gap in runs before this (red) one."""
    start = current_short
    for commit, status in earlier:
        if status != "red":
            break
        start = commit[:9] if commit else start
    return start


# ----------------------------------------------------------------------------------------
# Who and when


def git_user_name(root: Path) -> str:
    """`git config user.name`, else the login name: the claim says who made it."""
    try:
        done = subprocess.run(["git", "config", "user.name"], cwd=root, capture_output=True,
                              text=True, timeout=5, stdin=subprocess.DEVNULL)
        name = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        name = ""
    if name:
        return name
    for variable in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(variable):
            return os.environ[variable]
    return "unknown"


def dirty_paths(root: Path) -> list[Path] | None:
    """Tracked files that differ from HEAD, as absolute paths; None outside git."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
        done = subprocess.run(["git", "status", "--porcelain", "-z", "--untracked-files=no"],
                              cwd=root, capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if top.returncode != 0 or done.returncode != 0:
        return None
    base = Path(top.stdout.strip())
    paths = []
    records = iter(done.stdout.split("\0"))
    for record in records:
        if len(record) < 4:
            continue
        paths.append(base / record[3:])
        if record[0] in "RC":  # a rename or copy is followed by its source path
            next(records, None)
    return paths


def now_iso() -> str:
    return datetime.now(tz=timezone.utc).isoformat(timespec="seconds")
