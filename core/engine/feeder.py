"""The feeder thread: the task source, pulled lazily into the bounded task queue.

The source is a generator; the feeder takes its next task only when the last one is on the
queue, so a million tasks cost no more memory than ten, and a full queue suspends the feeder
(and the generator inside it): backpressure, which it reports (``FeederBlocked``). Tasks a dead
worker held go back on the queue first. The usual step, the next task from the source, takes
no lock: the task goes into the ledger in one store and is announced in batches (see
:meth:`~.outbox.Outbox.announce`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from mpscope.core.engine.outbox import ANNOUNCE_NS, Outbox
from mpscope.core.engine.queue_put import QueuePutter
from mpscope.core.engine.shared import POLL_S, RunShared
from mpscope.core.pipeline.events import FeederBlocked, SourceExhausted
from mpscope.core.pipeline.ledger import TaskMessage
from mpscope.core.pipeline.sources import make_source, task_label


class Feeder(threading.Thread):
    """Feeds the task queue until the source and the re-queue are empty, or the run stops."""

    def __init__(self, shared: RunShared, outbox: Outbox, task_queue: Any) -> None:
        super().__init__(name="mpscope-feeder", daemon=True)
        self._shared = shared
        self._outbox = outbox
        self._putter = QueuePutter(task_queue)  # written from here (see .queue_put)
        self._next_id = 0

    def run(self) -> None:
        shared = self._shared
        source = make_source(shared.scenario)  # made in this thread, as it is pulled here
        while True:
            message: TaskMessage | None = None
            # the usual case, the next task from the source, takes no lock (see the module)
            if shared.requeue or shared.source_done or shared.stop_reason is not None:
                go_on, message = self._wait_for_requeued()
                if not go_on:
                    return
            if message is None and not shared.source_done:
                message = self._next_from_source(source)
            if message is not None and not self._put_task(message):
                return

    def _wait_for_requeued(self) -> tuple[bool, TaskMessage | None]:
        """With the source done, wait for a task to re-queue: ``(True, its message)``, or
        ``(False, None)`` once feeding is over (a stop, or no worker left)."""
        shared = self._shared
        with shared.lock:
            while not shared.requeue and shared.source_done and shared.stop_reason is None:
                shared.wake.wait(0.2)
                if shared.all_workers_gone():
                    return False, None
            if shared.stop_reason is not None:
                return False, None
            if not shared.requeue:
                return True, None
            message = shared.ledger.message(shared.requeue.popleft())
            shared.in_hand = message is not None
            return True, message

    def _next_from_source(self, source: Iterator[Any]) -> TaskMessage | None:
        """The next task from the source, booked in the ledger; None once the source is done
        (it ran out, or raised)."""
        shared, task = self._shared, self._next_id
        try:
            payload = next(source)
        except StopIteration:
            with shared.lock:
                shared.source_done = True
                self._outbox.emit([SourceExhausted(shared.clock.now(), task)])
                shared.wake.notify_all()
            return None
        except Exception as exc:
            with shared.lock:
                shared.source_done = True
                raised = f"{type(exc).__name__}: {exc}"
                self._outbox.emit([SourceExhausted(shared.clock.now(), task, raised)])
            self._outbox.note("error", f"the task source raised {raised}")
            return None
        fail = payload in shared.scenario.fail_on  # --fail-on: marked on the message
        # one store into the book: atomic without the lock (the engine reads the book under
        # its lock, and the book's loops over its entries take a snapshot first)
        message = shared.ledger.add(task, payload, task_label(payload), fail)
        shared.in_hand = True
        self._next_id += 1
        return message

    def _put_task(self, message: TaskMessage) -> bool:
        """Put one message on the task queue, reporting when the queue is full; False if the
        run stopped (or lost its workers) while the feeder waited for room."""
        shared, outbox, put = self._shared, self._outbox, self._putter.put
        blocked = False
        waited = 0.0
        # under load the queue is full at almost every put and room comes within microseconds;
        # a wait longer than an announcement's delay says what was queued so far first, and
        # one longer than POLL_S reports the feeder blocked
        timeout = ANNOUNCE_NS / 1e9
        while not put(message, timeout):
            waited += timeout
            if outbox.has_unannounced():
                outbox.emit([])
            if waited >= POLL_S and not blocked:
                blocked = True
                outbox.emit([FeederBlocked(shared.clock.now(), True, task_label(message[2]))])
            timeout = 0.1 if blocked else POLL_S - waited
            with shared.lock:
                if shared.stop_reason is not None or shared.all_workers_gone():
                    shared.in_hand = False
                    if blocked:
                        outbox.emit([FeederBlocked(shared.clock.now(), False)])  # waits no more
                    return False
        shared.in_hand = False
        if blocked:
            outbox.emit([FeederBlocked(shared.clock.now(), False)])
        outbox.announce(message[0])
        return True
