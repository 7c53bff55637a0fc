"""``mpscope serve``: the full app in a browser tab, served by textual-serve.

Every websocket (every tab) gets its own app process, started as ``exec python -m
mpscope.tui.served <run's options>`` (so it is the server's direct child), and with it its own
worker processes. Nothing outlives the server: closing a tab quits its app the way ``q`` does,
stopping the server (Ctrl+C, SIGTERM, SIGHUP) quits every app and waits for each, and if the
server is SIGKILLed each app notices (:mod:`.served`) and quits by itself. An app that does not
leave in time is sent SIGTERM, then SIGKILL.

Bad input (port, host, any of ``mpscope run``'s options, checked by ``mpscope run``'s own
parser) is one line and exit code 2 before anything listens. The server listens on 127.0.0.1
unless ``--host`` says otherwise, and then warns. A browser can do only what the app's keys
do: the page's query parameters are width, height and fontsize (clamped), and its messages
are keys, resizes, focus and ping; a websocket from another site's page (its Origin is not
this server's) is refused, and so is, on a loopback address, a Host header that is not one
(DNS rebinding).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from rich.markup import escape
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from mpscope.core.pipeline.recording import check_header
from mpscope.tui.cli import _Parser, build_parser, scenario_from_args
from mpscope.tui.cli_support import UsageError
from mpscope.tui.served import PARENT_ENV

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000
MAX_COLUMNS: Final = 500  # what a browser may ask for: a bigger "terminal" is only a cost
MAX_ROWS: Final = 200
QUIT_WAIT_S: Final = 15.0  # after the quit message; the app's own quit joins its processes
TERM_WAIT_S: Final = 12.0  # after SIGTERM (the app's own deadline is 10 s)
KILL_WAIT_S: Final = 5.0
LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "[::1]")
log = logging.getLogger("textual-serve")  # textual-serve's log: the server's console


@dataclass(frozen=True)
class ServeOptions:
    """What ``mpscope serve`` was asked for: where to listen and each tab's app options."""

    host: str
    port: int
    app_argv: list[str]


def _own_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mpscope serve",
        allow_abbrev=False,  # a prefix of an app option must reach the app's parser whole
        description="Serve the full mpscope app to a browser: each tab runs its own app and "
        "its own worker processes, in this folder (ctrl+s and R write here).",
        epilog="Every option of `mpscope run` works here too and is passed to each tab's app, "
        "e.g. mpscope serve --mode task2 --workers 4 (see mpscope run --help).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", default=str(DEFAULT_PORT), help="port (default 8000)")
    parser.add_argument(
        "--watch",
        metavar="RECORDING",
        help="a whole class on one machine: every tab follows the run being recorded to "
        "RECORDING (mpscope --record RECORDING, in the presenter's terminal) and starts no "
        "worker process of its own",
    )
    return parser


def parse_serve_args(argv: Sequence[str]) -> ServeOptions:
    """Split and check ``serve``'s own options and the app's (raises UsageError,
    ScenarioError or SpecError, as ``mpscope run`` does)."""
    own, app_argv = _own_parser().parse_known_args(list(argv))
    try:
        port = int(own.port)
    except ValueError:
        raise UsageError(f"--port must be a number, got {own.port!r}") from None
    if not 1 <= port <= 65535:
        raise UsageError(f"--port must be from 1 to 65535, got {port}")
    if not own.host.strip():
        raise UsageError("--host must name an address, e.g. 127.0.0.1")
    if own.watch is not None:
        if app_argv:
            raise UsageError(f"--watch follows a recorded run: leave out {app_argv[0]}")
        check_header(own.watch)  # a file that is not a recording fails before serving
        return ServeOptions(own.host, port, ["replay", "--follow", os.path.abspath(own.watch)])
    run_args = build_parser().parse_args(["run", *app_argv])  # mpscope run's own parser
    if run_args.plain or run_args.timeline is not None:
        raise UsageError("mpscope serve shows the app; --plain and --timeline are for mpscope run")
    if run_args.record:
        raise UsageError("--record: every tab would write the same file; press R in a tab")
    scenario_from_args(run_args)  # every value checked, the task function imported
    return ServeOptions(own.host, port, app_argv)


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound now, so a taken port or bad host is one line."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError as exc:
        raise UsageError(f"--host {host!r} is not an address: {exc.strerror}") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp would
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is on this machine only (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )


def exposure_warning(host: str, port: int) -> str:
    """What ``--host`` with a reachable address means, in one line."""
    return (
        f"mpscope: warning: listening on {host}:{port}: anyone who can reach this port can "
        f"open the app and run its tasks on this machine, as {_user()}, in {os.getcwd()}"
    )


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return f"uid {os.getuid()}"


def app_command(app_argv: Sequence[str]) -> str:
    """The shell command textual-serve runs for each tab: ``exec`` makes the app the server's
    direct child (so it can ask to die with it); ``-P`` leaves the folder off sys.path, as
    the ``mpscope`` script does."""
    python = shlex.quote(sys.executable)
    return f"exec {python} -P -m mpscope.tui.served {shlex.join(app_argv)}".rstrip()


def _clamp(value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    return max(low, min(high, value))


class ServedApp(AppService):
    """One tab's app process: keeps reading it after the tab has gone (so it never blocks on
    a full pipe while it quits) and stops it with a deadline, then SIGTERM, then SIGKILL."""

    def __init__(self, command: str, server: MpscopeServer, websocket: web.WebSocketResponse):
        async def close() -> None:
            await websocket.close()

        super().__init__(
            command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=server.download_manager,
            debug=server.debug,
        )
        self._stop_task: asyncio.Future[None] | None = None

    @property
    def returncode(self) -> int | None:
        """The app process's exit code once it has ended (minus the signal that ended it)."""
        return None if self._process is None else self._process.returncode

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment[PARENT_ENV] = str(os.getpid())
        return environment

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(_clamp(width, 1, MAX_COLUMNS), _clamp(height, 1, MAX_ROWS))

    async def on_data(self, payload: bytes) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):  # the tab has gone
            await super().on_data(payload)

    async def on_meta(self, data: bytes) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await super().on_meta(data)

    async def stop(self) -> None:
        """Quit the app and wait until it is gone; every caller waits for the same stop."""
        if self._stop_task is None:
            self._stop_task = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stop_task)

    async def _stop(self) -> None:
        process = self._process
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process is not None:
            await self.send_meta({"type": "quit"})  # the tab closed: the app quits as on q
            for signum, wait in ((None, QUIT_WAIT_S), (signal.SIGTERM, TERM_WAIT_S)):
                if signum is not None:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signum)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), wait)
                    break
            else:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), KILL_WAIT_S)
            code = process.returncode
            log.info("mpscope serve: app PID %d ended, exit code %s", process.pid, code)
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), KILL_WAIT_S)
            self._task.cancel()


class MpscopeServer(Server):
    """textual-serve's server with mpscope's checks, and with every app stopped on the way
    out (textual-serve's own shutdown leaves them to their websockets)."""

    def __init__(self, command: str, host: str, port: int) -> None:
        super().__init__(command, host=host, port=port, title="mpscope")
        self.loopback = is_loopback(host)
        self.apps: set[ServedApp] = set()

    # -- requests ----------------------------------------------------------------------------

    def _check_request(self, request: web.Request) -> None:
        """Refuse another site's page (Origin) and, on loopback, a foreign Host name."""
        host = request.host
        if self.loopback and not any(
            host == f"{name}:{self.port}" or (self.port == 80 and host == name)
            for name in (*LOOPBACK_NAMES, self.host)
        ):
            raise web.HTTPForbidden(text="mpscope serve: unknown Host\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != host:
            raise web.HTTPForbidden(text="mpscope serve: another site's page\n")

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page, with its addresses as this browser reached the server."""
        self._check_request(request)
        font_size = max(6, min(48, to_int(request.query.get("fontsize", "16"), 16)))
        secure = request.scheme == "https"
        context = {
            "font_size": font_size,
            "app_websocket_url": f"{'wss' if secure else 'ws'}://{request.host}/ws",
            "config": {"static": {"url": f"{request.scheme}://{request.host}/static/"}},
            "application": {"name": "mpscope"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its own app, fed the tab's keys and sizes until either side closes."""
        self._check_request(request)
        width = max(1, min(MAX_COLUMNS, to_int(request.query.get("width", "80"), 80)))
        height = max(1, min(MAX_ROWS, to_int(request.query.get("height", "24"), 24)))
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        app = ServedApp(self.command, self, websocket)
        self.apps.add(app)
        try:
            await app.start(width, height)
            await self._process_messages(websocket, app)
        except asyncio.CancelledError:
            pass
        except Exception:  # a malformed message ends that tab's session, not the server
            log.exception("mpscope serve: a tab failed")
        finally:
            await app.stop()
            self.apps.discard(app)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    # -- life --------------------------------------------------------------------------------

    async def on_startup(self, app: web.Application) -> None:
        shown = escape(f"[{self.host}]" if ":" in self.host else self.host)
        self.console.print(
            f"mpscope serve: [bold]http://{shown}:{self.port}[/] — each tab runs its own app "
            f"and processes, in {escape(os.getcwd())}\n"
            "Press Ctrl+C to stop (every app stops with it)",
            highlight=False,
            soft_wrap=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Quit every app and wait for each (each with its deadline)."""
        await asyncio.gather(*(served.stop() for served in list(self.apps)))

    def serve_on(self, sock: socket.socket) -> None:
        """Serve on an already bound socket until SIGINT, SIGTERM or SIGHUP."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=sock,
            handle_signals=False,
            loop=loop,
            print=None,
            shutdown_timeout=5.0,
        )


def serve(argv: Sequence[str]) -> int:
    """``mpscope serve ...``: check everything, then serve until stopped."""
    options = parse_serve_args(argv)
    sock = listen(options.host, options.port)
    if not is_loopback(options.host):
        print(exposure_warning(options.host, options.port), file=sys.stderr)
    MpscopeServer(app_command(options.app_argv), options.host, options.port).serve_on(sock)
    return 0


__all__ = ["MpscopeServer", "ServeOptions", "ServedApp", "app_command", "serve"]
