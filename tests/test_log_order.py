"""mpscope.core.pipeline.log_order: time order for the log, causal order within a task."""

from __future__ import annotations

from mpscope.core.pipeline.events import Note, TaskDone, TaskQueued, TaskStarted
from mpscope.core.pipeline.log_order import REMEMBERED_TASKS, LogOrder


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
