"""The parts of a run's state that stand for its processes: a lane per process, the bars of
its timeline, and the failures it reported. :class:`~.state.RunState` folds events into them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from mpscope.core.pipeline.events import COLLECTOR, MAIN

RECENT_BARS: Final = 240


class LaneStatus(StrEnum):
    """What a lane's process is doing (the app draws each with its own mark)."""

    STARTING = "starting"  # spawned, not yet ready for work
    IDLE = "idle"  # ready, waiting for a task
    BUSY = "busy"  # working on (or collecting) a task
    EXITING = "exiting"  # its loop is done; the process has not exited yet
    EXITED = "exited"  # gone, on its own
    KILLED = "killed"  # gone, by a signal
    WAITING = "waiting"  # Task 2's main process, until every worker has finished
    FINISHED = "finished"  # Task 2's main process, done collecting


@dataclass(frozen=True, slots=True)
class Bar:
    """One stretch of work on a lane's timeline."""

    task: int
    label: str
    start: int
    end: int
    ok: bool
    killed: bool = False  # cut short: its worker died in the middle of it


@dataclass(frozen=True, slots=True)
class Failure:
    """A task that raised, with the formatted traceback."""

    task: int
    label: str
    worker: int
    error: str
    traceback: str


@dataclass(frozen=True, slots=True)
class CollectorFailure:
    """The collector (Task 3's process, Task 2's collecting thread) failed: the run's failure."""

    worker: int  # COLLECTOR or MAIN
    pid: int
    error: str
    traceback: str  # "" when a signal ended it
    explanation: str = ""

    @property
    def who(self) -> str:
        """``the collector (PID 4087)`` or ``the main process's collecting thread (PID 4079)``."""
        name = (
            "the collector" if self.worker == COLLECTOR else "the main process's collecting thread"
        )
        return f"{name} (PID {self.pid})"


@dataclass(slots=True)
class Lane:
    """One process of the run: a compute worker, the collector, or the main process."""

    worker: int
    role: str
    pid: int = 0
    status: LaneStatus = LaneStatus.STARTING
    task: int | None = None
    task_label: str = ""
    since: int = 0
    ready_at: int | None = None
    exited_at: int | None = None
    done: int = 0
    failed: int = 0
    busy_ns: int = 0
    exitcode: int | None = None
    signal: str = ""
    exit_reason: str = ""
    last_line: str = ""
    fate: str = ""  # what became of the task a killed worker held
    lines: int = 0
    bars: deque[Bar] = field(default_factory=lambda: deque(maxlen=RECENT_BARS))

    def lived_until(self, now: int) -> int:
        """Where the lane's timeline ends: the run's present, or the process's exit (a dead
        process is not idle: its timeline stays blank after that)."""
        return now if self.exited_at is None else min(now, self.exited_at)

    @property
    def title(self) -> str:
        """``worker 0``, ``collector`` or ``main`` with the PID once known."""
        name = {COLLECTOR: "collector", MAIN: "main (collects)"}.get(
            self.worker, f"worker {self.worker}"
        )
        return f"{name} · PID {self.pid}" if self.pid else name

    def utilisation(self, now: int) -> float:
        """Busy share of the time since the lane became ready."""
        if self.ready_at is None:
            return 0.0
        end = self.exited_at if self.exited_at is not None else now
        busy = self.busy_ns + (now - self.since if self.status == LaneStatus.BUSY else 0)
        span = end - self.ready_at
        return min(1.0, busy / span) if span > 0 else 0.0
