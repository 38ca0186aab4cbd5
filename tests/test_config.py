"""Configuration: the public TOML shape, defaults, ${VAR} expansion, and one clear error per mistake."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.config import ConfigError, load_config

EXAMPLE = """
[tool.claimcheck]
python = "${PY}"

[tool.claimcheck.gaps]
factory = { title = "Factory pattern integration conflicts", match = ["*factory*"] }
auth    = { title = "Service authentication", match = ["*auth*"], markers = ["auth"] }

[[tool.claimcheck.phases]]
name = "unit"
pytest = ["tests/unit", "-k", "not slow"]

[[tool.claimcheck.phases]]
name = "staging"
command = ["python", "scripts/run_tests.py", "tests/e2e"]
timeout = 900
env = { STAGE = "${STAGE:-staging}" }
requires = ["events"]

[[tool.claimcheck.services]]
name = "events"
url = "ws://127.0.0.1:8765/ws"
headers = { Authorization = "Bearer ${E2E_TOKEN}" }
expect_events = ["agent_started", "agent_completed"]
"""


def project(make_project, pyproject: str, extra: dict[str, str] | None = None) -> Path:
    files = {
        "pyproject.toml": pyproject,
        "tests/unit/test_a.py": "def test_a(): pass\n",
        "tests/e2e/test_b.py": "def test_b(): pass\n",
        "scripts/run_tests.py": "",
    }
    files.update(extra or {})
    return make_project(files)


def test_the_documented_example_loads(make_project) -> None:
    root = project(make_project, EXAMPLE)
    config = load_config(root, environ={"PY": sys.executable, "E2E_TOKEN": "s3cret-token"})

    assert config.source == root / "pyproject.toml"
    assert config.python == sys.executable
    assert [p.name for p in config.phases] == ["unit", "staging"]
    unit, staging = config.phases
    assert unit.pytest == ("tests/unit", "-k", "not slow") and unit.command is None
    assert staging.command == ("python", "scripts/run_tests.py", "tests/e2e")
    assert staging.timeout == 900.0
    assert dict(staging.env) == {"STAGE": "staging"}
    assert staging.requires == ("events",)
    assert [(g.name, g.title, g.match, g.markers) for g in config.gaps] == [
        ("factory", "Factory pattern integration conflicts", ("*factory*",), ()),
        ("auth", "Service authentication", ("*auth*",), ("auth",)),
    ]
    events = config.services[0]
    assert events.kind == "websocket" and events.port == 8765
    assert events.headers["Authorization"] == "Bearer s3cret-token"
    assert "Bearer s3cret-token" in config.secrets


def test_separate_config_file_has_keys_at_top_level(make_project, tmp_path: Path) -> None:
    root = project(make_project, "[project]\nname = 'x'\n")
    path = tmp_path / "claimcheck.toml"
    path.write_text('[[phases]]\nname = "only"\npytest = ["tests/unit"]\n')
    config = load_config(root, path)
    assert [p.name for p in config.phases] == ["only"]
    assert config.source == path


def test_the_digest_is_the_config_as_written_not_its_formatting_or_expansion(
        make_project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sha256 of the table as written: key order and layout do not count, a changed value
    does, and a ${VAR} is hashed as written, never its value."""
    import hashlib
    import json

    root = make_project({"test_x.py": ""})
    one, two, three = (tmp_path / name for name in ("one.toml", "two.toml", "three.toml"))
    one.write_text('[[phases]]\nname = "unit"\npytest = ["-x", "${TOKEN}"]\ntimeout = 60\n')
    two.write_text('[[phases]]\ntimeout   = 60\npytest = [ "-x", "${TOKEN}" ]\nname = "unit"\n')
    three.write_text('[[phases]]\nname = "unit"\npytest = ["-x", "${TOKEN}"]\ntimeout = 61\n')
    monkeypatch.setenv("TOKEN", "s3cr3t-value")
    digest = load_config(root, one).digest
    written = {"phases": [{"name": "unit", "pytest": ["-x", "${TOKEN}"], "timeout": 60}]}
    assert digest == hashlib.sha256(json.dumps(
        written, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert load_config(root, two).digest == digest
    assert load_config(root, three).digest != digest
    monkeypatch.setenv("TOKEN", "another-value")
    assert load_config(root, one).digest == digest
    assert load_config(root).digest == hashlib.sha256(b"{}").hexdigest()  # no config at all


def test_defaults_without_config_pick_known_test_folders(make_project) -> None:
    root = make_project({
        "pyproject.toml": "[project]\nname = 'x'\n",
        "tests/unit/test_a.py": "", "tests/staging/test_b.py": "", "tests/other/test_c.py": "",
    })
    config = load_config(root)
    assert config.source is None
    assert [(p.name, p.pytest) for p in config.phases] == [
        ("unit", ("tests/unit",)), ("staging", ("tests/staging",))]
    assert config.gaps == ()


def test_defaults_fall_back_to_one_plain_pytest_phase(make_project) -> None:
    root = make_project({"test_x.py": ""})
    assert [(p.name, p.pytest) for p in load_config(root).phases] == [("tests", ())]


def test_unset_variable_without_default_is_a_warning_not_a_crash(make_project) -> None:
    root = project(make_project, EXAMPLE)
    config = load_config(root, environ={"PY": sys.executable})
    assert config.services[0].headers["Authorization"] == "Bearer "
    assert any("${E2E_TOKEN} is not set" in warning for warning in config.warnings)


def test_url_credentials_are_masked_for_display(make_project) -> None:
    root = project(make_project, """
[[tool.claimcheck.services]]
name = "api"
url = "http://admin:hunter22@127.0.0.1:9000/health"
""")
    service = load_config(root).services[0]
    assert service.display_url == "http://***@127.0.0.1:9000/health"
    assert "hunter22" in load_config(root).secrets


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[tool.claimcheck]\ncolour = "red"\n',
         "tool.claimcheck.colour: unknown key"),
        ('[[tool.claimcheck.phases]]\nname = "u"\npytest = "tests/unit"\n',
         "tool.claimcheck.phases[0].pytest: expected a list of strings, got 'tests/unit'"),
        ('[[tool.claimcheck.phases]]\nname = "u"\npytest = ["tests/unit"]\ncommand = ["x"]\n',
         "tool.claimcheck.phases[0] (u): has both of 'pytest' and 'command'; expected exactly one"),
        ('[[tool.claimcheck.phases]]\nname = "u"\n',
         "has neither of 'pytest' and 'command'"),
        ('[[tool.claimcheck.phases]]\nname = "u"\npytest = []\n'
         '[[tool.claimcheck.phases]]\nname = "u"\npytest = []\n',
         "tool.claimcheck.phases[1].name: phase name 'u' is used twice"),
        ('[[tool.claimcheck.phases]]\nname = "u"\ncommand = ["python", "scripts/gone.py"]\n',
         "tool.claimcheck.phases[0].command: path 'scripts/gone.py' does not exist"),
        ('[[tool.claimcheck.phases]]\nname = "u"\ncommand = ["scripts/gone.sh", "-x"]\n',
         "tool.claimcheck.phases[0].command: path 'scripts/gone.sh' does not exist"),
        ('[[tool.claimcheck.phases]]\nname = "u"\npytest = []\ntimeout = "soon"\n',
         "tool.claimcheck.phases[0].timeout: expected a number, got 'soon'"),
        ('[[tool.claimcheck.phases]]\nname = "u"\npytest = []\nrequires = ["db"]\n',
         "tool.claimcheck.phases[0].requires: unknown service 'db'"),
        ('[tool.claimcheck.gaps]\nauth = { title = "Auth" }\n',
         "tool.claimcheck.gaps.auth: has neither 'match' nor 'markers'"),
        ('[[tool.claimcheck.services]]\nname = "a"\nurl = "ftp://x"\n',
         "tool.claimcheck.services[0].url: expected an http(s)://, ws(s):// or tcp://host:port URL"),
        ('[[tool.claimcheck.services]]\nname = "a"\nurl = "http://x"\nexpect_status = 999\n',
         "tool.claimcheck.services[0].expect_status: expected an HTTP status"),
        ('[[tool.claimcheck.services]]\nname = "a"\nurl = "http://x"\nsend = "hi"\n',
         "tool.claimcheck.services[0].send: only applies to ws:// or wss:// services"),
        ('[tool.claimcheck]\npython = ".venv/bin/python"\n',
         "tool.claimcheck.python: interpreter '.venv/bin/python' does not exist"),
        ("[tool.claimcheck\n", "not valid TOML"),
    ],
)
def test_each_mistake_names_file_key_and_expectation(make_project, body: str, expected: str) -> None:
    root = project(make_project, body)
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    message = str(caught.value)
    assert message.startswith(f"{root / 'pyproject.toml'}: ")
    assert expected in message


def test_header_value_is_not_echoed_in_a_type_error(make_project) -> None:
    root = project(make_project, """
[[tool.claimcheck.services]]
name = "a"
url = "http://127.0.0.1:1/"
headers = { Authorization = 12345678 }
""")
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    assert "headers.Authorization: expected a string" in str(caught.value)
    assert "12345678" not in str(caught.value)


def test_missing_config_file_is_named(make_project, tmp_path: Path) -> None:
    root = project(make_project, "")
    with pytest.raises(ConfigError, match="nope.toml: config file does not exist"):
        load_config(root, tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("name", "secret"),
    [("E2E_TOKEN", True), ("DB_PASSWORD", True), ("STRIPE_API_KEY", True), ("SIGNING_KEY", True),
     ("AUTH_PORT", False), ("AUTH_URL", False), ("KEYCLOAK_HOST", False), ("STAGE", False)],
)
def test_only_secret_looking_variables_are_redacted(make_project, name: str, secret: bool) -> None:
    root = project(make_project, f'[[tool.claimcheck.phases]]\nname = "u"\npytest = []\n'
                                 f'env = {{ X = "${{{name}}}" }}\n')
    config = load_config(root, environ={name: "value-8081"})
    assert ("value-8081" in config.secrets) is secret


# Valid pytest arguments whose values an allow-list of options once took for paths (exit 4).
PYTEST_ARGS_WITH_VALUES = [
    ["--reruns", "2", "tests/unit"],
    ["--verbosity", "2"],
    ["--log-format", "%(message)s"],
    ["--junit-prefix", "x"],
    ["--code-highlight", "no"],
    ["--cov-fail-under", "90"],
    ["--hypothesis-seed", "0"],
    ["tests/nowhere"],  # a missing path too: pytest says so itself, in the phase's finding
]


@pytest.mark.parametrize("args", PYTEST_ARGS_WITH_VALUES, ids=" ".join)
def test_pytest_arguments_are_left_to_pytest(make_project, args: list[str]) -> None:
    listed = ", ".join(f'"{arg}"' for arg in args)
    root = project(make_project, f'[[tool.claimcheck.phases]]\nname = "u"\npytest = [{listed}]\n')
    assert load_config(root).phases[0].pytest == tuple(args)


@pytest.mark.parametrize("command", [
    ["python", "scripts/run_tests.py", "--junitxml", "out/report.xml"],
    ["python", "-m", "pytest", "--log-file", "logs/run.log", "tests/unit"],
    ["tox", "-e", "py311", "--", "tests/unit/test_x.py"],
])
def test_command_arguments_other_than_the_runner_are_not_checked(make_project,
                                                                 command: list[str]) -> None:
    listed = ", ".join(f'"{arg}"' for arg in command)
    root = project(make_project, f'[[tool.claimcheck.phases]]\nname = "u"\ncommand = [{listed}]\n')
    assert load_config(root).phases[0].command == tuple(command)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('single_source = ["WebSocketManager", "MessageRouter"]\n',
         ("WebSocketManager", "MessageRouter")),
        ("single_source = []\n", ()),  # listed as none: suggestions off too
        ("", None),  # absent: claimcheck suggests likely duplicates instead
    ],
)
def test_single_source_names(make_project, body: str, expected) -> None:
    root = project(make_project, "[tool.claimcheck]\n" + body)
    assert load_config(root).single_source == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('single_source = "WebSocketManager"',
         "tool.claimcheck.single_source: expected a list of strings, got 'WebSocketManager'"),
        ('single_source = ["app.ws.Manager"]',
         "tool.claimcheck.single_source: expected class or function names such as "
         "\"WebSocketManager\", got 'app.ws.Manager'"),
        ('single_source = ["A", "A"]',
         "tool.claimcheck.single_source: 'A' is listed twice; expected each name once"),
    ],
)
def test_single_source_mistakes_name_the_key(make_project, body: str, expected: str) -> None:
    root = project(make_project, "[tool.claimcheck]\n" + body + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    assert str(caught.value) == f"{root / 'pyproject.toml'}: {expected}"


# ----------------------------------------------------------------------------------------
# Hostile and broken files: one line naming the file, never a traceback or a hang (issue 11)


def write_config(tmp_path: Path, data: bytes | str, name: str = "cc.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def config_error(root: Path, path: Path | None = None, environ: dict[str, str] | None = None
                 ) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(root, path, environ=environ if environ is not None else {})
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'[[phases]]\nname = "u"\npytest = []\n# caf\xe9\n', "line 4: byte 0xe9 is not UTF-8"),
        ('[[phases]]\nname = "u"\npytest = []\n'.encode("utf-16"), "is UTF-16 text; expected "
                                                                   "UTF-8"),
        ("x = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
        ("x = " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep"),
        (b"a" * (2 * 1024 * 1024), "larger than 1024 KiB"),
    ],
)
def test_unreadable_files_are_named_in_one_line(make_project, tmp_path: Path, data: bytes,
                                                expected: str) -> None:
    root = project(make_project, "")
    path = write_config(tmp_path, data)
    message = config_error(root, path)
    assert message.startswith(f"{path}: ") and expected in message


def test_a_utf8_byte_order_mark_is_accepted(make_project, tmp_path: Path) -> None:
    root = project(make_project, "")
    path = write_config(tmp_path, b'\xef\xbb\xbf[[phases]]\nname = "u"\npytest = []\n')
    assert [p.name for p in load_config(root, path).phases] == ["u"]


def test_config_from_an_endless_device_is_refused_at_once(make_project) -> None:
    root = project(make_project, "")
    assert "/dev/zero: larger than 1024 KiB" in config_error(root, Path("/dev/zero"))


def test_pyproject_whose_tool_is_not_a_table_is_named(make_project) -> None:
    root = project(make_project, "tool = 3\n")
    message = config_error(root)
    assert message.startswith(f"{root / 'pyproject.toml'}: tool: expected a table")


@pytest.mark.parametrize("key", ["timeout", "interval_s", "timeout_s", "within_s",
                                 "max_latency_ms"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300"])
def test_only_finite_sane_numbers(make_project, key: str, value: str) -> None:
    if key == "timeout":
        body = f'[[tool.claimcheck.phases]]\nname = "u"\npytest = []\ntimeout = {value}\n'
        where = "phases[0].timeout"
    else:
        body = (f'[[tool.claimcheck.services]]\nname = "a"\nurl = "ws://127.0.0.1:1/"\n'
                f"{key} = {value}\n")
        where = f"services[0].{key}"
    message = config_error(project(make_project, body))
    expected = "a number at most" if value == "1e300" else "a finite number"
    assert f"{where}: expected {expected}" in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ('{ A = "x\\u0000y" }', "phases[0].env.A: expected text without NUL characters"),
        ('{ "A=B" = "x" }', "phases[0].env: variable name 'A=B': expected a name without '='"),
        ('{ "" = "x" }', "phases[0].env: variable name '': expected a name"),
    ],
)
def test_an_environment_the_os_cannot_hold_is_a_config_error(make_project, env: str,
                                                             expected: str) -> None:
    root = project(make_project, f'[[tool.claimcheck.phases]]\nname = "u"\npytest = []\n'
                                 f"env = {env}\n")
    assert expected in config_error(root)


def test_nul_in_an_argument_is_a_config_error(make_project) -> None:
    root = project(make_project, '[[tool.claimcheck.phases]]\nname = "u"\n'
                                 'command = ["python", "-c", "x\\u0000"]\n')
    assert "phases[0].command[2]: expected text without NUL" in config_error(root)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "python: expected a Python interpreter (a path or a name on PATH), got ''"),
        ("tests", "python: 'tests' is a folder; expected a Python interpreter"),
        ("tests/", "python: 'tests/' is a folder; expected a Python interpreter"),
        ("scripts/run_tests.py", "python: interpreter 'scripts/run_tests.py' is not executable"),
        ("no-such-python-9", "python: interpreter 'no-such-python-9' is not on PATH"),
    ],
)
def test_an_interpreter_that_cannot_run_is_named(make_project, value: str, expected: str) -> None:
    root = project(make_project, f'[tool.claimcheck]\npython = "{value}"\n')
    message = config_error(root, environ={"PATH": os.defpath})
    assert message.startswith(f"{root / 'pyproject.toml'}: tool.claimcheck.")
    assert expected in message


@pytest.mark.parametrize(
    ("header", "expected"),
    [('{ "Bad Name" = "x" }', "header name 'Bad Name'"),
     ('{ X-Token = "a\\r\\nInjected: 1" }', "headers.X-Token: expected a value on one line")],
)
def test_headers_an_http_request_cannot_carry(make_project, header: str, expected: str) -> None:
    root = project(make_project, '[[tool.claimcheck.services]]\nname = "a"\n'
                                 f'url = "ws://127.0.0.1:1/"\nheaders = {header}\n')
    message = config_error(root)
    assert expected in message and "Injected: 1" not in message


# ----------------------------------------------------------------------------------------
# Config errors go to stderr and CI logs: no secret in them (item 12)

SECRET_ENV = {"API_TOKEN": "tok-0123456789abcdef", "DBPW": "pw-fedcba9876543210"}


@pytest.mark.parametrize(
    "body",
    [
        '[tool.claimcheck]\npython = "/opt/${API_TOKEN}/bin/python"\n',
        '[[tool.claimcheck.phases]]\nname = "u"\npytest = []\nrequires = ["svc-${API_TOKEN}"]\n',
        '[[tool.claimcheck.services]]\nname = "a"\nurl = "http://admin:${DBPW}@h:notaport/"\n',
        '[[tool.claimcheck.services]]\nname = "a"\nurl = "ftp://admin:${DBPW}@h/"\n',
        '[[tool.claimcheck.services]]\nname = "a"\nurl = "http://h/x?token=${DBPW}"\n'
        'send = "hi"\n',
        '[[tool.claimcheck.services]]\nname = "a"\nurl = "http://h/x?token=${DBPW}"\n'
        '[[tool.claimcheck.services]]\nname = "a"\nurl = "http://h/"\n',
        '[[tool.claimcheck.phases]]\nname = "${API_TOKEN}"\npytest = []\n'
        '[[tool.claimcheck.phases]]\nname = "${API_TOKEN}"\npytest = []\n',
    ],
)
def test_config_errors_never_show_a_secret(make_project, body: str) -> None:
    message = config_error(project(make_project, body), environ=SECRET_ENV)
    for secret in SECRET_ENV.values():
        assert secret not in message and secret[3:15] not in message, message
