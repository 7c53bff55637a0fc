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
import io
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.events import (
    COLLECTOR,
    MAX_TRACEBACK,
    Event,
    PrintedLine,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskStarted,
    WorkerLoopEnded,
    WorkerReady,
    clip,
)
from core.scenario import Scenario
from core.tasks import resolve_task_function, run_task, simulated_seconds

FLUSH_EVENTS = 64
FLUSH_NS = 10_000_000
IDLE_POLL_S = 0.5
GRAB_S = 0.05
NO_TASK = -1

#: What travels on the task queue: (task id, attempt, payload, marked to fail); None ends a worker.
TaskMessage = tuple[int, int, Any, bool]
#: What travels on the result queue: (task, attempt, worker, ok, output, started ns, finished ns).
ResultMessage = tuple[int, int, int, bool, Any, int, int]


@dataclass(frozen=True, slots=True)
class ProcessContext:
    """What every run process receives (all picklable)."""

    worker: int
    scenario: Scenario
    run_start_ns: int
    task_queue: Any
    result_queue: Any
    events: Any  # the write end of this process's own event pipe (no lock shared with others)
    slots: Any  # shared int64 array: the task each worker holds, NO_TASK when none


class EventBatcher:
    """Collects events and sends them to the engine as lists, from a sender thread.

    ``emit`` only appends; the sender thread sends a batch once it holds ``FLUSH_EVENTS``
    events or its oldest event is ``FLUSH_NS`` old, whichever comes first, so a worker busy
    inside a long task still reports its start within ``FLUSH_NS``. One thread does every
    send, so batches leave in order.
    """

    def __init__(self, send: Callable[[list[Event]], None], run_start_ns: int) -> None:
        self._send = send
        self._start = run_start_ns
        self._buffer: list[Event] = []
        self._oldest = 0
        self._urgent = False
        self._closed = False
        self._cond = threading.Condition(threading.Lock())
        self._sender = threading.Thread(target=self._send_loop, name="events", daemon=True)
        self._sender.start()

    def now(self) -> int:
        """Nanoseconds since the run started."""
        return time.monotonic_ns() - self._start

    def emit(self, event: Event) -> None:
        """Queue ``event`` for the next batch."""
        with self._cond:
            if not self._buffer:
                self._oldest = time.monotonic_ns()
                self._cond.notify()
            self._buffer.append(event)
            if len(self._buffer) >= FLUSH_EVENTS:
                self._cond.notify()

    def flush(self) -> None:
        """Send what is buffered now (before the process blocks or waits)."""
        with self._cond:
            if self._buffer:
                self._urgent = True
                self._cond.notify()

    def close(self) -> None:
        """Send everything still buffered and stop the sender (before the process exits)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._sender.join()

    def _send_loop(self) -> None:
        while True:
            with self._cond:
                while not self._buffer and not self._closed:
                    self._cond.wait()
                while not (self._closed or self._urgent or len(self._buffer) >= FLUSH_EVENTS):
                    left = (self._oldest + FLUSH_NS - time.monotonic_ns()) / 1e9
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._buffer, self._urgent = self._buffer, [], False
                closing = self._closed
            if batch:
                self._send(batch)
            if closing:
                with self._cond:
                    if not self._buffer:
                        return


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
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the engine's to handle
    with contextlib.suppress(OSError):
        os.dup2(2, 1)  # C-level prints go where the engine captures stderr
    sys.stdout = _LineToEvents(batcher, worker, "stdout")
    sys.stderr = _LineToEvents(batcher, worker, "stderr")
    return parent


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _get(q: Any, batcher: EventBatcher, parent: int) -> Any:
    """Take the next message, flushing events before blocking; exit if orphaned.

    A plain ``Queue.get()`` waits for data while holding the queue's cross-process read
    lock, so a worker killed while idle would leave the lock taken and every other worker
    stuck. Here a worker waits *outside* the lock (polling the pipe) and holds the lock only
    for ``GRAB_S`` at most while it reads one message.
    """
    try:
        return q.get_nowait()
    except queue.Empty:
        batcher.flush()
    while True:
        if q._reader.poll(IDLE_POLL_S):
            try:
                return q.get(timeout=GRAB_S)
            except queue.Empty:
                continue
        elif _orphaned(parent):
            os._exit(3)


def compute_worker(ctx: ProcessContext) -> None:
    """Task 2/3 compute worker: take tasks until the end sentinel, put results, report."""
    batcher = EventBatcher(ctx.events.send, ctx.run_start_ns)
    parent = _prepare_process(batcher, ctx.worker)
    sc = ctx.scenario
    function = resolve_task_function(sc.function)
    pid = os.getpid()
    batcher.emit(WorkerReady(batcher.now(), ctx.worker, pid))
    batcher.flush()
    while True:
        message: TaskMessage | None = _get(ctx.task_queue, batcher, parent)
        if message is None:
            break
        task, attempt, payload, fail = message
        ctx.slots[ctx.worker] = task
        started = batcher.now()
        batcher.emit(TaskStarted(started, task, ctx.worker, attempt))
        seconds = simulated_seconds(sc.work_time, sc.jitter, sc.seed, task, sc.time_scale)
        try:
            output = run_task(function, payload, seconds, fail or payload in sc.fail_on)
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            finished = batcher.now()
            error = clip(f"{type(exc).__name__}: {exc}")
            ctx.result_queue.put((task, attempt, ctx.worker, False, error, started, finished))
            ctx.slots[ctx.worker] = NO_TASK
            batcher.emit(
                TaskFailed(finished, task, ctx.worker, started, error, clip(text, MAX_TRACEBACK))
            )
            continue
        finished = batcher.now()
        ctx.result_queue.put((task, attempt, ctx.worker, True, output, started, finished))
        ctx.slots[ctx.worker] = NO_TASK
        batcher.emit(TaskDone(finished, task, ctx.worker, started, clip(repr(output))))
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "took the end sentinel"))
    batcher.close()


def print_worker(ctx: ProcessContext) -> None:
    """Task 1: print 1..N with a delay, as the seed's ``worker_print`` does."""
    batcher = EventBatcher(ctx.events.send, ctx.run_start_ns)
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
        time.sleep(sc.print_delay * sc.time_scale)
    ctx.slots[ctx.worker] = NO_TASK
    output = f"printed 1..{sc.print_count}"
    batcher.emit(TaskDone(batcher.now(), ctx.worker, ctx.worker, started, output))
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "finished counting"))
    batcher.close()


def collect_one(
    message: ResultMessage, collector: int, scenario: Scenario, clock: Callable[[], int],
    emit: Callable[[Event], None],
) -> None:
    """Process one result the way the seed's collector does (simulated handling time)."""
    task, attempt, worker, ok, output, _started, _finished = message
    text = clip(repr(output)) if ok else str(output)
    emit(TaskCollecting(clock(), task, collector, worker, attempt, ok, text))
    seconds = scenario.collect_time * scenario.time_scale
    if seconds > 0:
        time.sleep(seconds)
    emit(TaskCollected(clock(), task, collector, ok))


def collector_process(ctx: ProcessContext) -> None:
    """Task 3's dedicated collector: drain the result queue while workers compute."""
    batcher = EventBatcher(ctx.events.send, ctx.run_start_ns)
    parent = _prepare_process(batcher, COLLECTOR)
    batcher.emit(WorkerReady(batcher.now(), COLLECTOR, os.getpid()))
    batcher.flush()
    while True:
        message: ResultMessage | None = _get(ctx.result_queue, batcher, parent)
        if message is None:
            break
        collect_one(message, COLLECTOR, ctx.scenario, batcher.now, batcher.emit)
    batcher.emit(WorkerLoopEnded(batcher.now(), COLLECTOR, "took the end sentinel"))
    batcher.close()

