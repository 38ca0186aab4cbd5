"""Report destinations: checked before the run, and a report that cannot be written is never
lost (issue 11, item 5). Real `claimcheck --report` subprocesses on fixture projects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.files import _is_stream, destination_problem, write_atomic

RAN = "ran.txt"  # the fixture's test writes this: proof that a phase ran


def claimcheck(root: Path, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claimcheck", "--project", str(root), "--report", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )


@pytest.fixture
def root(make_project) -> Path:
    """A one-test project whose test records that it ran, removes $DOOMED if set (a folder
    that vanishes during the run) and fails when $FAIL is set."""
    return make_project({
        "pyproject.toml": '[[tool.claimcheck.phases]]\nname = "unit"\npytest = ["tests"]\n',
        "tests/test_one.py": f"""
            import os, pathlib, shutil

            def test_one():
                pathlib.Path(__file__).parent.parent.joinpath("{RAN}").write_text("yes")
                if os.environ.get("DOOMED"):
                    shutil.rmtree(os.environ["DOOMED"])
                assert not os.environ.get("FAIL"), "told to fail"
        """,
    })


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--output", "{tmp}/missing/r.txt"), "--output {tmp}/missing/r.txt: cannot write "
                                              "{tmp}/missing/r.txt: folder '{tmp}/missing' "
                                              "does not exist"),
        (("--write", "json={tmp}"), "--write json={tmp}: cannot write {tmp}: is a folder"),
        (("--write", "junit=/proc/claimcheck-junit.xml"), "cannot write "
                                                          "/proc/claimcheck-junit.xml: does not "
                                                          "exist"),
        (("--write", "json={tmp}/r.json", "--output", "{tmp}/r.json"),
         "--output {tmp}/r.json: {tmp}/r.json is also given as --write json={tmp}/r.json"),
    ],
)
def test_a_bad_destination_is_refused_before_anything_runs(root: Path, tmp_path: Path,
                                                          args: tuple[str, ...],
                                                          expected: str) -> None:
    tmp = str(tmp_path)
    result = claimcheck(root, *(arg.format(tmp=tmp) for arg in args))
    assert result.returncode == 4, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("claimcheck: ")
    assert expected.format(tmp=tmp) in lines[0]
    assert result.stdout == ""
    assert not (root / RAN).exists()  # no phase ran for a report that had nowhere to go


@pytest.mark.parametrize(("fail", "code"), [("1", 1), ("", 4)])
def test_a_write_that_fails_at_the_end_keeps_the_report_and_the_verdict(
        root: Path, tmp_path: Path, fail: str, code: int) -> None:
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    kept = tmp_path / "kept.json"
    result = claimcheck(root, "--format", "markdown", "--output", str(doomed / "r.md"),
                        "--write", f"json={kept}",
                        env={"DOOMED": str(doomed), "FAIL": fail})
    assert (root / RAN).exists()
    assert result.returncode == code, result.stderr
    verdict = "red" if fail else "green"
    mark = "❌" if fail else "✅"
    assert result.stdout.startswith(f"## claimcheck: {mark} {verdict} (exit {int(bool(fail))})")
    errors = [line for line in result.stderr.splitlines() if "cannot write" in line]
    assert errors == [f"claimcheck: cannot write {doomed / 'r.md'}: No such file or directory; "
                      f"the report is on stdout; verdict {verdict} (exit {int(bool(fail))}), "
                      f"exiting {code}"]
    assert json.loads(kept.read_text())["verdict"] == verdict  # the other outputs still written


def test_destination_problem_accepts_writable_paths_and_devices(tmp_path: Path) -> None:
    assert destination_problem(tmp_path / "new.json") is None
    existing = tmp_path / "old.json"
    existing.write_text("{}")
    assert destination_problem(existing) is None
    assert destination_problem(Path("/dev/null")) is None
    write_atomic(Path("/dev/null"), "discarded")  # a device is written to, never replaced
    assert list(tmp_path.iterdir()) == [existing]  # the check leaves nothing behind


def test_a_symlinked_destination_keeps_its_link(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "report.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    assert destination_problem(link) is None
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_paths_under_dev_and_proc_are_streams_never_replaced() -> None:
    """As root, replacing /dev/stdout (a symlink; a regular file when stdout is redirected to
    one) would swap the system's link for a file: such paths are only ever written to."""
    for path in ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "/dev/null"):
        assert _is_stream(Path(path)), path
    assert destination_problem(Path("/proc/no-such-file")) == "does not exist"
    assert Path("/dev/stdout").is_symlink() or not Path("/dev/stdout").exists()


def test_output_to_dev_stdout_is_the_report_on_stdout(root: Path) -> None:
    result = claimcheck(root, "--format", "json", "--output", "/dev/stdout")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "green"
