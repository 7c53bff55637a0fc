"""Helpers for the ``mpscope serve`` tests: textual-serve's packet protocol, a pyte screen,
a served app started the way textual-serve starts one, a websocket tab, and waiting for
processes to end.

The protocol on a served app's stdout: ``__GANGLION__\\n``, then packets of one type byte
(``D`` data, ``M`` meta, ``P`` packed), a 4-byte big-endian length and the payload. The
parser here is strict: any other byte where a packet should start is a protocol error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import pyte

from mpscope.tui.serve import app_command
from mpscope.tui.served import PARENT_ENV

PRELUDE = b"__GANGLION__\n"
PACKET_TYPES = (b"D", b"M", b"P")
QUICK = ["--tasks", "4", "--work-time", "0.05", "--collect-time", "0.01", "--no-animation"]
FIXTURES = Path(__file__).parent / "fixtures"
# every lane of a 3-worker Task 3 up (they come one by one under load) and a worker busy
BUSY = r"(?s)^(?=.*● worker \d · PID \d+)(?=.*worker 2 · PID \d+)(?=.*collector · PID \d+)"


class ProtocolError(AssertionError):
    """The bytes on the app's stdout are not textual-serve's protocol."""


@dataclass
class PacketParser:
    """Feed it the app's stdout in any pieces; it yields whole packets, strictly."""

    buffer: bytearray = field(default_factory=bytearray)
    started: bool = False

    def feed(self, data: bytes) -> Iterator[tuple[bytes, bytes]]:
        self.buffer += data
        if not self.started:
            if len(self.buffer) < len(PRELUDE):
                if not PRELUDE.startswith(bytes(self.buffer)):
                    raise ProtocolError(f"not the prelude: {bytes(self.buffer)!r}")
                return
            if not self.buffer.startswith(PRELUDE):
                raise ProtocolError(f"stdout does not start with the prelude: {self.head()!r}")
            del self.buffer[: len(PRELUDE)]
            self.started = True
        while len(self.buffer) >= 5:
            kind = bytes(self.buffer[:1])
            if kind not in PACKET_TYPES:
                raise ProtocolError(f"no packet starts here: {self.head()!r}")
            size = int.from_bytes(self.buffer[1:5], "big")
            if size > 64 * 1024 * 1024:
                raise ProtocolError(f"absurd packet length {size}: {self.head()!r}")
            if len(self.buffer) < 5 + size:
                return
            payload = bytes(self.buffer[5 : 5 + size])
            del self.buffer[: 5 + size]
            yield kind, payload

    def head(self) -> bytes:
        return bytes(self.buffer[:80])


class Terminal:
    """A pyte screen fed the ``D`` payloads, as xterm.js in the page is."""

    def __init__(self, width: int, height: int) -> None:
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()

    def feed(self, payload: bytes) -> None:
        with self.lock:
            self.stream.feed(payload)

    def resize(self, width: int, height: int) -> None:
        with self.lock:
            self.screen.resize(height, width)

    def text(self) -> str:
        with self.lock:
            return "\n".join(line.rstrip() for line in self.screen.display)


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_for_screen(terminal: Terminal, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = terminal.text()
        if re.search(pattern, text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not on screen after {timeout} s:\n{text}")
        time.sleep(0.05)


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).children(recursive=True)
    return []


def assert_all_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Every one of ``procs`` ends (or is a zombie) within ``timeout``."""

    def alive() -> list[psutil.Process]:
        left = []
        for proc in procs:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    left.append(proc)
            except psutil.NoSuchProcess:
                continue
        return left

    deadline = time.monotonic() + timeout
    while (left := alive()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"still running: {[(p.pid, p.cmdline()) for p in left]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ProtocolReader:
    """A thread that reads a served app's stdout to its end: packets parsed strictly, ``D``
    payloads into a pyte screen, ``M`` payloads kept; a protocol error is kept in ``error``."""

    def __init__(self, fd: int, width: int, height: int) -> None:
        self.terminal = Terminal(width, height)
        self.metas: list[dict[str, object]] = []
        self.packets = 0
        self.error: BaseException | None = None
        self.eof = threading.Event()
        self._fd = fd
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        parser = PacketParser()
        try:
            while data := os.read(self._fd, 65536):
                for kind, payload in parser.feed(data):
                    self.packets += 1
                    if kind == b"D":
                        self.terminal.feed(payload)
                    elif kind == b"M":
                        self.metas.append(json.loads(payload))
            if parser.buffer or not parser.started:
                raise ProtocolError(f"stdout ended inside a packet: {parser.head()!r}")
        except BaseException as exc:
            self.error = exc
        finally:
            self.eof.set()

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        return wait_for_screen(self.terminal, pattern, timeout)


def served_environment(width: int, height: int, parent: int) -> dict[str, str]:
    """textual-serve's environment for an app (AppService._build_environment), and serve's
    note of the server's PID."""
    env = dict(os.environ)
    env.update(
        TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver",
        TEXTUAL_FPS="60",
        TEXTUAL_COLOR_SYSTEM="truecolor",
        TERM_PROGRAM="textual",
        COLUMNS=str(width),
        ROWS=str(height),
    )
    env[PARENT_ENV] = str(parent)
    return env


class ServedApp:
    """One app started as textual-serve starts it: ``sh -c <serve's command>`` with
    textual-serve's environment and pipes; its stdout read by a :class:`ProtocolReader`."""

    def __init__(self, args: list[str], cwd: Path, width: int = 120, height: int = 40) -> None:
        self.proc = subprocess.Popen(
            app_command(args),
            shell=True,
            cwd=cwd,
            env=served_environment(width, height, os.getpid()),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.reader = ProtocolReader(self.proc.stdout.fileno(), width, height)
        self.terminal = self.reader.terminal
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read_stderr, daemon=True).start()

    @property
    def metas(self) -> list[dict[str, object]]:
        return self.reader.metas

    @property
    def packets(self) -> int:
        return self.reader.packets

    @property
    def error(self) -> BaseException | None:
        return self.reader.error

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while data := self.proc.stderr.read1(65536):
            self._stderr.append(data)

    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def send(self, kind: bytes, payload: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(kind + len(payload).to_bytes(4, "big") + payload)
        self.proc.stdin.flush()

    def send_meta(self, meta: dict[str, object]) -> None:
        self.send(b"M", json.dumps(meta).encode())

    def send_keys(self, keys: str) -> None:
        self.send(b"D", keys.encode())

    def resize(self, width: int, height: int) -> None:
        self.terminal.resize(width, height)
        self.send_meta({"type": "resize", "width": width, "height": height})

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        try:
            return wait_for_screen(self.terminal, pattern, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nstderr:\n{self.stderr()[-3000:]}") from None

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        assert self.reader.eof.wait(timeout), "stdout did not end"
        return code

    def close(self) -> None:
        """End it for good (a test that failed half way), by its PID, and its children."""
        procs = descendants(self.proc.pid)
        for proc in [psutil.Process(self.proc.pid), *procs] if self.proc.poll() is None else procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def mpscope_serve(port: int, args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    """``mpscope serve --port PORT ARGS`` as a process of its own (stdout and stderr to
    files in ``cwd``, so a full pipe never blocks it)."""
    out = (cwd / "serve.log").open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "mpscope.tui", "serve", "--port", str(port), *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


def wait_listening(port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    def up() -> bool:
        assert server.poll() is None, f"the server exited with {server.returncode}"
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_until(up, timeout, f"the server to listen on port {port}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """End a process this test started, by its PID, SIGKILL if it does not leave."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class Tab:
    """A websocket client as the page is: reads the app's output into a pyte screen."""

    def __init__(self, port: int, width: int = 120, height: int = 40) -> None:
        self.url = f"http://127.0.0.1:{port}/ws?width={width}&height={height}"
        self.terminal = Terminal(width, height)
        self.closed = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self, session: aiohttp.ClientSession) -> Tab:
        self.ws = await session.ws_connect(self.url, timeout=aiohttp.ClientWSTimeout(ws_close=10))
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.terminal.feed(message.data)
        self.closed.set()

    async def wait_for(self, pattern: str, timeout: float = 60) -> str:
        return await asyncio.to_thread(wait_for_screen, self.terminal, pattern, timeout)

    async def keys(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_json(["stdin", text])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 15)


class FakeSocket:
    """A websocket that takes everything and sends nowhere."""

    async def send_bytes(self, data: bytes) -> None:
        pass

    async def send_str(self, data: str) -> None:
        pass

    async def close(self) -> bool:
        return True
