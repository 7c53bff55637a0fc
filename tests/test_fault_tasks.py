"""Whatever a task does wrong is that task's failure, never its worker's death."""

from __future__ import annotations

import pytest
from support import assert_balanced, of_kind, run_engine, scenario

from mpscope.core.pipeline.events import TaskFailed, WorkerExited
from mpscope.core.pipeline.scenario import Mode

HOSTILE = "tests/fixtures/hostile_tasks.py"


@pytest.mark.parametrize(
    ("function", "error", "in_traceback"),
    [
        ("unpicklable", "cannot pickle", "pickle"),
        ("unprintable", "Unprintable (its message could not be shown)", "Unprintable"),
        ("exits", "SystemExit: 7", "sys.exit"),
    ],
)
@pytest.mark.parametrize("mode", [Mode.PIPELINE, Mode.COLLECT_AFTER])
def test_a_hostile_task_is_a_failed_task_and_its_worker_carries_on(
    function: str, error: str, in_traceback: str, mode: Mode
) -> None:
    events, state = run_engine(
        scenario(mode=mode, function=f"{HOSTILE}:{function}", work_time=0, count=5)
    )
    failed = of_kind(events, TaskFailed)
    assert len(failed) == 1, [f.error for f in failed]
    assert error in failed[0].error
    assert in_traceback in failed[0].traceback
    assert state.outcome == "completed", state.outcome_message
    assert (state.done, state.failed, state.collected) == (4, 1, 5)
    assert_balanced(state)
    exits = of_kind(events, WorkerExited)
    assert all(e.reason == "finished its loop" for e in exits if e.worker >= 0)
