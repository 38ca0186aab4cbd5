"""Where a project keeps its pytest settings, and advice in that file's own syntax.

Advice to "register it under [tool.pytest.ini_options]" breaks pytest 9 for a project that uses
the native `[tool.pytest]` table: pytest refuses a pyproject.toml holding both. So advice names
the file pytest really read (the session's `inifile`) and the table in it that pytest reads:

    pyproject.toml   [tool.pytest] (pytest 9, TOML types) or [tool.pytest.ini_options]
    pytest.toml, .pytest.toml                          [pytest]  TOML
    pytest.ini, .pytest.ini, tox.ini, other *.ini      [pytest]  INI
    setup.cfg, other *.cfg                              [tool:pytest]  INI

and says whether to add to a setting the table already has (a second `markers =` is a TOML
error) or to add the setting. A pyproject.toml without any pytest table (pytest 8.1+ still
takes it as the config file) gets `[tool.pytest.ini_options]`, which pytest 8 and 9 both read.

`read_config_style` reads the file (the caller brings it to the pure finding functions);
everything else here is pure.
"""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

TOOL_PYTEST = "[tool.pytest]"
INI_OPTIONS = "[tool.pytest.ini_options]"


@dataclass(frozen=True)
class ConfigStyle:
    """The table pytest reads its settings from, in one config file."""

    file: str  # as a person types it: "pyproject.toml", "tests/pytest.ini"
    table: str  # "[tool.pytest]", "[tool.pytest.ini_options]", "[pytest]", "[tool:pytest]"
    toml: bool  # TOML syntax (`key = ["a", "b"]`) or INI (`key = a b`, indented lines)
    keys: frozenset[str] = frozenset()  # settings the table already holds
    exists: bool = True  # False: the file has no such table yet; the advice adds it


ConfigStyleReader = Callable[[str], "ConfigStyle | None"]  # inifile path -> its style


def style_by_name(file: str) -> ConfigStyle:
    """The style a file's name implies, before (or without) reading it."""
    name = PurePosixPath(file).name
    if name in ("pytest.toml", ".pytest.toml"):
        return ConfigStyle(file, "[pytest]", toml=True)
    if name == "pyproject.toml":  # the table pytest 8 and 9 both read; reading tells better
        return ConfigStyle(file, INI_OPTIONS, toml=True)
    if name.endswith(".toml"):  # `-c custom.toml`: pytest 9 reads [pytest] there
        return ConfigStyle(file, "[pytest]", toml=True)
    if name == "setup.cfg" or name.endswith(".cfg"):
        return ConfigStyle(file, "[tool:pytest]", toml=False)
    return ConfigStyle(file, "[pytest]", toml=False)


def read_config_style(path: Path, file: str) -> ConfigStyle:
    """The table of `path` pytest reads, and the keys it holds; by name if it cannot be read."""
    guess = style_by_name(file)
    try:
        data = path.read_bytes()
    except OSError:
        return guess
    if guess.toml:
        return _toml_style(data, guess)
    return _ini_style(data, guess)


def _toml_style(data: bytes, guess: ConfigStyle) -> ConfigStyle:
    try:
        document = tomllib.loads(data.decode("utf-8", "replace"))
    except tomllib.TOMLDecodeError:
        return guess
    if guess.table == "[pytest]":  # pytest.toml, .pytest.toml
        table = document.get("pytest")
        if isinstance(table, dict):
            return ConfigStyle(guess.file, "[pytest]", True, frozenset(table))
        if PurePosixPath(guess.file).name in ("pytest.toml", ".pytest.toml"):
            return ConfigStyle(guess.file, "[pytest]", True, exists=False)
    tool = document.get("tool")
    tool_pytest = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(tool_pytest, dict):  # a pyproject.toml without pytest settings
        return ConfigStyle(guess.file, INI_OPTIONS, True, exists=False)
    native = {key for key in tool_pytest if key != "ini_options"}
    if native:  # pytest 9's own table, TOML types
        return ConfigStyle(guess.file, TOOL_PYTEST, True, frozenset(native))
    ini_options = tool_pytest.get("ini_options")
    if isinstance(ini_options, dict):
        return ConfigStyle(guess.file, INI_OPTIONS, True, frozenset(ini_options))
    return guess


def _ini_style(data: bytes, guess: ConfigStyle) -> ConfigStyle:
    section = guess.table.strip("[]")
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",))
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error:
        return guess
    if not parser.has_section(section):
        return ConfigStyle(guess.file, guess.table, False, exists=False)
    return ConfigStyle(guess.file, guess.table, False, frozenset(parser.options(section)))


# ----------------------------------------------------------------------------------------
# Advice


def _where(style: ConfigStyle) -> str:
    if style.exists:
        return f"under {style.table} in {style.file}"
    return f"in a new {style.table} {'table' if style.toml else 'section'} of {style.file}"


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{value}"' for value in values) + "]"


def add_lines(style: ConfigStyle | None, key: str, entries: Sequence[str]) -> str:
    """How to add `entries` to a one-entry-per-line setting such as `markers`.

    Where the setting is missing, every entry goes into the one new setting: two findings that
    each said "add markers = [...]" would, followed both, repeat the key, which TOML refuses.
    """
    quoted = " and ".join(f"'    {entry}'" for entry in entries)
    lines = "lines" if len(entries) > 1 else "line"
    if style is None:
        return (f"pytest found no config file: create pytest.ini with a [pytest] section "
                f"holding a '{key} =' line followed by the indented {lines} {quoted}")
    if style.toml:
        if key in style.keys:
            return f"add {_toml_items(entries)} to the {key} list {_where(style)}"
        return f"add {key} = {_toml_list(entries)} {_where(style)}"
    if key in style.keys:
        return f"add the indented {lines} {quoted} to {key} {_where(style)}"
    return f"add a '{key} =' line followed by the indented {lines} {quoted} {_where(style)}"


def _toml_items(entries: Sequence[str]) -> str:
    return " and ".join(f'"{entry}"' for entry in entries)


def add_word(style: ConfigStyle | None, key: str, current: Sequence[str], word: str) -> str:
    """How to add `word` to a whitespace-separated setting such as `python_classes`, whose
    current value (pytest's default, when the file does not set it) must be kept."""
    values = [*current, word]
    if style is None:
        return (f"create pytest.ini with a [pytest] section holding the line "
                f"'{key} = {' '.join(values)}'")
    if style.toml:
        if key in style.keys:
            return f'add "{word}" to the {key} list {_where(style)}'
        return f"set {key} = {_toml_list(values)} {_where(style)}"
    if key in style.keys:
        return f"add {word} to the {key} line {_where(style)}"
    return f"set '{key} = {' '.join(values)}' {_where(style)}"
