"""The configuration under a fuzzer: every file either loads into a sane Config or is refused
with one line naming the file (exit 4 from the CLI); never a traceback, never a hang.

Hypothesis writes random TOML (known keys with hostile values: non-finite and huge numbers,
NULs, control and bidi characters, `${VAR}`s, deep nesting, unknown keys) and random bytes (not
UTF-8, UTF-16, truncated). `derandomize=True` makes every run try the same examples, so the
suite cannot flake on a new one; a failure found while developing stays as an `@example`.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from claimcheck.collectors.config import Config, ConfigError, load_config
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

# Hypothesis warns when it prints a falsifying 2,000-bracket example; that is the point of it.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

ENVIRON = {"API_TOKEN": "tok-secret-0123456789", "STAGE": "staging", "EMPTY": "",
           "PATH": os.environ.get("PATH", os.defpath)}

FUZZ = settings(derandomize=True, deadline=None, max_examples=300, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

# ----------------------------------------------------------------------------------------
# Values

hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\x1b[31m", "\u202e", "tests", "tests/unit",
                     "${API_TOKEN}", "${NOPE}", "${STAGE:-x}", "${", "$${X}", "/", "..",
                     "http://admin:pw@127.0.0.1:1/", "ws://127.0.0.1:1/ws", "tcp://127.0.0.1",
                     "tcp://127.0.0.1:1", "http://[::1]:99999/", "http://h/x?token=abc",
                     "ftp://x", "python", sys.executable, "/dev/null", "/", "a=b", "\r\n"]),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([0, -1, 1, 0.0, -0.0, 1e-300, 1e300, 10**30, 2**63 - 1]),
)
scalars = st.one_of(hostile_text, numbers, st.booleans())


def _wrap(parts: tuple[int, Any, int]) -> Any:
    """`leaf` inside `depth` levels of arrays and tables (the bits of `shape` choose which)."""
    depth, leaf, shape = parts
    value = leaf
    for level in range(depth):
        value = {"k": value} if shape >> level & 1 else [value]
    return value


# Nesting built by a map, not by nested strategies: drawing stays cheap at 60 levels.
deep = st.tuples(st.integers(min_value=1, max_value=60), scalars,
                 st.integers(min_value=0, max_value=2**60)).map(_wrap)
any_value = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(hostile_text, scalars, max_size=3),
    deep,
)


def known(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table with some of `keys` (each with a plausible or a hostile value) and maybe an
    unknown one."""
    return st.fixed_dictionaries(
        {}, optional={**{key: st.one_of(good, any_value) for key, good in keys.items()},
                      "unknown_key": any_value})


phase = known({
    "name": hostile_text,
    "pytest": st.lists(hostile_text, max_size=3),
    "command": st.lists(hostile_text, max_size=3),
    "timeout": numbers,
    "env": st.dictionaries(hostile_text, hostile_text, max_size=3),
    "requires": st.lists(hostile_text, max_size=2),
})
service = known({
    "name": hostile_text, "url": hostile_text,
    "expect_status": st.one_of(numbers, st.lists(numbers)),
    "max_latency_ms": numbers, "body_contains": hostile_text,
    "expect_json": st.dictionaries(hostile_text, any_value, max_size=2),
    "interval_s": numbers, "timeout_s": numbers, "within_s": numbers,
    "headers": st.dictionaries(hostile_text, hostile_text, max_size=2),
    "subprotocols": st.lists(hostile_text, max_size=2), "send": hostile_text,
    "expect_events": st.lists(hostile_text, max_size=2), "event_key": hostile_text,
    "stream": st.booleans(), "critical": st.booleans(), "process": hostile_text,
})
gap = known({"title": hostile_text, "match": st.lists(hostile_text, max_size=2),
             "markers": st.lists(hostile_text, max_size=2)})
document = known({
    "python": hostile_text,
    "phases": st.lists(phase, max_size=3),
    "services": st.lists(service, max_size=3),
    "gaps": st.dictionaries(hostile_text, gap, max_size=2),
})


def to_toml(table: dict[str, Any]) -> bytes | None:
    try:
        return tomlkit.dumps(table).encode("utf-8", "surrogatepass")
    except (ValueError, TypeError, RecursionError, tomlkit.exceptions.TOMLKitError):
        return None  # a value TOML cannot write; the byte strategies cover broken files


raw_files = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=80).map(lambda t: t.encode("utf-16")),
    st.tuples(document, st.binary(max_size=8), st.integers(min_value=0, max_value=400)).map(
        lambda d: _splice(to_toml(d[0]) or b"", d[1], d[2])),
)


def _splice(data: bytes, junk: bytes, at: int) -> bytes:
    at = min(at, len(data))
    return data[:at] + junk + data[at:]


# ----------------------------------------------------------------------------------------
# The property

PROJECT = Path(tempfile.mkdtemp(prefix="claimcheck-fuzz-"))
atexit.register(shutil.rmtree, PROJECT, True)  # hundreds of cases; none left behind
(PROJECT / "tests" / "unit").mkdir(parents=True, exist_ok=True)
(PROJECT / "tests" / "unit" / "test_a.py").write_text("def test_a(): pass\n")


def load(data: bytes, name: str = "cc.toml") -> tuple[Config | None, str | None, Path]:
    """(config, None) or (None, message); anything else raised fails the test."""
    folder = Path(tempfile.mkdtemp(dir=PROJECT, prefix="case-"))
    path = folder / name
    path.write_bytes(data)
    try:
        if name == "pyproject.toml":
            (folder / "tests").mkdir()
            return load_config(folder, environ=ENVIRON), None, path
        return load_config(PROJECT, path, environ=ENVIRON), None, path
    except ConfigError as error:
        return None, str(error), path


def check(config: Config | None, message: str | None, path: Path) -> None:
    if message is not None:
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(f"{path}: "), message
        assert ENVIRON["API_TOKEN"] not in message, message
        return
    assert config is not None
    for run in config.phases:
        assert run.timeout is None or (math.isfinite(run.timeout) and run.timeout > 0)
        for name, value in run.env.items():
            assert name and "=" not in name and "\x00" not in name + value
        for arg in (run.pytest or ()) + (run.command or ()):
            assert "\x00" not in arg
    for svc in config.services:
        for number in (svc.interval_s, svc.timeout_s, svc.within_s):
            assert math.isfinite(number) and number > 0
        assert svc.max_latency_ms is None or math.isfinite(svc.max_latency_ms)
        assert svc.kind in ("http", "websocket", "tcp")
    assert "\x00" not in config.python


@FUZZ
@given(document)
@example({"phases": [{"name": "u", "pytest": [], "timeout": float("nan")}]})
@example({"services": [{"name": "s", "url": "ws://127.0.0.1:1/", "within_s": float("inf")}]})
@example({"phases": [{"name": "u", "pytest": [], "env": {"A=B": "x", "C": "\x00"}}]})
@example({"python": ""})
@example({"phases": [{"name": "u", "pytest": [], "timeout": 10**400}]})
def test_random_configs_load_or_are_refused_in_one_line(table: dict[str, Any]) -> None:
    data = to_toml(table)
    if data is not None:
        check(*load(data))


@FUZZ
@given(raw_files)
@example(b"x = " + b"[" * 2000 + b"]" * 2000)
@example("[[phases]]\nname = 'u'\n".encode("utf-16"))
@example(b"\xff\xfe\x00garbage")
def test_random_bytes_load_or_are_refused_in_one_line(data: bytes) -> None:
    check(*load(data))


@FUZZ
@given(st.one_of(document.map(lambda d: {"tool": {"claimcheck": d}}),
                 any_value.map(lambda v: {"tool": v}),
                 any_value.map(lambda v: {"tool": {"claimcheck": v}})))
@example({"tool": 3})
@example({"tool": {"claimcheck": [1]}})
@example({"tool": {"claimcheck": {"\n": 1}}})  # a key with a line break: still one line
def test_random_pyproject_sections_load_or_are_refused_in_one_line(table: dict[str, Any]) -> None:
    data = to_toml(table)
    if data is not None:
        check(*load(data, "pyproject.toml"))


@settings(FUZZ, max_examples=6)
@given(st.one_of(raw_files, document.map(to_toml).filter(bool)))
@example(b"x = " + b"[" * 2000 + b"]" * 2000)
@example(b'[[phases]]\nname = "u"\npytest = []\ntimeout = nan\n')
def test_the_cli_exits_4_with_the_same_one_line(data: bytes) -> None:
    """Through `claimcheck --report`, for the files the loader refuses: exit 4, one line."""
    config, message, path = load(data)
    if message is None:
        return  # a valid config would run the project's phases; the loader test covers it
    result = subprocess.run(
        [sys.executable, "-m", "claimcheck", "--project", str(PROJECT), "--config", str(path),
         "--report"], capture_output=True, text=True, timeout=60, env={**os.environ, **ENVIRON},
        errors="backslashreplace",
    )
    assert result.returncode == 4, result.stderr
    assert result.stderr.splitlines() == [f"claimcheck: {message}"], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
