"""The viewer's end of the reports: a TCP listener (127.0.0.1 and an ephemeral port unless
told otherwise), one thread per rank connection, every report checked against the token.

A connection starts with the rank's ``hello``; the viewer then pings it a few times and takes
the round trip with the shortest time to set the rank's clock offset (the rank's clock minus
the viewer's at the same instant, assuming the reply was read half-way through the round trip),
so that ranks on different hosts land on one time line. Reports without the token, malformed
lines and lines too long are dropped and counted as :class:`.ReportDropped` events; nothing a
peer sends can raise in the viewer.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Final

from mpscope.core.distributed.events import (
    DistEvent,
    RankJoined,
    RankLeft,
    ReportDropped,
    StepReported,
)
from mpscope.core.distributed.wire import (
    MAX_LINE,
    BadReport,
    Bye,
    Hello,
    Pong,
    Step,
    encode,
    parse_report,
)

PINGS: Final = 5
HELLO_TIMEOUT: Final = 10.0


def new_token() -> str:
    """A random token for one session."""
    return secrets.token_hex(16)


class _Lines:
    """Lines from a socket, each at most :data:`MAX_LINE` bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> bytes | None:
        """The next line (without its newline); None at the end of the stream."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise BadReport("malformed", f"a line longer than {MAX_LINE} bytes")
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > MAX_LINE:
            raise BadReport("malformed", f"a line longer than {MAX_LINE} bytes")
        return line


class Listener:
    """Accepts rank connections from :meth:`start` until :meth:`close`; events go to
    ``emit`` (under one lock)."""

    def __init__(
        self,
        token: str,
        emit: Callable[[DistEvent], None],
        start_ns: int,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.token = token
        self.emit_fn = emit
        self.start_ns = start_ns
        self.clock = clock
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.server = socket.create_server((host, port))
        self.server.settimeout(0.2)
        self.threads: list[threading.Thread] = []
        self.connections: list[socket.socket] = []
        self.acceptor = threading.Thread(target=self._accept, name="dist-accept", daemon=True)

    def start(self) -> None:
        """Begin accepting connections (after the caller's first event)."""
        self.acceptor.start()

    @property
    def address(self) -> str:
        """``host:port`` the ranks connect to."""
        host, port = self.server.getsockname()[:2]
        return f"{host}:{port}"

    def now(self) -> int:
        """The viewer's time since its start, in ns."""
        return self.clock() - self.start_ns

    def emit(self, event: DistEvent) -> None:
        with self.lock:
            self.emit_fn(event)

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                conn, peer = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            name = f"{peer[0]}:{peer[1]}"
            thread = threading.Thread(
                target=self._serve, args=(conn, name), name=f"dist-rank-{name}", daemon=True
            )
            with self.lock:
                self.connections.append(conn)
                self.threads.append(thread)
            thread.start()

    def _drop(self, exc: BadReport, peer: str) -> None:
        self.emit(ReportDropped(self.now(), exc.reason, str(exc)[:200], peer))

    def _serve(self, conn: socket.socket, peer: str) -> None:
        with conn:
            try:
                self._session(conn, peer)
            except BadReport as exc:  # one that ends the connection (a hello, a long line)
                self._drop(exc, peer)
            except (OSError, ValueError):
                pass  # the peer went away mid-handshake

    def _handshake(self, conn: socket.socket, lines: _Lines) -> tuple[int, int]:
        """Ping the rank; (offset, rtt) of the quickest round trip."""
        best: tuple[int, int] | None = None
        for seq in range(PINGS):
            sent = self.clock()
            conn.sendall(encode({"type": "ping", "seq": seq}))
            line = lines.next()
            got = self.clock()
            if line is None:
                raise OSError("closed during the pings")
            pong = parse_report(line, self.token)
            if not isinstance(pong, Pong) or pong.seq != seq:
                raise BadReport("malformed", "expected the pong of the ping just sent")
            rtt = got - sent
            offset = pong.clock - (sent + got) // 2
            if best is None or rtt < best[1]:
                best = (offset, rtt)
        assert best is not None
        conn.sendall(encode({"type": "ready", "offset_ns": best[0]}))
        return best

    def _session(self, conn: socket.socket, peer: str) -> None:
        conn.settimeout(HELLO_TIMEOUT)
        lines = _Lines(conn)
        first = lines.next()
        if first is None:
            return
        hello = parse_report(first, self.token)
        if not isinstance(hello, Hello):
            raise BadReport("malformed", "the first report must be a hello")
        offset, rtt = self._handshake(conn, lines)
        self.emit(
            RankJoined(
                self.now(),
                hello.rank,
                hello.local_rank,
                hello.world_size,
                hello.pid,
                hello.host,
                offset,
                rtt,
            )
        )
        conn.settimeout(None)
        reason = "lost"
        while True:
            try:
                line = lines.next()
            except BadReport as exc:
                self._drop(exc, peer)
                break
            except OSError:
                break
            if line is None:
                break
            try:
                report = parse_report(line, self.token)
                if isinstance(report, Bye):
                    reason = "closed"
                    break
                if not isinstance(report, Step) or report.rank != hello.rank:
                    raise BadReport("malformed", "expected a step of the rank that said hello")
            except BadReport as exc:
                self._drop(exc, peer)
                continue
            self._step(report, offset)
        self.emit(RankLeft(self.now(), hello.rank, reason))

    def _step(self, report: Step, offset: int) -> None:
        base = self.start_ns + offset  # rank clock -> viewer time since start

        spans = [(kind, name, a - base, b - base) for kind, name, a, b in report.spans]
        self.emit(
            StepReported(
                report.ended - base,
                report.rank,
                report.step,
                report.begun - base,
                spans,
                report.checksum,
            )
        )

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, let open connections finish for up to ``timeout`` s, then close them."""
        self.closing.set()
        with contextlib.suppress(OSError):
            self.server.close()
        if self.acceptor.is_alive():
            self.acceptor.join(timeout=2)
        deadline = time.monotonic() + timeout
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self.lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=1)
