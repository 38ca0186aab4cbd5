"""Who owns a local port: a service configured on one port while its process listens on another."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace

from claimcheck.collectors import procs
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import (
    Finding,
    Listener,
    ServiceSample,
)
from claimcheck.collectors.probe_shared import is_local_host
from claimcheck.collectors.secrets import Redactor, strip_control


def port_findings(
    services: Iterable[ServiceConfig],
    samples: Iterable[ServiceSample],
    listener_table: Mapping[int, Listener] | None = None,
    *,
    redactor: Redactor | None = None,
) -> list[Finding]:
    """Port-mismatch findings: nothing on the configured port, the service's process elsewhere.

    Without `listener_table` this scans the machine's sockets with psutil, which blocks: call it
    from a thread in an event loop.
    """
    by_name = {sample.name: sample for sample in samples}
    candidates = [
        service
        for service in services
        if is_local_host(service.host)
        and service.port is not None
        and service.name in by_name
        and by_name[service.name].status == "down"
    ]
    if not candidates:
        return []
    table = procs.listeners() if listener_table is None else listener_table
    findings = []
    for service in candidates:
        if service.port in table:
            continue
        elsewhere = lookalike_listeners(service, table)
        if elsewhere:
            findings.append(port_mismatch(service, elsewhere, redactor))
    return findings


async def listener_table() -> dict[int, Listener] | None:
    try:
        return await asyncio.to_thread(procs.listeners)
    except Exception:  # ownership is a nicety; a psutil failure must not cost the round
        return None


def redacted_listener(listener: Listener | None, redactor: Redactor | None) -> Listener | None:
    """Command lines can carry tokens (--api-key=...): they pass the redactor like all text."""
    if listener is None or redactor is None:
        return listener
    return replace(listener, cmdline=tuple(redactor(strip_control(arg)) for arg in
                                           listener.cmdline))


def lookalike_listeners(service: ServiceConfig, table: Mapping[int, Listener]) -> list[Listener]:
    """Listeners, other than ourselves, whose process name or command line names the service."""
    needles = {service.name.lower()} | ({service.process.lower()} if service.process else set())
    found = []
    for port, listener in sorted(table.items()):
        if listener.pid is None or listener.pid == os.getpid() or port == service.port:
            continue
        haystack = " ".join((listener.name or "", *listener.cmdline)).lower()
        if any(needle in haystack for needle in needles):
            found.append(listener)
    return found


def port_mismatch(service: ServiceConfig, elsewhere: list[Listener],
                   redactor: Redactor | None) -> Finding:
    first = elsewhere[0]
    owners = "; ".join(
        f"process {listener.pid} ({_process_label(listener)}) listens on {listener.port}"
        for listener in elsewhere[:3]
    )
    message = (
        f"{service.name} is configured on port {service.port} but nothing listens there; "
        f"{owners}. Point the url at :{first.port} or start {service.name} on {service.port}."
    )
    message = strip_control(message)
    if redactor is not None:
        message = redactor(message)
    return Finding(kind="port-mismatch", phase=None, path=None, line=None, message=message,
                   count=len(elsewhere))


def _process_label(listener: Listener) -> str:
    if listener.cmdline:
        # Absolute paths shortened to their file name: "python auth_service.py", not a tmp path.
        argv = [os.path.basename(arg) if os.path.isabs(arg) else arg
                for arg in listener.cmdline]
        text = " ".join(argv)
    else:
        text = listener.name or "unknown"
    return text if len(text) <= 80 else text[:77] + "..."
