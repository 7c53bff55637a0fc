"""Where the throughput goes: CPU per task, and the least a task's events can cost.

On a machine where the pipeline keeps every core busy (2 cores: a feeder, two workers and a
collector), throughput is set by the CPU that all processes together spend per task, and the
throughput ratio of two pipelines is the inverse ratio of their CPU per task. This module
measures both pipelines' CPU per task, and the least CPU that the events of one task can cost
in CPython, whatever the engine around them does:

- ``TaskQueued`` made in the main process;
- ``TaskDone`` (from a worker) and ``TaskCollected`` (from the collector) built as wire
  records, batched 64 to a message, pickled, written to a pipe, read, unpickled and decoded
  into events.

That is all measured in one thread, with no locks, clocks, ledger or threads around it, so it
is a floor. It bounds the instrumented/bare ratio from above: ``bare / (bare + floor)`` if the
instrumented pipeline keeps the cores as busy as the bare one does, and a little higher if it
could also use the CPU time the bare pipeline leaves idle (:func:`ratio_ceiling`).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mpscope.core.pipeline.events import TaskCollected, TaskDone, TaskQueued
from mpscope.core.pipeline.wire import decode

BATCH = 64  # records per message, as the workers' EventBatcher sends them


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and by its children that have been joined."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass(frozen=True)
class CpuUse:
    """What one run cost in CPU."""

    us_per_task: float  # CPU microseconds per task, every process of the pipeline together
    cores_busy: float  # CPU seconds per wall-clock second over the run


def cpu_use(run: Callable[[], Any], tasks: int) -> CpuUse:
    """The CPU that ``run`` costs every process of the pipeline together.

    The pipeline's processes must be this process's own children and be joined by the time
    ``run`` returns (the fork start method: under forkserver they are the server's children,
    and their CPU is not counted here)."""
    before, start = cpu_seconds(), time.perf_counter()
    run()
    spent, wall = cpu_seconds() - before, time.perf_counter() - start
    return CpuUse(spent / tasks * 1e6, spent / wall)


def event_floor_us(tasks: int = 100_000) -> float:
    """The least CPU (microseconds) the events of one task cost (see the module's docstring)."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    try:
        start = time.process_time()
        queued = [TaskQueued(i, i, str(i), 1) for i in range(tasks)]
        received: list[Any] = []
        for kind in (TaskDone, TaskCollected):
            batch: list[tuple[Any, ...]] = []
            for i in range(tasks):
                if kind is TaskDone:
                    batch.append((TaskDone, i, i, 0, i, repr(i * i), 1))
                else:
                    batch.append((TaskCollected, i, i, -1, i, 0, 1, True, repr(i * i)))
                if len(batch) == BATCH:
                    writer.send(batch)
                    received.extend(decode(record) for record in reader.recv())
                    batch = []
            if batch:
                writer.send(batch)
                received.extend(decode(record) for record in reader.recv())
        spent = time.process_time() - start
    finally:
        reader.close()
        writer.close()
    assert len(received) == 2 * tasks and len(queued) == tasks
    return spent / tasks * 1e6


def ratio_ceiling(bare: CpuUse, floor_us: float, cores: float | None = None) -> float:
    """The highest instrumented/bare throughput ratio an engine could reach on CPU-bound cores,
    if everything but the events' floor cost nothing.

    With ``cores`` None, the engine keeps the cores as busy as the bare pipeline does: the
    ratio is ``bare / (bare + floor)``. With ``cores`` given, it keeps all of them busy (it
    also uses the CPU time the bare pipeline leaves idle)."""
    busy = bare.cores_busy if cores is None else cores
    return (busy / (bare.us_per_task + floor_us)) / (bare.cores_busy / bare.us_per_task)


def machine_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))
