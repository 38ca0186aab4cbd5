"""Port ownership and process-tree kill, against real sockets and real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
from claimcheck.collectors import procs


@pytest.fixture
def listening_socket() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_listeners_finds_our_own_server_with_our_pid(listening_socket: int) -> None:
    table = procs.listeners()
    listener = table[listening_socket]
    assert listener.port == listening_socket
    assert listener.pid == os.getpid()
    assert listener.name == psutil.Process().name()
    assert listener.cmdline == tuple(psutil.Process().cmdline())


def test_a_listening_socket_is_in_the_table_with_its_owner(listening_socket: int) -> None:
    found = procs.listeners().get(listening_socket)
    assert found is not None and found.pid == os.getpid()


def test_bound_but_not_listening_port_is_not_a_listener() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        assert procs.listeners().get(sock.getsockname()[1]) is None
    finally:
        sock.close()


def test_connected_sockets_are_not_listeners(listening_socket: int) -> None:
    client = socket.create_connection(("127.0.0.1", listening_socket))
    try:
        client_port = client.getsockname()[1]
        table = procs.listeners()
        assert client_port not in table
        assert listening_socket in table
    finally:
        client.close()


def test_listener_in_a_subprocess_has_its_cmdline() -> None:
    code = ("import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
            "print(s.getsockname()[1], flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, "payments-worker"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        listener = procs.listeners().get(port)
        assert listener is not None
        assert listener.pid == proc.pid
        assert "payments-worker" in listener.cmdline
    finally:
        proc.kill()
        proc.wait(5)


def test_falls_back_to_per_process_when_the_system_table_is_refused(
        listening_socket: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS refuses psutil.net_connections without root; each process may still be asked."""

    def refuse(kind: str = "inet") -> list[object]:
        raise psutil.AccessDenied()

    monkeypatch.setattr(psutil, "net_connections", refuse)
    listener = procs.listeners()[listening_socket]
    assert listener.pid == os.getpid()


def test_kill_tree_ends_children_too() -> None:
    code = ("import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print(c.pid, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())  # type: ignore[union-attr]
    signalled = procs.kill_tree(proc.pid, timeout=3)
    proc.wait(5)
    assert set(signalled) >= {proc.pid, child}
    deadline = time.monotonic() + 5
    while _alive(child):
        assert time.monotonic() < deadline, "child survived kill_tree"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """A zombie waiting for its reaper counts as ended: it runs no more code."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
