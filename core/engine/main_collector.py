"""Task 2's collector: a thread of the main process that drains the result queue.

In the seed's Task 2 the main process collects the results only after every worker has left
its loop (the engine starts this thread then; see :mod:`.supervisor`), which is how a worker
can block forever on a full result queue. It reads every worker's result channel (see
:mod:`.result_channels`) until each has reached its end. It handles each result the way
Task 3's collector process does (:func:`~.collecting.collect_one`), in run time: it cannot be
SIGSTOPped like the processes, so it waits while the run is paused, and a pause in the middle
of a collect does not shorten it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from mpscope.core.engine.collector_failure import failure_event, raise_if_unreadable
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.result_channels import ResultReader
from mpscope.core.engine.shared import POLL_S, RunShared
from mpscope.core.engine.tensors import acknowledge
from mpscope.core.engine.unsent import results_drained
from mpscope.core.pipeline.events import COLLECTOR, MAIN
from mpscope.core.pipeline.tasks import load_result_types
from mpscope.core.pipeline.wire import Record, decode


class MainCollector(threading.Thread):
    """Collects results in the main process until the end sentinel, or the run stops."""

    def __init__(
        self, shared: RunShared, outbox: Outbox, channels: dict[int, Any], time_scale: Any
    ) -> None:
        super().__init__(name="mpscope-main-collector", daemon=True)
        self._shared = shared
        self._outbox = outbox
        #: every worker's result channel; read by this thread only while it runs
        self.reader = ResultReader(channels)
        self._time_scale = time_scale  # the shared value the speed control sets

    def run(self) -> None:
        """Collect; whatever this thread raises is the run's failure, said with its traceback
        (never the interpreter's "Exception in thread" on stderr)."""
        try:
            self._collect()
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """The collecting thread failed: say why, and stop the run as an error."""
        shared = self._shared
        with shared.lock:
            event = failure_event(
                shared.clock.now(), MAIN, os.getpid(), exc, shared.scenario.sharing
            )
            shared.collector_error = shared.collector_error or event.error
            self._outbox.emit([event])
            if shared.stop_reason is None:
                shared.stop_reason = (
                    "error",
                    f"the main process's collecting thread failed: {event.error}; the results "
                    "it collected are kept",
                )
            shared.wake.notify_all()

    def _collect(self) -> None:
        # the processes' module imports torch: imported here, where torch is loaded already
        from mpscope.core.engine.collecting import collect_one

        shared = self._shared
        sc = shared.scenario  # the user's module, loaded so the types of its results unpickle
        load_result_types(sc.function)
        with shared.lock:  # read from dead workers' channels before we began: first
            salvaged, shared.salvaged = shared.salvaged, []
        while salvaged or self.reader.open:  # until every worker's channel reached its end
            stopping = self._wait_while_paused()
            ended: list[int] = []
            if salvaged:
                batch, salvaged = salvaged, []
            else:
                batch, ended = self.reader.take(POLL_S)
            if not batch and not ended and stopping:
                return
            received = shared.require_mp().received
            for message in batch:  # each received, readable or not: its worker may let it go
                acknowledge(received, message)
            for message in batch:
                raise_if_unreadable(message)
                collect_one(
                    message,
                    MAIN,
                    shared.scenario,
                    self._time_scale.value,
                    shared.clock.now,
                    self._accept,
                    self._accept,
                    self._sleep_unless_paused,
                )
            for worker in ended:
                with shared.lock:
                    self._outbox.emit(results_drained(shared, worker))

    def _accept(self, record: Record) -> None:
        """A collect's start or end, through the ledger to the consumer."""
        with self._shared.lock:
            self._outbox.emit(self._shared.ledger.accept(decode(record)))

    def _wait_while_paused(self) -> bool:
        """Pause with the run (a thread cannot be SIGSTOPped like the processes); True once
        the run is stopping."""
        shared = self._shared
        with shared.lock:
            while shared.paused and shared.stop_reason is None:
                shared.wake.wait(POLL_S)
            return shared.stop_reason is not None

    def _sleep_unless_paused(self, seconds: float) -> None:
        """Sleep ``seconds`` of run time: the run's clock stands still while paused, so a pause
        in the middle does not count (see :meth:`_wait_while_paused`)."""
        now = self._shared.clock.now
        deadline = now() + int(seconds * 1e9)
        while (left := deadline - now()) > 0:
            self._wait_while_paused()
            time.sleep(min(left / 1e9, POLL_S))


def nobody_collects(shared: RunShared, main_collector: MainCollector | None) -> bool:
    """True when neither Task 3's collector process nor Task 2's collecting thread is (still)
    taking results."""
    collector = shared.procs.get(COLLECTOR)
    return (collector is None or collector.exited) and (
        main_collector is None or not main_collector.is_alive()
    )
