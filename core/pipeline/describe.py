"""Events in words: one short sentence per event, for the plain output and the event log.

Uses the state *before* the event is applied (for labels and PIDs), so call it first, then
``state.apply(event)``. Returns None for events not worth a line (there are many ``queued``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mpscope.core.pipeline.bulk import TasksCollected, TasksDone, TasksQueued
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    CollectorFailed,
    Event,
    FeederBlocked,
    Note,
    PrintedLine,
    RunFinished,
    RunPaused,
    RunStarted,
    SharedTensorRead,
    SourceExhausted,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
    WorkerLoopEnded,
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.values import size_text
from mpscope.core.words import counted


def who(state: RunState, worker: int, said: str = "") -> str:
    """``worker 1 (PID 4085)``, ``collector (PID 4087)``, ``main (PID 4079)``; just the name
    when ``said`` (the line it printed) names the PID already (the seed's ``PID=4085``)."""
    lane = state.lanes.get(worker)
    name = {COLLECTOR: "collector", MAIN: "main"}.get(worker, f"worker {worker}")
    if not (lane and lane.pid) or re.search(rf"(?<!\d){lane.pid}(?!\d)", said):
        return name
    return f"{name} (PID {lane.pid})"


def describe(event: Event, state: RunState, verbose: bool = False) -> str | None:
    """A sentence for ``event``, or None if it is routine and ``verbose`` is off."""
    label = state.labels.get(getattr(event, "task", -1), str(getattr(event, "task", "")))
    match event:
        case RunStarted():
            return f"run started: {event.mode}, {event.start_method}, {event.workers} workers"
        case Note():
            return f"{event.level}: {event.text}"
        case WorkerSpawned():
            name = f"worker {event.worker}" if event.worker >= 0 else event.role
            return f"{name} process started, PID {event.pid}"
        case WorkerReady():
            return f"{who(state, event.worker)} is ready"
        case WorkerLoopEnded():
            return f"{who(state, event.worker)} {event.reason}"
        case WorkerExited():
            return f"{who(state, event.worker)} exited: {event.reason}"
        case FeederBlocked():
            if event.blocked:
                return f"task queue full: feeder waits with task {event.label}"
            return "feeder resumed" if verbose else None
        case SourceExhausted():
            if state.mode == Mode.PRINT:  # Task 1's "tasks" are the workers' counts: no source
                return None
            if event.error:
                return f"task source raised after {counted(event.total, 'task')}: {event.error}"
            return f"task source exhausted after {counted(event.total, 'task')}"
        case TaskQueued():
            if event.attempt > 1:
                return f"task {event.label} queued again (attempt {event.attempt})"
            return f"task {event.label} queued" if verbose else None
        case TaskStarted():
            return f"{who(state, event.worker)} took task {label}"
        case TaskDone():
            crossed = f" · crossed as {size_text(event.crossed)}" if event.tensor_bytes else ""
            return f"{who(state, event.worker)} finished task {label} → {event.output}{crossed}"
        case TaskFailed():
            return f"{who(state, event.worker)} task {label} FAILED: {event.error}"
        case TaskCollecting():
            return f"{who(state, event.collector)} collecting task {label}" if verbose else None
        case TaskCollected():
            return f"{who(state, event.collector)} collected task {label}"
        case CollectorFailed():
            return collector_failed_line(event)
        case TaskRequeued():
            return f"task {label} re-queued after {who(state, event.worker)} died"
        case TaskLost():
            return f"task {label} LOST: {event.reason}"
        case PrintedLine():
            prefix = "" if event.stream == "stdout" else "stderr "
            return f"{prefix}{who(state, event.worker, event.text)}: {event.text}"
        case RunPaused():
            return "paused" if event.paused else "resumed"
        case SharedTensorRead():
            return (
                f"the main process read the shared tensor ({size_text(event.nbytes)}, never "
                f"sent): {event.right} of {counted(event.slices, 'slice')} right, "
                f"{event.wrong} wrong, {event.unwritten} never written"
            )
        case RunFinished():
            return f"run {event.outcome}: {event.message}"
        case TasksQueued():
            again = len(event) - event.attempts.count(1)
            if not again and not verbose:
                return None
            return f"{counted(len(event), 'task')} queued: {_some(event.labels)}" + (
                f" ({again} again)" if again else ""
            )
        case TasksDone():
            return (
                f"{who(state, event.worker)} finished {counted(len(event), 'quick task')}: "
                + _some(_Labels(state, event.tasks), event.outputs)
            )
        case TasksCollected():
            return (
                f"{who(state, event.collector)} collected {counted(len(event), 'quick task')}: "
                + _some(_Labels(state, event.tasks))
            )
    return None


#: how many tasks of a bulk event its line names, at each end
NAMED_AT_EACH_END = 2


class _Labels(Sequence[str]):
    """The labels of ``tasks``, looked up only for the few a line names."""

    def __init__(self, state: RunState, tasks: Sequence[int]) -> None:
        self._labels, self._tasks = state.labels, tasks

    def __len__(self) -> int:
        return len(self._tasks)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        task = self._tasks[i]
        return self._labels.get(task, str(task))


def _some(names: Sequence[str], outputs: Sequence[str] = ()) -> str:
    """``3, 4 … 66, 67`` (with `` → output`` after each when given)."""

    def one(i: int) -> str:
        return f"{names[i]} → {outputs[i]}" if outputs else names[i]

    n = len(names)
    if n <= 2 * NAMED_AT_EACH_END + 1:
        return ", ".join(one(i) for i in range(n))
    head = ", ".join(one(i) for i in range(NAMED_AT_EACH_END))
    tail = ", ".join(one(i) for i in range(n - NAMED_AT_EACH_END, n))
    return f"{head} … {tail}"


def collector_failed_line(event: CollectorFailed) -> str:
    """``collector (PID 4087) FAILED: RuntimeError: …``, and what the pitfall means."""
    name = "collector" if event.worker == COLLECTOR else "main process's collecting thread"
    line = f"{name} (PID {event.pid}) FAILED: {event.error}"
    return f"{line} — {event.explanation}" if event.explanation else line


def traceback_lines(event: CollectorFailed) -> list[str]:
    """The collector's traceback, indented, for ``--plain`` (the app shows it on ``e``)."""
    return [f"    {line}" for line in event.traceback.rstrip("\n").splitlines()]
