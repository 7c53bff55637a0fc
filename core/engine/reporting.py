"""How a run process reports to the engine: the run clock it stamps events with, and the
batcher that sends them.

Every worker and collector process (see :mod:`.worker`) reads the run's clock from a start the
engine shares with it (:class:`RunClock`; a pause moves that start on), and reports through an
:class:`EventBatcher`: one message per batch of events on its own event pipe, sent every
``FLUSH_EVENTS`` events or ``FLUSH_NS`` after the oldest, and before the process blocks, so
instrumentation costs little throughput and events arrive within ~10 ms. Quick tasks (whose
start was never sent) go out as rows of one bulk event per batch (:meth:`EventBatcher.end_row`,
:mod:`~mpscope.core.pipeline.bulk`). What a process prints
becomes events too (:class:`LineToEvents`), so nothing is drawn over the UI.

Nothing here imports torch or multiprocessing: the module is light enough for tests and for
the forkserver's preload (which loads it through :mod:`.worker`).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

from mpscope.core.pipeline.bulk import BULK_MIN, CollectedRows, DoneRows, expand
from mpscope.core.pipeline.events import PrintedLine, clip
from mpscope.core.pipeline.wire import Record

FLUSH_EVENTS = 64
FLUSH_NS = 10_000_000
#: quick tasks reported in bulk (see :mod:`~mpscope.core.pipeline.bulk`) go out every
#: ``FLUSH_ROWS`` tasks at most, else by ``FLUSH_NS`` and before the process blocks
FLUSH_ROWS = 512


class RunClock:
    """The run's clock in a run process: nanoseconds since the run started, paused time left
    out. A pause suspends the processes; before resuming them the engine moves the shared start
    on by the pause's length, so times and simulated work go on from where they stopped."""

    __slots__ = ("_start",)

    def __init__(self, run_start: Any) -> None:
        self._start = run_start

    def now(self) -> int:
        """Nanoseconds of run time."""
        start: int = self._start.value
        return time.monotonic_ns() - start

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of run time: a pause in between does not count (a plain sleep
        would end at once on resuming, its deadline long gone)."""
        deadline = self.now() + int(seconds * 1e9)
        while (left := deadline - self.now()) > 0:
            time.sleep(left / 1e9)


class EventBatcher:
    """Collects events and sends them to the engine in batches, in order.

    A batch goes out when it holds ``FLUSH_EVENTS`` records, when its oldest record is
    ``FLUSH_NS`` old, and before the process blocks. ``begin`` announces work in hand: the
    ticker thread sends that start only if the work is still going ``FLUSH_NS`` after it
    began; otherwise ``end`` alone reports it (the end carries the start time). The ticker
    wakes on its own clock (every ``FLUSH_NS`` while idle) instead of being woken for each
    batch. Per task the worker pays one attribute store (``begin``) and one uncontended lock
    (``end``).
    """

    def __init__(
        self,
        send: Callable[[list[Record]], None],
        clock: Callable[[], int],
        rows: DoneRows | CollectedRows | None = None,
        owner: int = 0,
    ) -> None:
        self._send = send
        self.now = clock  # nanoseconds since the run started (see RunClock)
        self._buffer: list[Record] = []
        #: the quick tasks ended since the last record, reported as one bulk event by ``owner``
        self._rows = rows
        self._owner = owner
        self._oldest = 0  # the time (``t``) of the oldest buffered record
        #: the start of the work in hand (``(EventClass, t, ...)``), set without the lock: one
        #: attribute store is atomic, and the ticker reads it only while holding the lock
        self._current: tuple[Any, ...] | None = None
        self._current_sent: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="events", daemon=True)
        self._ticker.start()

    def begin(self, record: tuple[Any, ...]) -> None:
        """Report the start of a piece of work (its time is ``record[1]``); sent only if the
        work is still going ``FLUSH_NS`` later."""
        self._current = record

    def end(self, record: Record) -> None:
        """Report the end of the work :meth:`begin` announced (it carries the start time)."""
        with self._lock:
            self._current = None
            self._append(record)

    def end_row(self, end: int, *row: Any) -> bool:
        """Report the end (at ``end``) of the work :meth:`begin` announced as a row of the bulk
        event (``row``: the arguments of the rows' ``add``), unless its start was sent: then
        it returns False and the caller reports it with :meth:`end`, as a task of its own."""
        with self._lock:
            current, self._current = self._current, None
            rows = self._rows
            if rows is None or (current is not None and current is self._current_sent):
                return False
            if not rows and not self._buffer:
                self._oldest = end
            rows.add(*row)
            if len(rows) >= FLUSH_ROWS or end - self._oldest >= FLUSH_NS:
                self._send_now()
            return True

    def emit(self, record: Record) -> None:
        """Queue an event (or a record) for the next batch."""
        with self._lock:
            self._append(record)

    def _append(self, record: Record) -> None:
        # a record was made just now: its own time stands for the clock (no clock read here)
        t: int = record[1] if type(record) is tuple else record.t  # type: ignore[union-attr]
        if self._rows:  # the quick tasks before it come first
            self._close_rows()
        buffer = self._buffer
        if not buffer:
            self._oldest = t
        buffer.append(record)
        if len(buffer) >= FLUSH_EVENTS or t - self._oldest >= FLUSH_NS:
            self._send_now()

    def _close_rows(self) -> None:
        """Put the rows in the buffer as one bulk event (a few: each its own event)."""
        rows = self._rows
        assert rows is not None
        bulk = rows.take(self._owner)  # (the oldest time is its first row's, already kept)
        self._buffer.extend(expand(bulk) if len(bulk) < BULK_MIN else (bulk,))

    def _send_now(self) -> None:
        """Send the buffer (the lock is held, so batches stay in order)."""
        if self._rows:
            self._close_rows()
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._send(batch)

    def flush(self) -> None:
        """Send what is buffered now (before the process blocks or waits)."""
        with self._lock:
            self._send_now()

    def close(self) -> None:
        """Send everything still buffered and stop the ticker (before the process exits)."""
        self._closed.set()
        self._ticker.join()
        self.flush()

    def _tick(self) -> None:
        delay = FLUSH_NS
        while not self._closed.wait(delay / 1e9):
            with self._lock:
                delay = FLUSH_NS
                now = self.now()
                current = self._current
                if current is not None and current is not self._current_sent:
                    left = current[1] + FLUSH_NS - now
                    if left <= 0:  # long work: say it started (after what came before it)
                        self._current_sent = current
                        if self._rows:
                            self._close_rows()
                        self._buffer.append(current)
                        self._send_now()
                        continue
                    delay = min(delay, left)
                if self._buffer or self._rows:
                    left = self._oldest + FLUSH_NS - now
                    if left <= 0:
                        self._send_now()
                    else:
                        delay = min(delay, left)


class LineToEvents(io.TextIOBase):
    """A text stream that turns each written line into a :class:`PrintedLine` event."""

    def __init__(self, batcher: EventBatcher, worker: int, stream: str) -> None:
        super().__init__()
        self._batcher = batcher
        self._worker = worker
        self._stream = stream
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._batcher.emit(
                PrintedLine(self._batcher.now(), self._worker, clip(line), self._stream)
            )
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self.write("\n")
