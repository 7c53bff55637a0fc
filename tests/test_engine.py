"""The engine with real processes: the seed's three tasks, faults, stopping, start methods."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil
import pytest

from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    PrintedLine,
    RunFinished,
    RunPaused,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
    WorkerLoopEnded,
    WorkerReady,
)
from tests.support import assert_balanced, of_kind, run_engine, scenario

pytestmark = pytest.mark.timeout(90)


def test_pipeline_runs_every_task_once_on_real_pids() -> None:
    events, state = run_engine(scenario())
    assert state.outcome == "completed"
    assert (state.done, state.failed, state.lost, state.collected) == (6, 0, 0, 6)
    pids = {e.pid for e in of_kind(events, WorkerReady)}
    assert len(pids) == 3  # two workers and the collector, each its own process
    assert sum(lane.done for lane in state.workers()) == 6
    assert state.collector() is not None and state.collector().done == 6
    outputs = sorted(int(e.output) for e in of_kind(events, TaskCollected))
    assert outputs == [x * x for x in range(1, 7)]
    assert not state.task_queue and not state.result_queue
    assert all(lane.status == "exited" for lane in state.lanes.values())


def test_under_load_every_task_is_announced_once_and_before_its_worker_report() -> None:
    """The feeder announces tasks without the engine's lock (the engine turns its notes into
    TaskQueued events); thousands of trivial tasks racing the workers must still give each
    task exactly one TaskQueued, ahead of everything else said about it."""
    count = 5000
    events, state = run_engine(
        scenario(count=count, work_time=0, collect_time=0, queue_bound=50), timeout=60
    )
    assert state.outcome == "completed" and state.collected == count
    seen: set[int] = set()
    for event in events:
        task = getattr(event, "task", None)
        if isinstance(event, TaskQueued):
            assert task not in seen, f"task {task} announced twice"
            seen.add(task)
        elif task is not None:
            assert task in seen, f"{type(event).__name__} of task {task} before its TaskQueued"
    assert len(seen) == count
    assert_balanced(state)


def test_collect_after_waits_for_every_worker_loop() -> None:
    events, state = run_engine(scenario(mode="collect-after"))
    assert state.outcome == "completed" and state.collected == 6
    loops_ended = [e.t for e in of_kind(events, WorkerLoopEnded) if e.worker >= 0]
    collecting = of_kind(events, TaskCollected)
    assert len(loops_ended) == 2
    assert all(e.collector == MAIN for e in collecting)
    assert min(e.started for e in collecting) >= max(loops_ended)


def test_big_results_hold_task2_workers_between_their_loop_and_their_exit() -> None:
    """The seed's join-before-drain: a worker that put more than the pipe holds cannot exit
    until the main process reads it; mpscope drains, so the run still completes."""
    events, state = run_engine(
        scenario(mode="collect-after", workers=2, count=4, function="big", work_time=0.05)
    )
    assert state.outcome == "completed" and state.collected == 4
    first_collected = min(e.t for e in of_kind(events, TaskCollected))
    exits = [e for e in of_kind(events, WorkerExited) if e.worker >= 0]
    assert all(e.exitcode == 0 for e in exits)
    assert max(e.t for e in exits) > first_collected  # held until its results were read
    assert_balanced(state)


def test_print_mode_shows_each_workers_lines() -> None:
    events, state = run_engine(scenario(mode="print", workers=3, print_count=4))
    assert state.outcome == "completed"
    lines = [e for e in of_kind(events, PrintedLine) if e.stream == "stdout"]
    for lane in state.workers():
        mine = [e.text for e in lines if e.worker == lane.worker]
        assert mine == [f"[Worker {lane.worker}] PID={lane.pid} | count={i}" for i in range(1, 5)]
    assert state.done == 3
    assert_balanced(state)


def kill_each_worker_once_on(
    kind: type, killed: set[int]
) -> Callable[[Engine, object, object], None]:
    """An ``on_event`` that SIGKILLs each worker the first time it reports a ``kind`` event."""

    def kill(engine: Engine, event: object, state: object) -> None:
        worker = getattr(event, "worker", -1)
        if isinstance(event, kind) and worker >= 0 and worker not in killed:
            killed.add(worker)
            engine.kill_worker(worker)

    return kill


def test_task1_with_every_worker_killed_is_an_error_and_loses_their_counts() -> None:
    killed: set[int] = set()
    events, state = run_engine(
        scenario(mode="print", workers=2, print_count=50, print_delay=0.05),
        on_event=kill_each_worker_once_on(PrintedLine, killed),
    )
    assert killed == {0, 1}
    assert state.outcome == "error" and "no worker was left" in state.outcome_message
    assert state.lost == 2 and state.requeued == 0  # Task 1 has no queue to put them back on
    assert not of_kind(events, TaskRequeued)
    assert {lane.fate for lane in state.workers()} == {"task print 1..50 lost"}
    assert_balanced(state)


def test_an_exception_in_a_task_is_reported_and_the_worker_carries_on() -> None:
    events, state = run_engine(scenario(fail_on=(3,)))
    failed = of_kind(events, TaskFailed)
    assert len(failed) == 1
    assert "InjectedFailure" in failed[0].error
    assert "Traceback" in failed[0].traceback and "run_task" in failed[0].traceback
    assert state.done == 5 and state.failed == 1
    assert_balanced(state)


def test_a_user_function_from_a_file_runs_in_the_workers() -> None:
    events, state = run_engine(
        scenario(function="tests/fixtures/user_tasks.py:picky", work_time=0, count=4)
    )
    failed = of_kind(events, TaskFailed)
    assert [f.error for f in failed] == ["ValueError: two is not allowed"]
    assert "user_tasks.py" in failed[0].traceback
    assert state.done == 3
    assert_balanced(state)


def test_a_sigkilled_worker_is_noticed_and_its_task_requeued() -> None:
    killed: dict[str, int] = {}

    def kill_first_busy(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and not killed and event.worker == 0:
            killed["task"], killed["t"] = event.task, event.t
            assert engine.kill_worker(0)

    events, state = run_engine(scenario(work_time=0.4, count=6), on_event=kill_first_busy)
    exits = [e for e in of_kind(events, WorkerExited) if e.worker == 0]
    assert exits and exits[0].signal == "SIGKILL"
    requeued = of_kind(events, TaskRequeued)
    assert [r.task for r in requeued] == [killed["task"]]
    assert requeued[0].t - killed["t"] < 1.0e9  # noticed within a second
    assert state.outcome == "completed"
    assert state.lanes[0].status == "killed"
    assert state.done == 6 and state.lost == 0
    assert_balanced(state)


def test_every_worker_killed_ends_the_run_as_an_error_not_completed() -> None:
    killed: set[int] = set()
    _events, state = run_engine(
        scenario(workers=2, count=30, work_time=0.4),
        on_event=kill_each_worker_once_on(TaskStarted, killed),
    )
    assert killed == {0, 1}
    assert state.outcome == "error"
    assert "no worker was left" in state.outcome_message
    assert not state.source_exhausted  # the generator was never finished
    assert state.lost > 0
    for worker in (0, 1):  # the task each died in is drawn on its lane, cut short
        assert [bar.killed for bar in state.lanes[worker].bars][-1:] == [True]
    assert_balanced(state)


def test_a_sigkilled_collector_ends_the_run_keeping_what_it_collected() -> None:
    def kill_after_two(engine: Engine, event: object, state: object) -> None:
        from mpscope.core.pipeline.events import TaskCollected

        if isinstance(event, TaskCollected) and getattr(state, "collected", 0) == 2:
            engine.kill_collector()

    events, state = run_engine(
        scenario(count=8, collect_time=0.3, work_time=0.05), on_event=kill_after_two
    )
    assert state.outcome == "error"
    assert "collector" in state.outcome_message
    exits = [e for e in of_kind(events, WorkerExited) if e.worker == COLLECTOR]
    assert exits[0].signal == "SIGKILL"
    assert state.collected >= 2
    assert_balanced(state)


def test_stop_mid_run_is_ordered_and_accounts_for_every_task() -> None:
    def stop_early(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted):
            engine.stop("test stop")

    events, state = run_engine(scenario(count=50, work_time=0.2), on_event=stop_early)
    assert state.outcome == "stopped"
    assert isinstance(events[-1], RunFinished)
    assert state.lost > 0
    assert_balanced(state)


def test_pause_suspends_the_processes_and_resume_lets_them_finish() -> None:
    seen: dict[str, bool] = {}

    def pause_once(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and not seen:
            seen["paused"] = engine.set_paused(True)
            pids = engine.pids().values()
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not seen.get("stopped"):
                seen["stopped"] = all(
                    psutil.Process(pid).status() == psutil.STATUS_STOPPED for pid in pids
                )
            engine.set_paused(False)

    _events, state = run_engine(scenario(), on_event=pause_once)
    assert seen == {"paused": True, "stopped": True}
    assert state.outcome == "completed" and state.done == 6


def test_a_stopping_run_cannot_be_paused() -> None:
    # suspended again half-way through an ordered stop, the workers would be SIGKILLed
    refused: list[bool] = []

    def stop_then_pause(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and not refused:
            engine.stop("test stop")
            refused.append(engine.set_paused(True))

    _events, state = run_engine(scenario(count=6, work_time=0.2), on_event=stop_then_pause)
    assert refused == [False]
    assert state.outcome == "stopped"
    assert not any(lane.signal for lane in state.workers())  # an ordered stop, no kills


def test_a_pause_is_left_out_of_run_time_and_work_goes_on_where_it_stopped() -> None:
    # a teacher pauses mid-task to explain: run time stands still (the header's clock, every
    # event's time), and the task in hand still takes its whole work time after resuming
    # (suspended mid-sleep, a plain sleep would end at once on resuming)
    work = 0.3
    held = {"s": 0.0}

    def pause_once(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and not held["s"]:
            engine.set_paused(True)
            frozen = engine.elapsed_ns()
            t0 = time.monotonic()
            time.sleep(1.0)
            held["s"] = time.monotonic() - t0
            assert engine.elapsed_ns() == frozen  # the run's clock stands still while paused
            engine.set_paused(False)

    wall = time.monotonic()
    events, state = run_engine(scenario(count=4, work_time=work, jitter=0), on_event=pause_once)
    wall = time.monotonic() - wall
    assert state.outcome == "completed" and state.done == 4 and held["s"] >= 1.0
    pause, resume = of_kind(events, RunPaused)
    assert pause.paused and not resume.paused and resume.t - pause.t < 50_000_000
    for done in of_kind(events, TaskDone):
        assert work <= (done.t - done.started) / 1e9 < work + 0.25, done
    run_time = events[-1].t / 1e9
    assert run_time < wall - 0.9  # the pause is not in it


def test_task_2s_collecting_thread_leaves_a_pause_out_of_its_collect_time() -> None:
    # Task 2 collects in a thread of the main process, which a pause cannot SIGSTOP
    collect = 0.3
    held: list[bool] = []

    def pause_once(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskCollecting) and not held:
            held.append(engine.set_paused(True))
            time.sleep(0.8)
            engine.set_paused(False)

    events, state = run_engine(
        scenario(mode="collect-after", count=3, work_time=0.05, collect_time=collect),
        on_event=pause_once,
    )
    assert state.outcome == "completed" and held == [True]
    for collected in of_kind(events, TaskCollected):
        assert collect <= (collected.t - collected.started) / 1e9 < collect + 0.2, collected


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_other_start_methods(method: str) -> None:
    _events, state = run_engine(scenario(start_method=method, count=3), timeout=60)
    assert state.outcome == "completed" and state.collected == 3


def test_a_million_tasks_source_is_pulled_lazily() -> None:
    """The feeder holds at most the queue bound: stopping early leaves the source unread."""

    def stop_soon(engine: Engine, event: object, state: object) -> None:
        if getattr(state, "done", 0) >= 20:
            engine.stop("enough")

    _events, state = run_engine(
        scenario(count=1_000_000, work_time=0, collect_time=0, queue_bound=8),
        on_event=stop_soon,
    )
    assert state.total is None or state.total < 1_000_000
    assert state.queued < 10_000
    assert_balanced_or_partial(state)


def assert_balanced_or_partial(state: object) -> None:
    s = state
    assert s.done + s.failed + s.lost == s.queued  # type: ignore[attr-defined]


def test_inject_failure_fails_exactly_the_next_task_taken_even_if_already_queued() -> None:
    injected: dict[str, bool] = {}

    def inject_once_everything_is_queued(engine: Engine, event: object, state: object) -> None:
        from mpscope.core.pipeline.events import SourceExhausted

        if isinstance(event, SourceExhausted) and not injected:
            injected["ok"] = engine.inject_failure()

    events, state = run_engine(
        scenario(count=6, queue_bound=8, work_time=0.1), on_event=inject_once_everything_is_queued
    )
    assert injected == {"ok": True}
    failed = of_kind(events, TaskFailed)
    assert len(failed) == 1 and "InjectedFailure" in failed[0].error
    assert state.done == 5
    assert_balanced(state)
