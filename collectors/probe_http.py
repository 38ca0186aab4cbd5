"""HTTP probes: status, latency, body and JSON expectations."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from claimcheck.collectors.config import ServiceConfig
from claimcheck.collectors.models import (
    ServiceSample,
)
from claimcheck.collectors.probe_shared import (
    BODY_LIMIT,
    body_snippet,
    describe_error,
    ms_text,
    reason_phrase,
    sample,
)
from claimcheck.collectors.secrets import Redactor

# ----------------------------------------------------------------------------------------
# HTTP


async def probe_http(service: ServiceConfig, client: httpx.AsyncClient,
                      red: Redactor) -> ServiceSample:
    timeout = service.timeout_s
    started = time.perf_counter()
    status_code: int | None = None
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", service.url, headers=dict(service.headers),
                                     timeout=timeout) as response:
                status_code = response.status_code
                body = await _read_bounded(response, BODY_LIMIT)
                reason = response.reason_phrase
    except Exception as exc:  # every transport failure becomes a sample, never an exception
        return sample(service, red, "down", describe_error(exc, timeout), http_status=status_code)
    latency_ms = (time.perf_counter() - started) * 1000
    problems = _http_problems(service, status_code, body, latency_ms)
    head = f"HTTP {status_code} {reason or reason_phrase(status_code)}".rstrip()
    if problems:
        detail = f"{head}, {ms_text(latency_ms)}: " + "; ".join(problems)
        return sample(service, red, "degraded", detail, http_status=status_code,
                       latency_ms=latency_ms)
    return sample(service, red, "up", f"{head}, {ms_text(latency_ms)}", http_status=status_code,
                   latency_ms=latency_ms)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """Read at most `limit` bytes: a health endpoint that streams forever must not fill memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _http_problems(service: ServiceConfig, status: int, body: bytes,
                   latency_ms: float) -> list[str]:
    problems = []
    expected = service.expect_status
    if (status not in expected) if expected else not 200 <= status < 300:
        wanted = ", ".join(map(str, expected)) if expected else "2xx"
        snippet = body_snippet(body)
        problems.append(f"expected {wanted}" + (f"; body: {snippet}" if snippet else ""))
    if service.max_latency_ms is not None and latency_ms > service.max_latency_ms:
        problems.append(f"slower than {service.max_latency_ms:g} ms")
    text = body.decode("utf-8", errors="replace")
    if service.body_contains is not None and service.body_contains not in text:
        problems.append(f"body does not contain {service.body_contains!r}")
    if service.expect_json:
        problems.extend(json_mismatches(text, service.expect_json))
    return problems


def json_mismatches(text: str, expected: Mapping[str, Any]) -> list[str]:
    """What in a JSON body differs from `expect_json` (dotted paths and nested tables)."""
    try:
        body = json.loads(text)
    except ValueError:
        return ["body is not JSON"]
    problems = []
    for path, want in _flatten(expected):
        found, got = _lookup(body, path)
        name = ".".join(path)
        if not found:
            problems.append(f"{name} is missing, expected {_json_text(want)}")
        elif not _same(got, want):
            problems.append(f"{name} is {_json_text(got)}, expected {_json_text(want)}")
    return problems


def _flatten(expected: Mapping[str, Any],
             prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """{"checks": {"db": "up"}} and {"checks.db": "up"} both mean body.checks.db == "up"."""
    for key, value in expected.items():
        path = prefix + tuple(str(key).split("."))
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _lookup(value: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """Walk `path` into parsed JSON; a key containing dots literally is matched too."""
    if not path:
        return True, value
    if isinstance(value, dict):
        for cut in range(len(path), 0, -1):
            key = ".".join(path[:cut])
            if key in value:
                found, got = _lookup(value[key], path[cut:])
                if found:
                    return True, got
        return False, None
    if isinstance(value, list) and path[0].isdigit() and int(path[0]) < len(value):
        return _lookup(value[int(path[0])], path[1:])
    return False, None


def _same(got: Any, want: Any) -> bool:
    """JSON equality where true is not 1 (Python would say it is)."""
    if isinstance(got, bool) or isinstance(want, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    return bool(got == want)


def _json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
