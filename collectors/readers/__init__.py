"""Reports made elsewhere, read back: claimcheck's JSON, pytest-json-report, JUnit XML.

`read_report(path)` tells the format from the file itself and returns a `ReadReport` of model
objects. Anything that is not a whole report of a known format (missing, empty, truncated, a
newer claimcheck schema, some other JSON or XML) raises `ReportFileError` with one line that
names the file; the CLI prints it and exits 4.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Sequence

from claimcheck.collectors.models import ReportSource
from claimcheck.collectors.readers.base import (
    DEFAULT_PHASE,
    ReadReport,
    ReportFileError,
)

__all__ = ["DEFAULT_PHASE", "FORMAT_NAMES", "ReadReport", "ReportFileError", "read_report",
           "source_labels"]

FORMAT_NAMES = {"claimcheck": "claimcheck JSON report", "pytest-json-report":
                "pytest-json-report document", "junit": "JUnit XML"}
_BOM = b"\xef\xbb\xbf"


TRUNCATION_WINDOW = 16  # characters before the end where a parse error means "cut short"


def read_report(path: Path, *, label: str | None = None, phase_name: str | None = None,
                project_root: Path | None = None) -> ReadReport:
    """The report in `path`, whatever its format.

    `phase_name` names the phase of a file that has no phases of its own (pytest-json-report,
    JUnit other than claimcheck's). `project_root` helps rebuild node ids from JUnit class names.
    """
    read = _read(path, str(path), phase_name, project_root)
    source = replace(read.source, label=label or path.name or str(path),
                     provenance=read.provenance,
                     tests=sum(len(run.tests) for run in read.phases))
    return replace(read, source=source)


def _read(path: Path, label: str, phase_name: str | None,
          project_root: Path | None) -> ReadReport:
    data = _read_bytes(path, label)
    body = data[len(_BOM):] if data.startswith(_BOM) else data
    body = body.lstrip()
    if not body:
        raise ReportFileError(f"{label}: empty file, not a report")
    if body[:1] == b"<":
        return _read_xml(body, path, label, phase_name, project_root)
    if body[:1] in (b"{", b"["):
        return _read_json(body, path, label, phase_name)
    raise ReportFileError(f"{label}: not a report: neither JSON nor XML (it starts with "
                          f"{body[:12]!r})")


def _read_bytes(path: Path, label: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ReportFileError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ReportFileError(f"{label}: is a folder, not a report file") from None
    except OSError as error:
        raise ReportFileError(f"{label}: cannot read: {error.strerror or error}") from None


def _read_json(body: bytes, path: Path, label: str, phase_name: str | None) -> ReadReport:
    from claimcheck.collectors.readers import claimcheck_json, pytest_json

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReportFileError(f"{label}: not UTF-8 text (byte {error.start}), not a report") \
            from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # A cut file fails on its last token: a literal (`tru`), a number (`1.`), an escape
        # (`"a\\`) or an unclosed string; a real syntax error deep inside is something else.
        cut_short = (error.pos >= len(text.rstrip()) - TRUNCATION_WINDOW
                     and not error.msg.startswith("Extra data"))
        if cut_short or error.msg.startswith("Unterminated string"):
            raise ReportFileError(f"{label}: truncated: the JSON ends before the document does "
                                  f"(line {error.lineno})") from None
        raise ReportFileError(f"{label}: not valid JSON at line {error.lineno}, column "
                              f"{error.colno}: {error.msg}") from None
    if isinstance(document, dict) and "schema" in document:
        source = _source(path, label, "claimcheck")
        return claimcheck_json.read_document(document, source)
    if pytest_json.looks_like(document):
        source = _source(path, label, "pytest-json-report")
        return pytest_json.read_document(document, source, phase_name=phase_name)
    raise ReportFileError(
        f"{label}: not a report claimcheck can read: JSON without 'schema' (a claimcheck "
        "report) or 'tests', 'summary' and 'exitcode' (a pytest-json-report document)")


def _read_xml(body: bytes, path: Path, label: str, phase_name: str | None,
              project_root: Path | None) -> ReadReport:
    from claimcheck.collectors.readers import junit_xml

    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        text = str(error)
        if "no element found" in text or "unclosed token" in text:
            raise ReportFileError(f"{label}: truncated: the XML ends before its root element "
                                  f"closes (line {line})") from None
        raise ReportFileError(f"{label}: not well-formed XML at line {line}, column {column}: "
                              f"{text.split(':', 1)[0]}") from None
    return junit_xml.read_tree(root, _source(path, label, "junit"), phase_name=phase_name,
                               project_root=project_root)


def _source(path: Path, label: str, fmt: str) -> ReportSource:
    return ReportSource(label=label, path=str(path), format=fmt)


def source_labels(paths: Sequence[Path]) -> list[str]:
    """Short names that tell the files apart: `claimcheck.json` alone, `shard-2/claimcheck.json`
    when CI downloaded every shard's artifact under the same name, `#2` for a file given twice."""
    distinct = list(dict.fromkeys(str(p) for p in paths))
    parts = [PurePath(p).parts or (p,) for p in distinct]
    depth = [1] * len(distinct)
    while True:
        labels = ["/".join(part[-d:]) for part, d in zip(parts, depth)]
        clashes = {label for label in labels if labels.count(label) > 1}
        grow = [i for i, label in enumerate(labels)
                if label in clashes and depth[i] < len(parts[i])]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    by_path = dict(zip(distinct, labels))
    seen: dict[str, int] = {}
    unique = []
    for path in paths:
        label = by_path[str(path)]
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique
