"""The process engine: runs a scenario on real torch.multiprocessing processes and reports it.

Data flow (the seed's Task 3; Task 2 has the main process collect instead of a collector
process, after every worker has finished its loop; Task 1 has no queues)::

    task source ──► feeder thread ──► task queue ──► worker 0..N-1 ──► result queue ──► collector
    (generator)        (bounded, blocks = backpressure)  (processes)                  (process)
                           │                                 │                           │
                           └──────── events ───────► engine thread ◄── event queue ──────┘
                                                          │ ledger (causal order, outcomes)
                                                          ▼
                                                 batches of events to the consumer

The "result queue" is one pipe per worker (:mod:`.result_channels`), so that a worker killed
while it writes a result breaks only its own; what it finished but never sent is re-queued
once, then lost (:mod:`.unsent`).

The engine thread owns every process it starts, from start to join. It waits on the event
queue and on the process sentinels together (as ``concurrent.futures.process`` does), so a
killed worker is noticed at once; the task it held is re-queued once, then reported lost.
Queues are drained before processes are joined. Stopping is ordered: stop feeding, drain the
task queue, end sentinels, join with a timeout, then SIGTERM, then SIGKILL. Processes are
daemonic and ask the kernel to kill them when their parent dies, and an ``atexit`` hook stops
any engine still running.

Consumers read batches with :meth:`Engine.next_batch`; nothing here knows about a UI.

:class:`Engine` is the public facade, like ``ProcessPoolExecutor``; the work is done by
collaborators it makes and wires together before any thread starts:

- :mod:`.shared`: what the run's threads share (lock, ledger, clock, process records, requests
  held until the processes exist) and, once torch is imported, the multiprocessing objects;
- :mod:`.outbox`: the batches of events, in order, for :meth:`Engine.next_batch`;
- :mod:`.controls`: pause, speed, injected failures and kills, from any thread;
- :mod:`.supervisor`: the engine thread (with :mod:`.processes`, :mod:`.monitor`,
  :mod:`.task_queue` and :mod:`.shutdown`);
- :mod:`.feeder` and :mod:`.main_collector`: the feeder thread and Task 2's collecting thread;
- :mod:`.lifecycle`: the torch import, and stopping every engine when the program exits.
"""

from __future__ import annotations

from mpscope.core.engine import lifecycle
from mpscope.core.engine.controls import RunControls
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.processes import kill_every_process
from mpscope.core.engine.shared import RunShared
from mpscope.core.engine.supervisor import Supervisor
from mpscope.core.pipeline.events import COLLECTOR, Event
from mpscope.core.pipeline.scenario import Scenario


class Engine:
    """One run of one scenario. ``start()``, read ``next_batch()`` until it returns None."""

    def __init__(self, scenario: Scenario, notes: list[str] | None = None) -> None:
        self.scenario = scenario
        self._shared = RunShared.for_scenario(scenario)
        self._outbox = Outbox(self._shared.lock, self._shared.ledger, self._shared.clock)
        self._controls = RunControls(self._shared, self._outbox)
        self._supervisor = Supervisor(
            self._shared, self._outbox, self._controls, notes or [], owner=self
        )

    def start(self) -> None:
        """Start the run in the engine thread; returns at once."""
        self._shared.clock.start()
        lifecycle.register(self)
        self._supervisor.start()

    def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        """The next batch of events; ``[]`` on timeout; None once the run is over."""
        return self._outbox.next_batch(timeout)

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask for an ordered stop; returns at once (see :meth:`join`)."""
        shared = self._shared
        with shared.lock:
            if shared.stop_reason is None:
                shared.stop_reason = ("stopped", reason)
            shared.wake.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to be over and every process joined; True if it is."""
        return self._shared.finished.wait(timeout)

    def abort(self) -> None:
        """Kill every process of the run at once (SIGKILL; no ordered stop). The last resort:
        after an engine error, at exit when a stop takes too long, on a second Ctrl+C."""
        kill_every_process(self._shared)

    def elapsed_ns(self) -> int:
        """Nanoseconds since :meth:`start` (0 before it): the run's clock, as events carry it."""
        clock = self._shared.clock
        return clock.now() if clock.started else 0

    @property
    def running(self) -> bool:
        """True between start and the end of the run."""
        return self._shared.clock.started and not self._shared.finished.is_set()

    @property
    def outcome(self) -> str:
        """How the run ended ("completed", "stopped", "error"); "" until it has."""
        return self._shared.outcome

    @property
    def latency_probe(self) -> list[int] | None:
        """Benchmarks set this to a list: it then gets, for each TaskDone, the nanoseconds from
        its emission in a worker to its receipt by the engine thread."""
        return self._shared.latency_probe

    @latency_probe.setter
    def latency_probe(self, probe: list[int] | None) -> None:
        self._shared.latency_probe = probe

    def pids(self) -> dict[int, int]:
        """Worker id -> PID of the run's processes still alive."""
        with self._shared.lock:
            return {w: p.process.pid for w, p in self._shared.procs.items() if not p.exited}

    def kill_worker(self, worker: int) -> bool:
        """SIGKILL one compute worker (to show fault handling). False if none such is alive."""
        return worker >= 0 and self._controls.kill(worker)

    def kill_collector(self) -> bool:
        """SIGKILL the collector process (Task 3 only)."""
        return self._controls.kill(COLLECTOR)

    def inject_failure(self) -> bool:
        """Make the next task a worker takes raise inside it; False if no worker can take one
        (see :meth:`.RunControls.inject_failure`)."""
        return self._controls.inject_failure()

    def set_time_scale(self, scale: float) -> None:
        """Change the speed control live: later work sleeps ``scale`` times its base time."""
        self._controls.set_time_scale(scale)

    def set_paused(self, paused: bool) -> bool:
        """Suspend (SIGSTOP) or resume (SIGCONT) every process of the run; False if nothing
        changed (already so, over, not started, or stopping)."""
        return self._controls.set_paused(paused)
