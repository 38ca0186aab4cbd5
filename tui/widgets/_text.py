"""Turning untrusted text into something safe to draw.

Test names, messages, tracebacks and WebSocket payloads are data. They become `rich.text.Text`
(never markup), show terminal control sequences as visible escapes (`\x1b`, `\r`, `\u202e`),
and pass the project's redactor, so a node id like `test_x[bold red]` shows as typed, two ids
that differ only in escape sequences stay two, and a secret in a health detail never reaches
the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from claimcheck.collectors.secrets import escape_control, escape_line
from rich.style import Style
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


@dataclass(frozen=True)
class Clip:
    """What `c` copies from a panel: what it is ("node id", "finding") and the raw text, which
    the screen passes through `clipboard_text` (one line, escaped, redacted) before copying."""

    what: str
    text: str


def shorten_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, the middle replaced by `…`: its start and end stay."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def _split_nodeid(nodeid: str) -> tuple[str, str, list[str], str]:
    """(folders, file, classes, name) of a pytest node id; the name keeps its parameters,
    whatever they contain (`test_x[a::b/c]` is one name)."""
    path, sep, rest = nodeid.partition("::")
    folders, _, file = path.rpartition("/")
    if not sep:
        return folders, file, [], ""
    bracket = rest.find("[")
    head, params = (rest, "") if bracket < 0 else (rest[:bracket], rest[bracket:])
    parts = head.split("::")
    return folders, file, parts[:-1], parts[-1] + params


def shorten_nodeid(nodeid: str, width: int) -> str:
    """A node id in at most `width` cells, shortened in the middle, never from the left.

    The file and the test's name are what a person reads a failure by, so the folders go
    first (`tests/…/test_auth.py::…`), then the classes (`test_auth.py::…::test_x`), and only
    then are the file and the name themselves cut: the file keeps its start, the name its end.
    """
    if len(nodeid) <= width:
        return nodeid
    folders, file, classes, name = _split_nodeid(nodeid)
    tail = "::".join([*classes, name]) if name or classes else ""

    def joined(prefix: str, middle: str) -> str:
        return prefix + file + ("::" + middle if middle else "")

    folder_forms = [folders + "/"] if folders else [""]
    if "/" in folders:
        folder_forms.append(folders.split("/", 1)[0] + "/…/")
    if folders:
        folder_forms.append("…/")
    tail_forms = [tail] + (["…::" + name] if classes else [])
    for middle in tail_forms:  # a class says more than the folders (the phase names those)
        for prefix in folder_forms:
            candidate = joined(prefix, middle)
            if len(candidate) <= width:
                return candidate
    if not name:  # a file (a collection error): keep the start and the end of its name
        return shorten_middle(file, width)
    candidate = joined("", tail_forms[-1])
    if len(candidate) <= width:
        return candidate
    middle = "::"
    room = width - len(middle)
    if room < 8:
        return shorten_middle(file + middle + name, width)
    name_room = max(room - len(file), room * 2 // 5)  # the file takes up to 3/5
    file_room = room - min(name_room, len(name))
    name_room = room - min(file_room, len(file))
    shown_file = file if len(file) <= file_room else file[: file_room - 1] + "…"
    if "[" in name:  # parametrized: the function's name and the end of its parameters
        shown_name = shorten_middle(name, name_room)
    else:
        shown_name = name if len(name) <= name_room else "…" + name[len(name) - name_room + 1:]
    return shown_file + middle + shown_name


def data_text(text: str | None, style: str | Style = "", redact: Redact | None = None,
              *, one_line: bool = False, limit: int | None = None,
              keep_tail: bool = False, nodeid: bool = False) -> Text:
    """A `Text` holding `text` verbatim (no markup parsing), cleaned, optionally to one line.

    One line means line breaks shown as `\n`, never text after the first break dropped: a node
    id `test[a\nb]` must not pass for `test[a`. Beyond `limit` the end is cut; `keep_tail`
    cuts the front instead (a crash location: the line number matters); `nodeid` shortens a
    node id in the middle (`shorten_nodeid`: its file and its test name stay).
    """
    value = clean_line(text, redact) if one_line else clean(text, redact)
    if limit is not None and len(value) > limit:
        if nodeid:
            value = shorten_nodeid(value, limit)
        elif keep_tail:
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
