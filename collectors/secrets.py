"""Redaction of secrets, and terminal control codes made visible.

Header values, URL credentials, values placed in secret-looking keys and secret-looking `${VAR}`
values never reach a screen, a log or a report: every writer passes text through a `Redactor`
built from `Config.secrets`. Known secrets are masked whole, in their repr, JSON, URL-quoted and
escaped spellings, and as any fragment of `FRAGMENT_CHARS` or more (pytest shows a long value as
`'ghp_LONGTOKE...HIJKLMNOPQRST'`). Three shapes are masked whoever configured them: the password of
a URL (`//user:PASS@`), the value of a query parameter whose name looks secret (`?token=...`),
and the credential of an `Authorization:` style header written out in text.

Control codes are shown, never stripped: `\\x1b`, `\\r` and U+202E appear as those escapes, so
two test ids that differ only in them stay two, and `a\\rOVERWRITE` cannot pass for `a`.
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, NamedTuple
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
_MIN_SECRET_LENGTH = 3  # shorter values would mask ordinary words
FRAGMENT_CHARS = 8  # a run this long of a known secret is masked wherever it appears
_BLOCK = FRAGMENT_CHARS // 2  # every run of 2*_BLOCK-1 chars holds one aligned block

# Characters that move the cursor, change the terminal, reorder or hide text: C0 controls but
# tab and newline, DEL, C1 controls, Unicode format characters (bidi overrides and isolates,
# zero-width characters, BOM, soft hyphen, tags), line and paragraph separators, lone surrogates
# (undecodable bytes) and the two non-characters XML refuses.
_INVISIBLE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f"
)


@functools.cache
def _invisible(also: str = "") -> re.Pattern[str]:
    """The class above (and `also`), compiled at its first use: each takes about 0.7 ms to
    compile, and this module is imported with the config, before the first pytest is
    spawned."""
    return re.compile(f"[{_INVISIBLE}{also}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_control(text: str) -> str:
    """Text with every control or invisible character shown as an escape (`\\x1b`, `\\u202e`).

    Tabs and newlines stay (tracebacks and captured output are multi-line); a Windows line end
    is a plain newline, a lone carriage return is `\\r`.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _invisible().sub(_visible, text)


def escape_line(text: str) -> str:
    """`escape_control`, and newlines and tabs too: one line that hides nothing (node ids, the
    clipboard, a status line), so `a\\nb` and `a b` stay two."""
    return _invisible("\t\n").sub(_visible, text)


# Kept for callers written before escaping replaced stripping: it escapes, never strips.
strip_control = escape_control


# ----------------------------------------------------------------------------------------
# Shapes that are secret whoever configured them

_SECRET_WORDS = frozenset({
    "token", "secret", "password", "passwd", "pwd", "pass", "passphrase", "key", "apikey",
    "sig", "signature", "auth", "credential", "credentials", "session", "sessionid", "jwt",
})
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey")
_NAME_PART = re.compile(r"[_.\-]+|(?<=[a-z])(?=[A-Z])")


def looks_secret_parameter(name: str) -> bool:
    """A query parameter or field named like a credential: `token`, `api_key`, `X-Amz-Signature`,
    `client_secret`, `accessToken`; not `author` or `monkey`."""
    parts = [part.lower() for part in _NAME_PART.split(name) if part]
    return any(part in _SECRET_WORDS or part.endswith(_SECRET_SUFFIXES) for part in parts)


_URL_PASSWORD = re.compile(r"(?<=://)[^\s/?#@:'\"<>]*:[^\s/?#@'\"<>]*@")
_QUERY_PARAM = re.compile(r"(?<=[?&;])([A-Za-z0-9_.\-]+)=([^&#\s'\"<>;]+)")
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bapi-key|\bx-auth-token)"
    r"([\"']?\s*[:=]\s*[\"']?)"
    r"(?:((?:basic|bearer|token|digest|negotiate|ntlm)\s+)([^\s\"',;]+)"
    # without a scheme, only a value that looks like a credential: "Authorization: expected a
    # string" is prose
    r"|()(?=[^\s\"',;]*[0-9=+/_.~-])([^\s\"',;]{8,}))"
)
_COOKIE_HEADER = re.compile(r"(?i)(\b(?:set-)?cookie)([\"']?\s*:\s*)([^\r\n\"']+)")


def mask_url_credentials(text: str) -> str:
    """`http://admin:PASS@host` -> `http://***@host`, and secret query values masked."""
    if "@" in text and "://" in text:
        text = _URL_PASSWORD.sub(MASK + "@", text)
    return _mask_query(text)


def _mask_query(text: str) -> str:
    if "=" not in text or not ("?" in text or "&" in text or ";" in text):
        return text

    def mask(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{name}={MASK}" if looks_secret_parameter(name) else match.group()

    return _QUERY_PARAM.sub(mask, text)


def _mask_shapes(text: str) -> str:
    text = mask_url_credentials(text)
    if ":" not in text and "=" not in text:
        return text  # no header can be written out without one: the common case, cheaply
    lowered = text.lower()
    if "authorization" in lowered or "api-key" in lowered or "auth-token" in lowered:
        text = _AUTH_HEADER.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{MASK}", text)
    if "cookie" in lowered:
        text = _COOKIE_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return text


# ----------------------------------------------------------------------------------------
# Known secrets


def spellings(secret: str) -> set[str]:
    """The ways a value shows up in text: as is, in a repr or JSON string, URL-quoted, HTML- or
    control-escaped."""
    import html  # only a config that names secrets needs these, after the first phase is spawned
    import json

    backslashed = secret.replace("\\", "\\\\")
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1],
             backslashed.replace("'", "\\'"), backslashed.replace('"', '\\"'),
             json.dumps(secret, ensure_ascii=False)[1:-1], quote(secret, safe=""),
             quote_plus(secret), html.escape(secret), escape_control(secret), escape_line(secret),
             secret.encode("unicode_escape", "backslashreplace").decode("ascii")}
    return {form for form in forms if len(form) >= _MIN_SECRET_LENGTH}


def basic_credentials(user: str, password: str) -> set[str]:
    """What an HTTP client sends for URL credentials: `Basic base64(user:password)`, for the
    spelling in the URL and the percent-decoded one."""
    import base64

    values = set()
    for u, p in {(user, password), (unquote(user), unquote(password))}:
        values.add(base64.b64encode(f"{u}:{p}".encode("utf-8", "surrogatepass")).decode("ascii"))
    return values


class _Plan(NamedTuple):
    exact: re.Pattern[str] | None  # spellings shorter than a fragment, or holding spaces
    where: dict[str, tuple[tuple[str, int], ...]]  # aligned block -> (spelling, offset) pairs


@functools.lru_cache(maxsize=64)
def _plan(secrets: tuple[str, ...]) -> _Plan:
    exact: set[str] = set()  # matched whole: short values, and values with spaces in them
    pieces: set[str] = set()  # matched by any long fragment: the values' words
    for secret in secrets:
        if len(secret) < _MIN_SECRET_LENGTH:
            continue
        for form in spellings(secret):
            if len(form) < FRAGMENT_CHARS or any(c.isspace() for c in form):
                exact.add(form)
        # "Bearer <token>": the token's fragments are secret, "Bearer s" is not.
        for word in secret.split():
            if len(word) >= FRAGMENT_CHARS:
                pieces |= {form for form in spellings(word) if len(form) >= FRAGMENT_CHARS}
    short = sorted(exact, key=len, reverse=True)
    where: dict[str, list[tuple[str, int]]] = {}
    for form in pieces:
        for offset in range(0, len(form) - _BLOCK + 1, _BLOCK):
            where.setdefault(form[offset:offset + _BLOCK], []).append((form, offset))
    return _Plan(
        exact=re.compile("|".join(map(re.escape, short))) if short else None,
        where={block: tuple(pairs) for block, pairs in where.items()},
    )


def _fragment_spans(text: str, plan: _Plan) -> list[tuple[int, int]]:
    """Runs of FRAGMENT_CHARS or more that some known spelling contains, found from any of its
    aligned blocks and grown both ways as long as text and spelling agree.

    `str.find` per block (a few dozen) is several times faster than one regex alternation over
    the text, which matters at 20,000 test records.
    """
    spans: list[tuple[int, int]] = []
    size = len(text)
    find = text.find
    for block, pairs in plan.where.items():
        at = find(block)
        while at >= 0:
            for form, offset in pairs:
                start, back = at, offset
                while start > 0 and back > 0 and text[start - 1] == form[back - 1]:
                    start -= 1
                    back -= 1
                end, ahead = at + _BLOCK, offset + _BLOCK
                limit = len(form)
                while end < size and ahead < limit and text[end] == form[ahead]:
                    end += 1
                    ahead += 1
                while start < end and text[start].isspace():
                    start += 1  # a fragment that starts a word leaves the space before it
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end - start >= FRAGMENT_CHARS:
                    spans.append((start, end))
            at = find(block, at + 1)
    return spans


def _apply(text: str, spans: Iterable[tuple[int, int]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        start = max(start, position)
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


class Redactor:
    """Masks `secrets` (and their spellings and long fragments) and the secret shapes above.

    Equal, and hashed alike, when built from the same secrets; its repr counts them and shows
    none. (A plain class: one is built before the first phase's pytest is spawned, where
    importing `dataclasses` cost about 7 ms.)"""

    __slots__ = ("secrets", "_compiled")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = tuple(secrets)
        self._compiled = _plan(self.secrets)

    def __eq__(self, other: object) -> bool:
        return other.secrets == self.secrets if isinstance(other, Redactor) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.secrets)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"

    def __call__(self, text: str) -> str:
        if not text:
            return text
        plan = self._compiled
        if plan.where and len(text) >= FRAGMENT_CHARS:
            spans = _fragment_spans(text, plan)
            if spans:
                text = _apply(text, spans)
        if plan.exact is not None:
            text = plan.exact.sub(MASK, text)
        return _mask_shapes(text)

