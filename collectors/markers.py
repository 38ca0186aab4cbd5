"""unregistered-marker: a marker used but not registered, however pytest reacted to it.

pytest reacts in one of five ways, and each is told apart because the fix is the same but the
damage is not:

    warning          PytestUnknownMarkWarning; the tests still ran
    strict           --strict-markers (or pytest 9's `strict`): the whole file is a
                     collection error ("'x' not found in `markers` configuration option")
    filterwarnings   a warnings filter set to error (`filterwarnings = error`, `-W error`)
                     turned the warning into a collection error of the whole file
    internal         a hook (pytest_collection_modifyitems...) added it, and under either of
                     the two above pytest stopped with an INTERNALERROR: no test ran
    m-expression     the -m expression names it: pytest 9 under strict markers refuses to run
                     ("Unknown marker(s) in '-m' expression: x")

The first three come from the phase's collection errors and warnings; the last two only from
pytest's own output (the phase's output tail), because pytest reports them outside any test.
The advice names the file and table the project really uses (`collectors.pytest_config`).

Pure: the caller brings `marker_line` (file, marker -> line) and `config_style` (the inifile's
table), since reading files is not the judge's.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from claimcheck.collectors.models import Finding, PhaseRun, PytestSettings
from claimcheck.collectors.pytest_config import (
    ConfigStyle,
    ConfigStyleReader,
    add_lines,
    style_by_name,
)
from claimcheck.collectors.refusal import UNKNOWN_M_EXPRESSION, refusal_of
from claimcheck.collectors.wording import (
    command_text,
    inifile_name,
    its,
    list_files,
    nodeid_file,
    plural,
    relative_path,
)

STRICT_MARKER = re.compile(r"'(?P<name>[^']+)' not found in `markers` configuration option")
UNKNOWN_MARK = re.compile(r"Unknown pytest\.mark\.(?P<name>[\w.]+) - is this a typo\?")
_INTERNAL_LINE = "INTERNALERROR>"
# Under xdist the worker's traceback is nested in the controller's: `INTERNALERROR> E   File`.
_INTERNAL_FRAME = re.compile(
    r'^\s*(?:E\s+)?File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_LIBRARY_PARTS = ("/site-packages/", "/dist-packages/", "/_pytest/", "/pluggy/", "/lib/python")

MarkerLine = Callable[[str, str], "int | None"]  # (file, marker) -> first line using it

# Worst first: the effect a finding describes when one marker did several kinds of harm.
_EFFECT_ORDER = ("internal", "m-expression", "strict", "filterwarnings", "warning")


@dataclass(frozen=True)
class MarkerUse:
    path: str | None  # where it is used; None for the -m expression
    line: int | None
    effect: str  # one of _EFFECT_ORDER
    hook: str | None = None  # for "internal": the hook that added it


def _from_collection_errors(run: PhaseRun) -> list[tuple[str, MarkerUse]]:
    uses: list[tuple[str, MarkerUse]] = []
    for error in run.collection_errors:
        text = f"{error.message}\n{error.longrepr}"
        strict = STRICT_MARKER.search(text)
        if strict:
            uses.append((strict.group("name"), MarkerUse(error.path, None, "strict")))
            continue
        unknown = UNKNOWN_MARK.search(text)
        if unknown:
            uses.append((unknown.group("name"), MarkerUse(error.path, None, "filterwarnings")))
    return uses


def _from_warnings(run: PhaseRun) -> list[tuple[str, MarkerUse]]:
    uses: list[tuple[str, MarkerUse]] = []
    for warning in run.warnings:
        match = UNKNOWN_MARK.search(warning.message)
        if match is None:
            continue
        path = relative_path(warning.path, run.settings) or nodeid_file(warning.nodeid)
        uses.append((match.group("name"), MarkerUse(path or "?", warning.line, "warning")))
    return uses


def _from_internal_error(run: PhaseRun) -> list[tuple[str, MarkerUse]]:
    """pytest's INTERNALERROR block, when an unknown marker is what it died of."""
    lines = [line[len(_INTERNAL_LINE):] for line in (run.output_tail or "").splitlines()
             if line.startswith(_INTERNAL_LINE)]
    if not lines:
        return []
    text = "\n".join(lines)
    name = None
    for pattern in (STRICT_MARKER, UNKNOWN_MARK):
        found = list(pattern.finditer(text))
        if found:
            name = found[-1].group("name")
            break
    if name is None:
        return []
    path, line, hook = None, None, None
    for frame in map(_INTERNAL_FRAME.match, lines):
        if frame and not any(part in frame.group("path") for part in _LIBRARY_PARTS):
            path = relative_path(frame.group("path"), run.settings)
            line, hook = int(frame.group("line")), frame.group("func")
    return [(name, MarkerUse(path, line, "internal", hook))]


def _from_m_expression(run: PhaseRun) -> list[tuple[str, MarkerUse]]:
    refusal = refusal_of(run)
    found = UNKNOWN_M_EXPRESSION.search(refusal.message) if refusal is not None else None
    if found is None:
        return []
    names = [name.strip() for name in found.group("names").split(",") if name.strip()]
    return [(name, MarkerUse(None, None, "m-expression")) for name in names]


def marker_uses(run: PhaseRun) -> dict[str, list[MarkerUse]]:
    """marker -> every use pytest reported, in the order seen."""
    uses: dict[str, list[MarkerUse]] = {}
    for name, use in (*_from_collection_errors(run), *_from_warnings(run),
                      *_from_internal_error(run), *_from_m_expression(run)):
        uses.setdefault(name, []).append(use)
    return uses


# ----------------------------------------------------------------------------------------
# Wording


def _typo_hint(marker: str, settings: PytestSettings | None) -> str:
    if settings is None or not settings.markers:
        return ""
    close = difflib.get_close_matches(marker, settings.markers, n=1, cutoff=0.75)
    if not close:
        return ""
    return f" If it is a typo of the registered '{close[0]}', fix the spelling instead."


def marker_registration(marker: str, style: ConfigStyle | None,
                        others: Sequence[str] = ()) -> str:
    """Where and how to register `marker`, in the syntax of the file pytest actually read.

    Where the file has no `markers` setting yet, the `others` unregistered in the same phase
    go into the one new setting too.
    """
    names = [marker] if style is not None and "markers" in style.keys else \
        sorted({marker, *others})
    return add_lines(style, "markers", [f"{name}: describe what it marks" for name in names])


def _files_lost(files: Sequence[str]) -> str:
    return (f"{plural(len(files), 'whole file')} into a collection error, so none of "
            f"{its(len(files))} tests ran: {list_files(files)}")


def _effect(effect: str, uses: Sequence[MarkerUse], strict: bool, command: str) -> str:
    broken = sorted({use.path for use in uses if use.effect == effect and use.path})
    if effect == "internal":
        hook = next((use.hook for use in uses if use.effect == "internal" and use.hook), None)
        by = f"The hook {hook} adds it" if hook else "A hook adds it"
        return (f"{by}, and pytest stopped with an INTERNALERROR (an unknown marker is an error "
                "under --strict-markers or a warnings filter set to error), so no test of this "
                "phase ran.")
    if effect == "m-expression":
        return (f"The -m expression (in {command} or addopts) names it, and pytest 9 under "
                "strict markers refuses to run with an unknown marker in -m, so no test of "
                "this phase ran.")
    if effect == "strict":
        return f"Under --strict-markers it turned {_files_lost(broken)}."
    if effect == "filterwarnings":
        return ("A warnings filter set to error (filterwarnings = error, or -W error) turned "
                f"its PytestUnknownMarkWarning into an error, which turned {_files_lost(broken)}.")
    if strict:
        return "Under --strict-markers it turns the whole file into a collection error."
    return ("Today it is only a PytestUnknownMarkWarning; under --strict-markers (or a warnings "
            "filter set to error) it turns the whole file into a collection error and none of "
            "its tests run.")


def _style(settings: PytestSettings | None,
           config_style: ConfigStyleReader | None) -> ConfigStyle | None:
    """The inifile's table as read by the caller, else as its name implies."""
    if settings is None or not settings.inifile:
        return None
    if config_style is not None:
        return config_style(settings.inifile)
    return style_by_name(inifile_name(settings) or settings.inifile)


def unregistered_markers(run: PhaseRun, marker_line: MarkerLine | None = None,
                         config_style: ConfigStyleReader | None = None,
                         command: Sequence[str] | None = None) -> list[Finding]:
    """One finding per marker pytest complained about, with the worst harm it did."""
    findings: list[Finding] = []
    settings = run.settings
    strict = bool(settings and settings.strict_markers)
    style = _style(settings, config_style)
    every_use = marker_uses(run)
    for marker, uses in every_use.items():
        files = tuple(sorted({use.path for use in uses if use.path}))
        located = next(((use.path, use.line) for use in uses
                        if use.path and use.line is not None), None)
        path, line = located if located is not None else (files[0] if files else None, None)
        if path is not None and line is None and marker_line is not None:
            line = marker_line(path, marker)
        worst = min((use.effect for use in uses), key=_EFFECT_ORDER.index)
        where = (f"{path}:{line}" if line is not None else path) or (
            "in the -m expression" if worst == "m-expression" else "where, pytest did not say")
        effect = _effect(worst, uses, strict, command_text(command or run.argv))
        fix = marker_registration(marker, style, every_use) + "." + _typo_hint(marker, settings)
        findings.append(
            Finding(
                kind="unregistered-marker",
                phase=run.name,
                path=path,
                line=line,
                message=(f"Marker '{marker}' is used ({where}) but not registered. {effect} "
                         f"To fix, {fix}"),
                files=files,
                count=len(files),
            )
        )
    return findings
