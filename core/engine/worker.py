"""The code that runs inside worker and collector processes: their main loops.

This module is what forkserver preloads, so it imports only what a worker needs. Each process:

- reports through an :class:`~.reporting.EventBatcher` and stamps its events with the run's
  :class:`~.reporting.RunClock` (see :mod:`.reporting`);
- writes the id of the task it holds into a shared slot, so the engine knows what a killed
  worker was doing even when its last events died with it;
- turns what it prints into events (Task 1's lines are data), so nothing is drawn over the UI;
- asks the kernel to kill it when its parent dies, and checks its parent while idle, so no
  worker outlives the program; it leads a session (and process group) of its own, which the
  engine kills once the process has ended, so what a task started ends with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mpscope.core.engine.child_output import capture_process_output
from mpscope.core.engine.child_signals import drop_inherited_handlers
from mpscope.core.engine.collecting import collect_one, seed_received_line
from mpscope.core.engine.collector_failure import failure_event, raise_if_unreadable
from mpscope.core.engine.orphans import (
    become_subreaper,
    end_own_descendants,
    mark_as_run_process,
)
from mpscope.core.engine.pitfalls import explain
from mpscope.core.engine.queue_take import QueueTaker
from mpscope.core.engine.reporting import EventBatcher, LineToEvents, RunClock
from mpscope.core.engine.result_channels import (
    ResultReader,
    ResultsDrained,
    ResultSender,
    pickle_result,
)
from mpscope.core.engine.tensors import MAX_HELD, SentKeeper, acknowledge, set_sharing_strategy
from mpscope.core.loading import exception_line
from mpscope.core.pipeline.bulk import CollectedRows, DoneRows
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAX_TEXT,
    MAX_TRACEBACK,
    Note,
    PrintedLine,
    TaskDone,
    TaskFailed,
    TaskStarted,
    WorkerLoopEnded,
    WorkerReady,
    clip,
)
from mpscope.core.pipeline.ledger import TaskMessage
from mpscope.core.pipeline.scenario import Mode, Scenario
from mpscope.core.pipeline.tasks import (
    load_result_types,
    resolve_task_function,
    run_task,
    simulated_seconds,
    square,
)
from mpscope.core.pipeline.values import describe_value, shared_tensor_bytes
from mpscope.core.pipeline.wire import Record

with warnings.catch_warnings():  # torch without NumPy warns; nothing to tell a worker's user
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch.multiprocessing  # noqa: F401  (registers the reductions that share tensors)

IDLE_POLL_S = 0.5
#: how long a process waits for more work before it sends its events and waits on: under load
#: the next task comes within microseconds, and a send per short wait cost more than the work
SETTLE_S = 0.002
NO_TASK = -1


@dataclass(frozen=True, slots=True)
class ProcessContext:
    """What every run process receives (all picklable)."""

    worker: int
    scenario: Scenario
    run_start: Any  # shared int64: the run's start (monotonic ns); see RunClock
    task_queue: Any
    #: a worker: the write end of its own result channel; the collector: every worker's read
    #: end, by worker (see :mod:`.result_channels`)
    results: Any
    events: Any  # the write end of this process's own event pipe (no lock shared with others)
    slots: Any  # shared int64 array: the task each worker holds, NO_TASK when none
    time_scale: Any  # shared double: the speed control, read before each piece of work
    fail_next: Any  # shared int with a lock: how many of the next tasks taken must raise
    received: Any  # shared int64 array: results of each worker its consumer received
    fill: Any = None  # --function fill-shared: the one shared tensor (see .shared_fill)
    main_pid: int = 0  # mpscope's main process: what a task starts is marked as its run's


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _keep_inherited_fds_from_helpers() -> None:
    """Mark every inherited fd close-on-exec. A spawn child inherits the write end of the pipe
    whose closing tells the engine it died; torch_shm_manager (started by the first
    ``file_system`` tensor) would inherit it too, and the child's death would go unseen."""
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError, ValueError):
            if int(name) > 2:
                os.set_inheritable(int(name), False)


def _prepare_process(batcher: EventBatcher, worker: int, main_pid: int) -> int:
    """Common start of every run process; returns the parent PID to watch."""
    parent = os.getppid()
    _keep_inherited_fds_from_helpers()
    _die_with_parent()
    with contextlib.suppress(OSError):  # its own session and process group: the engine ends
        os.setsid()  # the group, so what a task starts does not outlive the run
    become_subreaper()  # and what leaves the group stays below this process (see .orphans)
    mark_as_run_process(main_pid)  # inherited by what tasks start: known as the run's later
    gc.freeze()  # torch's many objects: out of the way of every later garbage collection
    drop_inherited_handlers()  # a forked child must not run the app's (see .child_signals)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the engine's to handle
    capture_process_output(
        lambda line: batcher.emit(PrintedLine(batcher.now(), worker, clip(line), "stderr"))
    )
    sys.stdout = LineToEvents(batcher, worker, "stdout")
    sys.stderr = LineToEvents(batcher, worker, "stderr")
    return parent


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _get(taker: QueueTaker, batcher: EventBatcher, parent: int) -> Any:
    """Take the next message, flushing events before waiting (more than ``SETTLE_S``); exit
    if orphaned."""
    ok, message = taker.take()  # under load a message is waiting: no poll before taking
    if ok:
        return message
    if taker.ready(SETTLE_S):
        ok, message = taker.take()
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
    value = counter.get_obj()  # its ``.value`` would take the (not re-entrant) lock again
    with counter.get_lock():
        if value.value > 0:
            value.value -= 1
            return True
    return False


def _report_crash(ctx: ProcessContext, exc: BaseException) -> None:
    """Tell the engine why this process is about to die (its stderr is not on screen): the
    collector's failure is the run's (an event with its traceback), a worker's is a note."""
    with contextlib.suppress(Exception):
        t = RunClock(ctx.run_start).now()
        if ctx.worker == COLLECTOR:
            sharing = ctx.scenario.sharing
            ctx.events.send([failure_event(t, COLLECTOR, os.getpid(), exc, sharing)])
            return
        text = "".join(traceback.format_exception(exc))
        ctx.events.send([Note(t, "error", clip(f"process crashed: {text}", MAX_TRACEBACK))])


def _reporting_crashes(body: Callable[[ProcessContext], None], ctx: ProcessContext) -> None:
    """Run a process's body; if it crashes, tell the engine why, then let it die."""
    try:
        body(ctx)
    except BaseException as exc:
        _report_crash(ctx, exc)
        raise
    finally:  # what its tasks started and left running ends with it (it is a subreaper)
        end_own_descendants()


def compute_worker(ctx: ProcessContext) -> None:
    """Task 2/3 compute worker: see :func:`_compute`."""
    _reporting_crashes(_compute, ctx)


def _compute(ctx: ProcessContext) -> None:
    """Take tasks until the end sentinel, put results, report."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now, DoneRows(), ctx.worker)
    parent = _prepare_process(batcher, ctx.worker, ctx.main_pid)
    sc = ctx.scenario
    set_sharing_strategy(sc.sharing)
    fill = ctx.fill  # the one shared tensor whose slices the tasks fill in place, or None
    function = (
        square
        if fill is not None
        else resolve_task_function(sc.function, sc.tensor_size, sc.device)
    )
    # what was sent lives until received; Task 2 collects only once every worker left its
    # loop, so a limit there would wait for a collector that waits for it
    held = MAX_HELD if sc.mode == Mode.PIPELINE else sys.maxsize
    keeper = SentKeeper(ctx.received, ctx.worker, held)
    tasks = QueueTaker(ctx.task_queue)
    pid = os.getpid()
    batcher.emit(WorkerReady(batcher.now(), ctx.worker, pid))
    batcher.flush()
    # the loop runs once per task: what it uses is looked up once, here
    sender = ResultSender(ctx.results)
    worker, slots, put, clock, t0, sleep = (
        ctx.worker,
        ctx.slots,
        sender.put,
        time.monotonic_ns,
        ctx.run_start,  # shared: a pause moves it on (RunClock, inlined)
        run_clock.sleep,
    )
    begin, end, end_row = batcher.begin, batcher.end, batcher.end_row
    scale, fail_next = ctx.time_scale, ctx.fail_next
    failing = fail_next.get_obj()  # read without its lock; taken only when it says yes
    while True:
        message: TaskMessage | None = _get(tasks, batcher, parent)
        if message is None:
            break
        task, attempt, payload, fail = message
        slots[worker] = task
        started = clock() - t0.value
        begin((TaskStarted, started, task, worker, attempt))
        report: Record | None = None  # None: done, and reported as a quick task if it was one
        try:
            fail = fail or (failing.value > 0 and _take_injected_failure(fail_next))
            seconds = simulated_seconds(sc.work_time, sc.jitter, sc.seed, task, scale.value)
            call = function if fill is None else functools.partial(fill.write, task)
            value = run_task(call, payload, seconds, fail, sleep)
            finished = clock() - t0.value
            # pickled here, inside the task: a result that cannot travel is the task's failure
            data = pickle_result((task, attempt, worker, True, value, started, finished))
            text = describe_value(value) if fill is None else f"slice {task} written in place"
            crossed = len(data)  # what crossed: measured, the pickled message itself
            tensor = shared_tensor_bytes(value)
        except BaseException as exc:  # whatever the task raised is its failure, not the worker's
            finished = clock() - t0.value
            value = None
            data, report = _failure(exc, task, attempt, worker, started, finished, sc.sharing)
        put(data)
        keeper.sent(value, lambda: _orphaned(parent))  # a tensor lives until it is received
        # reported (sent, for a task longer than a flush) before the slot clears, so a kill in
        # between still finds the task by one or other; a quick one as a row of the bulk
        if report is not None:
            end(report)
        elif not end_row(finished, task, attempt, started, finished, text, crossed, tensor):
            end((TaskDone, finished, task, worker, started, text, attempt, crossed, tensor))
        slots[worker] = NO_TASK
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "took the end sentinel"))
    batcher.flush()
    sender.close(lambda: not _orphaned(parent), IDLE_POLL_S)  # everything sent is written
    keeper.wait_until_received(lambda: _orphaned(parent))  # its tensors need it alive
    batcher.close()


def _failure(
    exc: BaseException,
    task: int,
    attempt: int,
    worker: int,
    started: int,
    finished: int,
    sharing: str,
) -> tuple[bytes, Record]:
    """The result message and the report of a task that raised ``exc`` (any exception, even
    one whose ``__str__`` raises, or a result that cannot be pickled); a known tensor pitfall
    behind it (running out of file descriptors) is said after the exception's line."""
    note = explain(exc, sharing)
    line = exception_line(exc)
    value = clip(f"{clip(line, MAX_TEXT - len(note) - 3)} — {note}") if note else clip(line)
    try:
        text = clip("".join(traceback.format_exception(exc)), MAX_TRACEBACK)
    except BaseException:  # a traceback that cannot be formatted
        text = value
    data = pickle_result((task, attempt, worker, False, value, started, finished))
    return data, TaskFailed(finished, task, worker, started, value, text, attempt)


def print_worker(ctx: ProcessContext) -> None:
    """Task 1 worker: see :func:`_print_counts`."""
    _reporting_crashes(_print_counts, ctx)


def _print_counts(ctx: ProcessContext) -> None:
    """Print 1..N with a delay, as the seed's ``worker_print`` does."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now)
    _prepare_process(batcher, ctx.worker, ctx.main_pid)
    sc = ctx.scenario
    pid = os.getpid()
    batcher.emit(WorkerReady(batcher.now(), ctx.worker, pid))
    ctx.slots[ctx.worker] = ctx.worker
    started = batcher.now()
    batcher.emit(TaskStarted(started, ctx.worker, ctx.worker, 1))
    batcher.flush()
    word = "计数" if sc.lang == "zh" else "count"  # the seed's own line, in its language
    for count in range(1, sc.print_count + 1):
        print(f"[Worker {ctx.worker}] PID={pid} | {word}={count}")
        batcher.flush()
        run_clock.sleep(sc.print_delay * ctx.time_scale.value)
    ctx.slots[ctx.worker] = NO_TASK
    output = f"printed 1..{sc.print_count}"
    batcher.emit(TaskDone(batcher.now(), ctx.worker, ctx.worker, started, output))
    batcher.emit(WorkerLoopEnded(batcher.now(), ctx.worker, "finished counting"))
    batcher.close()


def collector_process(ctx: ProcessContext) -> None:
    """Task 3's dedicated collector: see :func:`_collect`. If it fails it says why (with its
    traceback) and exits with code 1, printing nothing."""
    try:
        _collect(ctx)
    except Exception as exc:
        _report_crash(ctx, exc)
        sys.exit(1)


def _collect(ctx: ProcessContext) -> None:
    """Drain the result queue while workers compute."""
    run_clock = RunClock(ctx.run_start)
    batcher = EventBatcher(ctx.events.send, run_clock.now, CollectedRows(), COLLECTOR)
    parent = _prepare_process(batcher, COLLECTOR, ctx.main_pid)
    set_sharing_strategy(ctx.scenario.sharing)
    # the user's module, loaded as the workers load it, so the types its results are made of
    # unpickle here too
    load_result_types(ctx.scenario.function)
    results = ResultReader(ctx.results)
    batcher.emit(WorkerReady(batcher.now(), COLLECTOR, os.getpid()))
    batcher.flush()
    sc, scale, now, begin, end, end_row = (
        ctx.scenario,
        ctx.time_scale,
        batcher.now,
        batcher.begin,
        batcher.end,
        batcher.end_row,
    )
    received = 0  # results collected so far (the seed's Chinese lines count them)
    while results.open:  # until every worker's channel reached its end
        batch, ended = results.take(0)
        if not batch and not ended:
            batch, ended = results.take(SETTLE_S)
        if not batch and not ended:
            batcher.flush()
            batch, ended = results.take(IDLE_POLL_S)
            if not batch and not ended and _orphaned(parent):
                os._exit(3)
        for message in batch:  # each received, readable or not: its worker may let it go
            acknowledge(ctx.received, message)
        try:
            for message in batch:
                raise_if_unreadable(message)
                collect_one(
                    message, COLLECTOR, sc, scale.value, now, begin, end, run_clock.sleep, end_row
                )
                if sc.lang == "zh":  # the seed's collector says what it received, in Chinese
                    received += 1
                    print(seed_received_line(message, received, sc.task_total))
        except Exception:
            batcher.close()  # what it collected before it failed is said first
            raise
        for worker in ended:
            batcher.emit((ResultsDrained, now(), worker))
    batcher.emit(WorkerLoopEnded(batcher.now(), COLLECTOR, "every worker's results were read"))
    batcher.close()
