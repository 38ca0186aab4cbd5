"""The last line of defence shared by --open, merge, verify and claim (tui/guard.py)."""

from __future__ import annotations

import pytest
from claimcheck.collectors.config import ConfigError
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.guard import guarded


def test_work_that_finishes_returns_its_value() -> None:
    assert guarded(lambda: ("result", 0)) == ("result", 0)


def test_bad_input_is_one_escaped_line_and_exit_4(capsys: pytest.CaptureFixture[str]) -> None:
    def bad() -> int:
        raise ConfigError("pyproject.toml: [tool.claimcheck] \x1b[31mred")

    assert guarded(bad) == ExitCode.USAGE
    assert capsys.readouterr().err == "claimcheck: pyproject.toml: [tool.claimcheck] \\x1b[31mred\n"


def test_the_usage_errors_are_the_callers(capsys: pytest.CaptureFixture[str]) -> None:
    def unknown() -> int:
        raise LookupError("no gap 'nosuch'")

    assert guarded(unknown, (LookupError,)) == ExitCode.USAGE
    assert capsys.readouterr().err == "claimcheck: no gap 'nosuch'\n"


def test_ctrl_c_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert guarded(interrupted) == ExitCode.INTERRUPTED
    assert capsys.readouterr().err == "claimcheck: interrupted\n"


def test_anything_else_is_one_line_and_exit_3_without_a_traceback(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMCHECK_DEBUG", raising=False)

    def broken() -> int:
        return {}["missing"]

    assert guarded(broken) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err == ("claimcheck: internal error: KeyError: 'missing'\n"
                   "claimcheck: set CLAIMCHECK_DEBUG=1 to see the traceback\n")


def test_claimcheck_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMCHECK_DEBUG", "1")

    def broken() -> int:
        return {}["missing"]

    assert guarded(broken) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("claimcheck: internal error: KeyError: 'missing'\nTraceback")
    assert "CLAIMCHECK_DEBUG=1" not in err
