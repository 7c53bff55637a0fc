"""The event schema: the only interface between the engine and everything that shows a run.

Every event is a slotted dataclass of plain values (ints, floats, short strings; the bulk
events of :mod:`.bulk` add arrays of them), so it round-trips through pickle and through one
JSON object per line without loss (:mod:`.event_json`). Events are values:
nothing changes one after it is made (the state fold and every view only read them). They are
not declared frozen because a frozen dataclass costs about 2.5 times as much to build, and the
engine builds three per task. ``t`` is always
nanoseconds since the run started, read from ``time.monotonic_ns()``, a clock every process of
the machine shares.

Worker ids: compute workers are numbered ``0..N-1``; the collector is :data:`COLLECTOR`; the
main process (which collects in Task 2 mode) is :data:`MAIN`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Final

SCHEMA_VERSION: Final = 4
#: Schemas this mpscope reads: 2 added ``TaskDone.crossed`` and ``tensor_bytes`` (absent in 1:
#: read as 0) and :class:`SharedTensorRead`, so a schema 1 recording is a schema 2 one; 3 added
#: the session's own events (:class:`StepperCalled`, :class:`RunReplaced`), so a recording can
#: hold a whole session, and a schema 2 recording is a session of one run; 4 added quick tasks
#: reported in bulk (:mod:`.bulk`), so a schema 3 recording is one without them.
READABLE_SCHEMAS: Final = (1, 2, 3, 4)
COLLECTOR: Final = -1
MAIN: Final = -2

#: How long a label, output or printed line may be inside an event.
MAX_TEXT: Final = 200
#: How long a traceback may be inside an event.
MAX_TRACEBACK: Final = 4000


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Shorten ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NAMES_CACHE: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES_CACHE.get(cls)
    if names is None:
        names = _NAMES_CACHE[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


@dataclass(slots=True)
class Event:
    """Base of all events; ``kind`` names the class in recordings."""

    kind: ClassVar[str] = ""
    t: int

    def __reduce__(self) -> tuple[type[Event], tuple[Any, ...]]:
        """Pickle as (class, field values): several times faster than the default."""
        return (type(self), tuple(getattr(self, name) for name in _field_names(type(self))))


@dataclass(slots=True)
class RunStarted(Event):
    """The engine accepted a scenario; ``scenario`` is its JSON text."""

    kind: ClassVar[str] = "run_started"
    mode: str
    start_method: str
    workers: int
    scenario: str
    main_pid: int
    schema: int = SCHEMA_VERSION


@dataclass(slots=True)
class Note(Event):
    """A sentence for the user: a cap applied, a fault noticed, an error."""

    kind: ClassVar[str] = "note"
    level: str  # "info" | "warning" | "error"
    text: str


@dataclass(slots=True)
class WorkerSpawned(Event):
    """The engine started a process; it is not ready yet."""

    kind: ClassVar[str] = "worker_spawned"
    worker: int
    pid: int
    role: str  # "worker" | "collector" | "main"


@dataclass(slots=True)
class WorkerReady(Event):
    """A process is running its loop and can take work."""

    kind: ClassVar[str] = "worker_ready"
    worker: int
    pid: int


@dataclass(slots=True)
class WorkerLoopEnded(Event):
    """A process left its loop (it took the end sentinel) and is about to exit."""

    kind: ClassVar[str] = "worker_loop_ended"
    worker: int
    reason: str


@dataclass(slots=True)
class WorkerExited(Event):
    """A process is gone; ``signal`` is the signal name when one ended it, else ``""``."""

    kind: ClassVar[str] = "worker_exited"
    worker: int
    pid: int
    exitcode: int
    signal: str
    reason: str


@dataclass(slots=True)
class FeederBlocked(Event):
    """The feeder (and the generator inside it) is suspended on a full task queue, or not."""

    kind: ClassVar[str] = "feeder_blocked"
    blocked: bool
    label: str = ""


@dataclass(slots=True)
class SourceExhausted(Event):
    """The task source will give no more tasks: it raised StopIteration, or (``error`` set)
    another exception."""

    kind: ClassVar[str] = "source_exhausted"
    total: int
    error: str = ""


@dataclass(slots=True)
class TaskQueued(Event):
    """A task entered the task queue (``attempt`` > 1 when it was re-queued)."""

    kind: ClassVar[str] = "task_queued"
    task: int
    label: str
    attempt: int = 1


@dataclass(slots=True)
class TaskStarted(Event):
    """A worker took a task from the task queue.

    Sent only if the task is still running when the worker reports (after about 10 ms); a
    quick task is reported by its :class:`TaskDone` alone, which carries its start time.
    """

    kind: ClassVar[str] = "task_started"
    task: int
    worker: int
    attempt: int = 1


@dataclass(slots=True)
class TaskDone(Event):
    """A worker finished a task and put its result on the result queue.

    ``crossed`` is the length of the pickled result message the worker wrote to its result
    pipe (measured, not estimated: for a tensor, torch's handle to its shared storage);
    ``tensor_bytes`` the bytes of tensor data the result refers to, which did not cross."""

    kind: ClassVar[str] = "task_done"
    task: int
    worker: int
    started: int
    output: str
    attempt: int = 1
    crossed: int = 0
    tensor_bytes: int = 0


@dataclass(slots=True)
class TaskFailed(Event):
    """The task function raised; the worker carries on. ``traceback`` is the formatted one."""

    kind: ClassVar[str] = "task_failed"
    task: int
    worker: int
    started: int
    error: str
    traceback: str
    attempt: int = 1


@dataclass(slots=True)
class TaskCollecting(Event):
    """The collector took a result off the result queue and is processing it.

    Sent only when the processing is still under way when the collector reports (for quick
    results :class:`TaskCollected` alone says it all). It carries what the worker put in the
    result, so a view can show a task's outcome even if the worker's own report is lost.
    """

    kind: ClassVar[str] = "task_collecting"
    task: int
    collector: int
    worker: int
    attempt: int
    ok: bool
    output: str


@dataclass(slots=True)
class TaskCollected(Event):
    """The collector finished processing a task's result (it began at ``started``)."""

    kind: ClassVar[str] = "task_collected"
    task: int
    collector: int
    started: int
    worker: int
    attempt: int
    ok: bool
    output: str


@dataclass(slots=True)
class CollectorFailed(Event):
    """What took the results off the queue failed: Task 3's collector process (it raised, or
    a signal ended it) or Task 2's collecting thread (it raised). ``error`` is one line,
    ``traceback`` the formatted one ("" when a signal ended it: a signal leaves none), and
    ``explanation`` says what a known pitfall means ("" when none fits)."""

    kind: ClassVar[str] = "collector_failed"
    worker: int  # COLLECTOR or MAIN
    pid: int
    error: str
    traceback: str
    explanation: str = ""


@dataclass(slots=True)
class TaskRequeued(Event):
    """A worker died holding this task; it goes back on the task queue."""

    kind: ClassVar[str] = "task_requeued"
    task: int
    worker: int
    attempt: int


@dataclass(slots=True)
class TaskLost(Event):
    """A task that will never finish, with the reason."""

    kind: ClassVar[str] = "task_lost"
    task: int
    worker: int
    reason: str


@dataclass(slots=True)
class PrintedLine(Event):
    """A line a process printed: Task 1's counts on stdout, or what it wrote to stderr."""

    kind: ClassVar[str] = "printed_line"
    worker: int
    text: str
    stream: str = "stdout"


@dataclass(slots=True)
class RunPaused(Event):
    """All run processes were suspended (``paused``) or resumed."""

    kind: ClassVar[str] = "run_paused"
    paused: bool


@dataclass(slots=True)
class SpeedChanged(Event):
    """Simulated work and collect times are now multiplied by ``time_scale``."""

    kind: ClassVar[str] = "speed_changed"
    time_scale: float


@dataclass(slots=True)
class SharedTensorRead(Event):
    """The main process read the one shared tensor the workers filled in place (``--function
    fill-shared``), after every worker had gone, and checked it element by element.

    ``writers`` has one character per slice: the index into ``pids`` (space-separated) of the
    PID the tensor itself records as its writer (see :mod:`~.shared_fill`), ``.`` for none."""

    kind: ClassVar[str] = "shared_tensor_read"
    slices: int
    slice_elements: int
    nbytes: int
    right: int  # slices whose every element is what their task computes
    wrong: int  # slices written, with at least one element off
    unwritten: int  # slices no worker wrote (their task failed or was lost)
    pids: str
    writers: str
    detail: str = ""  # the first element that is off, in words


@dataclass(slots=True)
class RunFinished(Event):
    """The run is over and every process of it has been joined."""

    kind: ClassVar[str] = "run_finished"
    outcome: str  # "completed" | "stopped" | "error"
    message: str


@dataclass(slots=True)
class StepperCalled(Event):
    """Not the run's but the session's: the generator stepper beside the run was used.
    ``call`` is ``open SPEC`` (an example's name or ``module:function``), ``next``, ``send
    LITERAL``, ``throw EXCEPTION MESSAGE``, ``close``, ``reset``, ``give up``, ``show`` or
    ``hide``, as :mod:`mpscope.core.pipeline.session` reads them back. ``t`` is on the run's
    clock."""

    kind: ClassVar[str] = "stepper_called"
    call: str


@dataclass(slots=True)
class RunReplaced(Event):
    """Not the run's but the session's: another run took this one's place (``why``: a
    restart, a mode switch); the next run's events follow, on a clock of their own."""

    kind: ClassVar[str] = "run_replaced"
    why: str


#: events of the session around the runs: no run's state changes by them
SESSION_EVENTS: Final = frozenset({StepperCalled, RunReplaced})

#: every event class one task or process at a time, in the order a run meets them (the bulk
#: forms of quick tasks are in :mod:`.bulk`; :mod:`.event_json` reads and writes both)
SINGLE_EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    RunStarted,
    Note,
    WorkerSpawned,
    WorkerReady,
    WorkerLoopEnded,
    WorkerExited,
    FeederBlocked,
    SourceExhausted,
    TaskQueued,
    TaskStarted,
    TaskDone,
    TaskFailed,
    TaskCollecting,
    TaskCollected,
    CollectorFailed,
    TaskRequeued,
    TaskLost,
    PrintedLine,
    RunPaused,
    SpeedChanged,
    SharedTensorRead,
    RunFinished,
    StepperCalled,
    RunReplaced,
)
