"""The worker-side event batcher: order, batching by count and age, and starts of long work."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mpscope.core.engine import reporting
from mpscope.core.engine.reporting import EventBatcher, RunClock
from mpscope.core.pipeline.bulk import BULK_MIN, DoneRows, TasksDone
from mpscope.core.pipeline.events import TaskDone, TaskStarted
from mpscope.core.pipeline.wire import Record


class Sink:
    """Collects what a batcher sends, as a worker's event pipe would."""

    def __init__(self) -> None:
        self.batches: list[list[Record]] = []
        self.sent = threading.Event()

    def __call__(self, batch: list[Record]) -> None:
        self.batches.append(list(batch))
        self.sent.set()

    def records(self) -> list[Record]:
        return [record for batch in self.batches for record in batch]


def _clock() -> Any:
    """A run clock that started now."""
    t0 = time.monotonic_ns()
    return lambda: time.monotonic_ns() - t0


def _start(batcher: EventBatcher, task: int) -> tuple[Any, ...]:
    return (TaskStarted, batcher.now(), task, 0, 1)


def _mark(batcher: EventBatcher, name: object) -> tuple[Any, ...]:
    """A record shaped as the real ones: (kind, t, ...)."""
    return ("mark", batcher.now(), name)


def _done(batcher: EventBatcher, task: int, started: int) -> tuple[Any, ...]:
    return (TaskDone, batcher.now(), task, 0, started, str(task * task), 1)


@pytest.fixture
def sink() -> Sink:
    return Sink()


def test_a_quick_task_is_reported_by_its_end_alone(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    start = _start(batcher, 1)
    batcher.begin(start)
    batcher.end(_done(batcher, 1, start[1]))
    batcher.close()
    kinds = [record[0] for record in sink.records()]
    assert kinds == [TaskDone]


def test_long_work_has_its_start_sent_while_it_runs(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    start = _start(batcher, 7)
    batcher.begin(start)
    assert sink.sent.wait(2.0), "the ticker never sent the start of long work"
    assert sink.records() == [start]
    batcher.end(_done(batcher, 7, start[1]))
    batcher.close()
    assert [record[0] for record in sink.records()] == [TaskStarted, TaskDone]


def test_the_start_goes_out_once_and_after_what_came_before(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    earlier = _mark(batcher, "earlier")
    batcher.emit(earlier)
    start = _start(batcher, 3)
    batcher.begin(start)
    time.sleep(reporting.FLUSH_NS / 1e9 * 5)  # several ticks: the start must not repeat
    batcher.end(_done(batcher, 3, start[1]))
    batcher.close()
    records = sink.records()
    assert records[0] == earlier
    assert records.count(start) == 1
    assert records.index(start) < len(records) - 1 and records[-1][0] is TaskDone


def test_a_full_batch_goes_out_at_once_in_order(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    for i in range(reporting.FLUSH_EVENTS):
        batcher.emit(_mark(batcher, i))
    assert sink.batches and len(sink.batches[0]) == reporting.FLUSH_EVENTS
    batcher.close()
    assert [record[2] for record in sink.records()] == list(range(reporting.FLUSH_EVENTS))


def test_a_lone_event_goes_out_after_the_flush_interval(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    lone = _mark(batcher, "lone")
    batcher.emit(lone)
    assert sink.sent.wait(2.0), "a lone event waited for ever"
    assert sink.records() == [lone]
    batcher.close()


def test_flush_and_close_send_everything_and_stop_the_ticker(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    a, b = _mark(batcher, "a"), _mark(batcher, "b")
    batcher.emit(a)
    batcher.flush()
    assert sink.records() == [a]
    batcher.emit(b)
    batcher.close()
    assert sink.records() == [a, b]
    assert not batcher._ticker.is_alive()


def test_events_as_dataclasses_are_batched_by_their_time_too(sink: Sink) -> None:
    from mpscope.core.pipeline.events import Note

    batcher = EventBatcher(sink, _clock())
    batcher.emit(Note(batcher.now(), "info", "one"))
    # a record that is already FLUSH_NS younger than the oldest sends the batch at once
    batcher.emit(Note(batcher.now() + reporting.FLUSH_NS, "info", "two"))
    assert [len(batch) for batch in sink.batches] == [2]
    batcher.close()


def test_many_tasks_from_a_busy_loop_keep_their_order(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock())
    for task in range(1000):
        start = _start(batcher, task)
        batcher.begin(start)
        batcher.end(_done(batcher, task, start[1]))
    batcher.close()
    done = [record[2] for record in sink.records() if record[0] is TaskDone]
    assert done == list(range(1000))
    # a start, if one was sent at all, always comes before its task's end
    seen: set[int] = set()
    for record in sink.records():
        if record[0] is TaskStarted:
            assert record[2] not in seen
        else:
            seen.add(record[2])


def test_the_run_clock_leaves_out_a_pause_its_start_was_moved_on_by() -> None:
    class Shared:
        value = time.monotonic_ns()

    clock = RunClock(Shared)
    before = clock.now()
    Shared.value -= 1_000_000_000  # as if started a second earlier
    assert clock.now() - before >= 1_000_000_000


def test_run_time_sleep_sleeps_on_after_a_pause_by_what_was_left() -> None:
    # a real pause stops the sleeper, and the engine moves the start on by the pause's length
    # before resuming it; here the start moves by 0.3 s while the sleeper sleeps, which the
    # run clock cannot tell apart: the sleep must go on for what was left, not end at its
    # original deadline
    class Shared:
        value = time.monotonic_ns()

    def pause_of(seconds: float) -> None:
        time.sleep(0.05)
        Shared.value += int(seconds * 1e9)

    pauser = threading.Thread(target=pause_of, args=(0.3,))
    clock = RunClock(Shared)
    start_wall, start_run = time.monotonic(), clock.now()
    pauser.start()
    clock.sleep(0.2)
    pauser.join(5)
    run_slept = (clock.now() - start_run) / 1e9
    assert 0.2 <= run_slept < 0.3  # the run clock counts the sleep, not the pause
    assert time.monotonic() - start_wall >= 0.5  # 0.2 of sleep + 0.3 of pause, wall time


# -- quick tasks as rows of one bulk event ------------------------------------------------------


def _row(batcher: EventBatcher, task: int) -> bool:
    """Begin and end a quick task as the worker does; True if it went in as a row."""
    start = _start(batcher, task)
    batcher.begin(start)
    end = batcher.now()
    return batcher.end_row(end, task, 1, start[1], end, str(task * task), 40, 0)


@pytest.fixture
def no_timed_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flushes by count and by hand only: a slow machine cannot split a batch by its age."""
    monkeypatch.setattr(reporting, "FLUSH_NS", 60 * 10**9)


@pytest.mark.usefixtures("no_timed_flush")
def test_quick_tasks_go_out_as_one_bulk_event_in_order(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock(), DoneRows(), owner=1)
    assert all(_row(batcher, task) for task in range(BULK_MIN + 2))
    batcher.close()
    (bulk,) = sink.records()
    assert isinstance(bulk, TasksDone) and bulk.worker == 1
    assert list(bulk.tasks) == list(range(BULK_MIN + 2)) and bulk.outputs[3] == "9"
    assert list(bulk.starts) <= list(bulk.ends) and bulk.t == bulk.ends[-1]


@pytest.mark.usefixtures("no_timed_flush")
def test_a_few_quick_tasks_go_out_each_as_its_own_event(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock(), DoneRows(), owner=0)
    for task in range(BULK_MIN - 1):
        _row(batcher, task)
    batcher.close()
    records = sink.records()
    assert all(isinstance(r, TaskDone) for r in records)
    assert [r.task for r in records if isinstance(r, TaskDone)] == list(range(BULK_MIN - 1))
    assert records[3] == TaskDone(records[3].t, 3, 0, records[3].started, "9", 1, 40, 0)


@pytest.mark.usefixtures("no_timed_flush")
def test_rows_keep_their_place_among_other_records(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock(), DoneRows(), owner=0)
    for task in range(BULK_MIN):
        _row(batcher, task)
    middle = _mark(batcher, "printed")
    batcher.emit(middle)
    for task in range(BULK_MIN, 2 * BULK_MIN):
        _row(batcher, task)
    batcher.close()
    first, mark, second = sink.records()
    assert isinstance(first, TasksDone) and list(first.tasks) == list(range(BULK_MIN))
    assert mark == middle
    assert isinstance(second, TasksDone)
    assert list(second.tasks) == list(range(BULK_MIN, 2 * BULK_MIN))


def test_long_work_whose_start_was_sent_is_not_a_row(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock(), DoneRows(), owner=0)
    _row(batcher, 1)
    start = _start(batcher, 2)
    batcher.begin(start)
    assert sink.sent.wait(2.0)  # the ticker said it started (after the row before it)
    assert not batcher.end_row(batcher.now(), 2, 1, start[1], batcher.now(), "4", 40, 0)
    batcher.end(_done(batcher, 2, start[1]))
    batcher.close()
    kinds = [type(r) if not isinstance(r, tuple) else r[0] for r in sink.records()]
    assert kinds == [TaskDone, TaskStarted, TaskDone]  # the lone row, then the long task


@pytest.mark.usefixtures("no_timed_flush")
def test_many_rows_go_out_in_bulks_of_at_most_flush_rows(sink: Sink) -> None:
    batcher = EventBatcher(sink, _clock(), DoneRows(), owner=0)
    count = reporting.FLUSH_ROWS * 2 + 3
    for task in range(count):
        _row(batcher, task)
    batcher.close()
    sizes = [len(r) for r in sink.records() if isinstance(r, TasksDone)]
    assert max(sizes) <= reporting.FLUSH_ROWS
    tasks = [t for r in sink.records() for t in getattr(r, "tasks", [getattr(r, "task", -1)])]
    assert tasks == list(range(count))
