"""Quick tasks reported in bulk: one event for many tasks, their fields packed in arrays.

Nobody can see a task that lives for less than a frame, yet a run of trivial tasks makes three
events a task (queued, done, collected), and building, sending, decoding and folding each one
in Python is what instrumentation costs. So a worker that finishes several quick tasks within
one flush sends one :class:`TasksDone` for them (their ids, attempts, starts, ends and sizes in
``array('q')`` columns, their outputs in a tuple), the collector one :class:`TasksCollected`,
and the engine announces what the feeder queued in one :class:`TasksQueued`. A task that runs
long enough to be seen keeps its own events (the same ``FLUSH_NS`` rule that decides whether its
start is sent). Nothing is dropped: :func:`expand` gives back the one-by-one events, in order.

:class:`DoneRows` and :class:`CollectedRows` are the columns a process fills while it works.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from mpscope.core.pipeline.events import Event, TaskCollected, TaskDone, TaskQueued


class BulkShapeError(ValueError):
    """A bulk event whose columns do not have one value per task."""


def _same_length(kind: str, columns: Iterable[object]) -> None:
    lengths = {len(c) for c in columns}  # type: ignore[arg-type]
    if len(lengths) != 1:
        raise BulkShapeError(f"{kind}: its columns have different lengths {sorted(lengths)}")


@dataclass(slots=True)
class TasksQueued(Event):
    """Several tasks entered the task queue; ``times[i]`` is when ``tasks[i]`` did (``t`` is
    the last of them)."""

    kind: ClassVar[str] = "tasks_queued"
    tasks: array[int]
    times: array[int]
    attempts: array[int]
    labels: tuple[str, ...]

    def check(self) -> None:
        """Raise :class:`BulkShapeError` unless every column has one value per task."""
        _same_length(self.kind, (self.tasks, self.times, self.attempts, self.labels))

    def __len__(self) -> int:
        return len(self.tasks)


@dataclass(slots=True)
class TasksDone(Event):
    """A worker finished several quick tasks (``t`` is the last end); the columns are those of
    :class:`~.events.TaskDone`, one value per task."""

    kind: ClassVar[str] = "tasks_done"
    worker: int
    tasks: array[int]
    attempts: array[int]
    starts: array[int]
    ends: array[int]
    crossed: array[int]
    tensor_bytes: array[int]
    outputs: tuple[str, ...]

    def check(self) -> None:
        """Raise :class:`BulkShapeError` unless every column has one value per task."""
        columns = (self.tasks, self.attempts, self.starts, self.ends, self.crossed)
        _same_length(self.kind, (*columns, self.tensor_bytes, self.outputs))

    def __len__(self) -> int:
        return len(self.tasks)


@dataclass(slots=True)
class TasksCollected(Event):
    """The collector finished several quick results (``t`` is the last end); the columns are
    those of :class:`~.events.TaskCollected` (``oks`` holds 1 or 0), one value per task."""

    kind: ClassVar[str] = "tasks_collected"
    collector: int
    tasks: array[int]
    starts: array[int]
    ends: array[int]
    workers: array[int]
    attempts: array[int]
    oks: array[int]
    outputs: tuple[str, ...]

    def check(self) -> None:
        """Raise :class:`BulkShapeError` unless every column has one value per task."""
        columns = (self.tasks, self.starts, self.ends, self.workers, self.attempts, self.oks)
        _same_length(self.kind, (*columns, self.outputs))

    def __len__(self) -> int:
        return len(self.tasks)


BULK_TYPES: tuple[type[Event], ...] = (TasksQueued, TasksDone, TasksCollected)
#: fewer quick tasks than this in a flush go out one by one (a small run's tasks each get
#: their line in ``--plain`` and the log, as a lesson shows them; bulk pays off with many)
BULK_MIN = 8


def weight(event: Event) -> int:
    """How many tasks' worth of events ``event`` is (a bulk event: its tasks; others: 1), for
    whoever reads a recording in chunks and must bound what a chunk holds."""
    return len(event) if isinstance(event, TasksQueued | TasksDone | TasksCollected) else 1


def chunks(events: Iterator[Event], most: int) -> Iterator[list[Event]]:
    """``events`` in lists of at most ``most`` tasks' worth each (a bulk event bigger than
    that: a list of its own)."""
    chunk: list[Event] = []
    held = 0
    for event in events:
        size = weight(event)
        if chunk and held + size > most:
            yield chunk
            chunk, held = [], 0
        chunk.append(event)
        held += size
    if chunk:
        yield chunk


def expand(event: Event) -> Iterator[Event]:
    """The one-by-one events a bulk event stands for, in order; any other event itself."""
    if type(event) is TasksDone:
        for task, attempt, start, end, crossed, tensor, output in zip(
            event.tasks,
            event.attempts,
            event.starts,
            event.ends,
            event.crossed,
            event.tensor_bytes,
            event.outputs,
            strict=True,
        ):
            yield TaskDone(end, task, event.worker, start, output, attempt, crossed, tensor)
    elif type(event) is TasksCollected:
        for task, start, end, worker, attempt, ok, output in zip(
            event.tasks,
            event.starts,
            event.ends,
            event.workers,
            event.attempts,
            event.oks,
            event.outputs,
            strict=True,
        ):
            yield TaskCollected(
                end, task, event.collector, start, worker, attempt, bool(ok), output
            )
    elif type(event) is TasksQueued:
        for task, t, attempt, label in zip(
            event.tasks, event.times, event.attempts, event.labels, strict=True
        ):
            yield TaskQueued(t, task, label, attempt)
    else:
        yield event


def expand_all(events: Iterable[Event]) -> Iterator[Event]:
    """Every event of ``events`` one by one (bulk events expanded in place)."""
    for event in events:
        if type(event) in BULK_TYPES:
            yield from expand(event)
        else:
            yield event


def gather(events: Iterable[Event]) -> list[Event]:
    """The bulk form of ``events``: each run of two or more consecutive ``TaskQueued``, of
    ``TaskDone`` by one worker, or of ``TaskCollected`` by one collector, as one bulk event
    (what the engine sends for quick tasks); everything else as it is."""
    out: list[Event] = []
    run: list[Event] = []

    def close_run() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            out.append(_bulk_of(run))
        run.clear()

    for event in events:
        if run and not _same_run(run[0], event):
            close_run()
        if type(event) in (TaskQueued, TaskDone, TaskCollected):
            run.append(event)
        else:
            out.append(event)
    close_run()
    return out


def _same_run(first: Event, event: Event) -> bool:
    if type(first) is not type(event):
        return False
    if isinstance(first, TaskDone) and isinstance(event, TaskDone):
        return first.worker == event.worker
    if isinstance(first, TaskCollected) and isinstance(event, TaskCollected):
        return first.collector == event.collector
    return True


def _bulk_of(run: list[Event]) -> Event:
    first = run[0]
    if isinstance(first, TaskQueued):
        queued = [e for e in run if isinstance(e, TaskQueued)]
        return TasksQueued(
            queued[-1].t,
            array("q", [e.task for e in queued]),
            array("q", [e.t for e in queued]),
            array("q", [e.attempt for e in queued]),
            tuple(e.label for e in queued),
        )
    if isinstance(first, TaskDone):
        done = DoneRows()
        for e in run:
            assert isinstance(e, TaskDone)
            done.add(e.task, e.attempt, e.started, e.t, e.output, e.crossed, e.tensor_bytes)
        return done.take(first.worker)
    collected = CollectedRows()
    for e in run:
        assert isinstance(e, TaskCollected)
        collected.add(e.task, e.started, e.t, e.worker, e.attempt, e.ok, e.output)
    assert isinstance(first, TaskCollected)
    return collected.take(first.collector)


class _Rows:
    """The columns of a bulk event being filled, one task at a time: what its two kinds of
    rows share (each appends its own columns, the hot path, in ``add``)."""

    EVENT: ClassVar[type[TasksDone] | type[TasksCollected]]
    OWNER: ClassVar[str]  # the field that says whose rows they are
    ARRAYS: ClassVar[tuple[str, ...]]  # the integer columns; ``outputs`` is the text one
    tasks: array[int]
    ends: array[int]
    outputs: list[str]

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        for name in self.ARRAYS:
            setattr(self, name, array("q"))
        self.outputs = []

    def __len__(self) -> int:
        return len(self.tasks)

    def _take(self, owner: int) -> Any:
        fields: dict[str, Any] = {name: getattr(self, name) for name in self.ARRAYS}
        fields[self.OWNER], fields["outputs"] = owner, tuple(self.outputs)
        event = self.EVENT(t=self.ends[-1], **fields)
        self._clear()
        return event


class DoneRows(_Rows):
    """The columns of a :class:`TasksDone` being filled, one task at a time."""

    __slots__ = ("attempts", "crossed", "ends", "outputs", "starts", "tasks", "tensor_bytes")
    EVENT = TasksDone
    OWNER = "worker"
    ARRAYS = ("tasks", "attempts", "starts", "ends", "crossed", "tensor_bytes")
    attempts: array[int]
    starts: array[int]
    crossed: array[int]
    tensor_bytes: array[int]

    def add(
        self,
        task: int,
        attempt: int,
        start: int,
        end: int,
        output: str,
        crossed: int = 0,
        tensor_bytes: int = 0,
    ) -> None:
        """One more quick task done."""
        self.tasks.append(task)
        self.attempts.append(attempt)
        self.starts.append(start)
        self.ends.append(end)
        self.outputs.append(output)
        self.crossed.append(crossed)
        self.tensor_bytes.append(tensor_bytes)

    def take(self, worker: int) -> TasksDone:
        """The event for the rows so far (at least one), emptying the columns."""
        event: TasksDone = self._take(worker)
        return event


class CollectedRows(_Rows):
    """The columns of a :class:`TasksCollected` being filled, one result at a time."""

    __slots__ = ("attempts", "ends", "oks", "outputs", "starts", "tasks", "workers")
    EVENT = TasksCollected
    OWNER = "collector"
    ARRAYS = ("tasks", "starts", "ends", "workers", "attempts", "oks")
    starts: array[int]
    workers: array[int]
    attempts: array[int]
    oks: array[int]

    def add(
        self, task: int, start: int, end: int, worker: int, attempt: int, ok: bool, output: str
    ) -> None:
        """One more quick result collected."""
        self.tasks.append(task)
        self.starts.append(start)
        self.ends.append(end)
        self.workers.append(worker)
        self.attempts.append(attempt)
        self.oks.append(ok)
        self.outputs.append(output)

    def take(self, collector: int) -> TasksCollected:
        """The event for the rows so far (at least one), emptying the columns."""
        event: TasksCollected = self._take(collector)
        return event


def select(event: BulkEvent, indices: Iterable[int]) -> BulkEvent:
    """The same bulk event with only the tasks at ``indices`` (in that order)."""
    keep = list(indices)
    values = []
    for name in _COLUMNS[type(event)]:
        column = getattr(event, name)
        picked = [column[i] for i in keep]
        values.append(tuple(picked) if type(column) is tuple else array("q", picked))
    fields: dict[str, Any] = dict(zip(_COLUMNS[type(event)], values, strict=True))
    last = fields["ends" if "ends" in fields else "times"]
    return dataclasses.replace(event, t=last[-1] if last else event.t, **fields)


def collected_row(event: TasksCollected, i: int) -> TaskCollected:
    """The one-by-one event of the ``i``-th result of ``event``."""
    return TaskCollected(
        event.ends[i],
        event.tasks[i],
        event.collector,
        event.starts[i],
        event.workers[i],
        event.attempts[i],
        bool(event.oks[i]),
        event.outputs[i],
    )


BulkEvent = TypeVar("BulkEvent", TasksQueued, TasksDone, TasksCollected)

_COLUMNS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(
        f.name for f in dataclasses.fields(cls) if str(f.type) in ("array[int]", "tuple[str, ...]")
    )
    for cls in BULK_TYPES
}
