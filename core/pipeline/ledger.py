"""The engine's book of tasks in flight: causal order and exactly one outcome per task.

Workers report in batches, so the collector's report on a task can reach the engine before
the worker's own "done", and a killed worker takes its unsent events with it. The ledger sits
between the processes and the event stream. Each task moves through the stages queued,
started, finished (done or failed) and collecting; an event that arrives ahead of its turn has
the skipped steps filled in before it, from what it carries; a late or duplicate event is
dropped. The ledger re-queues the task a dead worker held (once), and turns whatever can no
longer finish into a ``TaskLost``, so every task ends as exactly one of done, failed or lost.
It holds only tasks in flight: its memory is bounded by the queue bound and the number of
workers (plus the result queue in Task 2), not by the number of tasks. Quick tasks reported in
bulk (:mod:`.bulk`) take the same steps, a bulk at a time: a bulk goes on whole (or with only
the tasks it may report), and the collector's quick results that came before their workers'
reports wait together, as rows of a bulk, until those reports come.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from mpscope.core.pipeline.bulk import (
    BULK_MIN,
    TasksCollected,
    TasksDone,
    TasksQueued,
    collected_row,
    expand,
    select,
)
from mpscope.core.pipeline.events import (
    Event,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
)

QUEUED: Final = 0
STARTED: Final = 1
FINISHED: Final = 2
COLLECTING: Final = 3
NOBODY: Final = -99
#: How long a collector's report may wait for the worker's own (which carries the traceback).
HOLD_NS: Final = 200_000_000
MAX_ATTEMPTS: Final = 2

#: The task-queue message: (task id, attempt, payload, marked to fail).
TaskMessage = tuple[int, int, Any, bool]


@dataclass(slots=True)
class _Entry:
    attempt: int
    payload: Any
    label: str
    fail: bool
    announced: bool = False
    stage: int = QUEUED
    worker: int = NOBODY
    started: int = 0


class Ledger:
    """Bookkeeping of tasks from queued until their outcome (and collection, if any)."""

    def __init__(self, collects: bool, hold_ns: int = HOLD_NS) -> None:
        self._collects = collects
        self._hold_ns = hold_ns
        self._entries: dict[int, _Entry] = {}
        #: collector events that came before the worker's own report: task -> (since, events)
        self._held: dict[int, tuple[int, list[Event]]] = {}
        #: the same for quick results reported in bulk, oldest first: (since, their rows)
        self._held_bulks: list[tuple[int, TasksCollected]] = []
        self._handlers: dict[type[Event], Callable[[Any], list[Event]]] = {
            TaskStarted: self._started,
            TaskDone: self._ended,
            TaskFailed: self._ended,
            TaskCollecting: self._collector_report,
            TaskCollected: self._collector_report,
            TasksDone: self._ended_in_bulk,
            TasksCollected: self._collected_in_bulk,
        }

    def __len__(self) -> int:
        return len(self._entries)

    def unfinished(self) -> int:
        """Tasks queued or running: not yet done, failed or lost."""
        return sum(1 for e in list(self._entries.values()) if e.stage < FINISHED)

    def add(self, task: int, payload: Any, label: str, fail: bool) -> TaskMessage:
        """Record a new task; returns the message for the task queue.

        The engine's feeder calls this without the engine's lock: it is one dict store, and
        every loop over the entries works on a snapshot (``list(...)``, taken in one step)."""
        self._entries[task] = _Entry(1, payload, label, fail)
        return (task, 1, payload, fail)

    def label(self, task: int) -> str:
        """The label of a task in the book (its id as text if it is not)."""
        e = self._entries.get(task)
        return e.label if e is not None else str(task)

    def message(self, task: int) -> TaskMessage | None:
        """The task-queue message for a task that is (again) waiting to be queued."""
        e = self._entries.get(task)
        return None if e is None else (task, e.attempt, e.payload, e.fail)

    def announce(self, t: int, task: int) -> list[Event]:
        """The ``TaskQueued`` for a task now in the task queue, unless already said."""
        e = self._entries.get(task)
        if e is None or e.announced:
            return []
        e.announced = True
        return [TaskQueued(t, task, e.label, e.attempt)]

    def announce_all(self, notes: Iterable[tuple[int, int]]) -> list[Event]:
        """What announces the tasks of ``notes`` (``(time, task)``, queued in that order) not
        yet said: one ``TasksQueued`` for many, a ``TaskQueued`` each for a few."""
        entries = self._entries
        tasks, times, attempts, labels = array("q"), array("q"), array("q"), []
        for t, task in notes:
            e = entries.get(task)
            if e is None or e.announced:
                continue
            e.announced = True
            tasks.append(task)
            times.append(t)
            attempts.append(e.attempt)
            labels.append(e.label)
        if not tasks:
            return []
        bulk = TasksQueued(times[-1], tasks, times, attempts, tuple(labels))
        return list(expand(bulk)) if len(tasks) < BULK_MIN else [bulk]

    def _catch_up(self, e: _Entry, task: int, stage: int, t: int, worker: int) -> list[Event]:
        """Events for the stages ``e`` skipped before reaching ``stage``."""
        out = self.announce(t, task)
        if stage > STARTED and e.stage < STARTED:
            out.append(TaskStarted(t, task, worker, e.attempt))
            e.stage, e.worker, e.started = STARTED, worker, t
        return out

    def accept(self, event: Event) -> list[Event]:
        """Pass a process's event on, completed and in causal order, or drop it."""
        handler = self._handlers.get(type(event))
        return [event] if handler is None else handler(event)

    def _started(self, event: TaskStarted) -> list[Event]:
        e = self._entries.get(event.task)
        if e is None or e.attempt != event.attempt or e.stage != QUEUED:
            return []
        out = self.announce(event.t, event.task)
        e.stage, e.worker, e.started = STARTED, event.worker, event.t
        out.append(event)
        return out

    def _ended(self, event: TaskDone | TaskFailed) -> list[Event]:
        task = event.task
        e = self._entries.get(task)
        if (
            e is None
            or e.stage >= FINISHED
            or e.attempt != event.attempt
            or e.worker not in (event.worker, NOBODY)
        ):
            return []
        # a quick task was never announced as started: its start rides on this event
        out: list[Event] = [event] if e.announced else [*self.announce(event.t, task), event]
        e.worker = event.worker
        self._finish(task, e)
        if self._held:
            held = self._held.pop(task, None)
            if held is not None:
                for later in held[1]:
                    out.extend(self.accept(later))
        if self._held_bulks:
            out.extend(self._release_ready_bulks())
        return out

    def _ended_in_bulk(self, event: TasksDone) -> list[Event]:
        """:meth:`_ended` for each quick task of a worker's bulk report, in one pass: the bulk
        goes on as it came (or with only the tasks it may report), after the announcements
        of any not yet said and before the collector's reports that waited for it."""
        entries, worker, collects, held = self._entries, event.worker, self._collects, self._held
        out: list[Event] = []
        kept: list[int] = []
        released: list[Event] = []
        for i, (task, attempt) in enumerate(zip(event.tasks, event.attempts, strict=True)):
            e = entries.get(task)
            if (
                e is None
                or e.stage >= FINISHED
                or e.attempt != attempt
                or (e.worker != worker and e.worker != NOBODY)
            ):
                continue
            kept.append(i)
            if not e.announced:
                out.extend(self.announce(event.ends[i], task))
            if collects:  # kept (with its payload) until collected: it may have to run again
                e.worker, e.stage = worker, FINISHED
            else:
                del entries[task]
            if held:
                waiting = held.pop(task, None)
                if waiting is not None:
                    released.extend(waiting[1])
        if len(kept) == len(event.tasks):
            out.append(event)
        elif kept:
            out.append(select(event, kept))
        for later in released:
            out.extend(self.accept(later))
        if self._held_bulks:
            out.extend(self._release_ready_bulks())
        return out

    def _collected_in_bulk(self, event: TasksCollected) -> list[Event]:
        """:meth:`_collector_report` for each quick result of the collector's bulk report: a
        result whose worker has not reported it yet waits for that report on its own."""
        entries, held = self._entries, self._held
        kept: list[int] = []
        waiting: list[int] = []
        for i, (task, attempt) in enumerate(zip(event.tasks, event.attempts, strict=True)):
            if held and task in held:
                held[task][1].append(collected_row(event, i))
                continue
            e = entries.get(task)
            if e is None or e.attempt != attempt:
                continue
            if e.stage < FINISHED:  # the worker's own report (often in its next bulk) is due
                waiting.append(i)
                continue
            del entries[task]
            kept.append(i)
        if waiting:  # held together, as rows of a bulk, until their workers' reports come
            self._held_bulks.append((event.ends[waiting[0]], select(event, waiting)))
        if len(kept) == len(event.tasks):
            return [event]
        return [select(event, kept)] if kept else []

    def _release_ready_bulks(self) -> list[Event]:
        """The held bulk results whose workers' reports have now come, passed on in bulk."""
        entries = self._entries
        pending, self._held_bulks = self._held_bulks, []
        out: list[Event] = []
        still: list[tuple[int, TasksCollected]] = []
        for since, bulk in pending:
            ready: list[int] = []
            waiting: list[int] = []
            for i, task in enumerate(bulk.tasks):
                e = entries.get(task)
                (waiting if e is not None and e.stage < FINISHED else ready).append(i)
            if waiting:
                still.append((since, bulk if not ready else select(bulk, waiting)))
            if ready:
                out.extend(self._collected_in_bulk(bulk if not waiting else select(bulk, ready)))
        self._held_bulks = still + self._held_bulks
        return out

    def _held_in_bulk(self) -> set[int]:
        return {task for _, bulk in self._held_bulks for task in bulk.tasks}

    def _collector_report(self, event: TaskCollecting | TaskCollected) -> list[Event]:
        task = event.task
        if self._held:
            waiting = self._held.get(task)
            if waiting is not None:
                waiting[1].append(event)
                return []
        e = self._entries.get(task)
        if e is None or e.attempt != event.attempt:
            return []
        if e.stage < FINISHED:  # the worker's own report (with the traceback) is due
            self._held[task] = (event.t, [event])
            return []
        if type(event) is TaskCollecting:
            if e.stage >= COLLECTING:
                return []
            e.stage = COLLECTING
            return [event]
        del self._entries[task]
        return [event]

    def release_held(self, now: int, everything: bool = False) -> list[Event]:
        """Collector reports that waited too long for their worker's: fill in and pass on."""
        out: list[Event] = []
        while self._held_bulks and (everything or now - self._held_bulks[0][0] >= self._hold_ns):
            _since, bulk = self._held_bulks.pop(0)
            for i, task in enumerate(bulk.tasks):
                out.extend(self._release(task, [collected_row(bulk, i)]))
        while self._held:
            task, (since, events) = next(iter(self._held.items()))
            if not everything and now - since < self._hold_ns:
                break  # held in arrival order: the rest are younger
            del self._held[task]
            out.extend(self._release(task, events))
        return out

    def _release(self, task: int, events: list[Event]) -> list[Event]:
        """Pass on collector reports that waited too long, their worker's report filled in."""
        out: list[Event] = []
        first = events[0]
        assert isinstance(first, TaskCollecting | TaskCollected)
        e = self._entries.get(task)
        if e is not None and e.stage < FINISHED:
            start = e.started or first.t
            if first.ok:
                report: Event = TaskDone(
                    first.t, task, first.worker, start, first.output, e.attempt
                )
            else:
                report = TaskFailed(
                    first.t,
                    task,
                    first.worker,
                    start,
                    first.output,
                    "(the traceback was lost with its worker)",
                    e.attempt,
                )
            out.extend(self.accept(report))
        for event in events:
            out.extend(self.accept(event))
        return out

    def _finish(self, task: int, entry: _Entry) -> None:
        if self._collects:  # kept (with its payload) until collected: it may have to run again
            entry.stage = FINISHED
        else:
            del self._entries[task]

    def worker_died(self, t: int, worker: int, held: int) -> tuple[list[Event], list[int]]:
        """A worker died holding task ``held`` (or none): re-queue it once, else lose it.

        Returns the events to emit and the task ids to put back on the task queue.
        """
        e = self._entries.get(held)
        if e is None or e.stage >= FINISHED:
            return [], []
        if e.attempt >= MAX_ATTEMPTS:
            out = self._catch_up(e, held, STARTED, t, worker)
            del self._entries[held]
            reason = f"its worker died on attempt {e.attempt} of {MAX_ATTEMPTS}"
            return [*out, TaskLost(t, held, worker, reason)], []
        out = self._catch_up(e, held, FINISHED, t, worker)  # it was running on that worker
        e.attempt += 1
        e.stage, e.worker, e.started, e.announced = QUEUED, NOBODY, 0, False
        return [*out, TaskRequeued(t, held, worker, e.attempt)], [held]

    def results_never_arrived(
        self, t: int, worker: int, delivered: frozenset[int] = frozenset()
    ) -> tuple[list[Event], list[int]]:
        """``worker`` is gone and its collector read everything it sent: its tasks started or
        finished there without a collected result (nor one of ``delivered``, read but not yet
        collected) never will have one. Each is re-queued
        once (a finished one's done or failed is taken back: ``TaskRequeued`` after it says
        so), else lost. Returns the events and the task ids to put back on the task queue."""
        out: list[Event] = []
        requeue: list[int] = []
        held_in_bulk = self._held_in_bulk()
        for task, e in list(self._entries.items()):
            if (
                e.worker != worker
                or e.stage not in (STARTED, FINISHED)
                or task in self._held
                or task in held_in_bulk
                or task in delivered
            ):
                continue
            if e.attempt >= MAX_ATTEMPTS:
                del self._entries[task]
                reason = f"its result died with its worker on attempt {e.attempt} of {MAX_ATTEMPTS}"
                out.append(TaskLost(t, task, worker, reason))
                continue
            e.attempt += 1
            e.stage, e.worker, e.started, e.announced = QUEUED, NOBODY, 0, False
            out.append(TaskRequeued(t, task, worker, e.attempt))
            requeue.append(task)
        return out, requeue

    def lose(self, t: int, task: int, reason: str) -> list[Event]:
        """Give up one unfinished task (for example found in the queue after workers left)."""
        e = self._entries.get(task)
        if e is None or e.stage >= FINISHED:
            return []
        out = self.announce(t, task)
        del self._entries[task]
        return [*out, TaskLost(t, task, e.worker, reason)]

    def lose_unfinished(self, t: int, reason: str) -> list[Event]:
        """Give up every task that has no outcome yet; finished ones keep theirs."""
        lost = [task for task, e in list(self._entries.items()) if e.stage < FINISHED]
        return [ev for task in lost for ev in self.lose(t, task, reason)]

    def forget_uncollected(self) -> list[str]:
        """Drop finished tasks whose results were never collected; return their labels."""
        labels = [e.label for e in list(self._entries.values())]
        self._entries.clear()
        return labels
