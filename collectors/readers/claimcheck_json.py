"""claimcheck's own JSON report (`claimcheck.report/1`) back into model objects.

The writer (`collectors/report/json_report.py`) is the contract; this reads every key it writes
and tolerates the ones older writers of the same schema left out (`sessions`, `warnings`,
`deselected_ids`, `provenance`, `reruns`). A document from a newer schema is refused, never
half-read: its meaning may have changed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from claimcheck.collectors.models import (
    OUTCOMES,
    CollectionError,
    EventCheck,
    Finding,
    Listener,
    PhaseRun,
    Provenance,
    PytestSession,
    ServiceSample,
    TestResult,
    WarningRecord,
)
from claimcheck.collectors.readers.base import (
    Fields,
    ReadReport,
    ReportFileError,
    describe,
    implied_exit_status,
    iso_to_epoch,
    tally,
)
from claimcheck.collectors.report.common import SCHEMA

from claimcheck import __version__

SCHEMA_FAMILY = "claimcheck.report/"
SCHEMA_VERSION = int(SCHEMA.rsplit("/", 1)[1])
PHASE_STATUSES = ("pending", "running", "passed", "failed", "no-tests", "error", "timeout",
                  "crashed", "interrupted", "blocked")


def schema_version(label: str, schema: Any) -> int:
    """The document's schema version; a newer one than this claimcheck reads is refused."""
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_FAMILY):
        raise ReportFileError(f"{label}: schema: expected {SCHEMA}, got {describe(schema)}")
    try:
        version = int(schema[len(SCHEMA_FAMILY):])
    except ValueError:
        raise ReportFileError(f"{label}: schema: expected {SCHEMA}, "
                              f"got {describe(schema)}") from None
    if version > SCHEMA_VERSION:
        raise ReportFileError(
            f"{label}: written by a newer claimcheck (schema {schema}); claimcheck "
            f"{__version__} reads {SCHEMA}: upgrade claimcheck to open it")
    if version < 1:
        raise ReportFileError(f"{label}: schema: expected {SCHEMA}, got {describe(schema)}")
    return version


def read_document(document: Any, source: Any) -> ReadReport:
    """`document` (parsed JSON) as a ReadReport; `source` is the file's ReportSource."""
    label = source.path  # errors name the file as it was given
    top = Fields(label, document, "(document)")
    schema_version(label, top.data.get("schema"))
    phases = tuple(_phase(fields) for fields in top.children("phases"))
    services = tuple(_service(fields) for fields in top.children("services", required=False))
    findings = tuple(_finding(fields) for fields in top.children("findings", required=False))
    provenance = _provenance(top.child("provenance", required=False))
    return ReadReport(
        source=source,
        project=top.text("project", required=False),
        started_at=iso_to_epoch(label, "started_at", top.data.get("started_at")),
        duration_s=top.number("duration_s", required=False),
        phases=phases,
        services=services,
        provenance=provenance,
        findings=findings,
        verdict=top.text("verdict", required=False) or None,
    )


def _phase(phase: Fields) -> PhaseRun:
    name = phase.text("name")
    status = phase.text("status")
    if status not in PHASE_STATUSES:
        raise phase.fail("status", "one of " + ", ".join(PHASE_STATUSES), status)
    counts_in = phase.child("counts")
    assert counts_in is not None
    tests = _tests(phase, name)
    errors = tuple(
        CollectionError(path=e.text("path"), error_type=e.text("error_type"),
                        message=e.text("message"), longrepr=e.text("longrepr", required=False))
        for e in phase.children("collection_errors", required=False)
    )
    # Outcome counts come from the tests themselves, so the judge reads evidence, not a
    # summary of it; what was collected and deselected only the file can say.
    counts = tally(tests, len(errors), collected=counts_in.integer("collected"),
                   deselected=counts_in.integer("deselected", required=False))
    exit_code = phase.opt_integer("exit_code")
    sessions = tuple(_session(fields) for fields in phase.children("sessions", required=False))
    if "sessions" not in phase.data:
        sessions = _implied_sessions(status, counts)
    return PhaseRun(
        name=name,
        status=status,
        exit_code=exit_code,
        duration_s=phase.number("duration_s", required=False),
        counts=counts,
        tests=tests,
        collection_errors=errors,
        warnings=tuple(warning for fields in phase.children("warnings", required=False)
                       for warning in _warnings(fields)),
        sessions=sessions,
        reason=phase.opt_text("reason"),
        argv=phase.strings("argv"),
        output_tail=phase.text("output_tail", required=False),
        started_at=iso_to_epoch(phase.label, f"{phase.where}.started_at",
                                phase.data.get("started_at")),
        deselected_ids=phase.strings("deselected_ids"),
    )


def _implied_sessions(status: str, counts: Any) -> tuple[PytestSession, ...]:
    """Sessions for a file written before claimcheck recorded them: one per phase that ran."""
    if status in ("blocked", "pending"):
        return ()
    if status == "crashed" and not counts.collected:
        return ()
    exit_status = None if status == "crashed" else implied_exit_status(counts)
    return (PytestSession(pid=0, exit_status=exit_status, collected=counts.collected,
                          deselected=counts.deselected),)


_OUTCOME_SET = frozenset(OUTCOMES)
_OPTIONAL_TEXT = (str, type(None))
_OPTIONAL_INT = (int, type(None))


def _tests(phase: Fields, name: str) -> tuple[TestResult, ...]:
    """Every test of a phase. A merge reads 20,000 of them: the well-formed ones take a fast
    path of plain checks; anything else goes through `Fields`, which names what is wrong."""
    raws = phase.items("tests")
    results = []
    append = results.append
    for index, raw in enumerate(raws):
        fast = _fast_test(raw, name)
        append(fast if fast is not None
               else _test(Fields(phase.label, raw, f"{phase.where}.tests[{index}]"), name))
    return tuple(results)


def _fast_test(raw: Any, phase: str) -> TestResult | None:
    if type(raw) is not dict:
        return None
    get = raw.get
    nodeid, outcome, duration = get("nodeid"), get("outcome"), get("duration_s", 0.0)
    message, path, line, longrepr = get("message"), get("path"), get("line"), get("longrepr")
    markers, when, reruns = get("markers", []), get("when", "call"), get("reruns", 0)
    if not (type(nodeid) is str and outcome in _OUTCOME_SET
            and type(duration) in (int, float) and isinstance(message, _OPTIONAL_TEXT)
            and isinstance(path, _OPTIONAL_TEXT) and isinstance(longrepr, _OPTIONAL_TEXT)
            and type(line) in (int, type(None)) and type(markers) is list
            and all(type(marker) is str for marker in markers)
            and type(when) is str and type(reruns) is int):
        return None
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase, duration_s=float(duration),
                      message=message, path=path, line=line, longrepr=longrepr,
                      markers=tuple(markers), when=when, reruns=reruns)


def _test(test: Fields, phase: str) -> TestResult:
    return TestResult(
        nodeid=test.text("nodeid"),
        outcome=test.outcome("outcome"),
        phase=phase,
        duration_s=test.number("duration_s", required=False),
        message=test.opt_text("message"),
        path=test.opt_text("path"),
        line=test.opt_integer("line"),
        longrepr=test.opt_text("longrepr"),
        markers=test.strings("markers"),
        when=test.text("when", required=False, default="call"),
        reruns=test.integer("reruns", required=False),
    )


def _session(session: Fields) -> PytestSession:
    return PytestSession(
        pid=session.integer("pid", required=False),
        exit_status=session.opt_integer("exit_status"),
        collected=session.integer("collected", required=False),
        deselected=session.integer("deselected", required=False),
        xdist_workers=session.integer("xdist_workers", required=False),
    )


def _warnings(warning: Fields) -> list[WarningRecord]:
    """A grouped warning back into one record per time it was raised (the judge counts them)."""
    first = WarningRecord(category=warning.text("category"), message=warning.text("message"),
                          path=warning.opt_text("path"), line=warning.opt_integer("line"),
                          nodeid=warning.opt_text("nodeid"))
    count = warning.integer("count", required=False, default=1)
    return [first] + [replace(first, nodeid=None) if first.path else first] * (count - 1)


def _finding(finding: Fields) -> Finding:
    return Finding(
        kind=finding.text("kind"), phase=finding.opt_text("phase"), path=finding.opt_text("path"),
        line=finding.opt_integer("line"), message=finding.text("message"),
        files=finding.strings("files"), count=finding.integer("count", required=False,
                                                               default=1),
    )


def _provenance(fields: Fields | None) -> Provenance | None:
    if fields is None:
        return None
    return Provenance(commit=fields.opt_text("commit"), branch=fields.opt_text("branch"),
                      dirty=fields.flag("dirty"), host=fields.text("host", required=False),
                      config_digest=fields.text("config_digest", required=False))


def _service(service: Fields) -> ServiceSample:
    events_in = service.child("events", required=False)
    listener_in = service.child("listener", required=False)
    events = None if events_in is None else EventCheck(
        expected=events_in.strings("expected"), seen=events_in.strings("seen"),
        missing=events_in.strings("missing"))
    listener = None if listener_in is None else Listener(
        port=listener_in.integer("port"), pid=listener_in.opt_integer("pid"),
        name=listener_in.opt_text("name"))
    latency = service.data.get("latency_ms")
    return ServiceSample(
        name=service.text("name"),
        kind=service.text("kind"),
        url=service.text("url", required=False),
        status=service.text("status"),
        detail=service.text("detail", required=False),
        checked_at=iso_to_epoch(service.label, f"{service.where}.checked_at",
                                service.data.get("checked_at")),
        http_status=service.opt_integer("http_status"),
        latency_ms=None if latency is None else service.number("latency_ms"),
        events=events,
        listener=listener,
        critical=service.flag("critical", default=True),
    )
