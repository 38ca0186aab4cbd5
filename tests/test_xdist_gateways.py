"""pytest-xdist's own gateways through claimcheck: counts equal a serial run, wherever the workers are.

`-n` starts local workers; `-d --tx ...` starts them where the specs say: several popen
gateways, or socket gateways to execnet's socketserver (the same path as `--tx ssh=...`: a
worker in another process that has neither claimcheck nor its plugin on its import path). The
socket servers here listen on 127.0.0.1 and run in a clean environment of their own.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from claimcheck.collectors.models import PhaseRun

from tests.phase_runs import XDIST_COUNTS, XDIST_SELECTION, XDIST_SUITE, outcomes, run

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("xdist") is None,
                                 reason="pytest-xdist is not installed"),
              pytest.mark.usefixtures("no_stragglers_left")]


def assert_same_as_serial(distributed: PhaseRun, serial: PhaseRun, workers: int) -> None:
    assert serial.counts == XDIST_COUNTS, serial.output_tail
    assert distributed.counts == serial.counts, distributed.output_tail
    assert outcomes(distributed) == outcomes(serial)
    assert distributed.status == serial.status == "failed"
    assert distributed.sessions[0].xdist_workers == workers
    markers = {t.nodeid: t.markers for t in distributed.tests}
    assert markers["tests/test_one.py::test_a"] == ("api",)
    assert markers["tests/test_two.py::test_d"] == ()


async def test_several_popen_gateways_count_as_a_serial_run(make_project):
    root = make_project(XDIST_SUITE)
    serial = await run(root, pytest_args=XDIST_SELECTION)
    distributed = await run(root, pytest_args=(*XDIST_SELECTION, "-d", "--tx", "popen", "--tx",
                                               f"popen//python={sys.executable}"))
    assert_same_as_serial(distributed, serial, workers=2)


async def test_a_command_phase_under_xdist_keeps_deselections_and_markers(make_project):
    """`-p claimcheck_stream` reaches a command phase's pytest through PYTEST_ADDOPTS, which its
    workers never see: the plugin travels to them over the gateway instead."""
    root = make_project(XDIST_SUITE)
    serial = await run(root, pytest_args=XDIST_SELECTION)
    command = await run(root, command=("python", "-m", "pytest", *XDIST_SELECTION, "-n", "2"))
    assert_same_as_serial(command, serial, workers=2)


def start_socketserver(cwd: Path) -> tuple[subprocess.Popen[str], int]:
    """execnet's socketserver on an ephemeral loopback port, in an environment without
    claimcheck's plugin on the import path (as on another machine)."""
    script = importlib.util.find_spec("execnet.script.socketserver").origin  # type: ignore[union-attr]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "CLAIMCHECK_")) and key != "PYTHONPATH"}
    server = subprocess.Popen([sys.executable, "-u", str(script), "127.0.0.1:0"], cwd=cwd,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    assert server.stdout is not None
    first = server.stdout.readline()
    found = re.search(r"\('127\.0\.0\.1', (\d+)\)", first)
    if not found:
        server.kill()
        pytest.fail(f"socketserver did not start: {first!r}")
    return server, int(found.group(1))


async def test_socket_gateways_to_execnet_socketservers_count_as_a_serial_run(make_project,
                                                                          tmp_path):
    root = make_project(XDIST_SUITE)
    serial = await run(root, pytest_args=XDIST_SELECTION)
    servers = []
    try:
        specs: list[str] = []
        for index in (1, 2):
            remote = tmp_path / f"remote{index}"
            remote.mkdir()
            server, port = start_socketserver(remote)
            servers.append(server)
            specs += ["--tx", f"socket=127.0.0.1:{port}//chdir={remote}"]
        # A remote worker gets the project by rsync; xdist maps path arguments under it.
        distributed = await run(root, timeout=90, pytest_args=(
            str(root / "tests"), "-k", "not dropped", "-d", "--rsyncdir", str(root), *specs))
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)
    assert_same_as_serial(distributed, serial, workers=2)
    assert not os.environ.get("PYTEST_PLUGINS")


WHERE_THE_PLUGIN_CAME_FROM = """
import os, sys
def test_the_worker_imported_the_plugin_from_its_file():
    writer = sys.modules["claimcheck_writer"]
    assert type(writer.__spec__.loader).__name__ != "ClaimcheckSource"
    assert os.path.isfile(writer.__file__)
"""


async def test_local_workers_import_the_plugin_themselves_and_count_the_same(make_project):
    """`-n 2` in a pytest phase: each worker has the plugin's folder on its PYTHONPATH and
    `-p claimcheck_stream` in the command line xdist hands it, so nothing is shipped to it
    (which cost the controller some 10 ms a gateway); the record is the serial run's."""
    root = make_project({**XDIST_SUITE, "tests/test_where.py": WHERE_THE_PLUGIN_CAME_FROM})
    serial = await run(root, pytest_args=XDIST_SELECTION)
    distributed = await run(root, pytest_args=(*XDIST_SELECTION, "-n", "2"))
    assert outcomes(distributed) == outcomes(serial)
    assert outcomes(distributed)[
        "tests/test_where.py::test_the_worker_imported_the_plugin_from_its_file"] == "passed"
    assert distributed.counts == serial.counts and distributed.sessions[0].xdist_workers == 2
    markers = {t.nodeid: t.markers for t in distributed.tests}
    assert markers["tests/test_one.py::test_a"] == ("api",)  # the worker's side ran
