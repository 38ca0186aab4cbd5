"""Processes: ending a whole process tree, and (see below) who listens on which port."""

from __future__ import annotations

import os
import signal

import psutil


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
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    if alive:
        psutil.wait_procs(alive, timeout=timeout)
    return [proc.pid for proc in procs]


def descendants(pid: int | None = None) -> list[psutil.Process]:
    """Living descendants of `pid` (this process by default)."""
    try:
        return psutil.Process(os.getpid() if pid is None else pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
