"""TOML -> typed, validated configuration.

Every mistake becomes one `ConfigError` whose message names the file, the key and what was
expected, so `claimcheck` can exit 4 with a sentence instead of a traceback.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from claimcheck.collectors.secrets import (
    Redactor,
    basic_credentials,
    escape_line,
    looks_secret_parameter,
    mask_url_credentials,
)
from claimcheck.collectors.tomlfile import (
    UnreadableToml,
    read_toml,
)

DEFAULT_PHASE_DIRS: tuple[str, ...] = ("unit", "integration", "e2e", "staging")

# Seconds (or milliseconds for max_latency_ms) beyond this are a typo, and too large for timers.
MAX_DURATION = 30 * 24 * 3600.0

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A configuration mistake, phrased for the person who made it."""


@dataclass(frozen=True)
class PhaseConfig:
    name: str
    pytest: tuple[str, ...] | None = None  # args for `python -m pytest`
    command: tuple[str, ...] | None = None  # the project's own runner
    timeout: float | None = None  # seconds for the whole phase
    env: Mapping[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # service names that must be up


@dataclass(frozen=True)
class GapConfig:
    name: str
    title: str
    match: tuple[str, ...] = ()  # case-insensitive globs over the node id
    markers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    url: str  # as configured, may carry credentials: never print it, print `display_url`
    kind: str  # "http", "websocket" or "tcp"
    display_url: str  # credentials replaced with ***
    expect_status: tuple[int, ...] | None = None  # None: any 2xx
    max_latency_ms: float | None = None
    body_contains: str | None = None
    expect_json: Mapping[str, Any] = field(default_factory=dict)
    interval_s: float = 5.0
    timeout_s: float = 3.0
    headers: Mapping[str, str] = field(default_factory=dict)
    subprotocols: tuple[str, ...] = ()
    send: str | None = None
    expect_events: tuple[str, ...] = ()
    event_key: str = "type"
    within_s: float = 10.0
    stream: bool = False
    critical: bool = True
    process: str | None = None  # a name fragment identifying the service's process

    @property
    def host(self) -> str | None:
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int | None:
        parts = urlsplit(self.url)
        try:
            if parts.port is not None:
                return parts.port
        except ValueError:
            return None
        return {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None  # the file the config came from; None when defaults were used
    python: str  # interpreter that runs pytest phases
    phases: tuple[PhaseConfig, ...]
    gaps: tuple[GapConfig, ...]  # empty: group tests by the default rule (gaps.default_gap)
    services: tuple[ServiceConfig, ...] = ()
    secrets: tuple[str, ...] = ()  # values that must never be shown (see collectors.secrets)
    warnings: tuple[str, ...] = ()  # non-fatal notes, e.g. an unset ${VAR}
    # sha256 of the configuration as written (before ${VAR} expansion, so no secret goes into
    # it): two runs with the same digest ran the same phases, gaps and services.
    digest: str = ""
    # Class or function names that must be defined once in the project's own code; None when
    # the key is absent (claimcheck then suggests likely duplicates instead), () turns both off.
    single_source: tuple[str, ...] | None = None

    def phase(self, name: str) -> PhaseConfig:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


# ----------------------------------------------------------------------------------------


class _Reader:
    """Walks a TOML table, turning every type or shape mistake into a ConfigError."""

    def __init__(self, source: Path, prefix: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.prefix = prefix
        self.environ = environ
        self.secrets: list[str] = []
        self.warnings: list[str] = []

    def fail(self, key: str, expected: str, value: Any = None, *, show: bool = True) -> ConfigError:
        shown = f", got {_describe(value)}" if show else ""
        return ConfigError(f"{self.source}: {key}: expected {expected}{shown}")

    def key(self, *parts: str | int) -> str:
        text = self.prefix
        for part in parts:
            text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
        return text

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                choices = ", ".join(sorted(allowed))
                raise ConfigError(
                    f"{self.source}: {key}.{name}: unknown key; expected one of {choices}"
                )

    def expand(self, value: str, key: str, *, secret: bool = False) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.environ:
                result = self.environ[name]
            elif default is not None:
                result = default
            else:
                self.warnings.append(f"{self.source}: {key}: ${{{name}}} is not set; using ''")
                result = ""
            if secret or _looks_secret(name):
                self.secrets.append(result)
            return result

        return _VAR.sub(substitute, value)

    def string(self, table: Mapping[str, Any], name: str, key: str, *, secret: bool = False) -> str:
        value = table[name]
        if not isinstance(value, str):
            raise self.fail(f"{key}.{name}", "a string", value, show=not secret)
        return self.no_nul(self.expand(value, f"{key}.{name}", secret=secret), f"{key}.{name}")

    def no_nul(self, value: str, key: str) -> str:
        """A NUL cannot go into an argv, an environment or a header; say so here, not exit 3."""
        if "\x00" in value:
            raise ConfigError(f"{self.source}: {key}: expected text without NUL characters")
        return value

    def optional_string(self, table: Mapping[str, Any], name: str, key: str) -> str | None:
        return self.string(table, name, key) if name in table else None

    def strings(self, table: Mapping[str, Any], name: str, key: str) -> tuple[str, ...]:
        value = table[name]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{key}.{name}", "a list of strings", value)
        return tuple(self.no_nul(self.expand(item, f"{key}.{name}[{index}]"),
                                 f"{key}.{name}[{index}]")
                     for index, item in enumerate(value))

    def argv(self, table: Mapping[str, Any], name: str, key: str) -> tuple[str, ...]:
        """`strings`, where the value of an option named like a secret (`--api-key=X`,
        `--token X`) is a secret."""
        args = self.strings(table, name, key)
        previous = ""
        for arg in args:
            option, equals, value = arg.partition("=")
            if equals and option.startswith("-") and _looks_secret(option.lstrip("-")
                                                                     .replace("-", "_")):
                self.secrets.append(value)
            elif previous.startswith("-") and "=" not in previous and _looks_secret(
                    previous.lstrip("-").replace("-", "_")):
                self.secrets.append(arg)
            previous = arg
        return args

    def number(self, table: Mapping[str, Any], name: str, key: str, default: float | None,
               *, positive: bool = True, maximum: float = MAX_DURATION) -> float | None:
        if name not in table:
            return default
        value = table[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{key}.{name}", "a number", value)
        if isinstance(value, float) and not math.isfinite(value):  # nan never fires as a
            raise self.fail(f"{key}.{name}", "a finite number", value)  # timeout, inf never ends
        if positive and value <= 0:
            raise self.fail(f"{key}.{name}", "a number greater than 0", value)
        if value > maximum:
            raise self.fail(f"{key}.{name}", f"a number at most {maximum:g}", value)
        return float(value)

    def boolean(self, table: Mapping[str, Any], name: str, key: str, default: bool) -> bool:
        if name not in table:
            return default
        value = table[name]
        if not isinstance(value, bool):
            raise self.fail(f"{key}.{name}", "true or false", value)
        return value

    def string_table(self, table: Mapping[str, Any], name: str, key: str,
                     *, secret: bool = False) -> dict[str, str]:
        """A table of strings; a value under a key that looks secret (`DB_PASSWORD`,
        `Authorization`) is a secret whatever the variable it came from, literal or not."""
        if name not in table:
            return {}
        value = table[name]
        if not isinstance(value, dict):
            raise self.fail(f"{key}.{name}", "a table of strings", value, show=not secret)
        result: dict[str, str] = {}
        for item_key, item in value.items():
            item_secret = secret or _looks_secret(item_key)
            if not isinstance(item, str):
                raise self.fail(f"{key}.{name}.{item_key}", "a string", item,
                                show=not item_secret)
            where = f"{key}.{name}.{item_key}"
            result[item_key] = self.no_nul(self.expand(item, where, secret=item_secret), where)
            if item_secret:
                self.secrets.append(result[item_key])
        return result


_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|PWD|CREDENTIAL|API[_-]?KEY|PRIVATE[_-]?KEY|ACCESS[_-]?KEY"
    r"|[_-]KEY$|^KEY$|^(?:PROXY[_-])?AUTHORIZATION$|COOKIE",
    re.IGNORECASE,
)


def _looks_secret(name: str) -> bool:
    """A variable or key whose name says it holds a secret (E2E_TOKEN, DB_PASSWORD,
    STRIPE_API_KEY, Authorization).

    Deliberately not "AUTH": AUTH_PORT or AUTH_URL are not secrets, and masking a port number
    would blank it out of every report.
    """
    return bool(_SECRET_NAME.search(name))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ----------------------------------------------------------------------------------------

_TOP_KEYS = {"python", "phases", "gaps", "services", "single_source"}
_PHASE_KEYS = {"name", "pytest", "command", "timeout", "env", "requires"}
_GAP_KEYS = {"title", "match", "markers"}
_SERVICE_KEYS = {
    "name", "url", "expect_status", "max_latency_ms", "body_contains", "expect_json",
    "interval_s", "timeout_s", "headers", "subprotocols", "send", "expect_events", "event_key",
    "within_s", "stream", "critical", "process",
}


def load_config(
    root: Path | str,
    config_path: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read the configuration for the project at `root`.

    With `config_path`, the keys sit at the top level of that file; otherwise they come from
    `[tool.claimcheck]` in `root/pyproject.toml`, and without either, from defaults.
    """
    try:
        return _load_config(root, config_path, environ)
    except ConfigError as error:
        raise ConfigError(_one_line(str(error))) from None


def _one_line(message: str) -> str:
    """A message quotes keys and values as written; control codes in them are shown escaped,
    so it stays one line on stderr and cannot drive the terminal."""
    return escape_line(message)


def _load_config(root: Path | str, config_path: Path | str | None,
                 environ: Mapping[str, str] | None) -> Config:
    root = Path(root).resolve()
    environ = os.environ if environ is None else environ
    if not root.is_dir():
        raise ConfigError(f"{root}: project folder does not exist")
    if config_path is not None:
        source = Path(config_path)
        if not source.is_absolute():
            source = Path.cwd() / source
        table = _read_toml(source)
        prefix = ""
    else:
        source = root / "pyproject.toml"
        if not source.is_file():
            return default_config(root)
        document = _read_toml(source)
        tool = document.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{source}: tool: expected a table ([tool.claimcheck] lives in it), "
                              f"got {_describe(tool)}")
        table = tool.get("claimcheck")
        prefix = "tool.claimcheck"
        if table is None:
            return default_config(root)
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: tool.claimcheck: expected a table")
    return parse_config(table, root=root, source=source, prefix=prefix, environ=environ)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except UnreadableToml as error:
        raise ConfigError(str(error)) from None


def parse_config(
    table: Mapping[str, Any],
    *,
    root: Path,
    source: Path,
    prefix: str = "tool.claimcheck",
    environ: Mapping[str, str] | None = None,
) -> Config:
    reader = _Reader(source, prefix, os.environ if environ is None else environ)
    try:
        return _parse(table, reader, root)
    except ConfigError as error:
        # A message may quote a value that came from a secret ${VAR} or a URL with a password;
        # it goes to stderr and CI logs, so it passes the same redactor as every report.
        message = Redactor(tuple(reader.secrets))(mask_url_credentials(str(error)))
        raise ConfigError(_one_line(message)) from None


def _parse(table: Mapping[str, Any], reader: _Reader, root: Path) -> Config:
    prefix = reader.prefix
    reader.check_keys(table, _TOP_KEYS, prefix or "(top level)")

    python = sys.executable
    if "python" in table:
        python = _interpreter(reader.string(table, "python", prefix), root, reader)

    services = _services(table, reader)
    service_names = {service.name for service in services}

    if "phases" in table:
        phases = _phases(table["phases"], reader, root, service_names)
    else:
        phases = default_phases(root)

    gaps = _gaps(table.get("gaps", {}), reader) if "gaps" in table else ()
    single_source = _single_source(table, reader) if "single_source" in table else None

    return Config(
        root=root,
        source=reader.source,
        python=python,
        phases=phases,
        gaps=gaps,
        services=services,
        secrets=tuple(sorted({s for s in reader.secrets if s}, key=len, reverse=True)),
        warnings=tuple(reader.warnings),
        digest=config_digest(table),
        single_source=single_source,
    )


def _single_source(table: Mapping[str, Any], reader: _Reader) -> tuple[str, ...]:
    """Names, not paths: the audit looks each one up wherever the project defines it."""
    key = reader.key("single_source")
    names = reader.strings(table, "single_source", reader.prefix)
    seen: set[str] = set()
    for name in names:
        if not name.isidentifier():
            raise reader.fail(key, "class or function names such as \"WebSocketManager\"", name)
        if name in seen:
            raise ConfigError(f"{reader.source}: {key}: {name!r} is listed twice; "
                              "expected each name once")
        seen.add(name)
    return names


def config_digest(table: Mapping[str, Any]) -> str:
    """A stable hash of a configuration table: key order and TOML formatting do not count."""
    canonical = json.dumps(table, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def default_config(root: Path) -> Config:
    return Config(root=root, source=None, python=sys.executable, phases=default_phases(root),
                  gaps=(), digest=config_digest({}))


def default_phases(root: Path) -> tuple[PhaseConfig, ...]:
    """tests/unit, tests/integration, tests/e2e, tests/staging where present; else plain pytest."""
    phases = tuple(
        PhaseConfig(name=name, pytest=(f"tests/{name}",))
        for name in DEFAULT_PHASE_DIRS
        if (root / "tests" / name).is_dir()
    )
    return phases or (PhaseConfig(name="tests", pytest=()),)


def _interpreter(value: str, root: Path, reader: _Reader) -> str:
    """What can be told without starting it: the interpreter exists, is a file and may be run.

    Whether it is Python with pytest shows when the first phase runs (nothing runs in series
    before the first phase: a pre-flight interpreter start costs every run 0.2 s).
    """
    where = f"{reader.source}: {reader.key('python')}"
    if not value.strip():
        raise ConfigError(f"{where}: expected a Python interpreter (a path or a name on PATH), "
                          "got ''")
    path = Path(value)
    if not path.is_absolute() and ("/" in value or os.sep in value):
        path = root / path
    if not (path.is_absolute() or "/" in value):
        if (root / value).is_dir():
            raise ConfigError(f"{where}: {value!r} is a folder; expected a Python interpreter "
                              "(e.g. .venv/bin/python)")
        found = shutil.which(value, path=reader.environ.get("PATH"))
        if found is None:
            raise ConfigError(f"{where}: interpreter {value!r} is not on PATH; expected a Python "
                              "interpreter (a path or a name on PATH)")
        return value  # a bare name such as "python3", looked up on PATH when the phase starts
    if not path.exists():
        raise ConfigError(f"{where}: interpreter {value!r} does not exist")
    if path.is_dir():
        raise ConfigError(f"{where}: {value!r} is a folder; expected a Python interpreter "
                          "(e.g. .venv/bin/python)")
    if not os.access(path, os.X_OK):
        raise ConfigError(f"{where}: interpreter {value!r} is not executable; expected a Python "
                          "interpreter")
    return str(path)


def _phases(value: Any, reader: _Reader, root: Path,
            service_names: set[str]) -> tuple[PhaseConfig, ...]:
    key = reader.key("phases")
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise reader.fail(key, "an array of tables ([[tool.claimcheck.phases]])", value)
    if not value:
        raise reader.fail(key, "at least one phase", value)
    phases: list[PhaseConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        reader.check_keys(item, _PHASE_KEYS, item_key)
        if "name" not in item:
            raise reader.fail(f"{item_key}.name", "a phase name", show=False)
        name = reader.string(item, "name", item_key)
        if not name.strip():
            raise reader.fail(f"{item_key}.name", "a non-empty name", name)
        if name in seen:
            raise ConfigError(
                f"{reader.source}: {item_key}.name: phase name {name!r} is used twice; "
                "expected unique names"
            )
        seen.add(name)
        has_pytest, has_command = "pytest" in item, "command" in item
        if has_pytest == has_command:
            which = "both" if has_pytest else "neither"
            raise ConfigError(
                f"{reader.source}: {item_key} ({name}): has {which} of 'pytest' and 'command'; "
                "expected exactly one"
            )
        pytest_args = reader.argv(item, "pytest", item_key) if has_pytest else None
        command = reader.argv(item, "command", item_key) if has_command else None
        if command is not None and not command:
            raise reader.fail(f"{item_key}.command", "a non-empty argv list", command)
        # A pytest phase's arguments are pytest's to judge: an option claimcheck does not know
        # (`--reruns 2`, `--log-format %(message)s`) is not a path, and a path that really is
        # missing ends in pytest's own usage error, which the phase reports.
        if command is not None:
            _check_command_paths(command, root, reader, f"{item_key}.command")
        requires = reader.strings(item, "requires", item_key) if "requires" in item else ()
        for required in requires:
            if required not in service_names:
                known = ", ".join(sorted(service_names)) or "none are configured"
                raise ConfigError(
                    f"{reader.source}: {item_key}.requires: unknown service {required!r}; "
                    f"expected a name from [[services]] ({known})"
                )
        phases.append(
            PhaseConfig(
                name=name,
                pytest=pytest_args,
                command=command,
                timeout=reader.number(item, "timeout", item_key, None),
                env=_env(item, reader, item_key),
                requires=requires,
            )
        )
    return tuple(phases)


def _env(item: Mapping[str, Any], reader: _Reader, key: str) -> dict[str, str]:
    """Environment variables for a phase: names an environment can hold."""
    env = reader.string_table(item, "env", key)
    for name in env:
        if not name or "=" in name or "\x00" in name:
            raise ConfigError(f"{reader.source}: {key}.env: variable name {name!r}: expected a "
                              "name without '=' or NUL characters")
    return env


def _check_command_paths(argv: tuple[str, ...], root: Path, reader: _Reader, key: str) -> None:
    """The runner itself must exist: a relative program (`scripts/run.sh`) or the script a
    Python runs (`python scripts/run_tests.py`). Its other arguments are the runner's own
    business (`--junitxml out/x.xml` names a file that does not exist yet)."""
    for path in _runner_paths(argv):
        if not (root / path).exists():
            raise ConfigError(
                f"{reader.source}: {key}: path {path!r} does not exist under {root}; "
                "expected a file or folder of the project"
            )


def _runner_paths(argv: tuple[str, ...]) -> list[str]:
    program = argv[0] if argv else ""
    paths = [program] if "/" in program and not os.path.isabs(program) else []
    is_python = re.fullmatch(r"python[\d.]*(?:\.exe)?", os.path.basename(program))
    if is_python and len(argv) > 1 and argv[1].endswith(".py") and not argv[1].startswith("-"):
        paths.append(argv[1])
    return paths


def _gaps(value: Any, reader: _Reader) -> tuple[GapConfig, ...]:
    key = reader.key("gaps")
    if not isinstance(value, dict):
        raise reader.fail(key, "a table of gaps (name = { title = ..., match = [...] })", value)
    gaps: list[GapConfig] = []
    for name, item in value.items():
        item_key = f"{key}.{name}"
        if not isinstance(item, dict):
            raise reader.fail(item_key, "a table with title, match and/or markers", item)
        reader.check_keys(item, _GAP_KEYS, item_key)
        if "match" not in item and "markers" not in item:
            raise ConfigError(
                f"{reader.source}: {item_key}: has neither 'match' nor 'markers'; "
                "expected at least one"
            )
        title = reader.string(item, "title", item_key) if "title" in item else name
        match = reader.strings(item, "match", item_key) if "match" in item else ()
        markers = reader.strings(item, "markers", item_key) if "markers" in item else ()
        gaps.append(GapConfig(name=name, title=title, match=match, markers=markers))
    return tuple(gaps)


def _services(table: Mapping[str, Any], reader: _Reader) -> tuple[ServiceConfig, ...]:
    if "services" not in table:
        return ()
    key = reader.key("services")
    value = table["services"]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise reader.fail(key, "an array of tables ([[tool.claimcheck.services]])", value)
    services: list[ServiceConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        reader.check_keys(item, _SERVICE_KEYS, item_key)
        for required in ("name", "url"):
            if required not in item:
                raise reader.fail(f"{item_key}.{required}", f"a service {required}", show=False)
        name = reader.string(item, "name", item_key)
        if name in seen:
            raise ConfigError(
                f"{reader.source}: {item_key}.name: service name {name!r} is used twice; "
                "expected unique names"
            )
        seen.add(name)
        url = reader.string(item, "url", item_key)
        kind, display_url, url_secrets = _classify_url(url, reader, f"{item_key}.url")
        reader.secrets.extend(url_secrets)
        headers = _headers(item, reader, item_key)
        services.append(
            ServiceConfig(
                name=name,
                url=url,
                kind=kind,
                display_url=display_url,
                expect_status=_expect_status(item, reader, item_key),
                max_latency_ms=reader.number(item, "max_latency_ms", item_key, None,
                                             maximum=MAX_DURATION * 1000),
                body_contains=reader.optional_string(item, "body_contains", item_key),
                expect_json=_expect_json(item, reader, item_key),
                interval_s=reader.number(item, "interval_s", item_key, 5.0) or 5.0,
                timeout_s=reader.number(item, "timeout_s", item_key, 3.0) or 3.0,
                headers=headers,
                subprotocols=(reader.strings(item, "subprotocols", item_key)
                              if "subprotocols" in item else ()),
                send=reader.optional_string(item, "send", item_key),
                expect_events=(reader.strings(item, "expect_events", item_key)
                               if "expect_events" in item else ()),
                event_key=reader.optional_string(item, "event_key", item_key) or "type",
                within_s=reader.number(item, "within_s", item_key, 10.0) or 10.0,
                stream=reader.boolean(item, "stream", item_key, False),
                critical=reader.boolean(item, "critical", item_key, True),
                process=reader.optional_string(item, "process", item_key),
            )
        )
        if kind != "websocket":
            for ws_only in ("subprotocols", "send", "expect_events", "stream"):
                if ws_only in item:
                    raise ConfigError(
                        f"{reader.source}: {item_key}.{ws_only}: only applies to ws:// or "
                        f"wss:// services; expected it to be removed for {display_url}"
                    )
    return tuple(services)


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _headers(item: Mapping[str, Any], reader: _Reader, key: str) -> dict[str, str]:
    """Handshake headers: every value is a secret; names and values an HTTP request can carry."""
    headers = reader.string_table(item, "headers", key, secret=True)
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError(f"{reader.source}: {key}.headers: header name {name!r}: expected "
                              "letters, digits and - (an HTTP header name)")
        if "\r" in value or "\n" in value:
            raise ConfigError(f"{reader.source}: {key}.headers.{name}: expected a value on one "
                              "line (no CR or LF)")
    return headers


def _classify_url(url: str, reader: _Reader, key: str) -> tuple[str, str, list[str]]:
    """(kind, the URL to display, the secrets it carries): a URL's password (and the Basic
    header an HTTP client derives from it), a lone user name (usually a token), and the values
    of query parameters named like secrets (`?token=...`, `?api_key=...`, `?sig=...`)."""
    shown = _loose_mask(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise reader.fail(key, "a URL such as http://127.0.0.1:8080/health", shown) from None
    kinds = {"http": "http", "https": "http", "ws": "websocket", "wss": "websocket", "tcp": "tcp"}
    if parts.scheme not in kinds or not parts.hostname:
        raise reader.fail(key, "an http(s)://, ws(s):// or tcp://host:port URL", shown)
    if any(c.isspace() for c in url):
        raise reader.fail(key, "a URL without spaces or line breaks", shown)
    if parts.scheme == "tcp" and port is None:
        raise reader.fail(key, "a port in the tcp:// URL (tcp://host:port)", shown)
    secrets: list[str] = []
    display = url
    if parts.username or parts.password:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{port}" if port is not None else "")
        display = parts._replace(netloc=f"***@{netloc}").geturl()
        user, password = parts.username or "", parts.password
        if password:
            secrets += [password, unquote(password), *basic_credentials(user, password)]
        else:
            secrets += [user, unquote(user)]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value and looks_secret_parameter(name):
            secrets.append(value)
    for raw in parts.query.split("&"):
        name, _, value = raw.partition("=")
        if value and looks_secret_parameter(unquote(name)):
            secrets.append(value)
    return kinds[parts.scheme], mask_url_credentials(display), secrets


def _loose_mask(url: str) -> str:
    """A URL fit for an error message even when it does not parse: whatever sits between `://`
    and the last `@` is masked, and secret query values too."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        rest = "***" + rest[rest.rindex("@"):]
    return mask_url_credentials(scheme + sep + rest)


def _expect_status(item: Mapping[str, Any], reader: _Reader, key: str) -> tuple[int, ...] | None:
    if "expect_status" not in item:
        return None
    value = item["expect_status"]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599
                             for v in values):
        raise reader.fail(f"{key}.expect_status", "an HTTP status (100-599) or a list of them",
                          value)
    return tuple(values)


def _expect_json(item: Mapping[str, Any], reader: _Reader, key: str) -> dict[str, Any]:
    if "expect_json" not in item:
        return {}
    value = item["expect_json"]
    if not isinstance(value, dict):
        raise reader.fail(f"{key}.expect_json", 'a table such as { status = "ok" }', value)
    return dict(value)
