"""JUnit XML (pytest's `--junitxml`, claimcheck's own `--format junit`, other tools') as phases.

JUnit records the tests that ran and nothing else: not what was collected or deselected, not
pytest's exit status, and xpassed tests look like passes. So a JUnit phase's `collected` is the
number of tests it lists, and a merge cannot tell from it which tests ran nowhere.

Node ids are rebuilt from `classname` and `name` (pytest writes `tests.test_x.TestK` and
`test_m[1]` for `tests/test_x.py::TestK::test_m[1]`): from the `file` attribute where it names
the module, else from the files of the project when it is at hand, else by Python's naming
convention (classes are capitalised). claimcheck's own JUnit is recognised (`<testsuites
name="claimcheck">`): one suite per phase, and the suite-level case it adds for a phase that
proved nothing gives that phase's status back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

from claimcheck.collectors.models import (
    CollectionError,
    PhaseRun,
    Provenance,
    TestResult,
)
from claimcheck.collectors.readers.base import (
    DEFAULT_PHASE,
    ReadReport,
    ReportFileError,
    collection_error,
    first_line,
    foreign_phase,
    iso_to_epoch,
)

_RANK = {"error": 5, "failed": 4, "xfailed": 3, "skipped": 2, "passed": 1}
_PHASE_STATUSES = ("no-tests", "error", "timeout", "crashed", "interrupted", "blocked", "failed",
                   "passed", "pending", "running")


OWN_NON_PHASE_SUITES = frozenset({"claimcheck.findings", "claimcheck"})


def read_tree(root: ET.Element, source: object, *, phase_name: str | None = None,
              project_root: Path | None = None) -> ReadReport:
    label = source.path  # type: ignore[attr-defined]  # errors name the file as given
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportFileError(f"{label}: not a JUnit report: the root element is <{root.tag}>, "
                              "expected <testsuites> or <testsuite>")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    ours = root.tag == "testsuites" and root.get("name") == "claimcheck"
    if ours:
        # claimcheck's own suites that are not phases: findings (no tests) and what history
        # adds (broken claims, vanished tests); they are judged again here, not read back.
        suites = [suite for suite in suites if suite.get("name") not in OWN_NON_PHASE_SUITES]
    pytest_style = ours or _looks_like_pytest(root, suites)
    phases: dict[str, _Phase] = {}
    for suite in suites:
        name = _phase_name(suite, suites, ours, phase_name)
        phase = phases.setdefault(name, _Phase(name))
        phase.add_suite(suite)
        for case in suite.findall("testcase"):
            phase.add_case(case, label, ours=ours, pytest_style=pytest_style,
                           project_root=project_root)
    runs = tuple(phase.build() for phase in phases.values())
    started = min((run.started_at for run in runs if run.started_at), default=0.0)
    duration = _float(root.get("time")) or sum(run.duration_s for run in runs)
    host = next((suite.get("hostname") for suite in suites if suite.get("hostname")), "")
    return ReadReport(source=source, project="", started_at=started,  # type: ignore[arg-type]
                      duration_s=duration, phases=runs,
                      provenance=Provenance(host=host) if host else None,
                      knows_collection=False)


def _looks_like_pytest(root: ET.Element, suites: list[ET.Element]) -> bool:
    if (root.get("name") or "").startswith("pytest"):
        return True
    if any(suite.get("name") == "pytest" for suite in suites):
        return True
    return any((case.get("file") or "").endswith(".py") for case in root.iter("testcase"))


def _phase_name(suite: ET.Element, suites: list[ET.Element], ours: bool,
                wanted: str | None) -> str:
    """claimcheck's suites are its phases; any other file is one phase (`wanted`, a custom
    `junit_suite_name`, or the default)."""
    if ours:
        return suite.get("name") or DEFAULT_PHASE
    if wanted:
        return wanted
    names = {s.get("name") for s in suites}
    if len(names) == 1 and suite.get("name") not in (None, "", "pytest"):
        return str(suite.get("name"))
    return DEFAULT_PHASE


@dataclass
class _Phase:
    name: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    errors: dict[str, CollectionError] = field(default_factory=dict)
    status: str | None = None  # from claimcheck's suite-level case, when present
    reason: str | None = None
    started_at: float = 0.0
    duration_s: float = 0.0

    def add_suite(self, suite: ET.Element) -> None:
        self.duration_s += _float(suite.get("time"))
        stamp = suite.get("timestamp")
        if stamp and not self.started_at:
            try:
                self.started_at = iso_to_epoch("", "", stamp)
            except ReportFileError:
                self.started_at = 0.0  # a timestamp no one can read is no evidence

    def add_case(self, case: ET.Element, label: str, *, ours: bool, pytest_style: bool,
                 project_root: Path | None) -> None:
        classname = case.get("classname") or ""
        name = case.get("name") or ""
        if not name:
            raise ReportFileError(f"{label}: a <testcase> without a name (classname "
                                  f"{classname!r})")
        error = case.find("error")
        if ours and classname == f"claimcheck.{self.name}" and name.startswith("phase "):
            status = name[len("phase "):]
            if status in _PHASE_STATUSES and error is not None:
                self.status, self.reason = status, error.get("message") or None
                return
        if error is not None and _is_collection_error(error, classname, ours):
            path = case.get("file") or _module_path(name if not classname else
                                                    f"{classname}.{name}", project_root)
            self.errors[path] = collection_error(path, error.text or error.get("message") or "")
            return
        if pytest_style:
            nodeid = pytest_nodeid(classname, name, case.get("file"), project_root)
        else:
            nodeid = f"{classname}::{name}" if classname else name
        result = _result(case, nodeid, self.name, ours=ours)
        earlier = self.tests.get(nodeid)
        if earlier is not None:
            result = _fold(earlier, result)
        self.tests[nodeid] = result

    def build(self) -> PhaseRun:
        tests = list(self.tests.values())
        run = foreign_phase(self.name, tests, list(self.errors.values()), collected=len(tests),
                            deselected=0, exit_status=None, duration_s=self.duration_s,
                            started_at=self.started_at)
        if self.status is not None:
            run = replace(run, status=self.status, reason=self.reason)
        return run


def _is_collection_error(error: ET.Element, classname: str, ours: bool) -> bool:
    message = error.get("message") or ""
    if ours:
        return message.startswith("collection failure")
    return message == "collection failure" and not classname


def _result(case: ET.Element, nodeid: str, phase: str, *, ours: bool) -> TestResult:
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    outcome, when, node = "passed", "call", None
    if error is not None:
        outcome, node = "error", error
        message = error.get("message") or ""
        when = ("setup" if "on setup" in message else "teardown" if "on teardown" in message
                else "call")
    elif failure is not None:
        outcome, node = "failed", failure
    elif skipped is not None:
        outcome = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        node = skipped
    message = first_line(node.get("message")) if node is not None else None
    longrepr = None
    if outcome in ("failed", "error") and node is not None:
        longrepr = node.text or node.get("message") or None
        if not message:
            message = first_line(longrepr)
    line = _int(case.get("line"))
    if line is not None and not ours:
        line += 1  # pytest writes 0-based lines; claimcheck's JUnit writes 1-based ones
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase,
                      duration_s=_float(case.get("time")), message=message,
                      path=case.get("file") or nodeid.split("::", 1)[0], line=line,
                      longrepr=longrepr, when=when)


def _fold(earlier: TestResult, later: TestResult) -> TestResult:
    """pytest writes a test twice when its call fails and its teardown errors: one `error`."""
    first, second = (earlier, later) if _RANK[earlier.outcome] >= _RANK[later.outcome] else (
        later, earlier)
    if first.outcome in ("failed", "error") and second.outcome in ("failed", "error"):
        texts = [t.longrepr for t in (earlier, later) if t.longrepr]
        return replace(first, outcome="error", longrepr="\n\n".join(texts) or None,
                       duration_s=max(earlier.duration_s, later.duration_s))
    return first


def pytest_nodeid(classname: str, name: str, file: str | None,
                  project_root: Path | None = None) -> str:
    """The node id pytest's junitxml derived `classname` and `name` from."""
    parts = classname.split(".") if classname else []
    if file and file.endswith(".py"):
        path = file.replace("\\", "/")
        module = path[:-3].replace("/", ".")
        if classname == module or classname.startswith(module + "."):
            classes = classname[len(module) + 1:].split(".") if classname != module else []
            return "::".join([path, *classes, name])
    if project_root is not None and parts:
        found = _find_module(project_root, parts, 0, ())
        if found is not None:
            module, rest = found
            return "::".join([module, *rest, name])
    cut = len(parts)
    while cut > 1 and parts[cut - 1][:1].isupper():
        cut -= 1
    if not parts:
        return name
    return "::".join(["/".join(parts[:cut]) + ".py", *parts[cut:], name])


def _find_module(folder: Path, parts: list[str], start: int,
                 walked: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """The test file `parts` begins with, under `folder`: a dot in a class name may be a dot in
    a folder or file name (`tests/v1.2/test_x.py`), so each way is tried against the disk."""
    for end in range(len(parts), start, -1):
        name = ".".join(parts[start:end])
        if (folder / f"{name}.py").is_file():
            return "/".join((*walked, f"{name}.py")), parts[end:]
        if end < len(parts) and (folder / name).is_dir():
            found = _find_module(folder / name, parts, end, (*walked, name))
            if found is not None:
                return found
    return None


def _module_path(dotted: str, project_root: Path | None) -> str:
    """`tests.test_bad` (pytest's name for a file it could not collect) as a path."""
    base = dotted.replace(".", "/")
    if project_root is not None and (project_root / base).is_dir():
        return base
    return base + ".py"


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
