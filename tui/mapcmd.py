"""`claimcheck map`: the dependency map of phases, services, expected events and gaps.

It never runs tests: the structure comes from the configuration, and the states from what is
asked for. With nothing else, every phase is "not run" and every service "not probed" (the map
of the configuration, instant). `--evidence FILE` colours it by a JSON report written earlier
(`claimcheck --report --format json --output FILE`); `--probe` probes the services now (seconds,
no tests), and wins over the report for the services. For the map of a fresh run, the Markdown
report carries it (`claimcheck --report --format markdown`), and so does the JSON report
(its "map" key).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from claimcheck.collectors.config import Config, ConfigError, load_config
from claimcheck.collectors.depmap import (
    MapEvidence,
    build_map,
    evidence_of_json,
    evidence_of_run,
    map_to_dict,
)
from claimcheck.collectors.depmap_render import map_lines, render_mermaid
from claimcheck.collectors.files import write_atomic
from claimcheck.collectors.secrets import Redactor
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.cli import color_enabled
from claimcheck.tui.options import Options

MAP_FORMATS = ("mermaid", "json", "text")
_ANSI = {"ok": "32", "bad": "31", "warn": "33", "unknown": "2", "heading": "1"}


class MapError(Exception):
    """Bad input for `map`, phrased for the person: one line, exit 4."""


def read_evidence(path: Path) -> MapEvidence:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapError(f"{path}: --evidence: file does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise MapError(f"{path}: --evidence: cannot read: {error}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise MapError(f"{path}: --evidence: not valid JSON ({error}); expected a report "
                       "written by claimcheck --report --format json") from None
    try:
        return evidence_of_json(document, source=f"report {path}")
    except ValueError as error:
        raise MapError(f"{path}: --evidence: {error}") from None


def probe_now(config: Config, evidence: MapEvidence | None) -> MapEvidence:
    from claimcheck.collectors.health import probe_all

    samples = asyncio.run(probe_all(config.services, redactor=Redactor(config.secrets)))
    probed = evidence_of_run(samples=samples, source="services probed now")
    if evidence is None:
        return probed
    return replace(evidence, services=probed.services,
                   source=f"{evidence.source}; services probed now")


def render(options: Options, config: Config, evidence: MapEvidence | None) -> str:
    dependency_map = build_map(config, evidence)
    redactor = Redactor(config.secrets)
    if options.map_format == "json":
        document = map_to_dict(dependency_map)
        return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
    if options.map_format == "text":
        to_terminal = options.output is None and sys.stdout.isatty()
        width = max(60, shutil.get_terminal_size((80, 24)).columns) if to_terminal else 80
        color = to_terminal and color_enabled(sys.stdout)
        lines = map_lines(dependency_map, width=width, redactor=redactor)
        return "\n".join(_paint(line.text, line.tone) if color else line.text
                         for line in lines) + "\n"
    return render_mermaid(dependency_map, redactor=redactor)


def _paint(text: str, tone: str) -> str:
    code = _ANSI.get(tone)
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def run_map(options: Options) -> int:
    try:
        config = load_config(options.project, options.config)
        for warning in config.warnings:
            print(f"claimcheck: warning: {warning}", file=sys.stderr)
        evidence = read_evidence(options.evidence) if options.evidence else None
        if options.probe and config.services:
            evidence = probe_now(config, evidence)
        text = render(options, config, evidence)
    except (ConfigError, MapError) as error:
        print(f"claimcheck: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("claimcheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    if options.output is not None:
        try:
            write_atomic(options.output, text)
        except OSError as error:
            print(f"claimcheck: cannot write {options.output}: {error.strerror}",
                  file=sys.stderr)
            return ExitCode.USAGE
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return ExitCode.GREEN
