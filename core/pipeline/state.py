"""RunState: everything a view shows about a run, as a pure fold of events.

``RunState.apply(event)`` is the only way state changes, so a live run and the replay of its
recording produce the same state. Queue contents are derived from events (queued − started,
done − collected), never sampled. Memory is bounded: only tasks in flight are kept, plus a
fixed window of recent bars per lane, recent failures and recent printed lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final

from mpscope.core.pipeline.bulk import TasksCollected, TasksDone, TasksQueued
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    SESSION_EVENTS,
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
    SpeedChanged,
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
from mpscope.core.pipeline.lanes import Bar, CollectorFailure, Failure, Lane, LaneStatus
from mpscope.core.pipeline.scenario import Mode, Scenario, ScenarioError
from mpscope.core.pipeline.shared_fill import FILL_SHARED
from mpscope.core.pipeline.state_bulk import (
    fold_tasks_collected,
    fold_tasks_done,
    fold_tasks_queued,
)

RECENT_LINES: Final = 200
RECENT_FAILURES: Final = 100
RECENT_NOTES: Final = 100


class RunState:
    """The fold. Create it empty, then ``apply`` events in order."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.revision = 0
        self.scenario: Scenario | None = None
        self.mode: Mode | str = ""  # no run yet
        self.start_method = ""
        self.main_pid = 0
        self.now = 0
        self.lanes: dict[int, Lane] = {}
        self.task_queue: dict[int, str] = {}
        self.result_queue: dict[int, tuple[str, bool]] = {}
        self.labels: dict[int, str] = {}
        self.queued = 0
        self.requeued = 0
        self.started = 0
        self.done = 0
        self.failed = 0
        self.lost = 0
        self.collected = 0
        self.source_total: int | None = None
        self.source_exhausted = False  # the generator ran dry (not: the run stopped first)
        self.source_error = ""  # what the generator raised, if it ended that way
        #: the run's working span: from the first task's start to the last result (ns)
        self.work_from: int | None = None
        self.work_to = 0
        self.feeder_blocked = False
        self.feeder_label = ""
        self.paused = False
        self.time_scale = 1.0
        self.outcome = ""
        self.outcome_message = ""
        self.failures: deque[Failure] = deque(maxlen=RECENT_FAILURES)
        #: the collector's failure, if it failed (the run then ends in error)
        self.collector_failure: CollectorFailure | None = None
        self.lost_tasks: deque[tuple[int, str, str]] = deque(maxlen=RECENT_FAILURES)
        self.notes: deque[tuple[int, str, str]] = deque(maxlen=RECENT_NOTES)
        self.printed: deque[tuple[int, int, str]] = deque(maxlen=RECENT_LINES)
        #: what the results weighed: bytes of the pickled result messages that crossed (all
        #: done tasks), and of tensor results, how many, their data and what crossed for them
        self.crossed = 0
        self.tensor_results = 0
        self.tensor_bytes = 0
        self.tensor_crossed = 0
        #: --function fill-shared: task (slice) -> the worker whose report says it wrote it
        self.slice_writers: dict[int, int] = {}
        #: --function fill-shared: the main process's read of the tensor, once every worker left
        self.shared_read: SharedTensorRead | None = None

    # -- derived figures -------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once the engine reported the run over."""
        return bool(self.outcome)

    @property
    def settled(self) -> int:
        """Tasks with an outcome: done + failed + lost."""
        return self.done + self.failed + self.lost

    @property
    def total(self) -> int | None:
        """The number of tasks, once known (the source is exhausted), else None."""
        return self.source_total

    def workers(self) -> list[Lane]:
        """Compute-worker lanes in worker order."""
        return [lane for key, lane in sorted(self.lanes.items()) if key >= 0]

    def timeline_start(self) -> int:
        """The shared left edge of every lane's timeline: when the first process was ready."""
        ready = [lane.ready_at for lane in self.lanes.values() if lane.ready_at is not None]
        return min(ready) if ready else 0

    @property
    def collector_waiting(self) -> bool:
        """Task 2: the main process has not started collecting yet."""
        lane = self.lanes.get(MAIN)
        return lane is not None and lane.status == LaneStatus.WAITING

    def collector(self) -> Lane | None:
        """The collector lane (a process in Task 3, the main process in Task 2)."""
        return self.lanes.get(COLLECTOR) or self.lanes.get(MAIN)

    def process_lanes(self) -> list[Lane]:
        """The lanes a summary or timeline lists: the workers in order, then the collector."""
        collector = self.collector()
        return [*self.workers(), *([collector] if collector is not None else [])]

    # -- the fold --------------------------------------------------------------------------

    def apply_all(self, events: Iterable[Event]) -> RunState:
        """Apply events in order; returns self for chaining."""
        for event in events:
            self.apply(event)
        return self

    def apply(self, event: Event) -> None:
        """Fold one event into the state (the session's own events leave it as it is)."""
        if type(event) in SESSION_EVENTS:
            return
        self.revision += 1
        if event.t > self.now:
            self.now = event.t
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _lane(self, worker: int) -> Lane:
        lane = self.lanes.get(worker)
        if lane is None:
            role = "worker" if worker >= 0 else ("collector" if worker == COLLECTOR else "main")
            lane = self.lanes[worker] = Lane(worker, role)
        return lane

    def _label(self, task: int) -> str:
        return self.labels.get(task, str(task))

    def _on_run_started(self, e: RunStarted) -> None:
        self._reset()
        self.revision = 1
        self.mode, self.start_method, self.main_pid = e.mode, e.start_method, e.main_pid
        try:
            self.scenario = Scenario.from_json(e.scenario)
            self.time_scale = self.scenario.time_scale
        except ScenarioError:
            self.scenario = None

    def _on_note(self, e: Note) -> None:
        self.notes.append((e.t, e.level, e.text))

    def _on_spawned(self, e: WorkerSpawned) -> None:
        lane = self._lane(e.worker)
        lane.pid, lane.role, lane.status, lane.since = e.pid, e.role, LaneStatus.STARTING, e.t
        if e.role == "main":
            lane.status, lane.ready_at = LaneStatus.WAITING, e.t

    def _on_ready(self, e: WorkerReady) -> None:
        lane = self._lane(e.worker)
        lane.pid = e.pid
        if lane.ready_at is None:  # Task 2's main process counts from when it began to wait,
            lane.ready_at = e.t  # so its utilisation shows the time it spent waiting
        if lane.status == LaneStatus.STARTING:
            lane.status, lane.since = LaneStatus.IDLE, e.t

    def _on_loop_ended(self, e: WorkerLoopEnded) -> None:
        lane = self._lane(e.worker)
        if lane.status not in (LaneStatus.EXITED, LaneStatus.KILLED):
            lane.status, lane.since, lane.exit_reason = LaneStatus.EXITING, e.t, e.reason

    def _on_exited(self, e: WorkerExited) -> None:
        lane = self._lane(e.worker)
        if lane.task is not None:  # it died in the middle of a task
            self._cut_short(lane, lane.task, e.t)
        elif lane.status == LaneStatus.BUSY:
            lane.busy_ns += e.t - lane.since
        lane.pid = lane.pid or e.pid
        lane.status = LaneStatus.KILLED if e.signal else LaneStatus.EXITED
        lane.exitcode, lane.signal, lane.exit_reason = e.exitcode, e.signal, e.reason
        lane.exited_at, lane.since, lane.task = e.t, e.t, None

    def _on_feeder(self, e: FeederBlocked) -> None:
        self.feeder_blocked = e.blocked
        self.feeder_label = e.label

    def _on_exhausted(self, e: SourceExhausted) -> None:
        self.source_total = e.total
        self.source_exhausted = not e.error
        self.source_error = e.error

    def _on_queued(self, e: TaskQueued) -> None:
        self.labels[e.task] = e.label
        self.task_queue[e.task] = e.label
        if e.attempt == 1:
            self.queued += 1

    def _cut_short(self, lane: Lane, task: int, t: int) -> None:
        """The lane's worker died in the middle of ``task``: draw what it did of it."""
        if lane.task != task:
            return
        if lane.status == LaneStatus.BUSY:
            lane.bars.append(Bar(task, self._label(task), lane.since, t, False, killed=True))
            lane.busy_ns += max(0, t - lane.since)
            lane.status, lane.since = (
                LaneStatus.IDLE,
                t,
            )  # its exit comes next (it adds no busy time)
        lane.task = None

    def _take_back_outcome(self, task: int) -> None:
        """A finished task whose result never reached the collector (it died with its
        worker) is re-queued or lost: its done or failed is taken back."""
        waiting = self.result_queue.pop(task, None)
        if waiting is not None:
            if waiting[1]:
                self.done -= 1
            else:
                self.failed -= 1

    def _on_requeued(self, e: TaskRequeued) -> None:
        self.requeued += 1
        self._take_back_outcome(e.task)
        lane = self.lanes.get(e.worker)
        if lane is not None:
            lane.fate = f"task {self._label(e.task)} re-queued"
            self._cut_short(lane, e.task, e.t)

    def _on_started(self, e: TaskStarted) -> None:
        self.task_queue.pop(e.task, None)
        self.started += 1
        lane = self._lane(e.worker)
        if lane.status in (
            LaneStatus.EXITED,
            LaneStatus.KILLED,
        ):  # a start reported after the death
            return
        lane.status, lane.task, lane.since = LaneStatus.BUSY, e.task, e.t
        lane.task_label = self._label(e.task)
        self._worked(e.t, e.t)

    def _worked(self, start: int, end: int) -> None:
        """Widen the working span to cover ``start``..``end``."""
        if self.work_from is None or start < self.work_from:
            self.work_from = start
        self.work_to = max(self.work_to, end)

    def _finish_on_lane(self, worker: int, task: int, start: int, end: int, ok: bool) -> None:
        lane = self._lane(worker)
        if lane.task != task and task in self.task_queue:  # a quick task: no separate start
            del self.task_queue[task]
            self.started += 1
        lane.bars.append(Bar(task, self._label(task), start, end, ok))
        lane.busy_ns += max(0, end - start)
        self._worked(start, end)
        if ok:
            lane.done += 1
        else:
            lane.failed += 1
        if lane.task == task:
            lane.task, lane.task_label = None, ""
            if lane.status == LaneStatus.BUSY:
                lane.status, lane.since = LaneStatus.IDLE, end

    def _after_outcome(self, task: int, ok: bool) -> None:
        if self.mode in (Mode.PIPELINE, Mode.COLLECT_AFTER):
            self.result_queue[task] = (self._label(task), ok)
        else:
            self.labels.pop(task, None)

    def _on_done(self, e: TaskDone) -> None:
        self.done += 1
        self.crossed += e.crossed
        if e.tensor_bytes:
            self.tensor_results += 1
            self.tensor_bytes += e.tensor_bytes
            self.tensor_crossed += e.crossed
        if self.scenario is not None and self.scenario.function == FILL_SHARED:
            self.slice_writers[e.task] = e.worker
        self._finish_on_lane(e.worker, e.task, e.started, e.t, True)
        self._after_outcome(e.task, True)

    def _on_failed(self, e: TaskFailed) -> None:
        self.failed += 1
        self.failures.append(Failure(e.task, self._label(e.task), e.worker, e.error, e.traceback))
        self._finish_on_lane(e.worker, e.task, e.started, e.t, False)
        self._after_outcome(e.task, False)

    def _on_collecting(self, e: TaskCollecting) -> None:
        self.result_queue.pop(e.task, None)
        lane = self._lane(e.collector)
        lane.status, lane.task, lane.since = LaneStatus.BUSY, e.task, e.t
        lane.task_label = self._label(e.task)

    def _on_collected(self, e: TaskCollected) -> None:
        self.collected += 1
        self.result_queue.pop(e.task, None)
        lane = self._lane(e.collector)
        start = e.started
        lane.bars.append(Bar(e.task, self._label(e.task), start, e.t, e.ok))
        lane.busy_ns += max(0, e.t - start)
        self._worked(start, e.t)
        lane.done += 1
        lane.status, lane.task, lane.task_label, lane.since = LaneStatus.IDLE, None, "", e.t
        self.labels.pop(e.task, None)

    def _on_collector_failed(self, e: CollectorFailed) -> None:
        if self.collector_failure is None:  # the first one says why; what follows, the fallout
            self.collector_failure = CollectorFailure(
                e.worker, e.pid, e.error, e.traceback, e.explanation
            )
        lane = self.lanes.get(e.worker)
        if lane is not None and lane.status == LaneStatus.BUSY:  # it died collecting
            lane.busy_ns += max(0, e.t - lane.since)
            lane.status, lane.task, lane.task_label, lane.since = LaneStatus.IDLE, None, "", e.t

    def _on_lost(self, e: TaskLost) -> None:
        self.lost += 1
        self._take_back_outcome(e.task)
        self.task_queue.pop(e.task, None)
        self.lost_tasks.append((e.task, self._label(e.task), e.reason))
        lane = self.lanes.get(e.worker)
        if lane is not None and (lane.task == e.task or lane.status == LaneStatus.KILLED):
            self._cut_short(lane, e.task, e.t)
            lane.fate = f"task {self._label(e.task)} lost"
        self.labels.pop(e.task, None)

    def _on_printed(self, e: PrintedLine) -> None:
        self.printed.append((e.t, e.worker, e.text))
        lane = self.lanes.get(e.worker)
        if lane is not None and e.stream == "stdout":
            lane.last_line = e.text
            lane.lines += 1

    def _on_paused(self, e: RunPaused) -> None:
        self.paused = e.paused

    def _on_speed(self, e: SpeedChanged) -> None:
        self.time_scale = e.time_scale

    def _on_shared_read(self, e: SharedTensorRead) -> None:
        self.shared_read = e

    def _on_finished(self, e: RunFinished) -> None:
        self.outcome, self.outcome_message = e.outcome, e.message
        if self.source_total is None:  # stopped before the source ran dry
            self.source_total = self.queued
        main = self.lanes.get(MAIN)
        if main is not None:
            main.status, main.task, main.since = LaneStatus.FINISHED, None, e.t
            main.exited_at = e.t
        self.feeder_blocked = False
        self.paused = False


_HANDLERS: Final[dict[type[Event], Callable[[RunState, Any], None]]] = {
    RunStarted: RunState._on_run_started,
    Note: RunState._on_note,
    WorkerSpawned: RunState._on_spawned,
    WorkerReady: RunState._on_ready,
    WorkerLoopEnded: RunState._on_loop_ended,
    WorkerExited: RunState._on_exited,
    FeederBlocked: RunState._on_feeder,
    SourceExhausted: RunState._on_exhausted,
    TaskQueued: RunState._on_queued,
    TaskRequeued: RunState._on_requeued,
    TaskStarted: RunState._on_started,
    TaskDone: RunState._on_done,
    TaskFailed: RunState._on_failed,
    TaskCollecting: RunState._on_collecting,
    TaskCollected: RunState._on_collected,
    CollectorFailed: RunState._on_collector_failed,
    TaskLost: RunState._on_lost,
    PrintedLine: RunState._on_printed,
    RunPaused: RunState._on_paused,
    SpeedChanged: RunState._on_speed,
    SharedTensorRead: RunState._on_shared_read,
    RunFinished: RunState._on_finished,
    TasksQueued: fold_tasks_queued,
    TasksDone: fold_tasks_done,
    TasksCollected: fold_tasks_collected,
}
