"""Turning untrusted text into something safe to draw.

Test names, messages, tracebacks and WebSocket payloads are data. They become `rich.text.Text`
(never markup), show terminal control sequences as visible escapes (`\x1b`, `\r`, `\u202e`),
and pass the project's redactor, so a node id like `test_x[bold red]` shows as typed, two ids
that differ only in escape sequences stay two, and a secret in a health detail never reaches
the screen.
"""

from __future__ import annotations

from typing import Callable

from claimcheck.collectors.secrets import escape_control, escape_line
from rich.text import Text

Redact = Callable[[str], str]


def clean(text: str | None, redact: Redact | None = None) -> str:
    """Plain text with secrets masked and control sequences made visible; lines kept."""
    if not text:
        return ""
    return escape_control(redact(text) if redact else text)


def clean_line(text: str | None, redact: Redact | None = None) -> str:
    """`clean` on one line: line breaks and tabs shown as `\n` and `\t`, nothing dropped."""
    if not text:
        return ""
    return escape_line(redact(text) if redact else text)


def clipboard_text(text: str | None, redact: Redact | None = None) -> str:
    """What `c` copies: exactly what the screen shows of a node id. One line, secrets masked,
    control codes escaped, so a pasted id cannot carry an escape sequence or run a command."""
    return clean_line(text, redact)


def data_text(text: str | None, style: str = "", redact: Redact | None = None,
              *, one_line: bool = False, limit: int | None = None,
              keep_tail: bool = False) -> Text:
    """A `Text` holding `text` verbatim (no markup parsing), cleaned, optionally to one line.

    One line means line breaks shown as `\n`, never text after the first break dropped: a node
    id `test[a\nb]` must not pass for `test[a`. `keep_tail` shortens from the front: the end of
    a node id (the test's name) matters most.
    """
    value = clean_line(text, redact) if one_line else clean(text, redact)
    if limit is not None and len(value) > limit:
        if keep_tail:
            value = "…" + value[len(value) - limit + 1:]
        else:
            value = value[: max(0, limit - 1)] + "…"
    return Text(value, style=style, no_wrap=one_line, end="")


def duration(seconds: float | None) -> str:
    """Elapsed time the way a person reads it, in at most 7 cells: 993ms, 4.2s, 3:07, 1:02:03."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{max(seconds, 0.0) * 1000:.0f}ms"  # as short as "4.2s": fits the 5-cell column
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
