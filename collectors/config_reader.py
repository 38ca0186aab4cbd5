"""Reading a TOML table into typed values: every type or shape mistake is one ConfigError
whose message names the file, the key and what was expected (and never shows a secret)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Mapping

from claimcheck.collectors.config_model import ConfigError

# Seconds (or milliseconds for max_latency_ms) beyond this are a typo, and too large for timers.
MAX_DURATION = 30 * 24 * 3600.0

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Reader:
    """Walks a TOML table, turning every type or shape mistake into a ConfigError."""

    def __init__(self, source: Path, prefix: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.prefix = prefix
        self.environ = environ
        self.secrets: list[str] = []
        self.warnings: list[str] = []

    def fail(self, key: str, expected: str, value: Any = None, *, show: bool = True) -> ConfigError:
        shown = f", got {describe_value(value)}" if show else ""
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
            if secret or looks_secret(name):
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
            if equals and option.startswith("-") and looks_secret(option.lstrip("-")
                                                                     .replace("-", "_")):
                self.secrets.append(value)
            elif previous.startswith("-") and "=" not in previous and looks_secret(
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
            item_secret = secret or looks_secret(item_key)
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


def looks_secret(name: str) -> bool:
    """A variable or key whose name says it holds a secret (E2E_TOKEN, DB_PASSWORD,
    STRIPE_API_KEY, Authorization).

    Deliberately not "AUTH": AUTH_PORT or AUTH_URL are not secrets, and masking a port number
    would blank it out of every report.
    """
    return bool(_SECRET_NAME.search(name))


def describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
