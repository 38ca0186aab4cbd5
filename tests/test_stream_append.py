"""The stream file appended to through a memory mapping: a reader takes whole lines only, a
killed writer loses none it wrote, a process without the mapping writes the same file, and a
test that forks never cuts the session's file."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from claimcheck.collectors._plugin import claimcheck_append
from claimcheck.collectors._plugin.claimcheck_append import AppendFile
from claimcheck.collectors.phase_record import StreamTail
from claimcheck.collectors.pytest_run import PLUGIN_DIR

from tests.phase_runs import PYTEST_INI, outcomes, run


def event_line(number: int) -> bytes:
    """A stream line; its length changes with the number, so lines straddle every boundary."""
    return (json.dumps({"event": "test", "nodeid": f"t.py::test_{number}", "pad": "x" * number})
            + "\n").encode()


def polled(tail: StreamTail) -> list[str]:
    return [event["nodeid"] for _, event in tail.poll()]


def test_a_reader_takes_every_line_once_and_whole_as_the_file_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(claimcheck_append, "FIRST_SIZE", 256)  # grown many times below
    stream = AppendFile(str(tmp_path / "1-1.jsonl"))
    tail = StreamTail(str(tmp_path))
    seen: list[str] = []
    for number in range(300):
        stream.write(event_line(number))
        if number % 7 == 0:
            seen += polled(tail)
    # a line copied but for its newline, as a reader may find one mid-copy: not taken yet
    half = event_line(300)
    stream.mapped[stream.length:stream.length + len(half) - 1] = half[:-1]
    seen += polled(tail)
    assert seen == [f"t.py::test_{number}" for number in range(300)]
    stream.write(half)
    assert polled(tail) == ["t.py::test_300"]

    written = b"".join(event_line(number) for number in range(301))
    path = tmp_path / "1-1.jsonl"
    assert path.stat().st_size > len(written)  # reserved ahead, zero bytes past the lines
    stream.close()
    assert path.read_bytes() == written  # cut to its lines
    assert polled(tail) == []
    tail.close()


def test_a_killed_writer_leaves_every_line_it_wrote(tmp_path):
    path = tmp_path / "1-1.jsonl"
    script = (f"import os, signal, sys\nsys.path.insert(0, {str(PLUGIN_DIR)!r})\n"
              "from claimcheck_append import AppendFile\n"
              f"stream = AppendFile({str(path)!r})\n"
              "for number in range(2000):\n"
              "    stream.write(b'{\"event\": \"test\", \"nodeid\": \"t.py::test_%d\"}\\n' % number)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == -9
    assert path.read_bytes().endswith(b"\0")  # never cut: the reserved part is still there
    tail = StreamTail(str(tmp_path))
    assert polled(tail) == [f"t.py::test_{number}" for number in range(2000)]
    tail.close()


@pytest.mark.parametrize("refusal", ["no space", "no posix_fallocate"])
def test_without_a_mapping_every_line_goes_out_with_pwrite(tmp_path, monkeypatch, refusal):
    if refusal == "no posix_fallocate":
        monkeypatch.delattr(os, "posix_fallocate", raising=False)
    else:
        def full_disk(fd: int, offset: int, length: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "posix_fallocate", full_disk)
    path = tmp_path / "1-1.jsonl"
    stream = AppendFile(str(path))
    tail = StreamTail(str(tmp_path))
    for number in range(50):
        stream.write(event_line(number))
        assert path.stat().st_size == stream.length  # nothing reserved, nothing mapped
    assert stream.mapped is None
    assert polled(tail) == [f"t.py::test_{number}" for number in range(50)]
    stream.close()
    assert path.read_bytes() == b"".join(event_line(number) for number in range(50))
    tail.close()


def test_a_reservation_refused_midway_keeps_the_lines_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr(claimcheck_append, "FIRST_SIZE", 512)
    reserve = os.posix_fallocate
    calls: list[int] = []

    def first_only(fd: int, offset: int, length: int) -> None:
        calls.append(length)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        reserve(fd, offset, length)

    monkeypatch.setattr(os, "posix_fallocate", first_only)
    path = tmp_path / "1-1.jsonl"
    stream = AppendFile(str(path))
    for number in range(40):
        stream.write(event_line(number))
    assert calls == [512, 1024]  # mapped first, then refused the growth: pwrite from there
    assert path.stat().st_size == stream.length  # the reserved zero bytes cut at once
    stream.close()
    assert path.read_bytes() == b"".join(event_line(number) for number in range(40))


async def test_a_test_whose_fork_runs_on_leaves_the_sessions_record_whole(make_project):
    """The forked child goes on through the session (the rest of its tests, unconfigure):
    it writes nothing and does not cut the stream file under the parent, which keeps writing
    into its mapping after the child has finished."""
    root = make_project({
        "pytest.ini": PYTEST_INI,
        "tests/test_fork.py": """
            import os
            def test_forks():
                child = os.fork()
                if child:
                    os.waitpid(child, 0)
            def test_after():
                pass
            def test_fails_last():
                assert 1 == 2
        """,
    })
    result = await run(root, pytest_args=("tests",))
    assert outcomes(result) == {"tests/test_fork.py::test_forks": "passed",
                                "tests/test_fork.py::test_after": "passed",
                                "tests/test_fork.py::test_fails_last": "failed"}
    assert result.status == "failed" and result.counts.collected == 3
