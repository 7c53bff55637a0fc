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

The engine thread owns every process it starts, from start to join. It waits on the event
queue and on the process sentinels together (as ``concurrent.futures.process`` does), so a
killed worker is noticed at once; the task it held is re-queued once, then reported lost.
Queues are drained before processes are joined. Stopping is ordered: stop feeding, drain the
task queue, end sentinels, join with a timeout, then SIGTERM, then SIGKILL. Processes are
daemonic and ask the kernel to kill them when their parent dies, and an ``atexit`` hook stops
any engine still running.

Consumers read batches with :meth:`Engine.next_batch`; nothing here knows about a UI.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import gc
import os
import queue
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mpscope.core.engine.child_output import real_stderr
from mpscope.core.engine.watch import Watch
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    Event,
    FeederBlocked,
    Note,
    RunFinished,
    RunPaused,
    RunStarted,
    SourceExhausted,
    SpeedChanged,
    TaskDone,
    WorkerExited,
    WorkerLoopEnded,
    WorkerReady,
    WorkerSpawned,
    decode,
)
from mpscope.core.pipeline.ledger import Ledger, TaskMessage
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.sources import make_source, task_label

POLL_S: Final = 0.05
DRAIN_ROUNDS: Final = 64
ANNOUNCE_BATCH: Final = 64
ANNOUNCE_NS: Final = 10_000_000
TERM_WAIT_S: Final = 1.0
END_OF_RUN: Final = None

_live_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


@dataclass(slots=True)
class _Proc:
    worker: int
    process: Any
    reader: Any  # the read end of its event pipe
    loop_ended: bool = False
    exited: bool = False


def _signal_name(exitcode: int) -> str:
    if exitcode >= 0:
        return ""
    with contextlib.suppress(ValueError):
        return signal.Signals(-exitcode).name
    return f"signal {-exitcode}"


def import_torch_quietly() -> None:
    """Import torch (here, not at module level: the UI paints before torch loads).

    Without NumPy, ``import torch`` warns "Failed to initialize NumPy"; in the main process we
    silence exactly that warning. Children filter it when they import torch (:mod:`.worker`).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        import torch.multiprocessing  # noqa: F401


class Engine:
    """One run of one scenario. ``start()``, read ``next_batch()`` until it returns None."""

    def __init__(self, scenario: Scenario, notes: list[str] | None = None) -> None:
        self.scenario = scenario
        self._notes = list(notes or [])
        self._out: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._ledger = Ledger(collects=scenario.mode != "print")
        self._requeue: collections.deque[int] = collections.deque()
        self._stop_reason: tuple[str, str] | None = None
        #: the outcome of a run that ended on its own before its work was done (every worker died)
        self._ended_early: tuple[str, str] | None = None
        self._inject_next = 0
        self._paused = False
        self._procs: dict[int, _Proc] = {}
        self._watch: Watch[_Proc] = Watch()  # event pipes and sentinels (engine thread only)
        self._thread: threading.Thread | None = None
        self._feeder: threading.Thread | None = None
        self._main_collector: threading.Thread | None = None
        self._source_done = False
        self._in_hand = False  # the feeder holds a task it has not yet put on the queue
        #: tasks the feeder put on the queue, not yet announced: (time, task); see _announce
        self._queued: collections.deque[tuple[int, int]] = collections.deque()
        self._announced_at = 0  # when the feeder last had them announced (monotonic ns)
        self._wanted_scale = scenario.time_scale
        self._run_started = False
        #: the run's start (monotonic ns), moved on by each pause's length: run time leaves
        #: pauses out (the run processes read it from ``_run_start``, a shared copy)
        self._start_ns = 0
        self._run_start: Any = None
        self._paused_since = 0  # monotonic ns, while paused: the run's clock stands still
        self._finished = threading.Event()
        self.outcome = ""
        #: benchmarks set this to a list: it then gets, for each TaskDone, the nanoseconds
        #: from its emission in a worker to its receipt by the engine thread
        self.latency_probe: list[int] | None = None

    # -- public API (any thread) -------------------------------------------------------------

    def start(self) -> None:
        """Start the run in the engine thread; returns at once."""
        self._start_ns = time.monotonic_ns()
        _live_engines.add(self)
        self._thread = threading.Thread(target=self._run, name="mpscope-engine", daemon=True)
        self._thread.start()

    def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        """The next batch of events; ``[]`` on timeout; None once the run is over."""
        try:
            return self._out.get(timeout=timeout)
        except queue.Empty:
            return []

    def stop(self, reason: str = "stopped by the user") -> None:
        """Ask for an ordered stop; returns at once (see :meth:`join`)."""
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = ("stopped", reason)
            self._wake.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run to be over and every process joined; True if it is."""
        return self._finished.wait(timeout)

    def elapsed_ns(self) -> int:
        """Nanoseconds since :meth:`start` (0 before it): the run's clock, as events carry it."""
        return self._now() if self._start_ns else 0

    @property
    def running(self) -> bool:
        """True between start and the end of the run."""
        return self._thread is not None and not self._finished.is_set()

    def pids(self) -> dict[int, int]:
        """Worker id -> PID of the run's processes still alive."""
        with self._lock:
            return {w: p.process.pid for w, p in self._procs.items() if not p.exited}

    def kill_worker(self, worker: int) -> bool:
        """SIGKILL one compute worker (to show fault handling). False if none such is alive."""
        return worker >= 0 and self._kill(worker)

    def kill_collector(self) -> bool:
        """SIGKILL the collector process (Task 3 only)."""
        return self._kill(COLLECTOR)

    def _kill(self, worker: int) -> bool:
        with self._lock:
            proc = self._procs.get(worker)
            if proc is None or proc.exited or not proc.process.is_alive():
                return False
            try:
                os.kill(proc.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return False
            return True

    def inject_failure(self) -> bool:
        """Make the next task a worker takes raise inside it; False if no worker can take one.

        A counter in shared memory: the first worker to start a task after this takes one
        off and fails that task, whether it was queued before or after.
        """
        with self._lock:
            shared = getattr(self, "_fail_next", None)
            if shared is None or self._finished.is_set():
                self._inject_next += 1  # before the processes exist: used when they do
                return not self._finished.is_set()
            with shared.get_lock():
                shared.value += 1
            return True

    def set_time_scale(self, scale: float) -> None:
        """Change the speed control live: later work sleeps ``scale`` times its base time.

        Before the processes exist (torch still importing) the value is kept and used when
        the shared value is made.
        """
        with self._lock:
            if self._finished.is_set():
                return
            self._wanted_scale = scale
            shared = getattr(self, "_time_scale", None)
            if shared is not None:
                shared.value = scale
            if self._run_started:
                self._emit([SpeedChanged(self._now(), scale)])

    def set_paused(self, paused: bool) -> bool:
        """Suspend (SIGSTOP) or resume (SIGCONT) every process of the run."""
        with self._lock:
            if paused == self._paused or self._finished.is_set() or not self._procs:
                return False
            if paused and self._stop_reason is not None:  # stopping: it must not stall the stop
                return False
            self._paused = paused
            self._wake.notify_all()
            now = time.monotonic_ns()
            if paused:
                self._paused_since = now
            else:  # before the processes go on: their clock must not count the pause
                self._start_ns += now - self._paused_since
                self._paused_since = 0
                if self._run_start is not None:
                    self._run_start.value = self._start_ns
            for proc in self._procs.values():
                if not proc.exited:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)
            self._emit([RunPaused(self._now(), paused)])
            return True

    # -- plumbing ------------------------------------------------------------------------------

    def _now(self) -> int:
        """Run time: nanoseconds since the start, pauses left out (still while paused)."""
        return (self._paused_since or time.monotonic_ns()) - self._start_ns

    def _emit(self, events: list[Event]) -> None:
        """Hand events to the consumer, after the feeder's announcements still held back."""
        with self._lock:
            if self._queued:  # they happened first, and a worker's report may follow them
                announced: list[Event] = []
                while self._queued:
                    t, task = self._queued.popleft()
                    announced.extend(self._ledger.announce(t, task))
                events = [*announced, *events]
            if events:
                self._out.put(events)

    def _announce(self, task: int) -> None:
        """The feeder put ``task`` on the task queue: say so, in batches (no lock taken here).

        One ``TaskQueued`` per consumer batch would cost the consumer a wake-up per task, and a
        lock per task would cost the feeder its share of the engine's lock. The feeder only
        notes the task; :meth:`_emit` (under the lock, before anything else the engine says)
        turns the notes into ``TaskQueued`` events. The feeder asks for that every
        ``ANNOUNCE_BATCH`` tasks or ``ANNOUNCE_NS``, and before it waits.
        """
        now = time.monotonic_ns()
        self._queued.append(((self._paused_since or now) - self._start_ns, task))
        if len(self._queued) >= ANNOUNCE_BATCH or now - self._announced_at >= ANNOUNCE_NS:
            self._announced_at = now
            self._emit([])

    def _note(self, level: str, text: str) -> None:
        self._emit([Note(self._now(), level, text)])

    # -- the engine thread ---------------------------------------------------------------------

    def _run(self) -> None:
        outcome, message = "error", "the engine failed"
        try:
            outcome, message = self._run_inner()
        except BaseException as exc:  # the engine must always end its run cleanly
            message = f"engine error: {type(exc).__name__}: {exc}"
            self._note("error", message)
            self._force_stop()
            with contextlib.suppress(Exception):
                with self._lock:
                    self._emit(self._ledger.lose_unfinished(self._now(), message))
                self._close_queues()
        finally:
            self.outcome = outcome
            self._emit([RunFinished(self._now(), outcome, message)])
            self._finished.set()
            self._out.put(END_OF_RUN)

    def _run_inner(self) -> tuple[str, str]:
        sc = self.scenario
        with self._lock:
            self._emit(
                [RunStarted(0, sc.mode, sc.start_method, sc.workers, sc.to_json(), os.getpid())]
            )
            self._run_started = True
            if self._wanted_scale != sc.time_scale:  # the speed changed while we started
                self._emit([SpeedChanged(self._now(), self._wanted_scale)])
        for text in self._notes:
            self._note("warning", text)
        import_torch_quietly()  # after RunStarted: the screen can say what is coming meanwhile
        import torch.multiprocessing as mp

        gc.freeze()  # torch's objects need no scanning by every later garbage collection
        mp.set_sharing_strategy("file_system")  # type: ignore[no-untyped-call]
        ctx = mp.get_context(sc.start_method)
        if sc.start_method == "forkserver":
            ctx.set_forkserver_preload(["mpscope.core.engine.worker"])
        from mpscope.core.engine import worker as worker_module

        with real_stderr():  # creating queues may start the resource tracker
            self._task_q = ctx.Queue(maxsize=sc.queue_bound)
            self._result_q = ctx.Queue()
        self._slots = ctx.Array("q", [-1] * sc.workers, lock=False)
        with self._lock:
            self._time_scale = ctx.Value("d", self._wanted_scale, lock=False)
            self._run_start = ctx.Value("q", self._start_ns, lock=False)
            self._fail_next = ctx.Value("i", self._inject_next)
        target = worker_module.print_worker if sc.mode == "print" else worker_module.compute_worker
        if sc.mode == "print":  # Task 1: each worker's counting job is its one task
            with self._lock:
                for i in range(sc.workers):
                    self._ledger.add(i, None, f"print 1..{sc.print_count}", False)
                    self._emit(self._ledger.announce(self._now(), i))
                self._source_done = True
                self._emit([SourceExhausted(self._now(), sc.workers)])
        with real_stderr():
            for i in range(sc.workers):
                if self._stop_reason is not None:
                    break
                self._start_process(ctx, i, target, worker_module)
            if sc.mode == "pipeline" and self._stop_reason is None:
                self._start_process(ctx, COLLECTOR, worker_module.collector_process, worker_module)
        if sc.mode == "collect-after":
            self._emit([WorkerSpawned(self._now(), MAIN, os.getpid(), "main")])
        if sc.mode != "print":
            self._feeder = threading.Thread(target=self._feed, name="mpscope-feeder", daemon=True)
            self._feeder.start()
        return self._supervise(worker_module)

    def _start_process(self, ctx: Any, worker: int, target: Callable[..., None], wm: Any) -> None:
        reader, writer = ctx.Pipe(duplex=False)
        process_ctx = wm.ProcessContext(
            worker,
            self.scenario,
            self._run_start,
            self._task_q,
            self._result_q,
            writer,
            self._slots,
            self._time_scale,
            self._fail_next,
        )
        role = "collector" if worker == COLLECTOR else "worker"
        name = f"mpscope-{role}-{worker}" if worker >= 0 else "mpscope-collector"
        process = ctx.Process(target=target, args=(process_ctx,), name=name, daemon=True)
        process.start()
        writer.close()  # the child has its copy; ours would hide the child's death from us
        with self._lock:
            proc = self._procs[worker] = _Proc(worker, process, reader)
            if self._paused:  # paused while the run was starting: this one waits too
                os.kill(process.pid, signal.SIGSTOP)
        self._watch.add_pipe(reader)
        self._watch.add_sentinel(process.sentinel, proc)
        self._emit([WorkerSpawned(self._now(), worker, process.pid, role)])

    # -- feeding -------------------------------------------------------------------------------

    def _feed(self) -> None:
        """Pull the task source lazily into the bounded task queue (the feeder thread)."""
        source = make_source(self.scenario)
        fail_on = self.scenario.fail_on
        next_id = 0
        while True:
            message: TaskMessage | None = None
            # the usual case, the next task from the source, takes no lock (see _announce)
            if self._requeue or self._source_done or self._stop_reason is not None:
                with self._lock:
                    while not self._requeue and self._source_done and self._stop_reason is None:
                        self._wake.wait(0.2)
                        if self._all_workers_gone():
                            return
                    if self._stop_reason is not None:
                        return
                    if self._requeue:
                        message = self._ledger.message(self._requeue.popleft())
                        self._in_hand = message is not None
            if message is None and not self._source_done:
                try:
                    payload = next(source)
                except StopIteration:
                    with self._lock:
                        self._source_done = True
                        self._emit([SourceExhausted(self._now(), next_id)])
                        self._wake.notify_all()
                    continue
                except Exception as exc:
                    with self._lock:
                        self._source_done = True
                        raised = f"{type(exc).__name__}: {exc}"
                        self._emit([SourceExhausted(self._now(), next_id, raised)])
                    self._note("error", f"the task source raised {raised}")
                    continue
                fail = payload in fail_on  # --fail-on: marked on the message
                # one store into the book: atomic without the lock (the engine reads the book
                # under its lock, and the book's loops over its entries take a snapshot first)
                message = self._ledger.add(next_id, payload, task_label(payload), fail)
                self._in_hand = True
                next_id += 1
            if message is not None and not self._put_task(message):
                return

    def _put_task(self, message: TaskMessage) -> bool:
        """Put one message on the task queue, reporting when the queue is full."""
        blocked = False
        # about to wait for room: what was queued so far is said first (under load the queue
        # is full at almost every put, so this asks the semaphore rather than try and fail)
        if self._queued and self._task_q.full():
            self._emit([])
        timeout = POLL_S
        while True:
            try:
                self._task_q.put(message, True, timeout)
                break
            except queue.Full:
                if not blocked:
                    blocked = True
                    timeout = 0.1
                    label = task_label(message[2])
                    self._emit([FeederBlocked(self._now(), True, label)])
                with self._lock:
                    if self._stop_reason is not None or self._all_workers_gone():
                        self._in_hand = False
                        self._emit([FeederBlocked(self._now(), False)])  # it waits no more
                        return False
        self._in_hand = False
        if blocked:
            self._emit([FeederBlocked(self._now(), False)])
        self._announce(message[0])
        return True

    # -- supervising ---------------------------------------------------------------------------

    def _all_workers_gone(self) -> bool:
        return all(p.exited for w, p in self._procs.items() if w >= 0)

    def _wait(self, timeout_s: float) -> list[_Proc]:
        """Wait for events or a process exit; handle the events; return processes that ended."""
        pipes, ended = self._watch.wait(timeout_s)
        self._receive(pipes)
        self._drain_events()
        for proc in ended:
            if proc.exited:  # given up by _force_stop (another thread): stop watching it here
                self._watch.remove_sentinel(proc)
        return [proc for proc in ended if not proc.exited]

    def _drain_events(self) -> None:
        """Handle every batch already waiting in the event pipes (a bounded number of rounds,
        so that a flood of events cannot keep the engine from noticing an exit)."""
        for _ in range(DRAIN_ROUNDS):
            pipes, _ended = self._watch.wait(0)
            if not pipes:
                return
            self._receive(pipes)

    def _receive(self, pipes: list[Any]) -> None:
        """Take one batch from each pipe, pass them through the ledger, and hand the result
        to the consumer in one piece (one wake-up of the consumer per round, not per pipe)."""
        batches: list[list[Any]] = []
        for reader in pipes:
            try:
                batches.append(reader.recv())
            except (EOFError, OSError):
                self._watch.remove_pipe(reader)
                reader.close()
        if not batches:
            return
        if self.latency_probe is not None:
            received = self._now()
            self.latency_probe.extend(
                received - r[1]
                for batch in batches
                for r in batch
                if isinstance(r, tuple) and r[0] is TaskDone
            )
        accept = self._ledger.accept
        with self._lock:
            out: list[Event] = []
            for batch in batches:
                for record in batch:
                    event = decode(record)
                    if type(event) is WorkerLoopEnded and event.worker in self._procs:
                        self._procs[event.worker].loop_ended = True
                    out.extend(accept(event))
            self._emit(out)

    def _drain_pipe_of(self, proc: _Proc) -> None:
        """Take everything a process that ended sent before it died (its pipe is finite now:
        the bounded :meth:`_drain_events` may have left batches in it)."""
        while self._watch.watching(proc.reader):
            try:
                ready = proc.reader.poll(0)
            except (EOFError, OSError):
                ready = True  # _receive sees the same error and lets the pipe go
            if not ready:
                return
            self._receive([proc.reader])

    def _reap(self, proc: _Proc) -> None:
        """A process's sentinel fired: report its exit and settle the task it held."""
        proc.process.join(TERM_WAIT_S)
        self._drain_pipe_of(proc)  # its last events (the end of its loop) come first
        code = proc.process.exitcode if proc.process.exitcode is not None else -9
        sig = _signal_name(code)
        who = "collector" if proc.worker == COLLECTOR else f"worker {proc.worker}"
        if proc.loop_ended and code == 0:
            reason = "finished its loop"
        elif sig:
            reason = f"killed by {sig}"
        else:
            reason = f"exited with code {code}"
        clean_exit = proc.loop_ended and code == 0
        died_abnormally = proc.worker >= 0 and not clean_exit
        repaired = self._repair_task_queue_lock(proc) if died_abnormally else []
        self._watch.remove_sentinel(proc)
        with self._lock:
            proc.exited = True
            events: list[Event] = list(repaired)
            exited = WorkerExited(self._now(), proc.worker, proc.process.pid, code, sig, reason)
            if died_abnormally:
                events.extend(self._ledger.release_held(self._now(), everything=True))
                held = int(self._slots[proc.worker])
                label = self._ledger.label(held)
                if self.scenario.mode == "print":  # Task 1: no queue to put its count back on
                    died = self._ledger.lose(self._now(), held, f"its worker was {reason}")
                    requeue: list[int] = []
                else:
                    died, requeue = self._ledger.worker_died(self._now(), proc.worker, held)
                events.extend(died)
                self._requeue.extend(requeue)
                where = (
                    f"; task {label} went back on the task queue"
                    if requeue
                    else (f"; task {label} is lost" if died else "")
                )
                events.append(
                    Note(self._now(), "warning", f"{who} (PID {proc.process.pid}) {reason}{where}")
                )
            events.append(exited)  # last: what the dead worker held is settled first
            self._emit(events)
            self._wake.notify_all()
        if proc.worker == COLLECTOR and not clean_exit:
            with self._lock:
                if self._stop_reason is None:
                    self._stop_reason = (
                        "error",
                        f"the collector (PID {proc.process.pid}) {reason}; "
                        "the results it collected are kept",
                    )

    def _repair_task_queue_lock(self, dead: _Proc) -> list[Event]:
        """Release the task queue's read lock if a killed worker died holding it.

        Live workers hold that lock only to read a message already in the pipe (see
        :mod:`.queue_take`), so a lock that cannot be taken for a whole second after a
        death belongs to the dead worker. (The result queue's write lock is left alone: a live
        worker may rightly hold it for long while the pipe is full in Task 2.)
        """
        lock = getattr(self._task_q, "_rlock", None)
        if lock is None:
            return []
        if lock.acquire(timeout=TERM_WAIT_S):
            lock.release()
            return []
        with contextlib.suppress(ValueError):
            lock.release()
        return [
            Note(
                self._now(),
                "warning",
                f"released the task queue lock that PID {dead.process.pid} died holding",
            )
        ]

    def _supervise(self, wm: Any) -> tuple[str, str]:
        sc = self.scenario
        sentinels_sent = False
        end_of_results_sent = False
        while True:
            for proc in self._wait(POLL_S):
                self._reap(proc)
            with self._lock:
                self._emit(self._ledger.release_held(self._now()))
            if self._stop_reason is not None:
                return self._shutdown()
            if sc.mode == "print":
                if self._all_workers_gone():
                    if not any(p.loop_ended for p in self._procs.values()):
                        self._ended_early = (
                            "error",
                            "no worker was left: every worker died before it finished counting",
                        )
                    return self._finish()
                continue
            with self._lock:
                idle = all(
                    int(self._slots[w]) == -1
                    for w, p in self._procs.items()
                    if w >= 0 and not p.exited
                )
                work_left = (
                    not self._source_done
                    or self._requeue
                    or self._in_hand
                    or self._task_q.qsize() > 0
                    or not idle
                )
                sentinels_due = (
                    0
                    if sentinels_sent or work_left
                    else sum(1 for w, p in self._procs.items() if w >= 0 and not p.exited)
                )
            if sentinels_due:
                sentinels_sent = True
                threading.Thread(
                    target=self._put_sentinels,
                    args=(sentinels_due,),
                    name="mpscope-sentinels",
                    daemon=True,
                ).start()
            if (
                sc.mode == "collect-after"
                and self._main_collector is None
                and all(p.loop_ended or p.exited for w, p in self._procs.items() if w >= 0)
            ):
                self._start_main_collector(wm)
            if self._all_workers_gone():
                if not end_of_results_sent:
                    end_of_results_sent = True
                    with self._lock:
                        work_left = not self._source_done or self._ledger.unfinished() > 0
                    if work_left:  # no worker is left, and tasks still wanted one
                        self._ended_early = (
                            "error",
                            "no worker was left: every worker died before the work ran out",
                        )
                    self._lose_stranded("no worker was left to run it")
                    with self._lock:
                        self._emit(
                            self._ledger.lose_unfinished(
                                self._now(), "no worker was left to run it"
                            )
                        )
                    if sc.mode == "collect-after" and self._main_collector is None:
                        self._start_main_collector(wm)
                    self._result_q.put(None)
                collector = self._procs.get(COLLECTOR)
                main_done = self._main_collector is None or not self._main_collector.is_alive()
                if (collector is None or collector.exited) and main_done:
                    self._drain_events()
                    return self._finish()

    def _put_sentinels(self, count: int) -> None:
        """One end sentinel per live worker; the bounded queue may take them one by one."""
        sent = 0
        while sent < count:
            try:
                self._task_q.put(None, timeout=POLL_S)
                sent += 1
            except queue.Full:
                with self._lock:
                    if self._all_workers_gone() or self._stop_reason is not None:
                        return

    def _lose_stranded(self, reason: str) -> None:
        """Tasks left in the task queue (or never fed) when no worker can take them."""
        with self._lock:
            self._wake.notify_all()
        if self._feeder is not None:
            self._feeder.join(2.0)
        while True:
            try:
                message = self._task_q.get(timeout=0.01)
            except queue.Empty:
                break
            if message is not None:
                with self._lock:
                    self._emit(self._ledger.lose(self._now(), message[0], reason))
        with self._lock:
            for task in self._requeue:
                self._emit(self._ledger.lose(self._now(), task, reason))
            self._requeue.clear()

    def _start_main_collector(self, wm: Any) -> None:
        """Task 2: the main process collects, only now that every worker left its loop."""
        self._main_collector = threading.Thread(
            target=self._collect_in_main, args=(wm,), name="mpscope-main-collector", daemon=True
        )
        self._emit([WorkerReady(self._now(), MAIN, os.getpid())])
        self._main_collector.start()

    def _wait_while_paused(self) -> bool:
        """Task 2's collecting thread pauses with the run (a thread cannot be SIGSTOPped like
        the processes); True once the run is stopping."""
        with self._lock:
            while self._paused and self._stop_reason is None:
                self._wake.wait(POLL_S)
            return self._stop_reason is not None

    def _sleep_unless_paused(self, seconds: float) -> None:
        """Sleep ``seconds`` of run time: the run's clock stands still while paused, so a pause
        in the middle does not count (see :meth:`_wait_while_paused`)."""
        deadline = self._now() + int(seconds * 1e9)
        while (left := deadline - self._now()) > 0:
            self._wait_while_paused()
            time.sleep(min(left / 1e9, POLL_S))

    def _collect_in_main(self, wm: Any) -> None:
        def emit(record: Any) -> None:
            with self._lock:
                self._emit(self._ledger.accept(decode(record)))

        while True:
            stopping = self._wait_while_paused()
            try:
                message = self._result_q.get(timeout=POLL_S)
            except queue.Empty:
                if stopping:
                    return
                continue
            if message is None:
                return
            wm.collect_one(
                message,
                MAIN,
                self.scenario,
                self._time_scale.value,
                self._now,
                emit,
                emit,
                self._sleep_unless_paused,
            )

    # -- ending --------------------------------------------------------------------------------

    def _finish(self) -> tuple[str, str]:
        with self._lock:
            self._emit(self._ledger.release_held(self._now(), everything=True))
            events = self._ledger.lose_unfinished(self._now(), "the run ended before it finished")
            uncollected = self._ledger.forget_uncollected()
            self._emit(events)
        self._close_queues()
        if uncollected:
            self._note("warning", f"{uncollected} finished results were never collected")
        reason = self._stop_reason or self._ended_early
        if reason is not None:
            return reason
        return "completed", "every task has an outcome"

    def _shutdown(self) -> tuple[str, str]:
        """Ordered stop: stop feeding, drain the task queue, end sentinels, join, escalate."""
        if self._paused:
            self.set_paused(False)
        assert self._stop_reason is not None
        self._lose_stranded("cancelled: the run was stopped")  # stops the feeder first
        with self._lock:
            workers = [p for w, p in self._procs.items() if w >= 0 and not p.exited]
        self._put_sentinels(len(workers))
        grace = max(2.0, self.scenario.work_time * self._time_scale.value * 1.5 + 0.5)
        self._wait_for(workers, grace, drain_results=True)
        self._escalate(workers)
        collector = self._procs.get(COLLECTOR)
        if collector is not None and not collector.exited:
            self._result_q.put(None)
            self._wait_for([collector], 2.0, drain_results=False)
            self._escalate([collector])
        if self._main_collector is not None:
            self._result_q.put(None)
            self._main_collector.join(5.0)
        self._drain_events()
        return self._finish()

    def _wait_for(self, procs: list[_Proc], seconds: float, drain_results: bool) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if all(p.exited for p in procs):
                return
            ended = self._wait(POLL_S)
            collector = self._procs.get(COLLECTOR)
            nobody_collects = (collector is None or collector.exited) and (
                self._main_collector is None or not self._main_collector.is_alive()
            )
            if drain_results and nobody_collects:
                self._discard_results()
            for proc in ended:  # any process of the run that ended meanwhile, not only these
                self._reap(proc)

    def _discard_results(self) -> None:
        """While stopping with nobody collecting, empty the result queue so workers can exit."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._result_q.get_nowait()

    def _escalate(self, procs: list[_Proc]) -> None:
        """SIGTERM, then SIGKILL, whatever is still alive; then reap it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = [p for p in procs if not p.exited and p.process.is_alive()]
            if not alive:
                break
            for p in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.process.pid, sig)
            self._wait_for(alive, TERM_WAIT_S, drain_results=True)
        for p in procs:
            if not p.exited:
                self._reap(p)

    def _force_stop(self) -> None:
        """Last resort after an engine error: kill every process of the run."""
        for proc in list(self._procs.values()):
            if not proc.exited:
                with contextlib.suppress(ProcessLookupError, AttributeError):
                    os.kill(proc.process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    proc.process.join(TERM_WAIT_S)
                proc.exited = True

    def _close_queues(self) -> None:
        for q in (getattr(self, "_task_q", None), getattr(self, "_result_q", None)):
            if q is not None:
                q.cancel_join_thread()
                q.close()
        for reader in self._watch.pipes():
            self._watch.remove_pipe(reader)
            reader.close()


def stop_all_engines(timeout: float = 10.0) -> None:
    """Stop every engine still running and wait for its processes (used at exit)."""
    engines = list(_live_engines)
    for engine in engines:
        engine.stop("the program is exiting")
    deadline = time.monotonic() + timeout
    for engine in engines:
        engine.join(max(0.1, deadline - time.monotonic()))
        if engine.running:
            engine._force_stop()


def stop_forkserver() -> None:
    """End multiprocessing's forkserver now, at program exit, instead of a moment after it.

    Uses the server's own stop method (``ForkServer._stop``, there since Python 3.8), which
    closes its "alive" pipe and waits for it, so it does not outlive the program even briefly.
    """
    import multiprocessing.forkserver as forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


def shutdown() -> None:
    """Stop every engine and the forkserver; the program's last step."""
    stop_all_engines()
    stop_forkserver()


atexit.register(shutdown)
