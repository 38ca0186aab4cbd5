"""`claimcheck serve`: the live command center in a web browser, through textual-serve.

During an incident two people want to look at one session. textual-serve runs `claimcheck`
(this interpreter, this checkout) once per browser tab and relays the terminal over a
WebSocket. It binds to loopback unless told otherwise, because everything the TUI shows (test
output, service URLs, stream payloads) is then readable by anyone who can reach the port.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from pathlib import Path

from claimcheck.collectors.procs import kill_descendants
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options

TITLE = "claimcheck"


def serve_command(options: Options, demo: bool = False) -> str:
    """The shell command textual-serve runs per browser connection (it uses a shell)."""
    argv = [sys.executable, "-m", "claimcheck"]
    if demo:
        argv.append("demo")
    else:
        argv += ["--project", str(options.project)]
        if options.config is not None:
            argv += ["--config", str(Path(options.config).resolve())]
    for phase in options.phases:
        argv += ["--phase", phase]
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for a bind address other people can reach, or None for loopback."""
    if is_loopback(host):
        return None
    return (
        f"claimcheck serve: WARNING: binding to {host} (not loopback). Anyone who can reach "
        "this address can open the session and see test output, tracebacks, service URLs and "
        "event payloads, and can press keys in it (rerun, quit). There is no login. Prefer "
        "127.0.0.1 with an SSH tunnel (ssh -L 8000:127.0.0.1:8000 host)."
    )


def public_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def run_serve(options: Options) -> int:
    """Serve until Ctrl+C or SIGTERM, then end every claimcheck the browsers started."""
    demo = options.demo
    warning = exposure_warning(options.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if not 1 <= options.port <= 65535:
        print(f"claimcheck serve: --port: expected 1-65535, got {options.port}", file=sys.stderr)
        return ExitCode.USAGE
    if not demo and not Path(options.project).is_dir():
        print(f"claimcheck serve: {options.project}: project folder does not exist",
              file=sys.stderr)
        return ExitCode.USAGE

    url = public_url(options.host, options.port)
    command = serve_command(options, demo)
    server = _server_class()(command, host=options.host, port=options.port,
                    title=f"{TITLE} demo" if demo else f"{TITLE}: {Path(options.project).name}",
                    public_url=url)
    print(f"claimcheck serve: open {url} in a browser (each tab starts its own session)",
          flush=True)
    try:
        server.serve()
    except OSError as exc:
        print(f"claimcheck serve: cannot listen on {options.host}:{options.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE
    finally:
        _end_sessions()  # the backstop, should serve() have ended some other way
    return ExitCode.GREEN


def _end_sessions() -> None:
    kill_descendants(timeout=3.0)


def _server_class() -> type:
    """textual-serve's Server, ending the served sessions first when it shuts down.

    On shutdown textual-serve asks each session to quit and waits for it; a claimcheck that is
    mid-phase can take seconds to wind down, and one that ignores the request would hold the
    server forever. Ending the process trees (SIGTERM, then SIGKILL) is prompt, and takes the
    sessions' pytest runs and demo services with them.
    """
    import asyncio

    from aiohttp import web
    from textual_serve.server import Server

    class ClaimcheckServer(Server):
        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.to_thread(_end_sessions)

    return ClaimcheckServer

