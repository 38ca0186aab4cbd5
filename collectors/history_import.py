"""Reading a `claimcheck.report/1` JSON file back into a RunReport, for `history import`.

A team builds shared history from CI: each job uploads its JSON report, and anyone can import
them into their own history. Only what history keeps is read back (tests, counts, collection
errors, gaps, findings, services, provenance); a file that is not a claimcheck report, or of
another schema, is refused with a sentence naming the file and the key.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from claimcheck.collectors.models import (
    CollectionError,
    Counts,
    Finding,
    GapCell,
    GapRow,
    PhaseRun,
    Provenance,
    RunReport,
    ServiceSample,
    TestResult,
)
from claimcheck.collectors.report.common import SCHEMA


class ImportProblem(Exception):
    """A file that cannot be imported; the message names it and says why."""


def read_report(path: Path) -> tuple[RunReport, bytes]:
    """The report in `path` and its raw bytes (their digest recognises a second import)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ImportProblem(f"{path}: cannot be read: {error.strerror}") from None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ImportProblem(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise ImportProblem(f"{path}: schema: expected {SCHEMA!r}, got {found!r}")
    try:
        return _report(data), raw
    except (KeyError, TypeError, ValueError) as error:
        raise ImportProblem(f"{path}: not a complete claimcheck report ({type(error).__name__}: "
                            f"{error})") from None


def _time(value: Any) -> float:
    if not value:
        return 0.0
    return datetime.fromisoformat(str(value)).timestamp()


def _report(data: dict[str, Any]) -> RunReport:
    phases = tuple(_phase(entry) for entry in data.get("phases") or ())
    gaps = tuple(
        GapRow(name=str(row["name"]), title=str(row.get("title") or row["name"]),
               status=str(row["status"]),
               cells={str(phase): GapCell(int(c.get("passed", 0)), int(c.get("failed", 0)),
                                          int(c.get("error", 0)), int(c.get("skipped", 0)))
                      for phase, c in (row.get("cells") or {}).items()})
        for row in data.get("gaps") or ())
    findings = tuple(
        Finding(kind=str(f["kind"]), phase=f.get("phase"), path=f.get("path"),
                line=f.get("line"), message=str(f.get("message") or ""),
                files=tuple(f.get("files") or ()), count=int(f.get("count") or 1))
        for f in data.get("findings") or ())
    services = tuple(
        ServiceSample(name=str(s["name"]), kind=str(s.get("kind") or "http"),
                      url=str(s.get("url") or ""), status=str(s["status"]),
                      detail=str(s.get("detail") or ""), checked_at=_time(s.get("checked_at")),
                      http_status=s.get("http_status"), latency_ms=s.get("latency_ms"),
                      critical=bool(s.get("critical", True)))
        for s in data.get("services") or ())
    source = data.get("provenance") or {}
    provenance = Provenance(commit=source.get("commit"), branch=source.get("branch"),
                            dirty=bool(source.get("dirty")), host=str(source.get("host") or ""),
                            config_digest=str(source.get("config_digest") or ""))
    return RunReport(
        project=str(data.get("project") or ""), started_at=_time(data.get("started_at")),
        duration_s=float(data.get("duration_s") or 0.0), phases=phases, gaps=gaps,
        findings=findings, services=services, verdict=str(data["verdict"]),
        exit_code=int(data["exit_code"]),
        tool_version=str((data.get("tool") or {}).get("version") or ""),
        provenance=provenance)


def _phase(entry: dict[str, Any]) -> PhaseRun:
    name = str(entry["name"])
    counts = entry.get("counts") or {}
    tests = tuple(
        TestResult(nodeid=str(t["nodeid"]), outcome=str(t["outcome"]), phase=name,
                   duration_s=float(t.get("duration_s") or 0.0), message=t.get("message"),
                   path=t.get("path"), line=t.get("line"), when=str(t.get("when") or "call"),
                   markers=tuple(t.get("markers") or ()), reruns=int(t.get("reruns") or 0))
        for t in entry.get("tests") or ())
    errors = tuple(
        CollectionError(path=str(e["path"]), error_type=str(e.get("error_type") or "Error"),
                        message=str(e.get("message") or ""), longrepr=str(e.get("longrepr") or ""))
        for e in entry.get("collection_errors") or ())
    return PhaseRun(
        name=name, status=str(entry["status"]), exit_code=entry.get("exit_code"),
        duration_s=float(entry.get("duration_s") or 0.0),
        counts=Counts(**{key: int(counts.get(key) or 0) for key in (
            "collected", "passed", "failed", "error", "skipped", "xfailed", "xpassed",
            "deselected")}),
        tests=tests, collection_errors=errors, reason=entry.get("reason"),
        started_at=_time(entry.get("started_at")),
        deselected_ids=tuple(entry.get("deselected_ids") or ()))
