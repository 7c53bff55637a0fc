"""mpscope.core.pipeline.log_order: time order for the log, causal order within a task."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mpscope.core.pipeline.events import Note, TaskDone, TaskQueued, TaskStarted
from mpscope.core.pipeline.log_order import REMEMBERED_TASKS, HeldInOrder, LogOrder


def test_events_sort_by_time_but_a_task_keeps_its_causal_order() -> None:
    order = LogOrder()
    events = [
        Note(30, "info", "later note"),
        TaskQueued(105, 7, "7"),  # stamped after its put returned...
        TaskStarted(100, 7, 0),  # ...a moment after the worker took it
        Note(102, "info", "in between"),
        TaskDone(150, 7, 0, 100, "49"),
    ]
    keyed = sorted(events, key=order.key)  # sorted() computes each key once, in order
    assert [type(e).__name__ for e in keyed] == [
        "Note",
        "Note",
        "TaskQueued",
        "TaskStarted",
        "TaskDone",
    ]


def test_it_remembers_a_bounded_number_of_tasks() -> None:
    order = LogOrder()
    for task in range(REMEMBERED_TASKS * 3):
        order.key(TaskQueued(task, task, str(task)))
    assert len(order._last) == REMEMBERED_TASKS


@given(st.lists(st.tuples(st.integers(0, 50), st.integers()), max_size=200), st.integers(0, 60))
def test_held_lines_come_out_in_key_order_keeping_the_order_of_equal_keys(
    pairs: list[tuple[int, int]], cut: int
) -> None:
    held: HeldInOrder[int] = HeldInOrder()
    for n, (key, _) in enumerate(pairs):
        held.put(key, n)
    first = held.take(cut)
    rest = held.take(None)
    in_order = sorted(range(len(pairs)), key=lambda n: pairs[n][0])  # sorted() is stable
    assert first + rest == in_order
    assert all(pairs[n][0] <= cut for n in first) and all(pairs[n][0] > cut for n in rest)
    assert len(held) == 0
