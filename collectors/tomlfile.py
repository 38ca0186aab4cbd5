"""Reading a TOML file that may be anything: bounded, UTF-8 only, nesting capped.

A configuration path can name a device (`/dev/zero`), a file in another encoding or a file
built to exhaust the parser. Each is one `UnreadableToml` whose message names the file and says
what is wrong, never a hang, a MemoryError or a RecursionError.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

# A configuration is a few kilobytes; reading stops here, so `--config /dev/zero` is refused at
# once instead of filling memory.
MAX_CONFIG_BYTES = 1024 * 1024
# Tables and arrays nested deeper than this are a mistake (or an attack), never a configuration.
MAX_NESTING = 32


class UnreadableToml(Exception):
    """The file cannot be read as a TOML document; the message names it."""


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at `path`, or an UnreadableToml naming it: too large, not UTF-8, not
    TOML, nested too deeply. Never reads more than MAX_CONFIG_BYTES."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableToml(f"{path}: config file does not exist") from None
    except OSError as exc:
        raise UnreadableToml(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UnreadableToml(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; expected "
                             "a configuration file")
    text = _decode(raw, path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnreadableToml(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise UnreadableToml(f"{path}: nested too deeply; expected at most {MAX_NESTING} "
                             "levels of tables and arrays") from None
    if _depth(document) > MAX_NESTING:
        raise UnreadableToml(f"{path}: nested more than {MAX_NESTING} levels deep; expected at "
                             f"most {MAX_NESTING} levels of tables and arrays")
    return document


_UTF16_32_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
                  b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def _decode(raw: bytes, path: Path) -> str:
    """TOML is UTF-8. A UTF-8 byte-order mark (some editors write one) is dropped."""
    for bom, name in _UTF16_32_BOMS.items():
        if raw.startswith(bom):
            raise UnreadableToml(f"{path}: is {name} text; expected UTF-8 (TOML files are UTF-8)")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UnreadableToml(f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; "
                             "expected UTF-8 text (TOML files are UTF-8)") from None


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest (counting stops past MAX_NESTING), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_NESTING:
            break
    return deepest
