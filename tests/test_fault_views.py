"""How faults look in the state: a killed worker's lane stays killed and says where its task
went (found by review: a start reported after the death turned the lane back to busy)."""

from __future__ import annotations

from core.events import (
    RunStarted,
    SourceExhausted,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
    WorkerReady,
    WorkerSpawned,
)
from core.scenario import Scenario
from core.state import RunState


def _started_run() -> RunState:
    state = RunState()
    state.apply_all(
        [
            RunStarted(0, "pipeline", "forkserver", 2, Scenario(workers=2).to_json(), 1),
            WorkerSpawned(1, 0, 100, "worker"),
            WorkerReady(2, 0, 100),
            TaskQueued(3, 0, "1"),
            SourceExhausted(3, 1),
        ]
    )
    return state


def test_a_start_reported_after_the_death_keeps_the_lane_killed() -> None:
    state = _started_run()
    state.apply_all(
        [
            WorkerExited(10, 0, 100, -9, "SIGKILL", "killed by SIGKILL"),
            TaskStarted(5, 0, 0, 1),
        ]
    )
    lane = state.lanes[0]
    assert lane.status == "killed" and lane.task is None


def test_a_killed_lane_says_its_task_was_requeued_then_lost() -> None:
    state = _started_run()
    state.apply_all(
        [
            TaskStarted(5, 0, 0, 1),
            TaskRequeued(10, 0, 0, 2),
            WorkerExited(10, 0, 100, -9, "SIGKILL", "killed by SIGKILL"),
        ]
    )
    assert state.lanes[0].fate == "task 1 re-queued"
    state.apply_all(
        [
            WorkerSpawned(11, 1, 101, "worker"),
            WorkerReady(12, 1, 101),
            TaskQueued(12, 0, "1", 2),
            TaskStarted(13, 0, 1, 2),
            WorkerExited(20, 1, 101, -9, "SIGKILL", "killed by SIGKILL"),
            TaskLost(20, 0, 1, "its worker died on attempt 2 of 2"),
        ]
    )
    assert state.lanes[1].status == "killed"
    assert state.lanes[1].fate == "task 1 lost"
    assert state.lost == 1
