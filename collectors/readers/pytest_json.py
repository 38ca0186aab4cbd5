"""A pytest-json-report document (`pytest --json-report`) as one phase.

The document is one pytest session: `exitcode` is pytest's exit status, `summary.collected`
counts deselected tests too (as pytest's "collected N items" does), and `collectors` (unless the
run omitted them) list every collected item, deselected ones flagged, which is how a shard says
what it left to the others. Under pytest-xdist there are no collectors and no deselection count. Outcomes are pytest-json-report's own, which fold setup, call and
teardown the way claimcheck does (a failed test with a broken teardown is one `error`).
"""

from __future__ import annotations

from typing import Any, Sequence

from claimcheck.collectors.models import Provenance, TestResult, WarningRecord
from claimcheck.collectors.readers.base import (
    DEFAULT_PHASE,
    Fields,
    ReadReport,
    collection_error,
    first_line,
    foreign_phase,
    relative_to,
)

# Where CI systems put the commit and branch; pytest-metadata copies these into `environment`.
_COMMIT_KEYS = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "CIRCLE_SHA1", "TRAVIS_COMMIT",
                "BITBUCKET_COMMIT", "APPVEYOR_REPO_COMMIT", "CODEBUILD_RESOLVED_SOURCE_VERSION")
_BRANCH_KEYS = ("GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "GIT_BRANCH", "CIRCLE_BRANCH",
                "TRAVIS_BRANCH", "BITBUCKET_BRANCH", "APPVEYOR_REPO_BRANCH")
_STAGES = ("setup", "call", "teardown")


def looks_like(document: Any) -> bool:
    return (isinstance(document, dict) and "tests" in document and "summary" in document
            and "exitcode" in document)


def read_document(document: Any, source: Any, *, phase_name: str | None = None) -> ReadReport:
    label = source.path  # errors name the file as it was given
    top = Fields(label, document, "(document)")
    root = top.text("root", required=False)
    summary = top.child("summary")
    assert summary is not None
    exit_status = top.integer("exitcode")
    duration = top.number("duration", required=False)
    created = top.number("created", required=False)
    started_at = max(created - duration, 0.0) if created else 0.0
    tests = _tests(top, root, phase_name or DEFAULT_PHASE)
    errors = []
    deselected_ids: list[str] = []
    for collector in top.children("collectors", required=False):
        if collector.text("outcome", required=False) == "failed":
            errors.append(collection_error(collector.text("nodeid"),
                                           collector.text("longrepr", required=False)))
        deselected_ids += _deselected(collector)
    warnings = tuple(
        WarningRecord(category=w.text("category", required=False, default="Warning"),
                      message=w.text("message"),
                      path=relative_to(w.opt_text("filename"), root),
                      line=w.opt_integer("lineno"), nodeid=w.opt_text("nodeid"))
        for w in top.children("warnings", required=False)
    )
    phase = foreign_phase(
        phase_name or DEFAULT_PHASE, tests, errors,
        collected=summary.integer("collected", required=False, default=len(tests)),
        deselected=summary.integer("deselected", required=False),
        exit_status=exit_status, duration_s=duration, started_at=started_at,
        warnings=warnings, deselected_ids=deselected_ids,
    )
    # Under pytest-xdist the controller collects nothing: no collectors, no deselection, and
    # `collected` counts only what the workers ran. Such a document cannot say what it left out.
    knows_collection = bool(top.data.get("collectors")) or phase.counts.deselected > 0
    return ReadReport(source=source, project=root, started_at=started_at, duration_s=duration,
                      phases=(phase,), provenance=_provenance(top),
                      knows_collection=knows_collection)


def _deselected(collector: Fields) -> list[str]:
    """Node ids the collector's items flag `deselected` (a shard of 20,000 lists them all: plain
    checks first, `Fields` only to name what is malformed)."""
    found = []
    for item in collector.items("result", required=False):
        if type(item) is not dict:
            break
        if item.get("deselected") is True:
            nodeid = item.get("nodeid")
            if type(nodeid) is not str:
                break
            found.append(nodeid)
    else:
        return found
    return [item.text("nodeid") for item in collector.children("result")
            if item.flag("deselected")]


def _tests(top: Fields, root: str, phase: str) -> tuple[TestResult, ...]:
    """Every test. Passing ones (nearly all of 20,000) take a path of plain checks; the rest,
    and anything malformed, go through `Fields`, which reads crashes and names what is wrong."""
    root_name = root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    results = []
    append = results.append
    for index, raw in enumerate(top.items("tests")):
        fast = _passed_test(raw, phase, root_name)
        append(fast if fast is not None else
               _test(Fields(top.label, raw, f"tests[{index}]"), root, phase))
    return tuple(results)


def _passed_test(raw: Any, phase: str, root_name: str) -> TestResult | None:
    if type(raw) is not dict or raw.get("outcome") not in ("passed", "xpassed"):
        return None
    nodeid, lineno, keywords = raw.get("nodeid"), raw.get("lineno"), raw.get("keywords", [])
    if type(nodeid) is not str or type(lineno) not in (int, type(None)) \
            or type(keywords) is not list or not all(type(k) is str for k in keywords):
        return None
    duration = 0.0
    for when in _STAGES:
        stage = raw.get(when)
        if stage is None:
            continue
        seconds = stage.get("duration", 0.0) if type(stage) is dict else None
        if type(seconds) not in (int, float):
            return None
        duration += seconds
    return TestResult(nodeid=nodeid, outcome=raw["outcome"], phase=phase, duration_s=duration,
                      path=nodeid.split("::", 1)[0] if lineno is not None else None,
                      line=lineno + 1 if lineno is not None else None,
                      markers=marker_names(keywords, nodeid, root_name))


def _test(test: Fields, root: str, phase: str) -> TestResult:
    nodeid = test.text("nodeid")
    outcome = test.outcome("outcome")
    stages = {when: test.child(when, required=False) for when in _STAGES}
    duration = sum(stage.number("duration", required=False)
                   for stage in stages.values() if stage is not None)
    decider = _deciding_stage(stages, outcome)
    message = path = longrepr = None
    line = None
    when = "call"
    if decider is not None:
        when, stage = decider
        crash = stage.child("crash", required=False)
        longrepr = stage.text("longrepr", required=False) or None
        if crash is not None:
            message = first_line(crash.text("message", required=False))
            path = relative_to(crash.text("path", required=False), root)
            line = crash.opt_integer("lineno")
        if outcome == "skipped" and longrepr:
            message = _skip_reason(longrepr)
            longrepr = None
        elif message is None:
            message = first_line(longrepr)
    if line is None and test.opt_integer("lineno") is not None:
        line = test.integer("lineno") + 1  # pytest-json-report's lineno is 0-based
        path = path or nodeid.split("::", 1)[0]
    failing = outcome in ("failed", "error")
    return TestResult(
        nodeid=nodeid, outcome=outcome, phase=phase, duration_s=duration, message=message,
        path=path, line=line, longrepr=longrepr if failing else None,
        markers=marker_names(test.strings("keywords"), nodeid,
                             root.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]),
        when=when,
    )


def _deciding_stage(stages: dict[str, Fields | None], outcome: str) -> tuple[str, Fields] | None:
    """The stage that decided the outcome: a failed setup or teardown outranks the call."""
    order = ("setup", "teardown", "call")
    wanted = "failed" if outcome in ("failed", "error") else "skipped" if outcome in (
        "skipped", "xfailed") else None
    if wanted is None:
        return None
    for when in order:
        stage = stages.get(when)
        if stage is not None and stage.text("outcome", required=False) == wanted:
            return when, stage
    return None


def _skip_reason(longrepr: str) -> str:
    """`('/path/test_x.py', 12, 'Skipped: no db')` as pytest-json-report writes it: 'no db'."""
    text = longrepr.strip()
    if text.startswith("(") and text.endswith(")"):
        reason = text.rsplit(", ", 1)[-1][:-1].strip("'\"")
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    return first_line(text) or ""


def marker_names(keywords: Sequence[str], nodeid: str, root_name: str) -> tuple[str, ...]:
    """Marker names among pytest's keywords: what is left once the node's own names are gone.

    Keywords hold the test's name, its parametrize id, its class, module and folders, the
    rootdir's name and `pytestmark`, beside the markers. A keyword added by a plugin that is not
    a marker would pass as one; gap matching by marker is all this feeds.
    """
    if not keywords:
        return ()
    parts = nodeid.split("::")
    names = {root_name, "pytestmark", ""}
    names.update(parts[0].split("/"))
    for part in parts[1:]:
        names.add(part)
        names.add(part.split("[", 1)[0])
    if nodeid.endswith("]") and "[" in nodeid:
        names.add(nodeid[nodeid.index("[") + 1:-1])
    return tuple(dict.fromkeys(keyword for keyword in keywords
                               if keyword not in names and keyword.isidentifier()))


def _provenance(top: Fields) -> Provenance | None:
    environment = top.data.get("environment")
    if not isinstance(environment, dict):
        return None
    commit = next((str(environment[key]) for key in _COMMIT_KEYS if environment.get(key)), None)
    branch = next((str(environment[key]) for key in _BRANCH_KEYS if environment.get(key)), None)
    if commit is None and branch is None:
        return None
    return Provenance(commit=commit, branch=branch)
