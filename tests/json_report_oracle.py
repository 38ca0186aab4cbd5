"""pytest-json-report as the oracle: what another record of the same session says each test's
outcome was, in claimcheck's words. The engine corpus (tests/test_engine_corpus.py) compares
every phase with it; tests/test_engine_report.py reads `--write json-report` back through it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def oracle_outcome(item: dict[str, Any]) -> str:
    """pytest-json-report's record of one test, in claimcheck's outcome words.

    json-report keeps the last category pytest_report_teststatus gave that was not "passed"
    as the label (so "rerun" for a test that passed on its rerun, "subtests passed" for one
    whose subtests passed), and each stage's last report: the label alone is not an outcome.
    """
    stages = {when: item.get(when) or {} for when in ("setup", "call", "teardown", "???")}
    if stages["???"]:
        return "error"  # pytest-xdist: the worker died in this test
    if any(stages[when].get("outcome") == "failed" for when in ("setup", "teardown")):
        return "error"
    label = str(item.get("outcome"))
    if (label in ("skipped", "subtests skipped") and stages["call"].get("outcome") == "passed"
            and stages["setup"].get("outcome") == "passed"):
        return "passed"  # its subtests skipped; the test itself ran and passed
    if label in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        return label
    call = stages["call"].get("outcome")
    if label == "rerun" or label.startswith("subtests "):
        if stages["setup"].get("outcome") == "skipped":
            return "skipped"
        return "failed" if call == "failed" else "passed"
    raise AssertionError(f"json-report label {label!r} not mapped: {item}")


def oracle(path: Path) -> dict[str, str]:
    """Every test json-report recorded, but one an interruption cut off after a passed setup:
    json-report keeps it (labelled "passed" by default), pytest never counted it. And every
    file skipped as a whole at collection, which json-report keeps among its collectors."""
    document = json.loads(path.read_text(encoding="utf-8"))
    skipped_files = {str(item["nodeid"]): "skipped" for item in document.get("collectors", ())
                     if item.get("outcome") == "skipped"}
    return {**skipped_files,
            **{str(item["nodeid"]): oracle_outcome(item) for item in document.get("tests", ())
               if item.get("call") or item.get("teardown") or item.get("???")
               or (item.get("setup") or {}).get("outcome") != "passed"}}
