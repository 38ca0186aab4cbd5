"""Processes: ending a whole process tree, and (see below) who listens on which port."""

from __future__ import annotations

import os
import signal
import socket
import time

import psutil
from claimcheck.collectors.models import Listener

POLL_S = 0.02  # how often a dying process is looked at


def kill_tree(pid: int, timeout: float = 3.0) -> list[int]:
    """Terminate `pid` and every descendant; kill what is still alive after `timeout`.

    Children are listed before the parent is signalled, so grandchildren that are re-parented
    when their parent dies are still found. Returns the pids that were signalled.
    """
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    try:
        procs = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        procs = []
    procs.append(parent)
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    alive = _wait_dead(procs, timeout)
    for proc in alive:
        try:
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    if alive:
        _wait_dead(alive, timeout)
    return [proc.pid for proc in procs]


def _wait_dead(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until each process has died; the ones still running after `timeout`.

    A zombie counts as dead, and nothing here reaps it (psutil.wait_procs would): the exit
    status of claimcheck's own child belongs to whoever started it - asyncio's child watcher
    logs "Unknown child process" when someone else collected it first.
    """
    deadline = time.monotonic() + timeout
    alive = [proc for proc in procs if _running(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [proc for proc in alive if _running(proc)]
    return alive


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def kill_descendants(timeout: float = 3.0) -> None:
    """End the process tree of every living child of this process (the clean-up backstop)."""
    for child in descendants():
        try:
            kill_tree(child.pid, timeout=timeout)
        except psutil.Error:
            continue  # gone, or not ours to end, meanwhile


def descendants(pid: int | None = None) -> list[psutil.Process]:
    """Living descendants of `pid` (this process by default)."""
    try:
        return psutil.Process(os.getpid() if pid is None else pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


# ----------------------------------------------------------------------------------------
# Who listens on which port


def listeners() -> dict[int, Listener]:
    """Every TCP port in LISTEN state on this machine, with its owner where we may know it.

    A socket whose owner cannot be read (another user's process, no privileges) is still listed,
    with pid and name None: the port is in use, owner unknown, which is not the same as free.
    Where the system-wide table is refused (macOS without root), each process we may inspect is
    asked instead.
    """
    try:
        rows = [(conn.laddr, conn.pid) for conn in psutil.net_connections(kind="inet")
                if _is_tcp_listen(conn)]
    except psutil.AccessDenied:
        rows = _listen_rows_per_process()
    table: dict[int, Listener] = {}
    owners: dict[int, tuple[str | None, tuple[str, ...]]] = {}
    for laddr, pid in rows:
        if not laddr:
            continue
        port = laddr.port
        if port in table and table[port].pid is not None:
            continue  # the same port on IPv4 and IPv6: keep the entry that names its owner
        if pid is not None and pid not in owners:
            owners[pid] = _owner(pid)
        name, cmdline = owners.get(pid, (None, ())) if pid is not None else (None, ())
        table[port] = Listener(port=port, pid=pid, name=name, cmdline=cmdline)
    return table


def _is_tcp_listen(conn: object) -> bool:
    return (getattr(conn, "type", None) == socket.SOCK_STREAM
            and getattr(conn, "status", None) == psutil.CONN_LISTEN)


def _listen_rows_per_process() -> list[tuple[object, int | None]]:
    """The slow path: ask each process we are allowed to inspect for its listening sockets."""
    rows: list[tuple[object, int | None]] = []
    for proc in psutil.process_iter():
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        rows.extend((conn.laddr, proc.pid) for conn in conns if _is_tcp_listen(conn))
    return rows


def _owner(pid: int) -> tuple[str | None, tuple[str, ...]]:
    """Process name and command line; whatever the system refuses stays None or empty."""
    try:
        proc = psutil.Process(pid)
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None, ()
    try:
        cmdline = tuple(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        cmdline = ()
    return name, cmdline
