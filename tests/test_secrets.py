"""Secrets never shown, control codes always shown: the redactor, the escapes, and every output
of a real `claimcheck --report` run against a service that echoes what it was sent."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import AsyncIterator

import aiohttp.web
import pytest
from claimcheck.collectors.config import load_config
from claimcheck.collectors.health import probe_service
from claimcheck.collectors.models import Counts, PhaseRun, RunReport, TestResult
from claimcheck.collectors.report.json_report import render_json
from claimcheck.collectors.report.junit import render_junit
from claimcheck.collectors.report.markdown import render_markdown
from claimcheck.collectors.report.text import render_text
from claimcheck.collectors.secrets import (
    FRAGMENT_CHARS,
    Redactor,
    escape_control,
    escape_line,
    looks_secret_parameter,
)
from claimcheck.collectors.verdict import verdict_and_exit

TOKEN = "ghp_LONGTOKENABCDEFGHIJKLMNOPQRST"


def fragments(secret: str, size: int = FRAGMENT_CHARS) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def leaks(text: str, secret: str) -> list[str]:
    """Every run of FRAGMENT_CHARS characters of `secret` found in `text`."""
    return sorted(part for part in fragments(secret) if part in text)


# ----------------------------------------------------------------------------------------
# Control codes are shown, never stripped (item 10)

HOSTILE_IDS = [
    "tests/test_x.py::test_id[\x1b[31m]",
    "tests/test_x.py::test_id[\x1b[2J]",
    "tests/test_x.py::test_id[\x1b]0;title\x07]",
    "tests/test_x.py::test_id[\x9b1m]",
]


def test_ids_made_of_different_escape_sequences_stay_distinct() -> None:
    shown = {escape_line(nodeid) for nodeid in HOSTILE_IDS}
    assert len(shown) == len(HOSTILE_IDS)
    assert "tests/test_x.py::test_id[\\x1b[31m]" in shown
    assert "tests/test_x.py::test_id[\\x9b1m]" in shown


def test_carriage_return_bidi_and_zero_width_are_visible() -> None:
    assert escape_line("a\rOVERWRITE") == "a\\rOVERWRITE"
    assert escape_control("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert escape_control("a\u200bb\ufeffc") == "a\\u200bb\\ufeffc"
    assert escape_control("bad \udcff byte") == "bad \\udcff byte"


def test_multi_line_text_keeps_its_lines_and_one_line_text_hides_none() -> None:
    assert escape_control("line 1\r\n\tline 2\n") == "line 1\n\tline 2\n"
    assert escape_line("test[a\nb]") != escape_line("test[a b]")
    assert escape_line("test[a\nb]") == "test[a\\nb]"


def hostile_report() -> RunReport:
    tests = tuple(TestResult(nodeid=nodeid, outcome="failed", phase="unit", duration_s=0.1,
                             message="boom") for nodeid in
                  [*HOSTILE_IDS, "tests/test_x.py::test_a\rOVERWRITE"])
    run = PhaseRun(name="unit", status="failed", exit_code=1, duration_s=1.0,
                   counts=Counts(collected=5, failed=5), tests=tests)
    verdict, code = verdict_and_exit((run,), ())
    return RunReport(project="/p", started_at=1.0, duration_s=1.0, phases=(run,), gaps=(),
                     findings=(), services=(), verdict=verdict, exit_code=code)


def test_every_report_keeps_hostile_ids_distinct_and_visible() -> None:
    report = hostile_report()
    text, markdown = render_text(report), render_markdown(report)
    for shown in (text, markdown):
        assert "\x1b" not in shown and "\r" not in shown and "\x9b" not in shown
        assert "test_a\\rOVERWRITE" in shown
        for nodeid in HOSTILE_IDS:
            assert escape_line(nodeid).split("::")[1][:12] in shown
    assert len({line for line in text.splitlines() if "test_id[" in line}) == 4

    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert suite is not None
    names = [case.get("name") for case in suite.findall("testcase")]
    assert len(set(names)) == 5 and "test_id[\\x1b[31m]" in names
    assert "test_a\\rOVERWRITE" in names

    document = json.loads(render_json(report))
    assert [t["nodeid"] for t in document["phases"][0]["tests"]][:4] == HOSTILE_IDS  # raw


# ----------------------------------------------------------------------------------------
# The redactor


def test_truncated_and_escaped_reprs_of_a_secret_are_masked() -> None:
    """Item 15: pytest shows a long value cut in the middle; each long piece is the secret's."""
    red = Redactor((TOKEN,))
    shown = red("E   AssertionError: assert 'ghp_LONGTOKE...HIJKLMNOPQRST' == 'x'")
    assert leaks(shown, TOKEN) == [] and "assert '***...***' == 'x'" in shown
    quoted = "pa'ss\\w\"rd-0123456789"
    red = Redactor((quoted,))
    for spelling in (repr(quoted), json.dumps(quoted), "'pa\\'ss\\\\w\"rd-0123456789'",
                     "pa%27ss%5Cw%22rd-0123456789", "pa&#x27;ss\\w&quot;rd-0123456789"):
        assert "0123456789" not in red(f"value: {spelling}"), spelling


def test_fragments_shorter_than_the_threshold_and_scheme_words_stay() -> None:
    red = Redactor(("Bearer " + TOKEN, "hunter22"))
    assert red("ghp_LONG is fine") == "ghp_LONG".replace("ghp_LONG", "***") + " is fine"
    assert red("ghp_LON is fine") == "ghp_LON is fine"  # 7 characters: an ordinary word
    assert red("Authorization: Bearer something-else") == "Authorization: Bearer ***"
    assert red("Bearer tokens are described in RFC 6750") == "Bearer tokens are described in " \
                                                             "RFC 6750"
    assert red("pw=hunter22;") == "pw=***;"


def test_url_passwords_and_secret_query_values_are_masked_whoever_wrote_them() -> None:
    """Item 14, and URLs in test output that no configuration knows about."""
    red = Redactor(())
    shown = red("GET http://admin:PASS123@db:5432/x?token=t0k3n&page=2&api_key=k3y&"
                "X-Amz-Signature=5ig&author=bob&sig=abc")
    assert shown == ("GET http://***@db:5432/x?token=***&page=2&api_key=***&"
                     "X-Amz-Signature=***&author=bob&sig=***")
    assert red("ssh://git@github.com/x") == "ssh://git@github.com/x"  # a user name alone


@pytest.mark.parametrize(("name", "secret"), [
    ("token", True), ("access_token", True), ("api_key", True), ("apikey", True), ("sig", True),
    ("X-Amz-Signature", True), ("client_secret", True), ("accessToken", True), ("password", True),
    ("page", False), ("author", False), ("monkey", False), ("q", False), ("signal", False),
])
def test_secret_looking_parameter_names(name: str, secret: bool) -> None:
    assert looks_secret_parameter(name) is secret


def test_authorization_headers_written_in_text_are_masked() -> None:
    red = Redactor(())
    assert red("headers={'Authorization': 'Basic YWRtaW46cGFzcw=='}") == \
        "headers={'Authorization': 'Basic ***'}"
    assert red("Cookie: session=abc; theme=dark") == "Cookie: ***"
    assert red("headers.Authorization: expected a string") == \
        "headers.Authorization: expected a string"


def test_redacting_then_escaping_masks_a_secret_that_holds_control_codes() -> None:
    secret = "pw\x1b[0mwith-escape"
    red = Redactor((secret,))
    assert "with-escape" not in escape_control(red(f"x {secret} y"))
    assert "with-escape" not in red(f"x {escape_control(secret)} y")


# ----------------------------------------------------------------------------------------
# Secrets the configuration knows (items 13, 14, 17)


def config_for(make_project, body: str, environ: dict[str, str]):
    root = make_project({"pyproject.toml": body, "tests/test_a.py": "def test_a(): pass\n"})
    return load_config(root, environ=environ)


def test_a_value_under_a_secret_looking_key_is_secret_whatever_its_variable(make_project):
    """Item 17: DB_PASSWORD = "${DBPW}" and literal values there."""
    config = config_for(make_project, """
[[tool.claimcheck.phases]]
name = "u"
command = ["python", "-m", "pytest", "--api-key=literal-key-1", "--token", "literal-token-2"]

[tool.claimcheck.phases.env]
DB_PASSWORD = "${DBPW}"
STRIPE_API_KEY = "sk_literal_3"
Authorization = "Basic x1"
STAGE = "staging-4"
""", {"DBPW": "db-password-0"})
    for value in ("db-password-0", "sk_literal_3", "Basic x1", "literal-key-1",
                  "literal-token-2"):
        assert value in config.secrets
    assert "staging-4" not in config.secrets


def test_url_credentials_give_their_basic_header_and_query_secrets(make_project):
    """Items 13 and 14: what httpx derives from the URL is as secret as the URL's password."""
    config = config_for(make_project, """
[[tool.claimcheck.services]]
name = "api"
url = "http://admin:p%40ss-word@127.0.0.1:9/health?token=q-token-1&page=2&sig=q-sig-2"
""", {})
    service = config.services[0]
    assert service.display_url == "http://***@127.0.0.1:9/health?token=***&page=2&sig=***"
    basic = base64.b64encode(b"admin:p@ss-word").decode()
    for value in ("p@ss-word", basic, "q-token-1", "q-sig-2"):
        assert value in config.secrets
    assert "2" not in config.secrets and "admin" not in config.secrets


async def _echo(request: aiohttp.web.Request) -> aiohttp.web.Response:
    """A service whose error page echoes the request, headers and all."""
    lines = [f"{request.method} {request.path_qs}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return aiohttp.web.Response(status=401, text="unauthorized; you sent:\n" + "\n".join(lines))


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    app = aiohttp.web.Application()
    app.router.add_get("/{tail:.*}", _echo)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


async def test_an_echoed_basic_header_and_query_token_never_reach_the_sample(
        make_project, echo_port: int) -> None:
    config = config_for(make_project, f"""
[[tool.claimcheck.services]]
name = "api"
url = "http://admin:{TOKEN}@127.0.0.1:{echo_port}/health?access_token=q-{TOKEN[::-1]}"
""", {})
    sample = await probe_service(config.services[0], redactor=Redactor(config.secrets))
    basic = base64.b64encode(f"admin:{TOKEN}".encode()).decode()
    text = f"{sample.url} {sample.detail}"
    assert sample.status == "degraded" and "HTTP 401" in sample.detail
    assert basic not in text and leaks(text, basic) == []
    assert leaks(text, TOKEN) == [] and leaks(text, TOKEN[::-1]) == []


# ----------------------------------------------------------------------------------------
# A new user's check: a known secret in none of the outputs


async def test_a_known_secret_is_in_none_of_the_outputs(make_project, echo_port: int,
                                                        tmp_path: Path) -> None:
    root = make_project({
        "pyproject.toml": f"""
[tool.claimcheck]
[[tool.claimcheck.phases]]
name = "unit"
pytest = ["tests"]
env = {{ DB_PASSWORD = "${{DBPW}}" }}

[[tool.claimcheck.services]]
name = "api"
url = "http://admin:${{DBPW}}@127.0.0.1:{echo_port}/health?token=${{DBPW}}"
critical = false
""",
        "tests/test_secret.py": """
            import os

            PASSWORD = os.environ["DB_PASSWORD"]

            def test_connects():
                print("connecting with", PASSWORD, repr(PASSWORD))
                assert PASSWORD * 12 == "expected"

            def test_header():
                headers = {"Authorization": "Bearer " + PASSWORD}
                assert headers == {}

            def test_url():
                assert "postgres://app:" + PASSWORD + "@db/app?sslmode=off" == ""
        """,
    })
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "DBPW": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "claimcheck", "--project", str(root), "--report",
        "--write", f"json={out / 'r.json'}", "--write", f"junit={out / 'r.xml'}",
        "--write", f"markdown={out / 'r.md'}", "--write", f"text={out / 'r.txt'}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 1, stderr.decode()
    outputs = {"stdout": stdout.decode(), "stderr": stderr.decode()}
    outputs.update({path.name: path.read_text() for path in out.iterdir()})
    assert set(outputs) == {"stdout", "stderr", "r.json", "r.xml", "r.md", "r.txt"}
    basic = base64.b64encode(f"admin:{TOKEN}".encode()).decode()
    document = json.loads(outputs["r.json"])
    longreprs = " ".join(t["longrepr"] or "" for t in document["phases"][0]["tests"])
    assert "AssertionError" in longreprs and "***" in longreprs  # the evidence is still there
    for name, text in outputs.items():
        assert leaks(text, TOKEN) == [], name
        assert leaks(text, basic) == [], name
