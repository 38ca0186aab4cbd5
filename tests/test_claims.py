"""The claims ledger file and how a run judges each claim: holding, broken, stale, unchecked."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from claimcheck.collectors.claims import (
    Claim,
    ClaimsError,
    claim_findings,
    judge_claims,
    load_claims,
    record_claim,
    red_streak_start,
    withdraw_claim,
)
from claimcheck.collectors.config import GapConfig
from claimcheck.collectors.history import HistoryStore
from claimcheck.collectors.report import render
from history_helpers import config_at, phase, record, report

T0 = 1_800_000_000.0
AUTH = (GapConfig(name="auth", title="Service authentication", match=("*auth*",)),
        GapConfig(name="db", title="db", match=("*db*",)))


def claim(gap: str = "auth", **tests: int) -> Claim:
    return Claim(gap=gap, by="Ada Lovelace", at="2026-12-01T10:00:00+00:00", commit="81c0a1" * 6,
                 evidence="ev-3f2a9c", note="token refresh", tests=tests or {"unit": 2})


def test_a_claim_is_recorded_replaced_and_withdrawn(tmp_path: Path) -> None:
    assert load_claims(tmp_path) == []
    assert record_claim(tmp_path, claim()) is None
    text = (tmp_path / "claims.toml").read_text()
    assert text.startswith("# claimcheck claims ledger")
    assert tomllib.loads(text)["claim"][0] == {
        "gap": "auth", "by": "Ada Lovelace", "at": "2026-12-01T10:00:00+00:00",
        "commit": "81c0a1" * 6, "evidence": "ev-3f2a9c", "note": "token refresh",
        "tests": {"unit": 2}}
    record_claim(tmp_path, claim("db"))
    # a reviewer's comment survives the next edit
    path = tmp_path / "claims.toml"
    path.write_text(path.read_text() + "# reviewed by Grace\n")
    replaced = record_claim(tmp_path, Claim(**{**claim().__dict__, "evidence": "ev-000001"}))
    assert replaced is not None and replaced.evidence == "ev-3f2a9c"
    assert [c.gap for c in load_claims(tmp_path)] == ["db", "auth"]
    assert "# reviewed by Grace" in path.read_text()
    removed = withdraw_claim(tmp_path, "auth")
    assert removed is not None and removed.evidence == "ev-000001"
    assert [c.gap for c in load_claims(tmp_path)] == ["db"]
    assert withdraw_claim(tmp_path, "auth") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("[[claim]]\ngap = 'auth'\n", "claim[0].by: missing"),
    ("claims = 1\n", "claims: unknown key"),
    ("[[claim]]\ngap = 'a'\nby = 'b'\nat = 'c'\ncommit = 'd'\nevidence = 'e'\nwho = 1\n",
     "claim[0].who: unknown key"),
    ("[[claim]]\ngap = 'a'\nby = 'b'\nat = 'c'\ncommit = 'd'\nevidence = 'e'\ntests = 3\n",
     "claim[0].tests: expected a table"),
    ("[[claim\n", "not valid TOML"),
])
def test_a_bad_ledger_names_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "claims.toml").write_text(text)
    with pytest.raises(ClaimsError) as error:
        load_claims(tmp_path)
    assert str(tmp_path / "claims.toml") in str(error.value) and expected in str(error.value)


def run_of(config, outcomes, **kw):
    return report(config, phase("unit", outcomes, **kw), started_at=T0)


def test_states_of_a_claim(tmp_path: Path) -> None:
    config = config_at(tmp_path, AUTH)
    configured = ["auth", "db"]
    ok = {"t/test_auth.py::a": "passed", "t/test_auth.py::b": "passed"}
    (holding,) = judge_claims([claim()], run_of(config, ok), configured_gaps=configured)
    assert holding.state == "holding" and holding.detail == "2 tests ran in unit, none failed"

    red = {"t/test_auth.py::a": "failed", "t/test_auth.py::b": "passed"}
    (broken,) = judge_claims([claim()], run_of(config, red), configured_gaps=configured,
                             red_since=lambda gap: "9d2e11abc")
    assert broken.state == "broken" and broken.failing == 1 and broken.red_since == "9d2e11abc"
    (finding,) = claim_findings([broken])
    assert finding.kind == "claim-broken"
    assert finding.message == ("auth: claimed fixed on 2026-12-01 at 81c0a18 by ev-3f2a9c "
                               "(Ada Lovelace); red since 9d2e11abc: 1 failing (unit 1)")

    one_gone = {"t/test_auth.py::a": "passed"}
    (stale,) = judge_claims([claim()], run_of(config, one_gone), configured_gaps=configured)
    assert stale.state == "stale" and "unit: 1 of the 2 tests it rested on ran" in stale.detail
    assert claim_findings([stale])[0].kind == "claim-stale"

    renamed = {"t/test_login.py::a": "passed", "t/test_login.py::b": "passed"}
    (moved,) = judge_claims([claim()], run_of(config, renamed), configured_gaps=configured)
    assert moved.state == "stale" and "0 of the 2" in moved.detail

    (unconfigured,) = judge_claims([claim("payments")], run_of(config, ok),
                                   configured_gaps=configured)
    assert unconfigured.state == "stale" and "no longer configured" in unconfigured.detail

    other_phase = report(config, phase("e2e", ok), started_at=T0)
    (unchecked,) = judge_claims([claim()], other_phase, configured_gaps=configured)
    assert unchecked.state == "unchecked"
    assert claim_findings([holding, unchecked]) == []


def test_red_streak_start() -> None:
    assert red_streak_start("ccc", []) == "ccc"
    assert red_streak_start("ccc", [("b" * 40, "red"), ("a" * 40, "red"), ("9" * 40, "green")]) \
        == "a" * 9
    assert red_streak_start("ccc", [("b" * 40, "green"), ("a" * 40, "red")]) == "ccc"


def test_every_run_checks_every_claim_and_a_broken_one_leads(tmp_path: Path) -> None:
    config = config_at(tmp_path, AUTH)
    record_claim(tmp_path, claim(unit=1))
    record_claim(tmp_path, claim("db", unit=1))
    with HistoryStore(tmp_path / "h.db") as store:
        green = record(store, config, report(config, phase("unit", {
            "t/test_auth.py::a": "passed", "t/test_db.py::q": "passed"}), started_at=T0,
            commit="1" * 40))
        assert green.verdict == "green"
        assert [c.state for c in green.claims] == ["holding", "holding"]
        first_red = record(store, config, report(config, phase("unit", {
            "t/test_auth.py::a": "failed", "t/test_db.py::q": "passed"}), started_at=T0 + 1,
            commit="2" * 40))
        still_red = record(store, config, report(config, phase("unit", {
            "t/test_auth.py::a": "failed", "t/test_db.py::q": "passed"}), started_at=T0 + 2,
            commit="3" * 40))
    assert first_red.verdict == "red" and first_red.findings[0].kind == "claim-broken"
    assert still_red.claims[0].red_since == "2" * 9  # where the red streak began
    text = render(still_red, "text")
    lines = text.splitlines()
    assert lines[2].startswith("  why: claim broken: auth: claimed fixed on 2026-12-01")
    assert "CLAIM BROKEN (1)" in text.split("Phases")[0]
    markdown = render(still_red, "markdown")
    assert markdown.index("Claim broken (1)") < markdown.index("### Phases")
    junit = render(still_red, "junit")
    assert junit.index('name="claimcheck"') < junit.index('name="unit"')
    assert 'type="claim-broken"' in junit


def test_an_unreadable_ledger_is_never_silently_ignored(tmp_path: Path) -> None:
    config = config_at(tmp_path, AUTH)
    (tmp_path / "claims.toml").write_text("[[claim]]\ngap = 1\n")
    with HistoryStore(tmp_path / "h.db") as store:
        judged = record(store, config, run_of(config, {"t/test_auth.py::a": "passed"}))
    assert judged.verdict == "red"
    assert judged.findings[0].kind == "claim-broken"
    assert "no claim could be checked" in judged.findings[0].message
