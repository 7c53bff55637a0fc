"""The code that runs inside worker and collector processes.

This module is what forkserver preloads, so it imports only what a worker needs. Each process:

- reports through an :class:`EventBatcher` (one queue message per batch of events, sent by a
  thread every ``FLUSH_EVENTS`` events or ``FLUSH_NS`` after the oldest, and before the process
  blocks), so instrumentation costs little throughput and events arrive within ~10 ms;
- writes the id of the task it holds into a shared slot, so the engine knows what a killed
  worker was doing even when its last events died with it;
- turns what it prints into events (Task 1's lines are data), so nothing is drawn over the UI;
- asks the kernel to kill it when its parent dies, and checks its parent while idle, so no
  worker outlives the program.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mpscope.core.engine.child_output import capture_process_output
from mpscope.core.engine.queue_take import QueueTaker
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAX_TRACEBACK,
    Note,
    PrintedLine,
    Record,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskStarted,
    WorkerLoopEnded,
    WorkerReady,
    clip,
)
from mpscope.core.pipeline.ledger import TaskMessage
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.tasks import resolve_task_function, run_task, simulated_seconds

with warnings.catch_warnings():  # torch without NumPy warns; nothing to tell a worker's user
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch.multiprocessing  # noqa: F401  (registers the reductions that share tensors)

FLUSH_EVENTS = 64
FLUSH_NS = 10_000_000
IDLE_POLL_S = 0.5
NO_TASK = -1

#: What travels on the result queue: (task, attempt, worker, ok, output, started ns, finished ns).
ResultMessage = tuple[int, int, int, bool, Any, int, int]


@dataclass(frozen=True, slots=True)
class ProcessContext:
    """What every run process receives (all picklable)."""

    worker: int
    scenario: Scenario
    run_start: Any  # shared int64: the run's start (monotonic ns); see RunClock
    task_queue: Any
    result_queue: Any
    events: Any  # the write end of this process's own event pipe (no lock shared with others)
    slots: Any  # shared int64 array: the task each worker holds, NO_TASK when none
    time_scale: Any  # shared double: the speed control, read before each piece of work
    fail_next: Any  # shared int with a lock: how many of the next tasks taken must raise


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

    def __init__(self, send: Callable[[list[Record]], None], clock: Callable[[], int]) -> None:
        self._send = send
        self.now = clock  # nanoseconds since the run started (see RunClock)
        self._buffer: list[Record] = []
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

    def emit(self, record: Record) -> None:
        """Queue an event (or a record) for the next batch."""
        with self._lock:
            self._append(record)

    def _append(self, record: Record) -> None:
        # a record was made just now: its own time stands for the clock (no clock read here)
        t: int = record[1] if type(record) is tuple else record.t  # type: ignore[union-attr]
        buffer = self._buffer
        if not buffer:
            self._oldest = t
        buffer.append(record)
        if len(buffer) >= FLUSH_EVENTS or t - self._oldest >= FLUSH_NS:
            self._send_now()

    def _send_now(self) -> None:
        """Send the buffer (the lock is held, so batches stay in order)."""
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
                        self._buffer.append(current)
                        self._send_now()
                        continue
                    delay = min(delay, left)
                if self._buffer:
                    left = self._oldest + FLUSH_NS - now
                    if left <= 0:
                        self._send_now()
                    else:
                        delay = min(delay, left)


class _LineToEvents(io.TextIOBase):
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


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _prepare_process(batcher: EventBatcher, worker: int) -> int:
    """Common start of every run process; returns the parent PID to watch."""
    parent = os.getppid()
    _die_with_parent()
    gc.freeze()  # torch's many objects: out of the way of every later garbage collection
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the engine's to handle
    capture_process_output(
        lambda line: batcher.emit(PrintedLine(batcher.now(), worker, clip(line), "stderr"))
    )
    sys.stdout = _LineToEvents(batcher, worker, "stdout")
    sys.stderr = _LineToEvents(batcher, worker, "stderr")
    return parent


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _get(taker: QueueTaker, batcher: EventBatcher, parent: int) -> Any:
    """Take the next message, flushing events before waiting; exit if orphaned."""
    ok, message = taker.take()  # under load a message is waiting: no poll before taking
    if ok:
        return message
    batcher.flush()
    while True:
        if taker.ready(IDLE_POLL_S):
            ok, message = taker.take()
            if ok:
                return message
        elif _orphaned(parent):
            os._exit(3)


def _take_injected_failure(counter: Any) -> bool:
    """True (and one less to go) if the user asked for the next task to fail.

    The worker calls this only once an unlocked read has seen a request, so the usual task
    takes no lock."""
    with counter.get_lock():
        if counter.value > 0:
            counter.value -= 1
            return True
    return False


def _report_crash(ctx: ProcessContext, exc: BaseException) -> None:
    """Tell the engine why this process is about to die (its stderr is not on screen)."""
    text = "".join(traceback.format_exception(exc))
    with contextlib.suppress(Exception):
        t = RunClock(ctx.run_start).now()
        ctx.events.send([Note(t, "error", clip(f"process crashed: {text}", MAX_TRACEBACK))])


def _reporting_crashes(body: Callable[[ProcessContext], None], ctx: ProcessContext) -> None:
    """Run a process's body; if it crashes, tell the engine why, then let it die."""
    try:
        body(ctx)
    except BaseException as exc:
        _report_crash(ctx, exc)
        raise


def compute_worker(ctx: ProcessContext) -> None:
    """Task 2/3 compute worker: see :func:`_compute`."""
    _reporting_crashes(_compute, ctx)


def _compute(ctx: ProcessContext) -> None:
    """Take tasks until the end sentinel, put results, report."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now)
    parent = _prepare_process(batcher, ctx.worker)
    sc = ctx.scenario
    function = resolve_task_function(sc.function)
    tasks = QueueTaker(ctx.task_queue)
    pid = os.getpid()
    batcher.emit(WorkerReady(batcher.now(), ctx.worker, pid))
    batcher.flush()
    # the loop runs once per task: what it uses is looked up once, here
    worker, slots, put, clock, t0, sleep = (
        ctx.worker,
        ctx.slots,
        ctx.result_queue.put,
        time.monotonic_ns,
        ctx.run_start,  # shared: a pause moves it on (RunClock, inlined)
        run_clock.sleep,
    )
    begin, end, scale, fail_next = batcher.begin, batcher.end, ctx.time_scale, ctx.fail_next
    failing = fail_next.get_obj()  # read without its lock; taken only when it says yes
    while True:
        message: TaskMessage | None = _get(tasks, batcher, parent)
        if message is None:
            break
        task, attempt, payload, fail = message
        slots[worker] = task
        started = clock() - t0.value
        begin((TaskStarted, started, task, worker, attempt))
        report: Record
        try:
            fail = fail or (failing.value > 0 and _take_injected_failure(fail_next))
            seconds = simulated_seconds(sc.work_time, sc.jitter, sc.seed, task, scale.value)
            ok, value = True, run_task(function, payload, seconds, fail, sleep)
            finished = clock() - t0.value
            report = (TaskDone, finished, task, worker, started, clip(repr(value)), attempt)
        except Exception as exc:
            finished = clock() - t0.value
            ok, value = False, clip(f"{type(exc).__name__}: {exc}")
            text = clip("".join(traceback.format_exception(exc)), MAX_TRACEBACK)
            report = TaskFailed(finished, task, worker, started, value, text, attempt)
        put((task, attempt, worker, ok, value, started, finished))
        slots[worker] = NO_TASK
        end(report)
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "took the end sentinel"))
    batcher.close()


def print_worker(ctx: ProcessContext) -> None:
    """Task 1 worker: see :func:`_print_counts`."""
    _reporting_crashes(_print_counts, ctx)


def _print_counts(ctx: ProcessContext) -> None:
    """Print 1..N with a delay, as the seed's ``worker_print`` does."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now)
    _prepare_process(batcher, ctx.worker)
    sc = ctx.scenario
    pid = os.getpid()
    batcher.emit(WorkerReady(batcher.now(), ctx.worker, pid))
    ctx.slots[ctx.worker] = ctx.worker
    started = batcher.now()
    batcher.emit(TaskStarted(started, ctx.worker, ctx.worker, 1))
    batcher.flush()
    for count in range(1, sc.print_count + 1):
        print(f"[Worker {ctx.worker}] PID={pid} | count={count}")
        batcher.flush()
        run_clock.sleep(sc.print_delay * ctx.time_scale.value)
    ctx.slots[ctx.worker] = NO_TASK
    output = f"printed 1..{sc.print_count}"
    batcher.emit(TaskDone(batcher.now(), ctx.worker, ctx.worker, started, output))
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "finished counting"))
    batcher.close()


def collect_one(
    message: ResultMessage,
    collector: int,
    scenario: Scenario,
    time_scale: float,
    clock: Callable[[], int],
    begin: Callable[[tuple[Any, ...]], None],
    end: Callable[[Record], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Process one result the way the seed's collector does (simulated handling time)."""
    task, attempt, worker, ok, output, _started, _finished = message
    text = clip(repr(output)) if ok else str(output)
    started = finished = clock()
    seconds = scenario.collect_time * time_scale
    if seconds > 0:  # with nothing to wait for, the end says it all (one clock reading)
        begin((TaskCollecting, started, task, collector, worker, attempt, ok, text))
        sleep(seconds)
        finished = clock()
    end((TaskCollected, finished, task, collector, started, worker, attempt, ok, text))


def collector_process(ctx: ProcessContext) -> None:
    """Task 3's dedicated collector: see :func:`_collect`."""
    _reporting_crashes(_collect, ctx)


def _collect(ctx: ProcessContext) -> None:
    """Drain the result queue while workers compute."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now)
    parent = _prepare_process(batcher, COLLECTOR)
    results = QueueTaker(ctx.result_queue)
    batcher.emit(WorkerReady(batcher.now(), COLLECTOR, os.getpid()))
    batcher.flush()
    sc, scale, now, begin, end = (
        ctx.scenario,
        ctx.time_scale,
        batcher.now,
        batcher.begin,
        batcher.end,
    )
    while True:
        message: ResultMessage | None = _get(results, batcher, parent)
        if message is None:
            break
        collect_one(message, COLLECTOR, sc, scale.value, now, begin, end, run_clock.sleep)
    batcher.emit(WorkerLoopEnded(batcher.now(), COLLECTOR, "took the end sentinel"))
    batcher.close()
