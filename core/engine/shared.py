"""What the threads of one run share, made in one place.

A run has four kinds of threads: the caller's (the :class:`~.run.Engine` facade and its
controls), the engine thread (:mod:`.supervisor`), the feeder (:mod:`.feeder`) and, in Task 2,
the main process's collecting thread (:mod:`.main_collector`). What they share lives here, in
two objects made in two steps:

- :class:`RunShared`, made with the engine, before any thread starts: the lock and its
  condition, the ledger, the run's clock, the re-queue, the record of each process, the stop
  reason, and the requests made before the processes exist (the speed, injected failures);
- :class:`ProcessShared`, the ``multiprocessing`` objects the processes share with the engine
  (queues, slots, shared values). They need torch's multiprocessing context, which the engine
  thread imports after the run has started; it makes them in one step and publishes them as
  ``RunShared.mp``. Until then ``mp`` is None, and a request that needs them is held in
  ``RunShared`` and used when they are made.

Unless a field says otherwise, it is read and changed under ``RunShared.lock``.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

from mpscope.core.engine.orphans import proc_info
from mpscope.core.pipeline.ledger import Ledger
from mpscope.core.pipeline.scenario import Mode, Scenario

#: How long the run's threads wait at a time before they look again at what changed.
POLL_S: Final = 0.05
#: How long a process is given to end after it was asked to (and the task queue's lock is
#: given to come free after a death).
TERM_WAIT_S: Final = 1.0


def process_gone(pid: int) -> bool:
    """True if ``pid`` has ended (a zombie, or no such process), whoever its parent is."""
    return proc_info(pid) is None


@dataclass(slots=True)
class RunProcess:
    """The engine's record of one process of the run (a worker, or Task 3's collector)."""

    worker: int
    process: Any  # the multiprocessing Process
    reader: Any  # the read end of its event pipe
    loop_ended: bool = False  # it reported the end of its loop
    exited: bool = False  # reaped, or given up (killed by :func:`~.processes.kill_every_process`)
    #: when its event pipe reached its end (monotonic s; 0 before): with a forkserver that
    #: cannot report exits (stopped, wedged) this is how its end is noticed
    pipe_closed_at: float = 0.0
    #: its collector has read its result channel to the end (see :mod:`.unsent`)
    results_drained: bool = False


class PausableClock:
    """The run's clock in the main process: nanoseconds since the start, pauses left out.

    Each pause moves the start on by its length when the run resumes, so run time stands still
    while paused. The run processes read the start from a shared copy (see
    :class:`~.reporting.RunClock`), which :meth:`resume` moves on too, once :meth:`share` gave
    it one. Changed under the run's lock; read without it.
    """

    __slots__ = ("_shared_start", "paused_since", "start_ns")

    def __init__(self) -> None:
        #: the run's start (monotonic ns), moved on by each pause's length; 0 before the start
        self.start_ns = 0
        #: monotonic ns, while paused (0 otherwise): the run's clock stands still
        self.paused_since = 0
        self._shared_start: Any = None

    @property
    def started(self) -> bool:
        """True once :meth:`start` was called."""
        return self.start_ns != 0

    def start(self) -> None:
        """The run starts now."""
        self.start_ns = time.monotonic_ns()

    def now(self) -> int:
        """Run time: nanoseconds since the start, pauses left out (still while paused)."""
        return (self.paused_since or time.monotonic_ns()) - self.start_ns

    def share(self, shared_start: Any) -> None:
        """From now on keep ``shared_start`` (a shared int64 the processes read, made with the
        start's value under the run's lock) equal to the start."""
        self._shared_start = shared_start

    def pause(self) -> None:
        """The run's clock stops now."""
        self.paused_since = time.monotonic_ns()

    def resume(self) -> None:
        """The run's clock goes on: the start moves on by the pause, here and in the shared
        copy (before the processes go on: their clock must not count the pause)."""
        self.start_ns += time.monotonic_ns() - self.paused_since
        self.paused_since = 0
        if self._shared_start is not None:
            self._shared_start.value = self.start_ns


@dataclass(frozen=True, slots=True)
class ProcessShared:
    """The ``multiprocessing`` objects of a run; made once torch's context exists (see
    :func:`~.processes.make_process_shared`). Torch has no type stubs for them: ``Any``."""

    context: Any  # the torch.multiprocessing context of the scenario's start method
    task_queue: Any  # bounded: the feeder blocks on it (backpressure)
    #: worker -> the read end of its result channel (see :mod:`.result_channels`), added as
    #: each worker starts
    results: dict[int, Any]
    slots: Any  # shared int64 array: the task each worker holds, -1 when none
    time_scale: Any  # shared double: the speed control, read before each piece of work
    run_start: Any  # shared int64: the run's start, kept by PausableClock
    fail_next: Any  # shared int with a lock: how many of the next tasks taken must raise
    received: Any  # shared int64 array: results of each worker its consumer received
    fill: Any = None  # --function fill-shared: the one shared tensor (a shared_fill.SharedFill)


@dataclass(eq=False, slots=True)
class RunShared:
    """Everything the threads of one run share (see the module's docstring)."""

    scenario: Scenario
    lock: threading.RLock
    #: notified when something a waiting thread waits for may have changed (work to re-queue,
    #: the source's end, a stop, a pause's end, a process's exit)
    wake: threading.Condition
    ledger: Ledger
    clock: PausableClock
    #: tasks a dead worker held, to be put on the task queue again (by the feeder)
    requeue: collections.deque[int] = field(default_factory=collections.deque)
    #: worker id (``COLLECTOR`` for Task 3's collector) -> its process
    procs: dict[int, RunProcess] = field(default_factory=dict)
    #: set once the run is over and every process joined (set without the lock)
    finished: threading.Event = field(default_factory=threading.Event)
    #: (outcome, message) once a stop was asked for; the run then stops in order
    stop_reason: tuple[str, str] | None = None
    paused: bool = False
    #: ``RunStarted`` is out: from now on a change of speed is an event
    run_started: bool = False
    #: the task source has no more tasks (set by the feeder; read without the lock)
    source_done: bool = False
    #: the feeder holds a task it has not yet put on the queue (set without the lock)
    in_hand: bool = False
    #: the speed control's latest value (``mp.time_scale`` is made from it)
    time_scale: float = 1.0
    #: failures injected before the processes existed (``mp.fail_next`` starts from it)
    failures_requested: int = 0
    #: the multiprocessing objects, once made: published in one step, never replaced
    mp: ProcessShared | None = None
    #: Task 2: the main process has started collecting (set by the engine thread)
    main_collecting: bool = False
    #: Task 2: results read from dead workers' channels before the main process collects
    #: (see :func:`~.result_channels.salvage`); the collecting thread takes them first
    salvaged: list[Any] = field(default_factory=list)
    #: the error line of the collector's failure, once it reported one (see
    #: :mod:`.collector_failure`): the run then ends in error, saying so
    collector_error: str = ""
    #: how the run ended ("" until it has), as ``RunFinished`` says
    outcome: str = ""
    #: benchmarks set this to a list: it then gets, for each TaskDone, the nanoseconds from its
    #: emission in a worker to its receipt by the engine thread
    latency_probe: list[int] | None = None

    @classmethod
    def for_scenario(cls, scenario: Scenario) -> RunShared:
        """The shared state of a run of ``scenario``, before anything happened."""
        lock = threading.RLock()
        return cls(
            scenario=scenario,
            lock=lock,
            wake=threading.Condition(lock),
            ledger=Ledger(collects=scenario.mode != Mode.PRINT),
            clock=PausableClock(),
            time_scale=scenario.time_scale,
        )

    def require_mp(self) -> ProcessShared:
        """The multiprocessing objects, for code that runs only once the processes exist."""
        if self.mp is None:
            raise RuntimeError("the run's multiprocessing objects are not made yet")
        return self.mp

    def all_workers_gone(self) -> bool:
        """True when no compute worker is alive (or none was started)."""
        return all(p.exited for w, p in self.procs.items() if w >= 0)

    def live_workers(self) -> list[RunProcess]:
        """The compute workers not yet reaped."""
        return [p for w, p in self.procs.items() if w >= 0 and not p.exited]
