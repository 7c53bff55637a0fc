"""Events in words: a worker's printed line names its PID once, not twice."""

from __future__ import annotations

from mpscope.core.pipeline.describe import describe
from mpscope.core.pipeline.events import PrintedLine, WorkerSpawned
from mpscope.core.pipeline.state import RunState


def _state_with_worker_0_at(pid: int) -> RunState:
    state = RunState()
    state.apply(WorkerSpawned(1, 0, pid, "worker"))
    return state


def test_a_printed_line_that_names_the_pid_is_not_prefixed_with_it_again() -> None:
    state = _state_with_worker_0_at(13138)
    line = describe(PrintedLine(2, 0, "[Worker 0] PID=13138 | count=1"), state)
    assert line == "worker 0: [Worker 0] PID=13138 | count=1"


def test_a_printed_line_without_the_pid_keeps_it_in_the_prefix() -> None:
    state = _state_with_worker_0_at(13138)
    assert describe(PrintedLine(2, 0, "count=1"), state) == "worker 0 (PID 13138): count=1"
    # a longer number that merely contains the PID is not the PID
    line = describe(PrintedLine(2, 0, "id 1313899"), state)
    assert line == "worker 0 (PID 13138): id 1313899"
