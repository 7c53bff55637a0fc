"""Results travel on one channel per worker, so that a killed worker breaks only its own.

A shared ``multiprocessing.Queue`` has one write lock for every worker: a worker killed while
its queue thread writes a large result dies holding that lock (and leaves half a message in
the pipe), and every other worker then blocks on the lock for good. So each worker gets its
own pipe instead. Its :class:`ResultSender` behaves like a ``Queue``'s ``put``: the result is
pickled at once, in the task's own thread (a result that cannot be pickled is the task's
failure, with the pickling error as its traceback), and a thread writes it to the pipe, so the
worker goes on with its next task while the pipe is full (the seed's Task 2 blocks at exit,
not in its loop). At exit the worker waits until everything it sent is written.

The collector (Task 3's process, Task 2's thread in the main process, or the engine while
nobody collects) reads every channel with a :class:`ResultReader`. A channel whose worker has
died reaches its end once everything the worker wrote is read; half a message ends it too. The
collector then reports :class:`ResultsDrained` (to the engine only, never in the event
stream): every result that worker sent has been read, so its tasks still without a collected
result never reached the collector (see :meth:`~mpscope.core.pipeline.ledger.Ledger.
results_never_arrived`).

Nothing here imports torch: the forkserver preloads this module through :mod:`.worker`.
"""

from __future__ import annotations

import collections
import os
import pickle
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any, Final

_EVENTS: Final = select.POLLIN | select.POLLHUP | select.POLLERR
PIPE_BUF: Final = select.PIPE_BUF
#: what a message may hold and still travel as plain pickle (see :func:`_pickled`)
PLAIN_TYPES: Final = frozenset({int, float, bool, str, bytes, type(None)})


@dataclass(slots=True)
class ResultsDrained:
    """From a collector to the engine: it has read everything ``worker`` sent before its end.

    Travels on the collector's event pipe as the record ``(ResultsDrained, t, worker)``; the
    engine takes it out before the ledger sees the batch (it is not an event)."""

    t: int
    worker: int


@dataclass(slots=True)
class UnreadableResult:
    """A result message that came whole off ``worker``'s channel but could not be unpickled
    (its ``__reduce__`` raised on load, or a tensor's storage was gone). It counts as received
    (its worker need keep it no longer); a collector that meets one fails with ``exc``."""

    worker: int
    exc: BaseException


def _load(worker: int, data: bytes) -> Any:
    """A message off ``worker``'s channel, or an :class:`UnreadableResult`."""
    try:
        return ForkingPickler.loads(data)
    except Exception as exc:
        return UnreadableResult(worker, exc)


def _pickled(message: tuple[Any, ...], value: Any) -> bytes:
    """``message``, whose one field that may be other than plain is ``value``: as plain pickle
    when ``value`` is plain (an int, a float, text, None), else with torch's reductions
    (``ForkingPickler``, which shares tensors). ``ForkingPickler.loads`` reads either; the plain
    one costs a fifth as much."""
    if type(value) in PLAIN_TYPES:
        return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return bytes(ForkingPickler.dumps(message))


def pickle_result(message: Any) -> bytes:
    """A result message as the channel carries it (its value is ``message[4]``)."""
    return _pickled(message, message[4])


def pickle_task(message: Any) -> bytes:
    """A task-queue message as the queue carries it (its payload is ``message[2]``)."""
    return _pickled(message, message[2])


class ResultSender:
    """A worker's end of its result channel: ``put`` returns at once. A small result goes
    straight into the pipe when the pipe has room and nothing waits before it (no thread to
    wake: that handoff cost more than the write); otherwise a thread writes it."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._room = select.poll()
        self._room.register(writer.fileno(), select.POLLOUT)
        self._pending: collections.deque[bytes] = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._closing = False
        self._broken = False
        self._thread = threading.Thread(target=self._write, name="results", daemon=True)
        self._thread.start()

    def put(self, data: bytes) -> None:
        """Send ``data`` (from :func:`pickle_result`) as soon as the pipe takes it."""
        with self._ready:
            # a write of at most PIPE_BUF bytes to a pipe that polls writable never blocks
            if not self._pending and len(data) <= PIPE_BUF - 8 and self._room.poll(0):
                try:
                    self._writer.send_bytes(data)
                    return
                except OSError:  # nobody will ever read it: as the thread does, drop it
                    self._broken = True
                    return
            self._pending.append(data)
            self._ready.notify()

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._closing:
                    self._ready.wait()
                if not self._pending:
                    return
                data = self._pending[0]
            try:
                self._writer.send_bytes(data)
            except OSError:  # nobody will ever read it (the run is over): drop the rest
                with self._ready:
                    self._broken = True
                    self._pending.clear()
                return
            with self._ready:
                self._pending.popleft()

    def close(self, keep_waiting: Callable[[], bool], poll_s: float) -> None:
        """Wait until everything put is written (as a ``Queue`` joins its thread at exit),
        looking every ``poll_s`` whether to go on waiting; then close the pipe."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        while self._thread.is_alive():
            self._thread.join(poll_s)
            if not keep_waiting():
                return
        self._writer.close()


class ResultReader:
    """Reads the result channels of a run's workers, in one process or thread (one reused
    ``select.poll`` set, as :mod:`.watch` explains)."""

    def __init__(self, channels: dict[int, Any]) -> None:
        #: fd -> (worker, the read end of its channel), until that channel reaches its end
        self._open: dict[int, tuple[int, Any]] = {}
        self._poll = select.poll()
        for worker, conn in channels.items():
            fd = conn.fileno()
            self._open[fd] = (worker, conn)
            self._poll.register(fd, _EVENTS)

    @property
    def open(self) -> bool:
        """True while a channel may still bring a result."""
        return bool(self._open)

    def take(self, timeout_s: float) -> tuple[list[Any], list[int]]:
        """Results ready within ``timeout_s`` (at most one per channel, unpickled) and the
        workers whose channel reached its end meanwhile (each reported once). A message that
        cannot be unpickled comes as an :class:`UnreadableResult`."""
        if not self._open:
            return [], []
        results: list[Any] = []
        ended: list[int] = []
        for fd, _ in self._poll.poll(max(0, int(timeout_s * 1000))):
            worker, conn = self._open[fd]
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):  # its end, or half a message from a killed worker
                self._poll.unregister(fd)
                del self._open[fd]
                conn.close()
                ended.append(worker)
                continue
            results.append(_load(worker, data))
        return results, ended

    def close(self) -> None:
        """Close every channel still open (the run is over)."""
        for fd, (_, conn) in self._open.items():
            self._poll.unregister(fd)
            conn.close()
        self._open.clear()


def salvage(worker: int, conn: Any) -> list[Any]:
    """What a dead worker's channel still holds, read without waiting (at most a pipe's
    buffer: the rest died with the worker), then closed. Half a message is dropped; one that
    cannot be unpickled comes as an :class:`UnreadableResult`."""
    results: list[Any] = []
    os.set_blocking(conn.fileno(), False)
    try:
        while True:
            results.append(_load(worker, conn.recv_bytes()))
    except (EOFError, OSError):  # its end, half a message, or nothing more without waiting
        pass
    conn.close()
    return results
