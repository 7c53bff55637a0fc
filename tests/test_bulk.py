"""Quick tasks in bulk: the bulk form of a run folds to the same state as its events one by one,
round-trips through pickle, JSON and a recording, reads back strictly, and says itself in a
line; a worker killed among quick tasks still leaves exactly one outcome per task."""

from __future__ import annotations

import json
import pickle
from array import array
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.bulk import (
    BULK_MIN,
    BulkShapeError,
    DoneRows,
    TasksCollected,
    TasksDone,
    TasksQueued,
    expand_all,
    gather,
    select,
)
from mpscope.core.pipeline.describe import describe
from mpscope.core.pipeline.event_json import EventDecodeError, from_json, to_json
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    Event,
    RunFinished,
    RunStarted,
    SourceExhausted,
    TaskCollected,
    TaskDone,
    TaskFailed,
    TaskQueued,
    TaskStarted,
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.recording import RecordingWriter, read_recording
from mpscope.core.pipeline.scenario import make_scenario
from mpscope.core.pipeline.state import RunState
from tests.support import assert_balanced, comparable, run_engine, scenario

# -- runs made up one event at a time -----------------------------------------------------------


@st.composite
def runs(draw: st.DrawFn) -> list[Event]:
    """A plausible run one event at a time: tasks queued in order, each worker working through
    its share (some long enough for their start to be said, some failing), the collector
    (Task 3's process, or Task 2's main process once every result is in) taking results as
    they come; each process's events in its own time order, all merged by time."""
    mode = draw(st.sampled_from(["pipeline", "collect-after"]))
    workers = draw(st.integers(1, 3))
    count = draw(st.integers(0, 40))
    collector = COLLECTOR if mode == "pipeline" else MAIN
    sc, _ = make_scenario(mode=mode, workers=workers)
    timed: list[tuple[int, int, Event]] = []  # (time, order, event)

    def at(t: int, event: Event) -> None:
        timed.append((t, len(timed), event))

    for w in range(workers):
        at(1, WorkerSpawned(1, w, 100 + w, "worker"))
        at(2, WorkerReady(2, w, 100 + w))
    at(2, WorkerReady(2, collector, 99))
    free = dict.fromkeys(range(workers), 10)  # when each worker is next free
    finished: list[tuple[int, int, int, bool]] = []  # (end, task, worker, ok)
    for task in range(count):
        queued_at = 5 + task
        at(queued_at, TaskQueued(queued_at, task, f"L{task}"))
        w = draw(st.integers(0, workers - 1))
        start = max(free[w], queued_at + 1)
        length = draw(st.integers(1, 30))
        end = start + length
        free[w] = end + 1
        if draw(st.integers(0, 9)) == 0:  # long enough to be seen: its start was said
            at(start, TaskStarted(start, task, w))
        if draw(st.integers(0, 9)) == 0:
            at(end, TaskFailed(end, task, w, start, "E: no", "Traceback"))
            finished.append((end, task, w, False))
        else:
            crossed, tensor = draw(st.sampled_from([(40, 0), (90, 4000)]))
            at(end, TaskDone(end, task, w, start, f"{task * task}", 1, crossed, tensor))
            finished.append((end, task, w, True))
    at(4 + count, SourceExhausted(4 + count, count))
    last = max([end for end, *_ in finished], default=10)
    collect_from = 0 if mode == "pipeline" else last + 1
    busy_until = 0
    for end, task, w, ok in sorted(finished):
        start = max(end + 1, busy_until, collect_from)
        busy_until = start + draw(st.integers(0, 3))
        at(busy_until, TaskCollected(busy_until, task, collector, start, w, 1, ok, "x"))
        busy_until += 1
    at(busy_until + 10**6, RunFinished(busy_until + 10**6, "completed", "all done"))
    started = RunStarted(0, mode, "fork", workers, sc.to_json(), 4000)
    return [started, *(event for _t, _n, event in sorted(timed, key=lambda x: x[:2]))]


def fold(events: list[Event]) -> RunState:
    return RunState().apply_all(events)


@settings(max_examples=300, deadline=None)
@given(runs())
def test_folding_the_bulk_form_gives_the_state_of_folding_one_by_one(events: list[Event]) -> None:
    bulk = gather(events)
    assert comparable(fold(bulk)) == comparable(fold(events))


@settings(max_examples=200, deadline=None)
@given(runs())
def test_the_bulk_form_expands_back_to_the_events_one_by_one(events: list[Event]) -> None:
    bulk = gather(events)
    assert list(expand_all(bulk)) == events
    assert len(bulk) <= len(events)


@settings(max_examples=100, deadline=None)
@given(runs(), st.integers(0, 60))
def test_the_fold_agrees_after_every_bulk_event(events: list[Event], cut: int) -> None:
    """Not only at the end: at every point between bulk events (a live view's frames)."""
    bulk = gather(events)[:cut]
    assert comparable(fold(bulk)) == comparable(fold(list(expand_all(bulk))))


def test_a_run_of_quick_tasks_becomes_three_bulk_events_each_with_every_task() -> None:
    events = [TaskQueued(i, i, str(i)) for i in range(5)]
    events += [TaskDone(20 + i, i, 0, 10 + i, str(i * i), 1, 50) for i in range(5)]
    events += [TaskCollected(40 + i, i, COLLECTOR, 30 + i, 0, 1, True, "") for i in range(5)]
    queued, done, collected = gather(events)
    assert isinstance(queued, TasksQueued) and isinstance(done, TasksDone)
    assert isinstance(collected, TasksCollected)
    assert list(done.tasks) == [0, 1, 2, 3, 4] and done.t == 24
    assert list(done.starts) == [10, 11, 12, 13, 14] and done.outputs[2] == "4"
    assert sum(done.crossed) == 250


def test_select_keeps_the_chosen_rows_in_order() -> None:
    rows = DoneRows()
    for task in range(4):
        rows.add(task, 1, task, task + 10, f"o{task}")
    chosen = select(rows.take(2), [1, 3])
    assert list(chosen.tasks) == [1, 3] and chosen.outputs == ("o1", "o3")
    assert chosen.t == 13 and chosen.worker == 2


# -- on the wire and on disk --------------------------------------------------------------------


def _bulk_done() -> TasksDone:
    rows = DoneRows()
    for task in range(3):
        rows.add(task, 1, 100 * task, 100 * task + 7, f"{task}²", 44, 0)
    return rows.take(1)


def test_a_bulk_event_round_trips_through_pickle_and_json_with_its_types() -> None:
    done = _bulk_done()
    for back in (pickle.loads(pickle.dumps(done)), from_json(to_json(done))):
        assert back == done
        assert isinstance(back, TasksDone)
        assert type(back.tasks) is array and back.tasks.typecode == "q"
        assert type(back.outputs) is tuple


def test_a_bulk_event_pickles_its_columns_as_bytes_not_objects() -> None:
    """What crosses a pipe for 500 quick tasks: each column one block of bytes (copied, not
    built object by object, on both ends), under 60 bytes a task with its output."""
    rows = DoneRows()
    for task in range(500):
        rows.add(task, 1, 10**9 + task * 1000, 10**9 + task * 1000 + 900, str(task), 60, 0)
    data = pickle.dumps(rows.take(0), pickle.HIGHEST_PROTOCOL)
    assert data.count(b"_array_reconstructor") == 1  # named once, its six uses memoised
    assert len(data) / 500 < 60


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("tasks", [1, 2], "different lengths"),
        ("tasks", [1, "2", 3], "only integers"),
        ("tasks", [1, True, 3], "only integers"),
        ("starts", [0, 1.5, 2], "only integers"),
        ("ends", [0, 2**64, 2], "64-bit"),
        ("outputs", ["a", 2, "c"], "only strings"),
        ("outputs", "abc", "should be a list"),
    ],
)
def test_a_malformed_bulk_line_is_rejected_with_a_reason(
    field: str, value: object, says: str
) -> None:
    data = json.loads(to_json(_bulk_done()))
    data[field] = value
    with pytest.raises(EventDecodeError, match=says):
        from_json(json.dumps(data))


def test_bulk_shape_is_checked() -> None:
    done = _bulk_done()
    done.outputs = done.outputs[:2]
    with pytest.raises(BulkShapeError):
        done.check()


def test_a_recording_of_bulk_events_replays_to_the_same_state(tmp_path: Path) -> None:
    events = [
        RunStarted(0, "pipeline", "fork", 2, make_scenario(workers=2)[0].to_json(), 9),
        *[TaskQueued(1 + i, i, str(i)) for i in range(50)],
        *[TaskDone(100 + i, i, i // 25, 60 + i, str(i)) for i in range(50)],
        *[TaskCollected(200 + i, i, COLLECTOR, 150 + i, i // 25, 1, True, "") for i in range(50)],
        RunFinished(400, "completed", "all done"),
    ]
    bulk = gather(events)
    assert len(bulk) < 10
    path = tmp_path / "run.jsonl"
    writer = RecordingWriter(path)
    writer.write(bulk)
    writer.close()
    replayed = read_recording(path)
    assert replayed == bulk
    assert comparable(fold(replayed)) == comparable(fold(events))


# -- in words -----------------------------------------------------------------------------------


def test_a_bulk_event_is_one_line_naming_its_first_and_last_tasks() -> None:
    state = RunState()
    state.labels.update({i: f"L{i}" for i in range(10)})
    rows = DoneRows()
    for task in range(10):
        rows.add(task, 1, task, task + 1, str(task * task))
    line = describe(rows.take(0), state)
    assert line == "worker 0 finished 10 quick tasks: L0 → 0, L1 → 1 … L8 → 64, L9 → 81"
    queued = gather([TaskQueued(i, i, f"L{i}") for i in range(3)])[0]
    assert describe(queued, state) is None  # routine, as one queued task is
    assert describe(queued, state, verbose=True) == "3 tasks queued: L0, L1, L2"


# -- the real engine ----------------------------------------------------------------------------


def test_quick_tasks_come_in_bulk_and_each_has_exactly_one_outcome() -> None:
    count = 3000
    raw: list[Event] = []
    events, state = run_engine(
        scenario(count=count, work_time=0, collect_time=0, queue_bound=200), timeout=60, raw=raw
    )
    kinds = Counter(type(e) for e in raw)
    assert kinds[TasksDone] and kinds[TasksCollected] and kinds[TasksQueued]
    assert kinds[TaskDone] + kinds[TaskCollected] < count  # most came in bulk
    assert state.outcome == "completed" and state.collected == count == state.done
    collected = Counter(e.task for e in events if isinstance(e, TaskCollected))
    assert set(collected) == set(range(count)) and set(collected.values()) == {1}
    assert_balanced(state)


def test_a_worker_killed_among_quick_tasks_leaves_exactly_one_outcome_per_task() -> None:
    """Its unsent bulk dies with it: the results it put are still collected (their done
    filled in from the collector's report), what it held is re-queued, nothing is lost."""
    count = 4000
    done_by_0: list[int] = []

    def kill_midway(engine: Engine, event: Event, _state: object) -> None:
        if isinstance(event, TaskDone) and event.worker == 0:
            done_by_0.append(event.task)
            if len(done_by_0) == 300:
                assert engine.kill_worker(0)

    events, state = run_engine(
        scenario(count=count, workers=2, work_time=0, collect_time=0, queue_bound=200),
        on_event=kill_midway,
        timeout=60,
    )
    assert len(done_by_0) >= 300
    assert state.lanes[0].status == "killed"
    collected = Counter(e.task for e in events if isinstance(e, TaskCollected))
    lost = {e.task for e in events if e.kind == "task_lost"}
    for task in range(count):
        assert collected[task] + (task in lost) == 1, task
    assert state.done + state.failed + state.lost == count
    assert state.collected == state.done + state.failed
    assert_balanced(state)


def test_the_log_keeps_a_bulk_collection_after_the_bulk_report_of_its_tasks() -> None:
    """The collector's bulk can end before the last task of a worker's bulk that it follows
    (it holds only that bulk's first tasks): its line still comes after the worker's."""
    from mpscope.core.pipeline.log_order import HeldInOrder, LogOrder

    done = DoneRows()
    for task in range(10):
        done.add(task, 1, task * 10, task * 10 + 5, "x")
    collected = gather(
        [TaskCollected(60 + i, i, COLLECTOR, 58 + i, 0, 1, True, "") for i in range(BULK_MIN)]
    )[0]
    assert collected.t < done.ends[-1]
    order, held = LogOrder(), HeldInOrder[str]()
    held.put(order.key(done.take(0)), "done")
    held.put(order.key(collected), "collected")
    assert held.take(None) == ["done", "collected"]
