"""Results survive a worker killed while it sends one: each worker has its own result channel.

A shared result queue has one write lock: a worker killed in the middle of writing a large
result (``--function big``) died holding it, and half its message stayed in the pipe, so the
run hung. These runs kill workers while their channels are full (a slow collector) and check
that the run ends, and that done, failed and lost add up to what was collected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import assert_balanced, of_kind, run_engine, scenario

from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.events import Note, TaskDone, TaskRequeued, TaskStarted
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState


def _reconciled(state: RunState) -> None:
    assert_balanced(state)
    assert state.done + state.failed == state.collected, (state.done, state.failed, state.collected)


def test_workers_killed_while_sending_big_results_do_not_hang_the_run() -> None:
    """Every worker killed after two results, with the collector far behind: each dies in
    the middle of writing a 256 KB result. The run ends (an error: no worker was left) and
    the results that died unsent are lost, not counted done."""
    dones: dict[int, int] = {}

    def kill_after_two(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskDone) and event.worker >= 0:
            dones[event.worker] = dones.get(event.worker, 0) + 1
            if dones[event.worker] == 2:
                engine.kill_worker(event.worker)

    sc = scenario(mode=Mode.PIPELINE, function="big", count=10, work_time=0.01, collect_time=0.3)
    _events, state = run_engine(sc, timeout=40, on_event=kill_after_two)
    assert state.outcome == "error"
    _reconciled(state)
    assert state.lost > 0


def test_a_worker_killed_with_results_unsent_has_them_rerun_and_the_run_completes() -> None:
    """One of three workers killed after its second result, its channel full: what it had
    finished but not sent goes back on the task queue, and the run completes."""
    killed: list[int] = []

    def kill_one(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskDone) and event.worker == 0 and len(killed) < 3:
            killed.append(event.task)
            if len(killed) == 3:
                engine.kill_worker(0)

    sc = scenario(
        mode=Mode.PIPELINE,
        function="big",
        count=12,
        workers=3,
        work_time=0.05,  # longer than a flush: each task's report leaves with its end
        collect_time=0.1,
    )
    events, state = run_engine(sc, timeout=40, on_event=kill_one)
    assert len(killed) == 3
    assert state.outcome == "completed", state.outcome_message
    _reconciled(state)
    assert state.done == 12
    requeued = {e.task for e in of_kind(events, TaskRequeued)}
    assert requeued & set(killed)  # done, but its result never arrived: run again
    assert any("died before it sent" in n.text for n in of_kind(events, Note))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.PIPELINE, Mode.COLLECT_AFTER])
def test_killing_a_busy_worker_with_big_results_completes_twenty_runs_of_twenty(
    mode: Mode,
) -> None:
    """The app's ``k`` (SIGKILL a busy worker) on ``--function big``, twenty times."""
    for _ in range(20):
        killed: list[int] = []
        _events, state = run_engine(
            scenario(
                mode=mode, function="big", count=8, workers=3, work_time=0.05, collect_time=0.002
            ),
            timeout=40,
            on_event=_kill_worker_one_once_busy(killed),
        )
        assert killed
        assert state.outcome == "completed", state.outcome_message
        _reconciled(state)
        assert state.done == 8


def _kill_worker_one_once_busy(killed: list[int]) -> Callable[[Engine, object, object], None]:
    def kill_busy(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and event.worker == 1 and not killed:
            killed.append(event.task)
            engine.kill_worker(1)

    return kill_busy
