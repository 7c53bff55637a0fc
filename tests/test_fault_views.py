"""How faults look in the state: a killed worker's lane stays killed and says where its task
went (found by review: a start reported after the death turned the lane back to busy)."""

from __future__ import annotations

import pytest

from mpscope.core.pipeline.events import (
    Event,
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
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.state import RunState


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


def _killed_holding_task_1(started: int, died: int) -> list[Event]:
    """Worker 0 takes task 1 at ``started`` and is SIGKILLed holding it at ``died``."""
    return [
        TaskStarted(started, 0, 0, 1),
        TaskRequeued(died, 0, 0, 2),
        WorkerExited(died, 0, 100, -9, "SIGKILL", "killed by SIGKILL"),
    ]


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
    state.apply_all(_killed_holding_task_1(5, 10))
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


def test_the_task_a_worker_died_in_is_drawn_shaded_and_ends_in_a_cross() -> None:
    from mpscope.tui.views.renderables import timeline_row

    state = _started_run()
    state.apply_all(_killed_holding_task_1(10, 50))
    row = timeline_row(list(state.lanes[0].bars), 0, 100, 10).plain
    assert row == "·▒▒▒✖·····"


def test_the_summary_counts_the_lost_tasks_it_does_not_name() -> None:
    from rich.console import Console

    from mpscope.core.pipeline.events import RunFinished
    from mpscope.tui.views.renderables import summary_view

    state = _started_run()
    state.apply_all(
        [TaskQueued(3, task, str(task + 1)) for task in range(1, 6)]
        + [TaskLost(4, task, -99, "cancelled: the run was stopped") for task in range(6)]
        + [RunFinished(5, "stopped", "stopped by the user")]
    )
    console = Console(width=100, record=True)
    console.print(summary_view(state, timeline=False, compact=True))
    text = console.export_text()
    assert "… 3 more lost before these" in text
    assert text.count("lost task ") == 3
    assert "lost task 6: cancelled: the run was stopped" in text  # labels, no internal ids
    assert "(#" not in text


def test_a_stopped_run_says_the_feeder_stopped_not_that_the_source_ran_dry() -> None:
    from mpscope.core.pipeline.events import RunFinished
    from mpscope.tui.widgets.queue_strip import QueueStrip

    state = RunState()
    state.apply_all(
        [
            RunStarted(0, "pipeline", "forkserver", 2, Scenario(workers=2).to_json(), 1),
            TaskQueued(3, 0, "1"),
            TaskLost(4, 0, -99, "cancelled: the run was stopped"),
            RunFinished(5, "stopped", "stopped by the user"),
        ]
    )
    assert QueueStrip._feeder_caption(state).plain == "◀ feeder stopped after 1 task"
    state.apply(SourceExhausted(6, 1))
    assert QueueStrip._feeder_caption(state).plain == "◀ source exhausted after 1 task"


def test_a_source_that_raised_is_not_called_exhausted() -> None:
    from mpscope.core.pipeline.events import RunFinished
    from mpscope.tui.widgets.queue_strip import QueueStrip

    state = RunState()
    state.apply_all(
        [
            RunStarted(0, "pipeline", "forkserver", 2, Scenario(workers=2).to_json(), 1),
            TaskQueued(3, 0, "1"),
            SourceExhausted(4, 1, "ValueError: bad row"),
            RunFinished(5, "completed", "every task has an outcome"),
        ]
    )
    assert not state.source_exhausted and state.source_error == "ValueError: bad row"
    assert QueueStrip._feeder_caption(state).plain == "◀ source raised after 1 task"


def test_a_timeline_over_fixed_seconds_leaves_the_time_after_the_run_blank() -> None:
    from rich.console import Console

    from mpscope.core.pipeline.events import TaskDone
    from mpscope.tui.views.renderables import gantt

    state = _started_run()  # worker 0 ready at 2 ns; the run is 12 ns long
    state.apply_all([TaskStarted(2, 0, 0, 1), TaskDone(12, 0, 0, 2, "1")])
    console = Console(width=60, record=True)
    console.print(gantt(state, width=20, seconds=40e-9))  # an axis of 40 ns: 4 times the run
    lines = console.export_text().splitlines()
    row = lines[0].split("PID 100", 1)[1].strip()
    # the run fills a quarter of the 20 columns (the column it ends in too); no dots after it
    assert row == "█████·", row
    assert lines[-1].strip().endswith("0.00s")  # 2 ns + 40 ns, in seconds


def test_a_worker_killed_a_moment_into_a_task_still_shows_its_cross() -> None:
    from mpscope.core.pipeline.events import TaskDone
    from mpscope.tui.views.renderables import timeline_row

    state = _started_run()
    state.apply_all(
        [
            TaskStarted(10, 0, 0, 1),
            TaskDone(50, 0, 0, 10, "1"),
            TaskQueued(50, 1, "2"),
            TaskStarted(50, 1, 0, 1),  # killed the same instant it took its next task
            TaskRequeued(50, 1, 0, 2),
            WorkerExited(50, 0, 100, -9, "SIGKILL", "killed by SIGKILL"),
        ]
    )
    row = timeline_row(list(state.lanes[0].bars), 0, 100, 10).plain
    assert row == "·████✖····"


def test_one_task_more_than_the_summary_lists_is_named_not_counted() -> None:
    from rich.console import Console

    from mpscope.core.pipeline.events import RunFinished
    from mpscope.tui.views.renderables import SUMMARY_LISTED, summary_view

    lost = SUMMARY_LISTED + 1  # a line "… 1 more lost" would take the room of the line it hides
    state = _started_run()
    state.apply_all(
        [TaskQueued(3, task, str(task + 1)) for task in range(1, lost)]
        + [TaskLost(4, task, -99, "cancelled: the run was stopped") for task in range(lost)]
        + [RunFinished(5, "stopped", "stopped by the user")]
    )
    console = Console(width=100, record=True)
    console.print(summary_view(state, timeline=False, compact=True))
    text = console.export_text()
    assert "more lost" not in text
    assert text.count("lost task ") == lost


def test_after_its_death_a_lane_is_blank_not_idle() -> None:
    # dots mean a live process with nothing to do; a dead one has no timeline at all
    from rich.console import Console

    from mpscope.core.pipeline.events import TaskDone
    from mpscope.tui.views.renderables import gantt

    state = _started_run()
    state.apply_all(
        [
            WorkerSpawned(1, 1, 101, "worker"),
            WorkerReady(2, 1, 101),
            *_killed_holding_task_1(10, 50),
            TaskStarted(60, 0, 1, 2),
            TaskDone(100, 0, 1, 60, "1"),
        ]
    )
    console = Console(width=80, record=True)
    console.print(gantt(state, width=20))
    rows = {line.split("PID")[0].strip(): line for line in console.export_text().splitlines()}
    killed = rows["worker 0 ·"].rstrip()
    assert killed.endswith("✖"), killed  # nothing after the cross
    assert rows["worker 1 ·"].rstrip().endswith("█")


@pytest.mark.parametrize("width", [58, 110])
def test_the_summary_table_fits_beside_the_stepper_without_breaking_a_phrase(width: int) -> None:
    from rich.console import Console

    from mpscope.tui.views.renderables import summary_view
    from tests.app_support import recording

    state = RunState().apply_all(recording("killed"))
    console = Console(width=width, record=True)
    console.print(summary_view(state, timeline=False, compact=True))
    lines = console.export_text().splitlines()
    rows = [line for line in lines if "· PID" in line]
    assert len(rows) == 4 and all(line.rstrip().endswith(("loop", "SIGKILL")) for line in rows)
    assert all(len(line.rstrip()) <= width for line in lines)
    wide_gaps = "  0.90s" in "\n".join(rows)
    assert wide_gaps == (width == 110)  # two spaces apart where that fits, else one
