"""The same pipeline as mpscope's Task 3 with no instrumentation: the benchmark's baseline.

Feeder (main thread) -> bounded task queue -> N worker processes -> result queue -> one
collector process, which reports the count when it has drained everything.
"""

from __future__ import annotations

import time
from typing import Any


def bare_worker(task_q: Any, result_q: Any, work_s: float = 0.0) -> None:
    while True:
        message = task_q.get()
        if message is None:
            return
        task, attempt, payload, _fail = message
        if work_s > 0 and task >= 0:
            time.sleep(work_s)
        result_q.put((task, attempt, 0, True, payload * payload, 0, 0))


def bare_collector(result_q: Any, done_q: Any) -> None:
    count, last_ns = 0, 0
    while result_q.get() is not None:
        count += 1
        last_ns = time.monotonic_ns()
    done_q.put((count, last_ns))


def run_bare(
    ctx: Any, workers: int, tasks: int, bound: int, work_s: float = 0.0
) -> tuple[float, float]:
    """Run ``tasks`` trivial tasks; returns (seconds from first put to last collected, start s).

    The end is when the collector took the last result (its clock: ``monotonic_ns`` is the
    machine's), as the instrumented run's end is its last collection: neither counts the
    joins after it."""
    t_start = time.perf_counter()
    task_q, result_q, done_q = ctx.Queue(maxsize=bound), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=bare_worker, args=(task_q, result_q, work_s), daemon=True)
             for _ in range(workers)]
    collector = ctx.Process(target=bare_collector, args=(result_q, done_q), daemon=True)
    for p in [*procs, collector]:
        p.start()
    # wait until every process is up (a round trip through each worker)
    for _ in procs:
        task_q.put((-1, 1, 0, False))
    started = time.perf_counter() - t_start
    t0 = time.monotonic_ns()
    for i in range(tasks):
        task_q.put((i, 1, i, False))
    for _ in procs:
        task_q.put(None)
    for p in procs:
        p.join()
    result_q.put(None)
    count, last_ns = done_q.get(timeout=60)
    elapsed = (last_ns - t0) / 1e9
    collector.join()
    assert count == tasks + workers, count
    return elapsed, started
