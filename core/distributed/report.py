"""The reporting API a training script imports: mark steps, phases and collectives, and the
parameters' checksum, and mpscope's viewer draws the script's ranks as lanes.

    from mpscope.core.distributed import report as mpscope

    for step in range(steps):
        with mpscope.step(step):
            with mpscope.phase("forward"):
                loss = model(x).sum()
            loss.backward()
            with mpscope.collective("all_reduce"):
                dist.all_reduce(grads)
            optimizer.step()
            mpscope.checksum(model)

The viewer's address and token come from ``MPSCOPE_ADDRESS`` and ``MPSCOPE_TOKEN`` (``mpscope
watch`` prints both); rank, local rank and world size from torchrun's ``RANK``, ``LOCAL_RANK``
and ``WORLD_SIZE``. Without ``MPSCOPE_ADDRESS`` every call does nothing, and a viewer that
goes away never stops the training: the reporter falls silent. A step costs one JSON line on
a TCP socket, sent when the step ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from mpscope.core.distributed.events import Span
from mpscope.core.distributed.wire import ADDRESS_ENV, TOKEN_ENV, encode


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` as a pair; :class:`ValueError` with a one-line reason otherwise."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"an address should be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def checksum_of(model: Any) -> str:
    """CRC-32 of every parameter's bytes, in order, as 8 hex digits (equal ranks: equal)."""
    import ctypes

    crc = 0
    for param in model.parameters():
        data = param.detach().cpu().contiguous()
        crc = zlib.crc32(ctypes.string_at(data.data_ptr(), data.nbytes), crc)
    return f"{crc:08x}"


class Reporter:
    """One rank's connection to the viewer (or none: then every call is free and silent)."""

    def __init__(
        self,
        address: str | None,
        token: str,
        rank: int,
        local_rank: int = 0,
        world_size: int = 1,
        host: str | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.rank = rank
        self.clock = clock
        self.sock: socket.socket | None = None
        self.offset_ns = 0
        self.spans: list[Span] = []
        self.step_checksum = ""
        self.current: tuple[int, int] | None = None
        if address:
            self.sock = socket.create_connection(parse_address(address), timeout=timeout)
            self._send(
                {
                    "type": "hello",
                    "rank": rank,
                    "local_rank": local_rank,
                    "world_size": world_size,
                    "pid": os.getpid(),
                    "host": host or socket.gethostname(),
                }
            )
            self._answer_pings()
            self.sock.settimeout(timeout)

    @classmethod
    def from_env(cls, clock: Callable[[], int] = time.monotonic_ns) -> Reporter:
        """Address and token from the environment mpscope set; rank from torchrun's."""
        env = os.environ
        return cls(
            env.get(ADDRESS_ENV) or None,
            env.get(TOKEN_ENV, ""),
            rank=int(env.get("RANK", "0")),
            local_rank=int(env.get("LOCAL_RANK", "0")),
            world_size=int(env.get("WORLD_SIZE", "1")),
            clock=clock,
        )

    @property
    def active(self) -> bool:
        """True while connected to a viewer."""
        return self.sock is not None

    def _send(self, message: dict[str, Any]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendall(encode({"token": self.token, **message}))
        except OSError:
            self._close()

    def _answer_pings(self) -> None:
        assert self.sock is not None
        reader = self.sock.makefile("rb")
        try:
            for line in reader:
                message = json.loads(line)
                if message.get("type") == "ready":
                    self.offset_ns = int(message.get("offset_ns", 0))
                    return
                self._send({"type": "pong", "seq": message.get("seq"), "clock": self.clock()})
            raise ConnectionError("the viewer closed the connection during the handshake")
        finally:
            reader.close()

    @contextlib.contextmanager
    def step(self, number: int) -> Iterator[None]:
        """A training step; its report is sent when the block ends."""
        self.spans, self.step_checksum = [], ""
        begun = self.clock()
        self.current = (number, begun)
        try:
            yield
        finally:
            self.current = None
            self._send(
                {
                    "type": "step",
                    "rank": self.rank,
                    "step": number,
                    "begun": begun,
                    "ended": self.clock(),
                    "spans": self.spans,
                    "checksum": self.step_checksum,
                }
            )

    @contextlib.contextmanager
    def _span(self, kind: str, name: str) -> Iterator[None]:
        start = self.clock()
        try:
            yield
        finally:
            self.spans.append((kind, name[:64], start, self.clock()))

    def phase(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A named part of the step's compute (forward, backward, …)."""
        return self._span("phase", name)

    def collective(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Time inside a collective (all_reduce, broadcast, barrier, …)."""
        return self._span("collective", name)

    def checksum(self, model: Any) -> str:
        """Record the parameters' checksum for this step (see :func:`checksum_of`)."""
        self.step_checksum = checksum_of(model) if self.sock is not None else ""
        return self.step_checksum

    def close(self) -> None:
        """Say goodbye and close the connection."""
        self._send({"type": "bye", "rank": self.rank})
        self._close()

    def _close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


_default: Reporter | None = None


def reporter() -> Reporter:
    """The process's reporter, made from the environment on first use."""
    global _default
    if _default is None:
        _default = Reporter.from_env()
    return _default


def step(number: int) -> contextlib.AbstractContextManager[None]:
    """``with step(n):`` around one training step."""
    return reporter().step(number)


def phase(name: str) -> contextlib.AbstractContextManager[None]:
    """``with phase("forward"):`` inside a step."""
    return reporter().phase(name)


def collective(name: str) -> contextlib.AbstractContextManager[None]:
    """``with collective("all_reduce"):`` around a collective call."""
    return reporter().collective(name)


def checksum(model: Any) -> str:
    """The step's parameter checksum (shown per rank; disagreement flagged)."""
    return reporter().checksum(model)


def close() -> None:
    """Say goodbye to the viewer (also fine to skip: the viewer sees the connection end)."""
    if _default is not None:
        _default.close()
