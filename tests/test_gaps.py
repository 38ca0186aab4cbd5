"""Gap membership and the gaps x phases matrix (pure logic)."""

from __future__ import annotations

import pytest
from claimcheck.collectors.config import GapConfig
from claimcheck.collectors.gaps import (
    MatrixBuilder,
    default_gap,
    gap_matrix,
    gaps_for_path,
    gaps_for_test,
    row_status,
)
from claimcheck.collectors.models import (
    UNASSIGNED_GAP,
    CollectionError,
    Counts,
    GapCell,
    GapRow,
    PhaseRun,
    TestResult,
)

PHASES = ("unit", "integration")

FACTORY = GapConfig(name="factory", title="Factory conflicts", match=("*factory*",))
AUTH = GapConfig(
    name="auth", title="Service auth", match=("tests/integration/test_auth*",), markers=("auth",)
)
WEBSOCKET = GapConfig(name="websocket", title="WebSocket interface", markers=("websocket",))
GAPS = (FACTORY, AUTH, WEBSOCKET)


def result(nodeid: str, outcome: str = "passed", markers: tuple[str, ...] = (),
           phase: str = "unit") -> TestResult:
    return TestResult(nodeid=nodeid, outcome=outcome, phase=phase, markers=markers)


def run(name: str, *tests: TestResult, errors: tuple[CollectionError, ...] = ()) -> PhaseRun:
    return PhaseRun(name=name, status="failed", exit_code=1, duration_s=0.0, counts=Counts(),
                    tests=tests, collection_errors=errors)


def import_error(path: str) -> CollectionError:
    return CollectionError(path=path, error_type="ImportError",
                           message="cannot import name 'create_auth_handler' from 'app.auth'")


# ----------------------------------------------------------------------------------------
# Membership


def test_a_test_belongs_to_every_gap_it_matches() -> None:
    test = result("tests/integration/test_auth_factory.py::test_build", markers=("websocket",))
    assert gaps_for_test(test, GAPS, PHASES) == ("factory", "auth", "websocket")


def test_marker_alone_makes_membership() -> None:
    test = result("tests/unit/test_misc.py::test_login", markers=("slow", "auth"))
    assert gaps_for_test(test, GAPS, PHASES) == ("auth",)


def test_markers_compare_exactly_like_pytest() -> None:
    test = result("tests/unit/test_misc.py::test_login", markers=("Auth",))
    assert gaps_for_test(test, GAPS, PHASES) == (UNASSIGNED_GAP,)


def test_a_test_in_no_gap_is_unassigned() -> None:
    assert gaps_for_test(result("tests/unit/test_misc.py::test_x"), GAPS, PHASES) == (
        UNASSIGNED_GAP,
    )


def test_match_is_case_insensitive_both_ways() -> None:
    upper = GapConfig(name="router", title="Router", match=("*ROUTER*",))
    assert gaps_for_test(result("tests/unit/test_router.py::test_x"), (upper,), PHASES) == (
        "router",
    )
    assert gaps_for_test(result("tests/unit/test_misc.py::TestRouter::test_x"), (FACTORY,),
                         PHASES) == (UNASSIGNED_GAP,)
    assert gaps_for_test(result("tests/unit/test_AgentFactory.py::test_x"), (FACTORY,),
                         PHASES) == ("factory",)


def test_match_covers_the_whole_node_id_not_just_the_file() -> None:
    gap = GapConfig(name="ws", title="ws", match=("*::TestWebSocket*",))
    assert gaps_for_test(result("tests/unit/test_a.py::TestWebSocket::test_x"), (gap,),
                         PHASES) == ("ws",)
    assert gaps_for_test(result("tests/unit/test_websocket.py::test_x"), (gap,),
                         PHASES) == (UNASSIGNED_GAP,)


@pytest.mark.parametrize(
    ("pattern", "nodeid", "expected"),
    [
        ("tests/unit/test_a.py::test_x", "tests/unit/test_a.py::test_x", True),
        ("tests/unit/test_a.py::test_x", "tests/unit/test_a.py::test_xy", False),
        ("*_handler", "tests/unit/test_a.py::test_auth_handler", True),
        ("*_handler", "tests/unit/test_a.py::test_auth_handler_2", False),
        ("tests/*/test_auth*", "tests/e2e/test_auth.py::test_x", True),
        ("tests/*/test_auth*", "tests/e2e/test_login.py::test_x", False),
        ("tests/*/test_auth*::*login", "tests/e2e/test_auth.py::test_login", True),
        ("tests/*/test_auth*::*login", "tests/e2e/test_auth.py::test_logout", False),
        ("*", "anything.py::test", True),
        ("tests/unit/test_?.py*", "tests/unit/test_a.py::test_x", True),
        ("tests/unit/test_?.py*", "tests/unit/test_ab.py::test_x", False),
        ("tests/unit/test_[ab].py*", "TESTS/UNIT/TEST_B.PY::test_x", True),
        ("tests/unit/test_[ab].py*", "tests/unit/test_c.py::test_x", False),
    ],
)
def test_glob_shapes_follow_fnmatch(pattern: str, nodeid: str, expected: bool) -> None:
    gap = GapConfig(name="g", title="g", match=(pattern,))
    assert (gaps_for_test(result(nodeid), (gap,), PHASES) == ("g",)) is expected


def test_collection_error_joins_the_gaps_its_path_matches() -> None:
    assert gaps_for_path("tests/integration/test_auth.py", GAPS, PHASES) == ("auth",)
    assert gaps_for_path("tests/integration/test_agent_factory.py", GAPS, PHASES) == (
        "factory",
    )
    # WEBSOCKET has markers only: an error has no markers, so it cannot land there.
    assert gaps_for_path("tests/integration/test_ws.py", GAPS, PHASES) == (UNASSIGNED_GAP,)


def test_gaps_for_path_without_gaps_uses_the_default_rule() -> None:
    assert gaps_for_path("tests/integration/test_auth.py", (), PHASES) == ("auth",)


# ----------------------------------------------------------------------------------------
# Default grouping


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("tests/unit/test_auth.py::test_login", "auth"),
        ("tests/integration/test_auth.py::TestX::test_login[a/b]", "auth"),
        ("tests/unit/websocket/test_manager.py::test_x", "websocket"),
        ("tests/unit/router_test.py::test_x", "router"),
        ("tests/unit/router_tests.py::test_x", "router"),
        ("tests/smoke/payments/api/test_refund.py::test_x", "payments"),
        ("test/Auth/test_login.py::test_x", "auth"),
        ("test_root.py::test_x", "root"),
        ("tests/contract/test_orders.py::test_x", "orders"),  # "contract" is a phase name
        ("tests/integration", "integration"),  # a folder-only collection error
        ("tests/unit/test_.py::test_x", "test_"),
        # Tests inside the package: one gap per area, not one gap named after the package.
        ("pkg/tests/test_auth.py::test_x", "auth"),
        ("pkg/tests/test_cache.py::TestLru::test_x", "cache"),
        ("scipy/linalg/tests/test_basic.py::test_x", "linalg"),
        ("src/pkg/tests/unit/test_auth.py::test_x", "auth"),
        # Doctests and tests beside the code: never a gap called "src".
        ("src/pkg/auth.py::pkg.auth.login", "auth"),
        ("src/pkg/routers/agents.py::pkg.routers.agents.route", "routers"),
        ("src/pkg/__init__.py::pkg", "pkg"),
        ("pkg/test_auth.py::test_x", "auth"),
        ("lib/tool.py::tool.main", "tool"),
    ],
)
def test_default_gap_examples(nodeid: str, expected: str) -> None:
    assert default_gap(nodeid, ("unit", "integration", "contract")) == expected


def test_default_gap_phase_names_are_case_insensitive() -> None:
    assert default_gap("tests/Nightly/test_sync.py::test_x", ("nightly",)) == "sync"
    assert default_gap("tests/Nightly/test_sync.py::test_x", ()) == "nightly"


def test_default_grouping_gives_each_test_exactly_one_gap() -> None:
    test = result("tests/unit/test_auth.py::test_x", markers=("websocket",))
    assert gaps_for_test(test, (), PHASES) == ("auth",)


# ----------------------------------------------------------------------------------------
# The matrix


def test_matrix_counts_each_phase_and_every_membership() -> None:
    unit = run(
        "unit",
        result("tests/unit/test_agent_factory.py::test_a", "passed"),
        result("tests/unit/test_agent_factory.py::test_b", "xfailed"),
        result("tests/unit/test_agent_factory.py::test_c", "xpassed"),
        result("tests/unit/test_agent_factory.py::test_d", "skipped"),
        result("tests/unit/test_misc.py::test_auth", "passed", markers=("auth",)),
    )
    integration = run(
        "integration",
        result("tests/integration/test_auth_factory.py::test_x", "failed", phase="integration"),
        result("tests/integration/test_auth.py::test_y", "error", phase="integration"),
        errors=(import_error("tests/integration/test_auth_login.py"),),
    )
    rows = gap_matrix([unit, integration], GAPS)
    assert [row.name for row in rows] == ["factory", "auth", "websocket"]
    by_name = {row.name: row for row in rows}
    assert by_name["factory"].title == "Factory conflicts"
    assert by_name["factory"].cells == {
        "unit": GapCell(passed=3, skipped=1),
        "integration": GapCell(failed=1),
    }
    assert by_name["auth"].cells == {
        "unit": GapCell(passed=1),
        "integration": GapCell(failed=1, error=2),
    }
    assert by_name["websocket"] == GapRow(
        name="websocket", title="WebSocket interface", status="no-evidence",
        cells={"unit": GapCell(), "integration": GapCell()},
    )
    assert by_name["factory"].status == "red"
    assert by_name["auth"].status == "red"


def test_unassigned_row_appears_only_when_something_landed_there() -> None:
    assigned = run("unit", result("tests/unit/test_factory.py::test_x"))
    assert [row.name for row in gap_matrix([assigned], GAPS)] == ["factory", "auth", "websocket"]
    stray = run("unit", result("tests/unit/test_factory.py::test_x"),
                result("tests/unit/test_misc.py::test_y", "skipped"))
    rows = gap_matrix([stray], GAPS)
    assert [row.name for row in rows] == ["factory", "auth", "websocket", UNASSIGNED_GAP]
    assert rows[-1].cells == {"unit": GapCell(skipped=1)}
    assert rows[-1].status == "no-evidence"


def test_unassigned_collects_collection_errors_that_match_no_gap() -> None:
    rows = gap_matrix([run("unit", errors=(import_error("tests/unit/test_misc.py"),))], GAPS)
    assert rows[-1].name == UNASSIGNED_GAP
    assert rows[-1].cells == {"unit": GapCell(error=1)}
    assert rows[-1].status == "red"


def test_every_phase_gets_a_cell_even_without_evidence() -> None:
    unit = run("unit", result("tests/unit/test_factory.py::test_x"))
    e2e = run("e2e")
    rows = gap_matrix([unit, e2e], (FACTORY,))
    assert rows[0].cells == {"unit": GapCell(passed=1), "e2e": GapCell()}
    assert rows[0].status == "green"


def test_default_grouping_rows_are_sorted_and_merge_phases() -> None:
    unit = run("unit", result("tests/unit/test_websocket.py::test_a"),
               result("tests/unit/test_auth.py::test_b"))
    integration = run("integration",
                      result("tests/integration/test_auth.py::test_c", "failed"),
                      errors=(import_error("tests/integration/billing/test_x.py"),))
    rows = gap_matrix([unit, integration], ())
    assert [row.name for row in rows] == ["auth", "billing", "websocket"]
    assert rows[0] == GapRow(
        name="auth", title="auth", status="red",
        cells={"unit": GapCell(passed=1), "integration": GapCell(failed=1)},
    )
    assert rows[1].cells == {"unit": GapCell(), "integration": GapCell(error=1)}
    assert rows[2].status == "green"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([GapCell(passed=2), GapCell()], "green"),
        ([GapCell(passed=2), GapCell(failed=1)], "red"),
        ([GapCell(error=1), GapCell(skipped=3)], "red"),
        ([GapCell(skipped=3), GapCell()], "no-evidence"),
        ([GapCell(), GapCell()], "no-evidence"),
        ([], "no-evidence"),
    ],
)
def test_row_status(cells: list[GapCell], expected: str) -> None:
    assert row_status(cells) == expected


def test_unknown_outcomes_are_not_counted() -> None:
    rows = gap_matrix([run("unit", result("tests/unit/test_factory.py::test_x", "rerun"))],
                      (FACTORY,))
    assert rows[0].cells == {"unit": GapCell()}


# ----------------------------------------------------------------------------------------
# Incremental builder (the TUI's path)


def test_builder_reports_touched_gaps_and_replaces_a_repeated_result() -> None:
    builder = MatrixBuilder(GAPS, PHASES)
    nodeid = "tests/integration/test_auth_factory.py::test_x"
    assert builder.add_result("integration", result(nodeid, "failed")) == ("factory", "auth")
    assert builder.cell("auth", "integration") == GapCell(failed=1)
    # The same test reported again (the final run after streaming): replaced, not added.
    assert builder.add_result("integration", result(nodeid, "passed")) == ("factory", "auth")
    assert builder.cell("auth", "integration") == GapCell(passed=1)
    assert builder.cell("factory", "integration") == GapCell(passed=1)
    assert builder.cell("auth", "unit") == GapCell()


def test_builder_replacement_moves_a_test_between_gaps_when_markers_change() -> None:
    builder = MatrixBuilder(GAPS, PHASES)
    nodeid = "tests/unit/test_misc.py::test_x"
    builder.add_result("unit", result(nodeid, markers=("websocket",)))
    touched = builder.add_result("unit", result(nodeid, markers=("auth",)))
    assert touched == ("auth", "websocket")
    assert builder.cell("websocket", "unit") == GapCell()
    assert builder.cell("auth", "unit") == GapCell(passed=1)


def test_builder_rows_are_snapshots_not_live_views() -> None:
    builder = MatrixBuilder((FACTORY,), ("unit",))
    builder.add_result("unit", result("tests/unit/test_factory.py::test_a"))
    before = builder.rows()
    builder.add_result("unit", result("tests/unit/test_factory.py::test_b", "failed"))
    assert before[0].cells == {"unit": GapCell(passed=1)}
    assert before[0].status == "green"
    assert builder.rows()[0].status == "red"


def test_builder_add_run_replaces_the_phase_column() -> None:
    builder = MatrixBuilder((FACTORY,), ("unit",))
    builder.add_result("unit", result("tests/unit/test_factory.py::test_old", "failed"))
    builder.add_run(run("unit", result("tests/unit/test_factory.py::test_new")))
    assert builder.cell("factory", "unit") == GapCell(passed=1)


def test_builder_learns_a_phase_before_grouping_its_first_result() -> None:
    builder = MatrixBuilder(())
    builder.add_result("contract", result("tests/contract/test_orders.py::test_x"))
    assert [row.name for row in builder.rows()] == ["orders"]
    assert builder.phases == ("contract",)


def test_builder_and_gap_matrix_agree() -> None:
    unit = run("unit", result("tests/unit/test_factory.py::test_a"),
               result("tests/unit/test_misc.py::test_b", "failed", markers=("auth",)),
               errors=(import_error("tests/unit/test_zz.py"),))
    builder = MatrixBuilder(GAPS, ["unit"])
    for test in unit.tests:
        builder.add_result("unit", test)
    for error in unit.collection_errors:
        builder.add_collection_error("unit", error)
    assert builder.rows() == gap_matrix([unit], GAPS)
