"""The :class:`~.state.RunState` fold of bulk events (:mod:`.bulk`): many quick tasks at a time.

Each function leaves the state as folding the bulk's one-by-one events would (the property
tests check it), in a fixed number of steps plus loops the C level runs: counters grow by
sums and counts over the arrays, dicts are updated from zipped columns, and a lane builds bars
only for the tasks its window of recent bars keeps.
"""

from __future__ import annotations

import collections
import itertools
from typing import TYPE_CHECKING, Any

from mpscope.core.pipeline.bulk import TasksCollected, TasksDone, TasksQueued
from mpscope.core.pipeline.lanes import RECENT_BARS, Bar, LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.shared_fill import FILL_SHARED

if TYPE_CHECKING:
    from array import array

    from mpscope.core.pipeline.state import RunState


def _pop_each(table: dict[int, Any], keys: array[int]) -> int:
    """Remove ``keys`` from ``table`` (those present); how many were there."""
    before = len(table)
    collections.deque(map(table.pop, keys, itertools.repeat(None, len(keys))), maxlen=0)
    return before - len(table)


def _labels(state: RunState, tasks: array[int]) -> list[str]:
    labels = state.labels
    return [labels[t] if t in labels else str(t) for t in tasks]


def _recent_bars(state: RunState, e: TasksDone | TasksCollected, ok: bool | None) -> list[Bar]:
    """The bars of the last tasks of ``e`` a lane keeps (``ok`` None: each its own)."""
    first = max(0, len(e.tasks) - RECENT_BARS)
    tasks = e.tasks[first:]
    oks = itertools.repeat(ok) if ok is not None else map(bool, e.oks[first:])  # type: ignore[union-attr]
    return [
        Bar(task, label, start, end, task_ok)
        for task, label, start, end, task_ok in zip(
            tasks, _labels(state, tasks), e.starts[first:], e.ends[first:], oks, strict=False
        )  # (``oks`` may repeat without end)
    ]


def fold_tasks_queued(state: RunState, e: TasksQueued) -> None:
    """Several tasks entered the task queue."""
    labelled = dict(zip(e.tasks, e.labels, strict=True))
    state.labels.update(labelled)
    state.task_queue.update(labelled)
    state.queued += e.attempts.count(1)


def fold_tasks_done(state: RunState, e: TasksDone) -> None:
    """A worker finished several quick tasks."""
    if not e.tasks:
        return
    state.done += len(e.tasks)
    state.crossed += sum(e.crossed)
    if e.tensor_bytes.count(0) != len(e.tensor_bytes):
        with_tensor = [(c, b) for c, b in zip(e.crossed, e.tensor_bytes, strict=True) if b]
        state.tensor_results += len(with_tensor)
        state.tensor_bytes += sum(b for _, b in with_tensor)
        state.tensor_crossed += sum(c for c, _ in with_tensor)
    if state.scenario is not None and state.scenario.function == FILL_SHARED:
        state.slice_writers.update(dict.fromkeys(e.tasks, e.worker))
    lane = state._lane(e.worker)
    held = lane.task  # the task whose start was said, if it is one of these
    queue = state.task_queue
    kept = queue.pop(held) if held is not None and held in e.tasks and held in queue else None
    state.started += _pop_each(queue, e.tasks)  # quick ones: no start of their own
    if kept is not None and held is not None:  # (its start took it off the queue, if anything)
        queue[held] = kept
    lane.bars.extend(_recent_bars(state, e, True))
    lane.busy_ns += sum(e.ends) - sum(e.starts)
    state._worked(min(e.starts), max(e.ends))
    lane.done += len(e.tasks)
    if held is not None and held in e.tasks:
        lane.task, lane.task_label = None, ""
        if lane.status == LaneStatus.BUSY:
            lane.status, lane.since = LaneStatus.IDLE, e.ends[e.tasks.index(held)]
    if state.mode in (Mode.PIPELINE, Mode.COLLECT_AFTER):
        labels = _labels(state, e.tasks)
        state.result_queue.update(zip(e.tasks, ((label, True) for label in labels), strict=True))
    else:
        _pop_each(state.labels, e.tasks)


def fold_tasks_collected(state: RunState, e: TasksCollected) -> None:
    """The collector finished several quick results."""
    if not e.tasks:
        return
    state.collected += len(e.tasks)
    _pop_each(state.result_queue, e.tasks)
    lane = state._lane(e.collector)
    lane.bars.extend(_recent_bars(state, e, None))
    lane.busy_ns += sum(e.ends) - sum(e.starts)
    state._worked(min(e.starts), max(e.ends))
    lane.done += len(e.tasks)
    lane.status, lane.task, lane.task_label, lane.since = LaneStatus.IDLE, None, "", e.ends[-1]
    _pop_each(state.labels, e.tasks)
