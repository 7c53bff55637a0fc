"""The one way out of the engine: batches of events, in the order they happened.

Every thread of a run hands its events to the :class:`Outbox`; the consumer reads them with
:meth:`Outbox.next_batch` (through :meth:`~.run.Engine.next_batch`). The feeder is the one
thread that does not take the lock for each task: it only notes what it queued
(:meth:`Outbox.announce`), and the next :meth:`Outbox.emit` turns the notes into
``TaskQueued`` events (one ``TasksQueued`` for several) ahead of whatever it sends, since they
happened first (and a worker's report on the task may follow them).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from typing import Final

from mpscope.core.engine.shared import PausableClock
from mpscope.core.pipeline.events import Event, Note
from mpscope.core.pipeline.ledger import Ledger

#: The feeder asks for its notes to be announced every ``ANNOUNCE_BATCH`` tasks or
#: ``ANNOUNCE_NS``, and before it waits.
ANNOUNCE_BATCH: Final = 64
ANNOUNCE_NS: Final = 10_000_000
#: What :meth:`Outbox.next_batch` returns once the run is over.
END_OF_RUN: Final = None


class Outbox:
    """Batches of events for the consumer, the feeder's announcements first."""

    def __init__(self, lock: threading.RLock, ledger: Ledger, clock: PausableClock) -> None:
        self._lock = lock
        self._ledger = ledger
        self._clock = clock
        self._out: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        #: tasks the feeder put on the queue, not yet announced: (time, task); see announce
        self._queued: collections.deque[tuple[int, int]] = collections.deque()
        self._announced_at = 0  # when the feeder last had them announced (monotonic ns)

    def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        """The next batch of events; ``[]`` on timeout; None once the run is over."""
        try:
            return self._out.get(timeout=timeout)
        except queue.Empty:
            return []

    def emit(self, events: list[Event]) -> None:
        """Hand events to the consumer, after the feeder's announcements still held back."""
        with self._lock:
            if self._queued:  # they happened first, and a worker's report may follow them
                notes = [self._queued.popleft() for _ in range(len(self._queued))]
                events = [*self._ledger.announce_all(notes), *events]
            if events:
                self._out.put(events)

    def note(self, level: str, text: str) -> None:
        """Say something in the run's log."""
        self.emit([Note(self._clock.now(), level, text)])

    def announce(self, task: int) -> None:
        """The feeder put ``task`` on the task queue: say so, in batches (no lock taken here).

        One ``TaskQueued`` per consumer batch would cost the consumer a wake-up per task, and a
        lock per task would cost the feeder its share of the engine's lock. The feeder only
        notes the task; :meth:`emit` (under the lock, before anything else the engine says)
        turns the notes into ``TaskQueued`` events. The feeder asks for that every
        ``ANNOUNCE_BATCH`` tasks or ``ANNOUNCE_NS``, and before it waits.
        """
        now = time.monotonic_ns()
        clock = self._clock
        self._queued.append(((clock.paused_since or now) - clock.start_ns, task))
        if len(self._queued) >= ANNOUNCE_BATCH or now - self._announced_at >= ANNOUNCE_NS:
            self._announced_at = now
            self.emit([])

    def has_unannounced(self) -> bool:
        """True while the feeder has noted tasks that were not yet announced."""
        return bool(self._queued)

    def close(self) -> None:
        """The run is over: the consumer's next read after the last batch returns None."""
        self._out.put(END_OF_RUN)
