"""RunState: the pure fold of events, fed hand-built event lists."""

from __future__ import annotations

import copy
import pickle

import pytest

from mpscope.core.pipeline.event_json import from_json, to_json
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    Event,
    FeederBlocked,
    Note,
    PrintedLine,
    RunFinished,
    RunPaused,
    RunStarted,
    SourceExhausted,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
    WorkerLoopEnded,
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.lanes import Failure
from mpscope.core.pipeline.scenario import make_scenario
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.summary import summarize

MS = 1_000_000


def _run_started(mode: str = "pipeline", workers: int = 2, t: int = 0) -> RunStarted:
    sc, _ = make_scenario(mode=mode, workers=workers)
    return RunStarted(t, mode, "fork", workers, sc.to_json(), 4000)


def _spawn_all(workers: int = 2, collector: bool = True) -> list[Event]:
    events: list[Event] = []
    for w in range(workers):
        events.append(WorkerSpawned(1 * MS, w, 100 + w, "worker"))
    if collector:
        events.append(WorkerSpawned(1 * MS, COLLECTOR, 199, "collector"))
    for w in range(workers):
        events.append(WorkerReady(2 * MS, w, 100 + w))
    if collector:
        events.append(WorkerReady(2 * MS, COLLECTOR, 199))
    return events


def _collected(t: int, task: int, started: int, worker: int, ok: bool = True) -> TaskCollected:
    return TaskCollected(t, task, COLLECTOR, started, worker, 1, ok, str(task * task))


def _fold(events: list[Event]) -> RunState:
    return RunState().apply_all(events)


def _snapshot(state: RunState) -> dict[str, object]:
    return dict(vars(state))


# -- a whole small pipeline run ---------------------------------------------------------------


def _pipeline_run() -> list[Event]:
    """Task 3 with 2 workers and 5 tasks: one fails, one is lost, one is re-queued."""
    return [
        _run_started(),
        Note(0, "info", "workers 1000 is more than this tool shows; capped at 64"),
        *_spawn_all(),
        *[TaskQueued(3 * MS, task, f"v{task}") for task in range(1, 6)],
        FeederBlocked(3 * MS, True, "v6"),
        TaskStarted(4 * MS, 1, 0),
        TaskStarted(4 * MS, 2, 1),
        TaskDone(10 * MS, 1, 0, 4 * MS, "1"),
        TaskCollecting(11 * MS, 1, COLLECTOR, 0, 1, True, "1"),
        TaskFailed(
            12 * MS, 2, 1, 4 * MS, "ValueError: bad", "Traceback (most recent call last):\n  boom"
        ),
        _collected(13 * MS, 1, 11 * MS, 0),
        _collected(14 * MS, 2, 14 * MS, 1, ok=False),
        TaskStarted(15 * MS, 3, 0),
        WorkerExited(16 * MS, 0, 100, -9, "SIGKILL", "killed by SIGKILL"),
        TaskRequeued(16 * MS, 3, 0, 2),
        TaskQueued(17 * MS, 3, "v3", 2),
        TaskDone(20 * MS, 4, 1, 18 * MS, "16"),  # a quick task: no TaskStarted at all
        SourceExhausted(20 * MS, 5),
        TaskStarted(21 * MS, 3, 1, 2),
        TaskDone(25 * MS, 3, 1, 21 * MS, "9"),
        _collected(26 * MS, 4, 26 * MS, 1),
        TaskLost(27 * MS, 5, -99, "the run ended before it finished"),
        _collected(28 * MS, 3, 27 * MS, 1),
        WorkerLoopEnded(29 * MS, 1, "took the end sentinel"),
        WorkerLoopEnded(29 * MS, COLLECTOR, "took the end sentinel"),
        WorkerExited(30 * MS, 1, 101, 0, "", "finished its loop"),
        WorkerExited(30 * MS, COLLECTOR, 199, 0, "", "finished its loop"),
        RunFinished(31 * MS, "completed", "every task has an outcome"),
    ]


def test_a_whole_run_folds_into_counts_lanes_and_empty_queues() -> None:
    state = _fold(_pipeline_run())
    assert (state.queued, state.done, state.failed, state.lost, state.collected) == (5, 3, 1, 1, 4)
    assert state.requeued == 1
    assert state.settled == 5 == state.total
    assert state.finished and state.outcome == "completed"
    assert state.outcome_message == "every task has an outcome"
    assert state.task_queue == {} and state.result_queue == {}
    assert state.now == 31 * MS
    assert [lane.worker for lane in state.workers()] == [0, 1]
    assert [lane.pid for lane in state.workers()] == [100, 101]
    assert [lane.status for lane in state.workers()] == ["killed", "exited"]
    assert state.lanes[0].signal == "SIGKILL" and state.lanes[0].exitcode == -9
    assert state.lanes[1].exitcode == 0 and state.lanes[1].exit_reason == "finished its loop"
    collector = state.collector()
    assert collector is not None and collector.worker == COLLECTOR
    assert collector.status == "exited" and collector.done == 4
    assert state.lanes[0].done == 1 and state.lanes[1].done == 2 and state.lanes[1].failed == 1
    assert state.lost_tasks[-1] == (5, "v5", "the run ended before it finished")
    assert state.notes[-1][1] == "info"
    assert not state.feeder_blocked  # cleared when the run finished
    assert state.scenario is not None and state.scenario.workers == 2


def test_summary_of_the_run_adds_up() -> None:
    summary = summarize(_fold(_pipeline_run()))
    assert summary.ledger_line == "done 3 + failed 1 + lost 1 = 5 tasks ✓"
    assert summary.balanced
    cut_short = summarize(_fold(_pipeline_run()[:-9]))  # the events end before the run did
    assert (
        cut_short.ledger_line == "done 2 + failed 1 + lost 0 = 3 of 5 tasks ✗ 2 without an outcome"
    )
    assert [row.title for row in summary.lanes] == [
        "worker 0 · PID 100",
        "worker 1 · PID 101",
        "collector · PID 199",
    ]
    assert summary.lanes[0].end == "killed by SIGKILL"
    assert summary.outcome == "completed" and summary.requeued == 1 and summary.collected == 4


def test_replaying_the_same_events_gives_the_same_state() -> None:
    events = _pipeline_run()
    first, second = _fold(events), _fold(events)
    assert _snapshot(first) == _snapshot(second)
    # and the events as they come back from a recording give it too
    third = _fold([from_json(to_json(e)) for e in events])
    assert _snapshot(third) == _snapshot(first)
    # and as they come back through a pipe
    fourth = _fold([pickle.loads(pickle.dumps(e)) for e in events])
    assert _snapshot(fourth) == _snapshot(first)


def test_every_prefix_of_the_run_folds_the_same_way_twice() -> None:
    events = _pipeline_run()
    for cut in range(len(events) + 1):
        assert _snapshot(_fold(events[:cut])) == _snapshot(_fold(events[:cut]))


def test_the_fold_does_not_change_the_events_or_depend_on_identity() -> None:
    events = _pipeline_run()
    before = copy.deepcopy(events)
    state = _fold(events)
    assert events == before
    assert _snapshot(_fold(copy.deepcopy(events))) == _snapshot(state)


def test_a_run_started_resets_the_state() -> None:
    fresh = _fold([_run_started(mode="collect-after", workers=3, t=5)])
    reused = _fold([*_pipeline_run(), _run_started(mode="collect-after", workers=3, t=5)])
    snap_fresh, snap_reused = _snapshot(fresh), _snapshot(reused)
    # ``now`` is the latest time seen, which a reset starts again from the new run's start
    assert reused.lanes == {} and reused.done == 0 and reused.task_queue == {}
    assert reused.mode == "collect-after" and reused.outcome == "" and not reused.finished
    assert reused.failures == fresh.failures and not reused.notes
    snap_fresh.pop("now")
    snap_reused.pop("now")
    assert snap_reused == snap_fresh


# -- queues are derived -----------------------------------------------------------------------


def test_task_queue_is_queued_minus_started() -> None:
    state = _fold([_run_started(), *_spawn_all()])
    for task in range(1, 5):
        state.apply(TaskQueued(3 * MS, task, f"#{task}"))
    assert state.task_queue == {1: "#1", 2: "#2", 3: "#3", 4: "#4"}
    state.apply(TaskStarted(4 * MS, 2, 0))
    assert state.task_queue == {1: "#1", 3: "#3", 4: "#4"}
    state.apply(TaskStarted(4 * MS, 1, 1))
    assert list(state.task_queue) == [3, 4]
    assert state.started == 2 and state.queued == 4


def test_a_quick_task_leaves_the_task_queue_by_its_done_alone() -> None:
    state = _fold([_run_started(), *_spawn_all(), TaskQueued(3 * MS, 1, "1")])
    state.apply(TaskDone(5 * MS, 1, 0, 4 * MS, "1"))
    assert state.task_queue == {}
    assert state.started == 1 and state.done == 1
    assert state.result_queue == {1: ("1", True)}
    lane = state.lanes[0]
    assert lane.status == "idle" and lane.task is None and lane.done == 1
    assert lane.bars[-1].start == 4 * MS and lane.bars[-1].end == 5 * MS


def test_result_queue_is_done_minus_collecting() -> None:
    state = _fold([_run_started(), *_spawn_all()])
    for task in (1, 2, 3):
        state.apply(TaskQueued(3 * MS, task, f"#{task}"))
        state.apply(TaskStarted(4 * MS, task, task % 2))
    state.apply(TaskDone(5 * MS, 1, 1, 4 * MS, "1"))
    state.apply(TaskFailed(5 * MS, 2, 0, 4 * MS, "E: x", "tb"))
    assert state.result_queue == {1: ("#1", True), 2: ("#2", False)}
    state.apply(TaskCollecting(6 * MS, 1, COLLECTOR, 1, 1, True, "1"))
    assert state.result_queue == {2: ("#2", False)}
    collector = state.lanes[COLLECTOR]
    assert collector.status == "busy" and collector.task == 1 and collector.task_label == "#1"
    state.apply(_collected(7 * MS, 1, 6 * MS, 1))
    assert collector.status == "idle" and collector.task is None
    state.apply(_collected(8 * MS, 2, 8 * MS, 0, ok=False))  # quick: no collecting before it
    assert state.result_queue == {}
    assert state.collected == 2
    assert [b.task for b in collector.bars] == [1, 2] and not collector.bars[1].ok
    assert state.task_queue == {}


def test_print_mode_has_no_result_queue_and_keeps_printed_lines() -> None:
    events: list[Event] = [_run_started(mode="print", workers=2), *_spawn_all(collector=False)]
    for w in (0, 1):
        events += [TaskQueued(3 * MS, w, "print 1..2"), TaskStarted(3 * MS, w, w)]
    events += [
        PrintedLine(4 * MS, 0, "[Worker 0] PID=100 | count=1"),
        PrintedLine(4 * MS, 1, "[Worker 1] PID=101 | count=1"),
        PrintedLine(5 * MS, 0, "[Worker 0] PID=100 | count=2"),
        PrintedLine(5 * MS, 1, "a warning on stderr", "stderr"),
        TaskDone(6 * MS, 0, 0, 3 * MS, "printed 1..2"),
    ]
    state = _fold(events)
    assert state.mode == "print"
    assert state.lanes[0].last_line == "[Worker 0] PID=100 | count=2" and state.lanes[0].lines == 2
    assert state.lanes[1].last_line == "[Worker 1] PID=101 | count=1" and state.lanes[1].lines == 1
    assert [text for _t, _w, text in state.printed] == [
        "[Worker 0] PID=100 | count=1",
        "[Worker 1] PID=101 | count=1",
        "[Worker 0] PID=100 | count=2",
        "a warning on stderr",
    ]
    assert state.result_queue == {}
    assert state.done == 1 and state.lanes[0].status == "idle"
    assert state.lanes[1].status == "busy"
    assert state.collector() is None


# -- lanes ------------------------------------------------------------------------------------


def test_lane_statuses_through_a_process_life() -> None:
    state = _fold([_run_started()])
    state.apply(WorkerSpawned(1 * MS, 0, 100, "worker"))
    lane = state.lanes[0]
    assert lane.status == "starting" and lane.pid == 100 and lane.role == "worker"
    assert lane.title == "worker 0 · PID 100"
    state.apply(WorkerReady(2 * MS, 0, 100))
    assert lane.status == "idle" and lane.ready_at == 2 * MS
    state.apply(TaskQueued(3 * MS, 7, "7"))
    state.apply(TaskStarted(3 * MS, 7, 0))
    assert lane.status == "busy" and lane.task == 7 and lane.task_label == "7"
    state.apply(TaskDone(5 * MS, 7, 0, 3 * MS, "49"))
    assert lane.status == "idle" and lane.task is None
    state.apply(WorkerLoopEnded(6 * MS, 0, "took the end sentinel"))
    assert lane.status == "exiting"
    state.apply(WorkerExited(7 * MS, 0, 100, 0, "", "finished its loop"))
    assert lane.status == "exited" and lane.exitcode == 0 and lane.exited_at == 7 * MS


def test_a_killed_worker_lane_is_killed_and_its_task_let_go() -> None:
    state = _fold([_run_started(), *_spawn_all(), TaskQueued(3 * MS, 1, "1")])
    state.apply(TaskStarted(3 * MS, 1, 1))
    state.apply(WorkerExited(5 * MS, 1, 101, -9, "SIGKILL", "killed by SIGKILL"))
    lane = state.lanes[1]
    assert lane.status == "killed" and lane.signal == "SIGKILL" and lane.task is None
    assert lane.busy_ns == 2 * MS
    # the task it died in stays on its timeline, cut short
    assert [(b.task, b.start, b.end, b.killed) for b in lane.bars] == [(1, 3 * MS, 5 * MS, True)]
    state.apply(TaskRequeued(5 * MS, 1, 1, 2))
    state.apply(TaskQueued(6 * MS, 1, "1", 2))
    assert state.requeued == 1 and state.queued == 1 and state.task_queue == {1: "1"}
    # a later exit report (for example from the end of the run) does not revive it
    state.apply(WorkerLoopEnded(7 * MS, 1, "took the end sentinel"))
    assert lane.status == "killed"


def test_the_engines_order_requeue_then_exit_draws_the_cut_short_task_once() -> None:
    state = _fold([_run_started(), *_spawn_all(), TaskQueued(3 * MS, 1, "1")])
    state.apply(TaskStarted(3 * MS, 1, 1))
    state.apply(TaskRequeued(5 * MS, 1, 1, 2))
    state.apply(WorkerExited(5 * MS, 1, 101, -9, "SIGKILL", "killed by SIGKILL"))
    lane = state.lanes[1]
    assert [(b.task, b.killed) for b in lane.bars] == [(1, True)]
    assert lane.busy_ns == 2 * MS and lane.status == "killed"


def test_a_task_lost_with_its_worker_is_drawn_cut_short() -> None:
    state = _fold([_run_started(), *_spawn_all(), TaskQueued(3 * MS, 1, "1", 2)])
    state.apply(TaskStarted(3 * MS, 1, 0, 2))
    state.apply(TaskLost(4 * MS, 1, 0, "its worker died on attempt 2 of 2"))
    state.apply(WorkerExited(4 * MS, 0, 100, -9, "SIGKILL", "killed by SIGKILL"))
    lane = state.lanes[0]
    assert [(b.task, b.end, b.killed) for b in lane.bars] == [(1, 4 * MS, True)]
    assert lane.fate == "task 1 lost"


def test_only_a_source_that_ran_dry_is_exhausted() -> None:
    stopped = _fold([_run_started(), TaskQueued(1, 1, "1"), RunFinished(3, "stopped", "x")])
    assert stopped.total == 1 and not stopped.source_exhausted
    dry = _fold([_run_started(), TaskQueued(1, 1, "1"), SourceExhausted(2, 1)])
    assert dry.total == 1 and dry.source_exhausted


def test_a_worker_killed_while_idle_is_killed_not_exited() -> None:
    state = _fold([_run_started(), *_spawn_all()])
    state.apply(WorkerExited(5 * MS, 0, 100, -15, "SIGTERM", "killed by SIGTERM"))
    assert state.lanes[0].status == "killed" and state.lanes[0].busy_ns == 0


def test_collect_after_has_a_main_lane() -> None:
    state = _fold(
        [
            _run_started(mode="collect-after"),
            *_spawn_all(collector=False),
            WorkerSpawned(1 * MS, MAIN, 4000, "main"),
        ]
    )
    main = state.collector()
    assert main is not None and main.worker == MAIN and main.status == "waiting"
    assert main.title == "main (collects) · PID 4000"
    state.apply(TaskQueued(3 * MS, 1, "1"))
    state.apply(TaskDone(4 * MS, 1, 0, 3 * MS, "1"))
    assert state.result_queue == {1: ("1", True)}
    state.apply(TaskCollecting(5 * MS, 1, MAIN, 0, 1, True, "1"))
    assert main.status == "busy" and state.result_queue == {}
    state.apply(WorkerReady(5 * MS, MAIN, 4000))  # it starts collecting only now...
    state.apply(TaskCollected(6 * MS, 1, MAIN, 5 * MS, 0, 1, True, "1"))
    state.apply(RunFinished(7 * MS, "completed", "ok"))
    assert main.status == "finished" and main.done == 1
    # ...but it was part of the run while it waited: 1 ms busy of 6 ms since it began waiting
    assert main.utilisation(7 * MS) == pytest.approx(1 / 6)


def test_lanes_without_pid_have_plain_titles() -> None:
    state = _fold([_run_started(), TaskQueued(1, 1, "1"), TaskStarted(2, 1, 5)])
    assert state.lanes[5].title == "worker 5" and state.lanes[5].status == "busy"


# -- utilisation ------------------------------------------------------------------------------


def test_utilisation_is_busy_share_since_ready() -> None:
    state = _fold([_run_started(), WorkerSpawned(0, 0, 100, "worker"), WorkerReady(1 * MS, 0, 100)])
    lane = state.lanes[0]
    assert lane.utilisation(1 * MS) == 0.0
    state.apply(TaskQueued(1 * MS, 1, "1"))
    state.apply(TaskStarted(2 * MS, 1, 0))
    state.apply(TaskDone(6 * MS, 1, 0, 2 * MS, "1"))
    assert lane.busy_ns == 4 * MS
    assert lane.utilisation(11 * MS) == pytest.approx(0.4)
    # while busy, the running stretch counts
    state.apply(TaskQueued(11 * MS, 2, "2"))
    state.apply(TaskStarted(11 * MS, 2, 0))
    assert lane.utilisation(21 * MS) == pytest.approx((4 + 10) / 20)
    state.apply(TaskDone(21 * MS, 2, 0, 11 * MS, "4"))
    state.apply(WorkerExited(21 * MS, 0, 100, 0, "", "finished its loop"))
    # after exit, time stops at the exit
    assert lane.utilisation(100 * MS) == pytest.approx(14 / 20)
    assert 0.0 <= lane.utilisation(10**12) <= 1.0


def test_utilisation_before_ready_is_zero() -> None:
    state = _fold([_run_started(), WorkerSpawned(0, 0, 100, "worker")])
    assert state.lanes[0].utilisation(10 * MS) == 0.0


# -- failures, losses, odds and ends ----------------------------------------------------------


def test_a_failure_keeps_its_traceback() -> None:
    tb = 'Traceback (most recent call last):\n  File "x.py", line 3, in f\nValueError: bad\n'
    state = _fold(
        [
            _run_started(),
            *_spawn_all(),
            TaskQueued(3 * MS, 9, "[8..15]"),
            TaskStarted(4 * MS, 9, 1),
            TaskFailed(5 * MS, 9, 1, 4 * MS, "ValueError: bad", tb),
        ]
    )
    assert list(state.failures) == [Failure(9, "[8..15]", 1, "ValueError: bad", tb)]
    assert state.failed == 1 and state.lanes[1].failed == 1 and state.lanes[1].done == 0
    assert not state.lanes[1].bars[-1].ok


def test_a_lost_task_leaves_the_task_queue() -> None:
    state = _fold([_run_started(), TaskQueued(1, 1, "one"), TaskQueued(1, 2, "two")])
    state.apply(TaskLost(2, 1, -99, "stopped"))
    assert state.task_queue == {2: "two"}
    assert list(state.lost_tasks) == [(1, "one", "stopped")]
    assert state.lost == 1 and state.settled == 1


def test_stopped_before_the_source_ran_dry_counts_what_was_queued() -> None:
    state = _fold(
        [
            _run_started(),
            TaskQueued(1, 1, "1"),
            TaskQueued(1, 2, "2"),
            TaskLost(2, 1, -99, "stopped"),
            TaskLost(2, 2, -99, "stopped"),
            RunFinished(3, "stopped", "SIGINT received"),
        ]
    )
    assert state.total == 2 and state.outcome == "stopped"
    assert summarize(state).ledger_line == "done 0 + failed 0 + lost 2 = 2 tasks ✓"


def test_before_the_source_is_exhausted_the_total_is_unknown() -> None:
    state = _fold([_run_started(), TaskQueued(1, 1, "1")])
    assert state.total is None and not state.finished
    assert summarize(state).outcome == "running"


def test_pause_feeder_and_notes() -> None:
    state = _fold([_run_started(), RunPaused(1, True), FeederBlocked(2, True, "7")])
    assert state.paused and state.feeder_blocked
    state.apply(RunPaused(3, False))
    state.apply(FeederBlocked(4, False))
    state.apply(Note(5, "warning", "worker 0 (PID 100) killed by SIGKILL"))
    assert not state.paused and not state.feeder_blocked
    assert list(state.notes) == [(5, "warning", "worker 0 (PID 100) killed by SIGKILL")]


def test_a_foreign_scenario_in_run_started_is_tolerated() -> None:
    state = _fold([RunStarted(0, "pipeline", "fork", 3, "not json", 1)])
    assert state.scenario is None and state.mode == "pipeline"
    state = _fold([RunStarted(0, "pipeline", "fork", 3, '{"workers": 0}', 1)])
    assert state.scenario is None


def test_revision_counts_every_event_and_now_never_goes_back() -> None:
    state = _fold([_run_started(), Note(50, "info", "a"), Note(10, "info", "b")])
    assert state.revision == 3
    assert state.now == 50
