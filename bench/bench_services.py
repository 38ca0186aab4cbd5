"""Benchmark: one probe round over 100 loopback services, and a 2,000 frames/s event stream.

Run: python bench/bench_services.py [--rounds 3] [--rate 2000] [--seconds 10]

1. 100 services on 127.0.0.1 (90 answering HTTP, 10 accepting TCP and never answering), probed
   in one `probe_all` round with timeout_s=2. Goal: the round's wall time stays within
   timeout + 0.5 s, because no probe can delay another.
2. A WebSocket server sends `rate` frames/s for `seconds` s to `stream_events`; the consumer keeps
   a capped deque, as the TUI does. Goal: every frame arrives, lag stays small (no falling
   behind), and peak RSS growth stays bounded whatever the frame count.

The servers run in child processes (this script in `--serve-*` mode) so they do not share the
probing event loop. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from array import array
from collections import deque
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claimcheck.collectors.config import ServiceConfig, parse_config  # noqa: E402
from claimcheck.collectors.health import probe_all, stream_events  # noqa: E402
from claimcheck.collectors.models import StreamEvent  # noqa: E402

HOST = "127.0.0.1"
TIMEOUT_S = 2.0
DEQUE_CAP = 1000


# ----------------------------------------------------------------------------------------
# Child-process servers


async def _serve_http(answering: int, silent: int) -> None:
    """`answering` aiohttp sites and `silent` TCP servers that accept and never answer."""
    import aiohttp.web

    async def health(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.json_response({"status": "ok", "checks": {"db": "up"}})

    app = aiohttp.web.Application()
    app.router.add_get("/health", health)
    runner = aiohttp.web.AppRunner(app, access_log=None)
    await runner.setup()
    http_ports = []
    for _ in range(answering):
        site = aiohttp.web.TCPSite(runner, HOST, 0, backlog=256)
        await site.start()
        http_ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent_ports = []
    for _ in range(silent):
        server = await asyncio.start_server(hold, HOST, 0)
        silent_ports.append(server.sockets[0].getsockname()[1])
    print(json.dumps({"http": http_ports, "silent": silent_ports}), flush=True)
    await _until_stdin_closes()


async def _serve_ws(rate: int, seconds: float) -> None:
    """On each connection, send `rate` frames/s for `seconds` s, then a "done" frame."""
    from websockets.asyncio.server import ServerConnection, serve

    padding = "x" * 120  # frames of about 200 bytes, like a small agent event

    async def handler(ws: ServerConnection) -> None:
        total = int(rate * seconds)
        start = time.perf_counter()
        sent = 0
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            while sent < due:
                await ws.send(json.dumps({"type": "tick", "seq": sent, "sent": time.time(),
                                          "pad": padding}))
                sent += 1
            await asyncio.sleep(0.002)
        await ws.send(json.dumps({"type": "done", "sent_count": sent, "sent": time.time(),
                                  "send_s": time.perf_counter() - start}))
        await ws.wait_closed()

    async with serve(handler, HOST, 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({"ws": port}), flush=True)
        await _until_stdin_closes()


async def _until_stdin_closes() -> None:
    await asyncio.to_thread(sys.stdin.read)


def _spawn(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    return proc, json.loads(line)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.stdin.close()  # type: ignore[union-attr]
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# ----------------------------------------------------------------------------------------
# 1. One round over 100 services


def _services(http_ports: list[int], silent_ports: list[int]) -> tuple[ServiceConfig, ...]:
    table = [
        {"name": f"http-{i}", "url": f"http://{HOST}:{port}/health", "timeout_s": TIMEOUT_S,
         "expect_json": {"checks.db": "up"}}
        for i, port in enumerate(http_ports)
    ] + [
        {"name": f"silent-{i}", "url": f"http://{HOST}:{port}/health", "timeout_s": TIMEOUT_S}
        for i, port in enumerate(silent_ports)
    ]
    config = parse_config({"services": table}, root=Path.cwd(), source=Path("bench.toml"),
                          prefix="", environ={})
    return config.services


async def bench_round(rounds: int) -> list[tuple[str, str]]:
    proc, ports = _spawn("--serve-http", "90", "--serve-silent", "10")
    try:
        services = _services(ports["http"], ports["silent"])
        rows = []
        for index in range(rounds):
            started = time.perf_counter()
            samples = await probe_all(services)
            wall = time.perf_counter() - started
            up = sum(s.status == "up" for s in samples)
            timed_out = sum(s.detail == f"timed out after {TIMEOUT_S:g} s" for s in samples)
            owned = sum(s.listener is not None and s.listener.pid == proc.pid for s in samples)
            verdict = "within" if wall <= TIMEOUT_S + 0.5 else "OVER"
            rows.append((f"round {index + 1}: wall time (goal <= {TIMEOUT_S + 0.5:g} s)",
                         f"{wall:.3f} s  {verdict}"))
            rows.append((f"round {index + 1}: up / timed out / listener owner found",
                         f"{up} / {timed_out} / {owned} of {len(samples)}"))
        return rows
    finally:
        _stop(proc)


# ----------------------------------------------------------------------------------------
# 2. A 2,000 frames/s stream


async def bench_stream(rate: int, seconds: float) -> list[tuple[str, str]]:
    proc, ports = _spawn("--serve-ws", str(rate), str(seconds))
    me = psutil.Process()
    kept: deque[StreamEvent] = deque(maxlen=DEQUE_CAP)
    lags = array("d", bytes(8 * (int(rate * seconds) + 16)))  # preallocated: not measured growth
    state = {"received": 0, "sent": 0, "done_lag": 0.0, "send_s": 0.0}
    done = asyncio.Event()

    def consume(event: StreamEvent) -> None:
        if event.direction != "recv":
            return
        kept.append(event)
        body = json.loads(event.payload)
        if event.event_type == "done":
            state["sent"] = body["sent_count"]
            state["done_lag"] = event.ts - body["sent"]
            state["send_s"] = body["send_s"]
            done.set()
            return
        if state["received"] < len(lags):
            lags[state["received"]] = event.ts - body["sent"]
        state["received"] += 1

    service = parse_config(
        {"services": [{"name": "events", "url": f"ws://{HOST}:{ports['ws']}/", "stream": True}]},
        root=Path.cwd(), source=Path("bench.toml"), prefix="", environ={},
    ).services[0]
    baseline = me.memory_info().rss
    peak = baseline

    async def sample_rss() -> None:
        nonlocal peak
        while True:
            peak = max(peak, me.memory_info().rss)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample_rss())
    streamer = asyncio.create_task(stream_events(service, consume))
    started = time.perf_counter()
    try:
        await asyncio.wait_for(done.wait(), seconds * 3 + 10)
    finally:
        wall = time.perf_counter() - started
        streamer.cancel()
        sampler.cancel()
        await asyncio.gather(streamer, sampler, return_exceptions=True)
        _stop(proc)
    received = state["received"]
    measured = sorted(lags[: min(received, len(lags))])
    p50 = statistics.median(measured) * 1000 if measured else float("nan")
    p99 = measured[int(len(measured) * 0.99) - 1] * 1000 if measured else float("nan")
    worst = measured[-1] * 1000 if measured else float("nan")
    payload_mb = received * len(kept[-2].payload) / 1e6 if len(kept) > 1 else 0.0
    return [
        ("frames received / sent", f"{received} / {state['sent']}"),
        ("server send time / client wall time", f"{state['send_s']:.2f} s / {wall:.2f} s"),
        ("achieved rate", f"{received / state['send_s']:.0f} frames/s"),
        ("lag p50 / p99 / max", f"{p50:.1f} / {p99:.1f} / {worst:.1f} ms"),
        ("lag of the final frame", f"{state['done_lag'] * 1000:.1f} ms"),
        ("payload text seen (not kept)", f"{payload_mb:.1f} MB"),
        ("events kept by consumer (cap)", f"{len(kept)} ({DEQUE_CAP})"),
        ("peak RSS growth", f"{(peak - baseline) / 1e6:.1f} MB (baseline {baseline / 1e6:.0f} MB)"),
    ]


# ----------------------------------------------------------------------------------------


def _print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 30))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


async def main(args: argparse.Namespace) -> None:
    print(f"python {sys.version.split()[0]}, {psutil.cpu_count()} CPUs, loopback only")
    if args.rounds:
        _print_table("1. probe_all over 100 services (90 HTTP, 10 silent TCP), timeout_s=2",
                     await bench_round(args.rounds))
    _print_table(f"2. stream_events at {args.rate} frames/s for {args.seconds:g} s",
                 await bench_stream(args.rate, args.seconds))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve-http", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-silent", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-ws", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    options = _parse()
    if options.serve_http is not None:
        asyncio.run(_serve_http(options.serve_http, options.serve_silent))
    elif options.serve_ws is not None:
        asyncio.run(_serve_ws(int(options.serve_ws[0]), float(options.serve_ws[1])))
    else:
        asyncio.run(main(options))
