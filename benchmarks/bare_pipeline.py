"""The same pipeline as mpscope's Task 3 with no instrumentation: the benchmark's baseline.

Feeder (main thread) -> bounded task queue -> N worker processes -> result queue -> one
collector process, which reports the count when it has drained everything, with the times
that bound the run's steady middle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

READY = -1  # the task id of the one message each worker sends when it starts


def bare_worker(task_q: Any, result_q: Any, work_s: float = 0.0) -> None:
    result_q.put((READY, 0, 0, True, 0, 0, 0))  # up and about to take tasks
    while True:
        message = task_q.get()
        if message is None:
            return
        task, attempt, payload, _fail = message
        if work_s > 0:
            time.sleep(work_s)
        result_q.put((task, attempt, 0, True, payload * payload, 0, 0))


def bare_collector(result_q: Any, done_q: Any, workers: int, marks: tuple[int, ...]) -> None:
    """Say when every worker (and this collector) is up; then count results, noting when the
    last came and when the count reached each of ``marks``."""
    count, last_ns, stamps, ready = 0, 0, {}, 0
    while (message := result_q.get()) is not None:
        if message[0] == READY:
            ready += 1
            if ready == workers:
                done_q.put("ready")
            continue
        count += 1
        last_ns = time.monotonic_ns()
        if count in marks:
            stamps[count] = last_ns
    done_q.put((count, last_ns, stamps))


@dataclass(frozen=True)
class BareRun:
    """One bare run: whole-run seconds, steady-state tasks/s, and start-up seconds."""

    seconds: float  # from the first put to the last result collected
    steady_rate: float  # tasks/s between the collections that bound the middle of the run
    started: float  # from creating the queues until every worker and the collector are up


def steady_marks(tasks: int) -> tuple[int, int]:
    """The collection counts that bound the steady middle of a run: 10% in from each end."""
    edge = max(1, tasks // 10)
    return edge, tasks - edge


def steady_rate(tasks: int, collected_ns: dict[int, int]) -> float:
    """Tasks/s between the two :func:`steady_marks`, from the time (ns) each count was reached."""
    first, last = steady_marks(tasks)
    return (last - first) / ((collected_ns[last] - collected_ns[first]) / 1e9)


def run_bare(ctx: Any, workers: int, tasks: int, bound: int, work_s: float = 0.0) -> BareRun:
    """Run ``tasks`` trivial tasks through the bare pipeline and time them.

    The clock starts once every worker and the collector are up, as the instrumented run's
    starts at its first task. Times are read with ``monotonic_ns`` (the machine's clock, the
    same in every process), as the instrumented run's are; neither counts the joins after the
    last collection."""
    t_start = time.perf_counter()
    task_q, result_q, done_q = ctx.Queue(maxsize=bound), ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=bare_worker, args=(task_q, result_q, work_s), daemon=True)
        for _ in range(workers)
    ]
    marks = steady_marks(tasks)
    collector = ctx.Process(
        target=bare_collector, args=(result_q, done_q, workers, marks), daemon=True
    )
    for p in [*procs, collector]:
        p.start()
    assert done_q.get(timeout=60) == "ready"  # the clock starts with every process up
    started = time.perf_counter() - t_start
    t0 = time.monotonic_ns()
    for i in range(tasks):
        task_q.put((i, 1, i, False))
    for _ in procs:
        task_q.put(None)
    for p in procs:
        p.join()
    result_q.put(None)
    count, last_ns, stamps = done_q.get(timeout=60)
    collector.join()
    assert count == tasks, count
    return BareRun((last_ns - t0) / 1e9, steady_rate(tasks, stamps), started)
