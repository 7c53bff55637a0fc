"""The ordered stop of a run, asked for by the user, a signal, or a dead collector.

Stopping goes in order, each step bounded in time: resume a paused run; stop feeding and lose
what is left in the task queue; one end sentinel per live worker; wait for the workers (a grace
of one and a half of the longest task), emptying the result queue if nobody collects; then
SIGTERM, then SIGKILL whatever is still alive; then the collector (its end sentinel, a wait,
the same escalation); then Task 2's collecting thread. Every process that ends meanwhile is
reaped, so its task is settled and every event it sent is read before it is joined.
"""

from __future__ import annotations

import contextlib
import signal
import time

from mpscope.core.engine.controls import RunControls
from mpscope.core.engine.feeder import Feeder
from mpscope.core.engine.main_collector import MainCollector, nobody_collects
from mpscope.core.engine.monitor import ProcessMonitor
from mpscope.core.engine.orphans import signal_with_tree
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.result_channels import ResultReader
from mpscope.core.engine.shared import (
    POLL_S,
    TERM_WAIT_S,
    ProcessShared,
    RunProcess,
    RunShared,
)
from mpscope.core.engine.task_queue import lose_stranded, put_end_sentinels
from mpscope.core.engine.tensors import acknowledge
from mpscope.core.pipeline.events import COLLECTOR


class OrderedStop:
    """Stops every process and thread of a run (in the engine thread); see the module."""

    def __init__(
        self,
        shared: RunShared,
        outbox: Outbox,
        monitor: ProcessMonitor,
        controls: RunControls,
        mp: ProcessShared,
        feeder: Feeder | None,
        main_collector: MainCollector | None,
    ) -> None:
        self._shared = shared
        self._outbox = outbox
        self._monitor = monitor
        self._controls = controls
        self._mp = mp
        self._feeder = feeder
        self._main_collector = main_collector
        self._discarder: ResultReader | None = None

    def run(self) -> None:
        """Every step of the stop, in order; returns once each has ended or timed out."""
        shared = self._shared
        if shared.paused:
            self._controls.set_paused(False)
        assert shared.stop_reason is not None
        self._stop_feeding()
        with shared.lock:
            workers = shared.live_workers()
        put_end_sentinels(shared, self._mp.task_queue, len(workers))
        self._wait_for(workers, self._grace_s(), drain_results=True)
        self._escalate(workers)
        self._stop_collector_process()
        self._stop_main_collector()
        self._monitor.drain_events()

    def _stop_feeding(self) -> None:
        """The feeder ends first; what it put on the task queue will never be taken."""
        lose_stranded(
            self._shared,
            self._outbox,
            self._mp.task_queue,
            self._feeder,
            "cancelled: the run was stopped",
        )

    def _grace_s(self) -> float:
        """How long the workers get to finish the task in hand and take their sentinel."""
        scale: float = self._mp.time_scale.value
        return max(2.0, self._shared.scenario.work_time * scale * 1.5 + 0.5)

    def _stop_collector_process(self) -> None:
        """Task 3's collector: it ends once it has read every (now ended) worker's result
        channel; a wait, then the same escalation."""
        collector = self._shared.procs.get(COLLECTOR)
        if collector is not None and not collector.exited:
            self._wait_for([collector], 2.0, drain_results=False)
            self._escalate([collector])

    def _stop_main_collector(self) -> None:
        """Task 2's collecting thread: it sees the stop; a wait."""
        if self._main_collector is not None:
            self._main_collector.join(5.0)

    def _wait_for(self, procs: list[RunProcess], seconds: float, drain_results: bool) -> None:
        """Wait up to ``seconds`` for ``procs`` to end, reaping any process of the run that
        ends meanwhile (not only these)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(p.exited for p in procs):
                return
            ended = self._monitor.wait(POLL_S)
            if drain_results and nobody_collects(self._shared, self._main_collector):
                self._discard_results()
            for proc in ended:  # any process of the run that ended meanwhile, not only these
                self._monitor.reap(proc)

    def _discard_results(self) -> None:
        """While stopping with nobody collecting, read the result channels so workers can
        exit (each message read counts as received: see tensors.SentKeeper). Only where no
        collector process read them: one killed in the middle of a message leaves its channel
        unreadable (the workers are then ended by signal)."""
        if self._shared.procs.get(COLLECTOR) is not None:
            return
        if self._discarder is None:
            main = self._main_collector
            self._discarder = main.reader if main is not None else ResultReader(self._mp.results)
        batch, _ended = self._discarder.take(0)
        for message in batch:
            acknowledge(self._mp.received, message)

    def _escalate(self, procs: list[RunProcess]) -> None:
        """SIGTERM, then SIGKILL, whatever is still alive; then reap it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = [p for p in procs if not p.exited and p.process.is_alive()]
            if not alive:
                break
            for p in alive:
                with contextlib.suppress(ProcessLookupError):
                    signal_with_tree(p.process.pid, sig)  # what its tasks started: .orphans
            self._wait_for(alive, TERM_WAIT_S, drain_results=True)
        for p in procs:
            if not p.exited:
                self._monitor.reap(p)
