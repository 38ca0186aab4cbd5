"""`claimcheck serve`: the live command center in a web browser, through textual-serve.

During an incident two people want to look at one session. textual-serve runs `claimcheck`
(this interpreter, this checkout) once per browser tab and relays the terminal over a
WebSocket. A session runs the project's tests and obeys key presses, so the server admits only
the person who started it, the way Jupyter does:

* a secret token, new at every start, printed in the URL (`/?token=...`); the page sets it as
  an HttpOnly, SameSite=Strict cookie for its WebSocket (`--no-token` turns this off);
* the `Host` header must be an IP address, `localhost`, this machine's name or an
  `--allow-host` name, which defeats DNS rebinding (a hostile name resolving to 127.0.0.1);
* a request carrying an `Origin` (every browser WebSocket does) must come from the page's own
  origin, so another site open in the same browser cannot drive a session;
* at most `--max-sessions` sessions at once (default 4), and a session whose browser has gone
  (closed, crashed, asleep: no answer to a ping for HEARTBEAT_S) is ended, its process tree
  killed if it does not quit within SESSION_GRACE_S.

It binds to loopback unless told otherwise, because everything the TUI shows (test output,
service URLs, stream payloads) is then readable by anyone who can reach the port.
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import ipaddress
import secrets
import shlex
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from claimcheck.collectors.procs import kill_descendants, kill_tree
from claimcheck.collectors.verdict import ExitCode
from claimcheck.tui.options import Options

TITLE = "claimcheck"
HEARTBEAT_S = 10.0  # ping the browser this often; no pong within half of it ends the session
SESSION_GRACE_S = 5.0  # a session whose browser went gets this long to quit before it is killed
DEFAULT_MAX_SESSIONS = 4


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


# ----------------------------------------------------------------------------------------
# Where to listen, and whether that is exposed


def bare_host(host: str) -> str:
    """`[::1]` and ` ::1 ` are the address `::1`."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _numeric_ipv4(host: str) -> str | None:
    """`127.1` and `0x7f.1` are IPv4 addresses to the C library (and to browsers)."""
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def is_loopback(host: str) -> bool:
    host = bare_host(host).lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        numeric = _numeric_ipv4(host)
        return numeric is not None and ipaddress.ip_address(numeric).is_loopback


def resolve(host: str, port: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Every (family, socket address) to listen on for `host`; raises OSError when it does not
    resolve. `""`, `0.0.0.0` and `::` are the wildcards they always were."""
    name = bare_host(host)
    infos = socket.getaddrinfo(name or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    seen: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _name, address in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and (family, address) not in seen:
            seen.append((family, address))
    return seen


def all_loopback(addresses: list[tuple[int, tuple[Any, ...]]]) -> bool:
    return bool(addresses) and all(
        ipaddress.ip_address(address[0].split("%")[0]).is_loopback
        for _family, address in addresses)


def exposure_warning(host: str, port: int = 8000, *, loopback: bool | None = None,
                     token: bool = True) -> str | None:
    """The warning for a bind address other people can reach, or None for loopback."""
    if loopback if loopback is not None else is_loopback(host):
        return None
    who = ("Anyone who can reach this address and learns the token" if token else
           "Anyone who can reach this address (there is no token: --no-token)")
    return (
        f"claimcheck serve: WARNING: binding to {host} (not loopback). {who} can open a "
        "session and see test output, tracebacks, service URLs and event payloads, and press "
        "keys in it (rerun, quit). Prefer 127.0.0.1 with an SSH tunnel "
        f"(ssh -L {port}:127.0.0.1:{port} host)."
    )


def public_url(host: str, port: int) -> str:
    shown = bare_host(host)
    if shown in ("0.0.0.0", "::", ""):
        shown = "127.0.0.1"
    else:
        shown = _numeric_ipv4(shown) or shown
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def listen(addresses: list[tuple[int, tuple[Any, ...]]]) -> list[socket.socket]:
    """Bound, listening sockets for every address, before anything is printed: a busy port is an
    error, not a banner followed by one. An address this host cannot use (::1 without IPv6)
    is skipped as long as another one works."""
    sockets: list[socket.socket] = []
    unusable: OSError | None = None
    try:
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(128)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) and len(addresses) > 1:
                    unusable = exc
                    continue
                raise
            sockets.append(sock)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise unusable or OSError(errno.EADDRNOTAVAIL, "no usable address")
    return sockets


# ----------------------------------------------------------------------------------------
# Who may come in


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `::1`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    name, _, port = host.rpartition(":")
    return (name if name and port.isdigit() else host).rstrip(".")


def host_allowed(host_header: str | None, names: frozenset[str]) -> bool:
    """An IP address, localhost or a known name; never a name someone else's DNS controls."""
    name = host_name(host_header or "")
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost") or name in names:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return _numeric_ipv4(name) is not None


def _name_and_port(hostport: str, default: int) -> tuple[str, int] | None:
    """(`::1`, 8000) from `[::1]:8000`; the default port when none is given."""
    text = hostport.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name, int(rest[1:]) if rest else default
    name, colon, port = text.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name.rstrip("."), int(port)
    return (text.rstrip("."), default) if ":" not in text else None


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """No Origin (a program, not a page) or the page's own origin; never another site."""
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not host_header:
        return False
    default = 443 if parts.scheme == "https" else 80
    mine = _name_and_port(parts.netloc, default)
    return mine is not None and mine == _name_and_port(host_header, default)


@dataclass
class Guard:
    """What a request must show: the token (unless none is used), an allowed Host and Origin."""

    token: str | None
    names: frozenset[str]
    cookie: str
    max_sessions: int = DEFAULT_MAX_SESSIONS
    sessions: set[object] = field(default_factory=set)

    def token_ok(self, presented: str | None) -> bool:
        if self.token is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(),
                                                             self.token.encode())


def allowed_names(host: str, extra: list[str]) -> frozenset[str]:
    names = {bare_host(host).lower(), socket.gethostname().lower()}
    try:
        names.add(socket.getfqdn().lower())
    except OSError:
        pass
    names.update(name.strip().lower().rstrip(".") for name in extra)
    return frozenset(name for name in names if name)


# ----------------------------------------------------------------------------------------


def run_serve(options: Options) -> int:
    """Serve until Ctrl+C or SIGTERM, then end every claimcheck the browsers started."""
    demo = options.demo
    if not 1 <= options.port <= 65535:
        print(f"claimcheck serve: --port: expected 1-65535, got {options.port}", file=sys.stderr)
        return ExitCode.USAGE
    if options.max_sessions < 1:
        print(f"claimcheck serve: --max-sessions: expected 1 or more, got "
              f"{options.max_sessions}", file=sys.stderr)
        return ExitCode.USAGE
    if not demo and not Path(options.project).is_dir():
        print(f"claimcheck serve: {options.project}: project folder does not exist",
              file=sys.stderr)
        return ExitCode.USAGE
    try:
        addresses = resolve(options.host, options.port)
        sockets = listen(addresses)
    except OSError as exc:
        print(f"claimcheck serve: cannot listen on {options.host}:{options.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return ExitCode.USAGE

    warning = exposure_warning(options.host, options.port, loopback=all_loopback(addresses),
                               token=not options.no_token)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    token = None if options.no_token else secrets.token_urlsafe(32)
    guard = Guard(token=token, names=allowed_names(options.host, options.allow_hosts),
                  cookie=f"claimcheck-serve-{options.port}", max_sessions=options.max_sessions)
    url = public_url(options.host, options.port)
    command = serve_command(options, demo)
    server = _server_class()(command, sockets=sockets, guard=guard,
                             title=f"{TITLE} demo" if demo else
                             f"{TITLE}: {Path(options.project).name}",
                             public_url=url)
    shown = f"{url}/?token={token}" if token else f"{url}/"
    print(f"claimcheck serve: open {shown} in a browser (each tab starts its own session, "
          f"at most {options.max_sessions} at once)", flush=True)
    try:
        server.serve()
    finally:
        for sock in sockets:
            sock.close()
        _end_sessions()  # the backstop, should serve() have ended some other way
    return ExitCode.GREEN


def _end_sessions() -> None:
    kill_descendants(timeout=3.0)


def _server_class() -> type:
    """textual-serve's Server behind the guard, with bounded sessions.

    Imported when serving only: textual-serve pulls in aiohttp and jinja2.

    On shutdown textual-serve asks each session to quit and waits for it; a claimcheck that is
    mid-phase can take seconds to wind down, and one that ignores the request would hold the
    server forever. Ending the process trees (SIGTERM, then SIGKILL) is prompt, and takes the
    sessions' pytest runs and demo services with them.
    """
    import logging
    import signal

    import aiohttp_jinja2
    from aiohttp import web
    from aiohttp.abc import AbstractAccessLogger
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    log = logging.getLogger("textual-serve")

    class AccessLogger(AbstractAccessLogger):
        """One line per request, its path without the query: the token never reaches a log."""

        def log(self, request: web.BaseRequest, response: web.StreamResponse,
                time: float) -> None:
            self.logger.info('%s "%s %s" %s', request.remote, request.method, request.path,
                             response.status)

    class ClaimcheckServer(Server):
        def __init__(self, command: str, *, sockets: list[socket.socket], guard: Guard,
                     title: str, public_url: str) -> None:
            super().__init__(command, title=title, public_url=public_url)
            self.sockets = sockets
            self.guard = guard

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self._admit)
            return app

        @web.middleware
        async def _admit(self, request: web.Request, handler: Any) -> web.StreamResponse:
            guard = self.guard
            if not host_allowed(request.headers.get("Host"), guard.names):
                return _refuse(400, "claimcheck serve: this Host is not served (DNS rebinding "
                                    "guard); use an IP address or localhost, or --allow-host NAME")
            if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host")):
                return _refuse(403, "claimcheck serve: cross-origin request refused")
            if request.path.startswith("/static/"):
                return await handler(request)  # textual-serve's own public assets
            from_query = request.query.get("token")
            presented = from_query or request.cookies.get(guard.cookie) or _header_token(request)
            if not guard.token_ok(presented):
                return _refuse(403, "claimcheck serve: open the address claimcheck serve printed "
                                    "when it started; it ends in /?token=...")
            response = await handler(request)
            if guard.token and from_query and not response.prepared:
                response.set_cookie(guard.cookie, guard.token, httponly=True, samesite="Strict",
                                    path="/")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            return response

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            """textual-serve's page, with URLs on the host the browser used (so the WebSocket
            is same-origin, which the guard requires, through an SSH tunnel too)."""
            base = f"{request.scheme}://{request.host}"
            websocket = ("wss://" if request.scheme == "https" else "ws://") + request.host
            context = {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": f"{websocket}/ws",
                "config": {"static": {"url": f"{base}/static/"}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            """textual-serve's session, counted against --max-sessions and ended for good when
            its browser has gone."""
            guard = self.guard
            if len(guard.sessions) >= guard.max_sessions:
                return _refuse(503, f"claimcheck serve: {guard.max_sessions} sessions are open, "
                                    "the most --max-sessions allows; close a tab and reload")
            session = object()
            guard.sessions.add(session)
            websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: AppService | None = None
            try:
                await websocket.prepare(request)
                app_service = AppService(self.command, write_bytes=websocket.send_bytes,
                                         write_str=websocket.send_str, close=websocket.close,
                                         download_manager=self.download_manager,
                                         debug=self.debug)
                await app_service.start(width, height)
                await self._process_messages(websocket, app_service)
            except asyncio.CancelledError:
                await websocket.close()
                raise
            except Exception as error:  # noqa: BLE001 - one session's failure, not the server's
                log.exception(error)
            finally:
                try:
                    if app_service is not None:
                        await asyncio.shield(_end_session(app_service))
                finally:
                    guard.sessions.discard(session)
            return websocket

        async def on_startup(self, app: web.Application) -> None:
            """Quiet: run_serve printed the address (with its token) once the port was bound."""

        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.to_thread(_end_sessions)

        def serve(self, debug: bool = False) -> None:
            """textual-serve's serve(), on the sockets run_serve bound before it printed."""
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(self._make_app(), sock=self.sockets, handle_signals=False, loop=loop,
                        print=None, access_log_class=AccessLogger)

    async def _end_session(app_service: AppService) -> None:
        """Ask the session to quit as textual-serve does; whatever is left after the grace
        (a claimcheck that ignores the request, or blocked writing to a pipe nobody reads)
        is killed with its whole process tree."""
        process = app_service._process
        stopping = asyncio.ensure_future(app_service.stop())
        done, _ = await asyncio.wait({stopping}, timeout=SESSION_GRACE_S)
        if process is not None and process.returncode is None:
            exited = False
            if done:  # it closed its output; give the process itself the same grace
                try:
                    await asyncio.wait_for(process.wait(), SESSION_GRACE_S)
                    exited = True
                except TimeoutError:
                    pass
            if not exited:
                await asyncio.to_thread(kill_tree, process.pid, 3.0)
        if not stopping.done():
            done, _ = await asyncio.wait({stopping}, timeout=SESSION_GRACE_S)
            if not done:
                stopping.cancel()

    return ClaimcheckServer


def _header_token(request: Any) -> str | None:
    """`Authorization: token <token>`, as Jupyter accepts, for scripts."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "token" and value.strip() else None


def _refuse(status: int, text: str) -> Any:
    from aiohttp import web

    return web.Response(status=status, text=text + "\n",
                        headers={"Referrer-Policy": "no-referrer"})
