"""TOML -> typed, validated configuration.

Every mistake becomes one `ConfigError` whose message names the file, the key and what was
expected, so `claimcheck` can exit 4 with a sentence instead of a traceback. The values are in
`config_model`, the table reader in `config_reader`, the services in `config_services`; this
module loads a file and parses phases and gaps, and is what every other module imports.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from claimcheck.collectors.config_model import (
    DEFAULT_PHASE_DIRS,
    Config,
    ConfigError,
    GapConfig,
    PhaseConfig,
    ServiceConfig,
    config_digest,
)
from claimcheck.collectors.config_reader import (
    MAX_DURATION,
    Reader,
    describe_value,
    looks_secret,
)
from claimcheck.collectors.config_services import SERVICE_KEYS, parse_services
from claimcheck.collectors.secrets import (
    Redactor,
    escape_line,
    mask_url_credentials,
)
from claimcheck.collectors.tomlfile import (
    UnreadableToml,
    read_toml,
)

__all__ = [
    "DEFAULT_PHASE_DIRS", "MAX_DURATION", "SERVICE_KEYS", "Config", "ConfigError", "GapConfig",
    "PhaseConfig", "ServiceConfig", "config_digest", "default_config", "default_phases",
    "load_config", "parse_config", "Reader", "describe_value", "looks_secret", "parse_services",
]


_TOP_KEYS = {"python", "phases", "gaps", "services", "single_source"}
_PHASE_KEYS = {"name", "pytest", "command", "timeout", "env", "requires"}
_GAP_KEYS = {"title", "match", "markers"}


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


def select_phases(config: Config, names: Sequence[str] | None) -> tuple[PhaseConfig, ...]:
    """The phases to run, in configured order; an unknown name is a usage error."""
    if not names:
        return config.phases
    known = {phase.name for phase in config.phases}
    for name in names:
        if name not in known:
            choices = ", ".join(phase.name for phase in config.phases)
            where = config.source or "the default phases"
            raise ConfigError(f"{where}: --phase {name!r}: no such phase; expected one of {choices}")
    wanted = set(names)
    return tuple(phase for phase in config.phases if phase.name in wanted)


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
                              f"got {describe_value(tool)}")
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
    reader = Reader(source, prefix, os.environ if environ is None else environ)
    try:
        return _parse(table, reader, root)
    except ConfigError as error:
        # A message may quote a value that came from a secret ${VAR} or a URL with a password;
        # it goes to stderr and CI logs, so it passes the same redactor as every report.
        message = Redactor(tuple(reader.secrets))(mask_url_credentials(str(error)))
        raise ConfigError(_one_line(message)) from None


def _parse(table: Mapping[str, Any], reader: Reader, root: Path) -> Config:
    prefix = reader.prefix
    reader.check_keys(table, _TOP_KEYS, prefix or "(top level)")

    python = sys.executable
    if "python" in table:
        python = _interpreter(reader.string(table, "python", prefix), root, reader)

    services = parse_services(table, reader)
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
        table=table,
        single_source=single_source,
    )


def _single_source(table: Mapping[str, Any], reader: Reader) -> tuple[str, ...]:
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


def default_config(root: Path) -> Config:
    return Config(root=root, source=None, python=sys.executable, phases=default_phases(root),
                  gaps=(), table={})


def default_phases(root: Path) -> tuple[PhaseConfig, ...]:
    """tests/unit, tests/integration, tests/e2e, tests/staging where present; else plain pytest."""
    phases = tuple(
        PhaseConfig(name=name, pytest=(f"tests/{name}",))
        for name in DEFAULT_PHASE_DIRS
        if (root / "tests" / name).is_dir()
    )
    return phases or (PhaseConfig(name="tests", pytest=()),)


def _interpreter(value: str, root: Path, reader: Reader) -> str:
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
        import shutil  # only here: with bz2 and lzma, ~2 ms of every start-up

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


def _phases(value: Any, reader: Reader, root: Path,
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


def _env(item: Mapping[str, Any], reader: Reader, key: str) -> dict[str, str]:
    """Environment variables for a phase: names an environment can hold."""
    env = reader.string_table(item, "env", key)
    for name in env:
        if not name or "=" in name or "\x00" in name:
            raise ConfigError(f"{reader.source}: {key}.env: variable name {name!r}: expected a "
                              "name without '=' or NUL characters")
    return env


def _check_command_paths(argv: tuple[str, ...], root: Path, reader: Reader, key: str) -> None:
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


def _gaps(value: Any, reader: Reader) -> tuple[GapConfig, ...]:
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
