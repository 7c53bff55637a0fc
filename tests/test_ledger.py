"""The ledger: causal order, dropped duplicates, re-queue once then lose, one outcome per task.

Workers may leave out ``TaskStarted`` for a quick task (its ``TaskDone`` carries the start), and
the collector may leave out ``TaskCollecting`` for a quick result (its ``TaskCollected`` carries
everything), so per task the order is: queued → [started] → done|failed → [collecting] →
collected, or queued → [started] → lost.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpscope.core.pipeline.bulk import CollectedRows, DoneRows, expand, expand_all
from mpscope.core.pipeline.events import (
    COLLECTOR,
    Event,
    Note,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
)
from mpscope.core.pipeline.ledger import HOLD_NS, MAX_ATTEMPTS, Ledger

W0, W1 = 0, 1
NO_TASK = -1


def _ledger(*tasks: int, collects: bool = True, hold_ns: int = HOLD_NS) -> Ledger:
    ledger = Ledger(collects=collects, hold_ns=hold_ns)
    for task in tasks:
        assert ledger.add(task, task * 10, f"L{task}", False) == (task, 1, task * 10, False)
    return ledger


def _kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def _collecting(
    t: int, task: int, worker: int = W0, attempt: int = 1, ok: bool = True, output: str = "100"
) -> TaskCollecting:
    return TaskCollecting(t, task, COLLECTOR, worker, attempt, ok, output)


def _collected(
    t: int,
    task: int,
    started: int,
    worker: int = W0,
    attempt: int = 1,
    ok: bool = True,
    output: str = "100",
) -> TaskCollected:
    return TaskCollected(t, task, COLLECTOR, started, worker, attempt, ok, output)


# -- the plain path ---------------------------------------------------------------------------


def test_events_in_causal_order_pass_through_unchanged() -> None:
    ledger = _ledger(1)
    assert ledger.announce(1, 1) == [TaskQueued(1, 1, "L1", 1)]
    for event in (
        TaskStarted(2, 1, W0, 1),
        TaskDone(3, 1, W0, 2, "100"),
        _collecting(4, 1),
        _collected(5, 1, 4),
    ):
        assert ledger.accept(event) == [event]
    assert len(ledger) == 0 and ledger.unfinished() == 0


def test_quick_tasks_without_started_or_collecting_pass_through() -> None:
    ledger = _ledger(1)
    ledger.announce(1, 1)
    done = TaskDone(3, 1, W0, 2, "100")
    assert ledger.accept(done) == [done]
    collected = _collected(5, 1, 4)
    assert ledger.accept(collected) == [collected]
    assert len(ledger) == 0


def test_events_about_other_things_pass_through() -> None:
    ledger = _ledger()
    note = Note(1, "info", "hello")
    assert ledger.accept(note) == [note]


def test_events_for_unknown_tasks_are_dropped() -> None:
    ledger = _ledger(1)
    assert ledger.announce(0, 99) == []
    assert ledger.accept(TaskStarted(1, 99, W0, 1)) == []
    assert ledger.accept(TaskDone(2, 99, W0, 1, "x")) == []
    assert ledger.accept(_collecting(3, 99)) == []
    assert ledger.accept(_collected(4, 99, 3)) == []
    assert len(ledger) == 1


def test_without_a_collector_a_task_is_forgotten_once_done() -> None:
    ledger = _ledger(1, 2, collects=False)
    ledger.announce(0, 1)
    ledger.announce(0, 2)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    ledger.accept(TaskStarted(1, 2, W1, 1))
    assert ledger.accept(TaskDone(2, 1, W0, 1, "a")) == [TaskDone(2, 1, W0, 1, "a")]
    failed = TaskFailed(2, 2, W1, 1, "E: x", "Traceback ...")
    assert ledger.accept(failed) == [failed]
    assert len(ledger) == 0


def test_started_before_announce_fills_in_the_queued_event() -> None:
    ledger = _ledger(4)
    out = ledger.accept(TaskStarted(7, 4, W1, 1))
    assert out == [TaskQueued(7, 4, "L4", 1), TaskStarted(7, 4, W1, 1)]
    assert ledger.announce(8, 4) == []  # already said


def test_done_before_announce_fills_in_the_queued_event() -> None:
    ledger = _ledger(4)
    out = ledger.accept(TaskDone(9, 4, W0, 5, "16"))
    assert _kinds(out) == ["task_queued", "task_done"]
    assert out[1] == TaskDone(9, 4, W0, 5, "16")
    assert ledger.announce(10, 4) == []


# -- the collector's report ahead of the worker's ---------------------------------------------


def test_collecting_before_done_is_held_and_released_in_order_when_done_arrives() -> None:
    ledger = _ledger(1)
    ledger.announce(1, 1)
    assert ledger.accept(TaskStarted(2, 1, W0, 1)) == [TaskStarted(2, 1, W0, 1)]
    collecting, collected = _collecting(4, 1), _collected(5, 1, 4)
    assert ledger.accept(collecting) == []
    assert ledger.accept(collected) == []
    done = TaskDone(3, 1, W0, 2, "100")
    assert ledger.accept(done) == [done, collecting, collected]
    assert len(ledger) == 0


def test_collected_alone_before_done_is_held_too() -> None:
    ledger = _ledger(1)
    ledger.announce(1, 1)
    collected = _collected(5, 1, 4)
    assert ledger.accept(collected) == []
    done = TaskDone(3, 1, W0, 2, "100")
    assert ledger.accept(done) == [done, collected]


def test_collecting_before_anything_from_the_worker_is_held_until_it_catches_up() -> None:
    ledger = _ledger(2)
    collecting = _collecting(6, 2, W1, ok=False, output="ValueError: no")
    collected = _collected(7, 2, 6, W1, ok=False, output="ValueError: no")
    assert ledger.accept(collecting) == []
    assert ledger.accept(collected) == []
    assert ledger.accept(TaskStarted(3, 2, W1, 1)) == [
        TaskQueued(3, 2, "L2", 1),
        TaskStarted(3, 2, W1, 1),
    ]
    failed = TaskFailed(5, 2, W1, 3, "ValueError: no", "Traceback (most recent call last): ...")
    assert ledger.accept(failed) == [failed, collecting, collected]


def test_a_held_report_is_not_released_before_its_time() -> None:
    ledger = _ledger(1, hold_ns=1000)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    assert ledger.accept(_collecting(100, 1)) == []
    assert ledger.release_held(100 + 999) == []
    assert ledger.unfinished() == 1


@pytest.mark.parametrize("everything", [False, True])
def test_a_held_report_is_released_after_the_hold_with_the_done_filled_in(
    everything: bool,
) -> None:
    ledger = _ledger(1, hold_ns=1000)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(10, 1, W0, 1))
    collecting, collected = _collecting(100, 1), _collected(150, 1, 100)
    assert ledger.accept(collecting) == []
    assert ledger.accept(collected) == []
    now = 500 if everything else 100 + 1000
    out = ledger.release_held(now, everything=everything)
    assert out == [TaskDone(100, 1, W0, 10, "100"), collecting, collected]
    assert len(ledger) == 0
    assert ledger.release_held(10**12, everything=True) == []
    # the worker's own report, arriving at last, is a duplicate now
    assert ledger.accept(TaskDone(90, 1, W0, 10, "100")) == []


def test_held_reports_are_released_oldest_first_and_only_when_due() -> None:
    ledger = _ledger(1, 2, hold_ns=100)
    for task in (1, 2):
        ledger.announce(0, task)
        ledger.accept(TaskStarted(1, task, task, 1))
    assert ledger.accept(_collected(10, 1, 5, worker=1)) == []
    assert ledger.accept(_collected(50, 2, 40, worker=2)) == []
    out = ledger.release_held(120)
    assert [(e.kind, e.task) for e in out] == [("task_done", 1), ("task_collected", 1)]
    out = ledger.release_held(150)
    assert [(e.kind, e.task) for e in out] == [("task_done", 2), ("task_collected", 2)]


def test_a_released_report_of_a_failure_fills_in_a_failure_without_traceback() -> None:
    ledger = _ledger(3, hold_ns=10)
    collecting = _collecting(100, 3, W1, ok=False, output="KeyError: 3")
    collected = _collected(120, 3, 100, W1, ok=False, output="KeyError: 3")
    assert ledger.accept(collecting) == []
    assert ledger.accept(collected) == []
    out = ledger.release_held(1000)
    assert _kinds(out) == ["task_queued", "task_failed", "task_collecting", "task_collected"]
    failed = out[1]
    assert isinstance(failed, TaskFailed)
    assert (failed.task, failed.worker, failed.error) == (3, W1, "KeyError: 3")
    assert "traceback" in failed.traceback
    assert out[2:] == [collecting, collected]


def test_a_worker_that_dies_after_putting_its_result_does_not_lose_the_task() -> None:
    """The worker put the result (and cleared its slot), then died with its events unsent."""
    ledger = _ledger(1)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    assert ledger.accept(_collecting(5, 1)) == []
    out = ledger.release_held(6, everything=True)  # what the engine does on a death
    died, requeue = ledger.worker_died(6, W0, NO_TASK)  # the slot was already cleared
    out += died
    out += ledger.accept(_collected(7, 1, 5))
    out += ledger.release_held(8, everything=True)
    out += ledger.lose_unfinished(9, "the run ended before it finished")
    assert requeue == []
    assert _kinds(out) == ["task_done", "task_collecting", "task_collected"]
    assert len(ledger) == 0


# -- duplicates and stale attempts ------------------------------------------------------------


def test_duplicates_are_dropped() -> None:
    ledger = _ledger(1)
    assert len(ledger.announce(0, 1)) == 1
    assert ledger.announce(0, 1) == []
    started = TaskStarted(1, 1, W0, 1)
    assert ledger.accept(started) == [started]
    assert ledger.accept(started) == []
    done = TaskDone(2, 1, W0, 1, "100")
    assert ledger.accept(done) == [done]
    assert ledger.accept(done) == []
    assert ledger.accept(TaskFailed(2, 1, W0, 1, "E", "tb")) == []
    assert ledger.accept(started) == []  # a start after the end
    collecting = _collecting(3, 1)
    assert ledger.accept(collecting) == [collecting]
    assert ledger.accept(collecting) == []
    collected = _collected(4, 1, 3)
    assert ledger.accept(collected) == [collected]
    assert ledger.accept(collected) == []
    assert ledger.accept(collecting) == []


def test_a_done_from_another_worker_is_dropped() -> None:
    ledger = _ledger(1)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    assert ledger.accept(TaskDone(2, 1, W1, 1, "1")) == []
    assert ledger.unfinished() == 1


def _requeued_once(ledger: Ledger, task: int = 1) -> None:
    ledger.announce(0, task)
    ledger.accept(TaskStarted(1, task, W0, 1))
    events, requeue = ledger.worker_died(2, W0, task)
    assert events == [TaskRequeued(2, task, W0, 2)]
    assert requeue == [task]


def test_stale_attempts_are_dropped_after_a_requeue() -> None:
    ledger = _ledger(1)
    _requeued_once(ledger)
    assert ledger.accept(TaskStarted(3, 1, W0, 1)) == []  # attempt 1 is over
    assert ledger.accept(_collecting(3, 1, W0, attempt=1, output="stale")) == []
    assert ledger.accept(_collected(3, 1, 3, W0, attempt=1, output="stale")) == []
    assert ledger.announce(4, 1) == [TaskQueued(4, 1, "L1", 2)]
    assert ledger.accept(TaskStarted(5, 1, W1, 2)) == [TaskStarted(5, 1, W1, 2)]
    # the dead worker's late report of attempt 1 is not attempt 2's outcome
    assert ledger.accept(TaskDone(6, 1, W0, 1, "stale")) == []
    done = TaskDone(8, 1, W1, 5, "100", attempt=2)
    assert ledger.accept(done) == [done]
    collected = _collected(9, 1, 9, W1, attempt=2)
    assert ledger.accept(collected) == [collected]


def test_a_late_done_of_a_dead_worker_is_dropped_before_the_retry_starts() -> None:
    ledger = _ledger(1)
    _requeued_once(ledger)
    ledger.announce(3, 1)
    assert ledger.accept(TaskDone(4, 1, W0, 1, "stale")) == []


# -- deaths ---------------------------------------------------------------------------------


def test_worker_died_requeues_once_then_loses() -> None:
    ledger = _ledger(1)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    events, requeue = ledger.worker_died(2, W0, 1)
    assert events == [TaskRequeued(2, 1, W0, 2)]
    assert requeue == [1]
    assert ledger.message(1) == (1, 2, 10, False)
    assert ledger.unfinished() == 1
    assert ledger.announce(3, 1) == [TaskQueued(3, 1, "L1", 2)]
    ledger.accept(TaskStarted(4, 1, W1, 2))
    events, requeue = ledger.worker_died(5, W1, 1)
    assert requeue == []
    assert len(events) == 1 and isinstance(events[0], TaskLost)
    assert (events[0].task, events[0].worker) == (1, W1)
    assert f"{MAX_ATTEMPTS} of {MAX_ATTEMPTS}" in events[0].reason
    assert ledger.message(1) is None
    assert len(ledger) == 0
    # nothing more can happen to it
    assert ledger.worker_died(6, W1, 1) == ([], [])
    assert ledger.lose_unfinished(7, "end") == []
    assert ledger.accept(TaskDone(8, 1, W1, 4, "late")) == []


def test_worker_died_before_its_start_was_reported_fills_in_the_start() -> None:
    ledger = _ledger(1)
    events, requeue = ledger.worker_died(5, W0, 1)
    assert events == [
        TaskQueued(5, 1, "L1", 1),
        TaskStarted(5, 1, W0, 1),
        TaskRequeued(5, 1, W0, 2),
    ]
    assert requeue == [1]


def test_worker_died_holding_nothing_or_a_finished_task_changes_nothing() -> None:
    ledger = _ledger(1)
    ledger.announce(0, 1)
    ledger.accept(TaskStarted(1, 1, W0, 1))
    assert ledger.worker_died(2, W1, NO_TASK) == ([], [])
    ledger.accept(TaskDone(3, 1, W0, 1, "1"))
    assert ledger.worker_died(4, W0, 1) == ([], [])
    assert ledger.unfinished() == 0 and len(ledger) == 1  # awaiting collection


def test_a_retry_lost_before_its_announcement_is_announced_first() -> None:
    """The engine puts a re-queued task back, then announces it; a worker can take it (and
    die) in between. The stream must still say the task was queued again before it was lost.
    """
    ledger = _ledger(1)
    _requeued_once(ledger)
    events, requeue = ledger.worker_died(4, W1, 1)  # died before its start was reported
    assert requeue == []
    assert _kinds(events) == ["task_queued", "task_lost"]
    assert events[0] == TaskQueued(4, 1, "L1", 2)


def test_lose_unfinished_loses_queued_and_running_tasks_but_keeps_outcomes() -> None:
    ledger = _ledger(1, 2, 3, 4)
    ledger.announce(0, 1)
    ledger.announce(0, 2)
    ledger.accept(TaskStarted(1, 2, W0, 1))
    ledger.announce(0, 3)
    ledger.accept(TaskStarted(1, 3, W1, 1))
    ledger.accept(TaskDone(2, 3, W1, 1, "9"))
    # task 4 was added but never announced
    out = ledger.lose_unfinished(10, "stopped")
    lost = [e for e in out if isinstance(e, TaskLost)]
    assert sorted(e.task for e in lost) == [1, 2, 4]
    assert all(e.reason == "stopped" for e in lost)
    assert next(e for e in lost if e.task == 2).worker == W0
    # the never-announced task 4 is announced before it is lost
    queued4 = TaskQueued(10, 4, "L4", 1)
    assert [e for e in out if isinstance(e, TaskQueued)] == [queued4]
    assert out.index(queued4) < out.index(next(e for e in lost if e.task == 4))
    assert ledger.unfinished() == 0
    assert ledger.lose_unfinished(11, "again") == []
    assert ledger.forget_uncollected() == ["L3"]  # task 3, done but never collected
    assert len(ledger) == 0


def test_lose_one_task() -> None:
    ledger = _ledger(1)
    ledger.announce(0, 1)
    out = ledger.lose(3, 1, "found in the queue after the workers left")
    assert len(out) == 1 and isinstance(out[0], TaskLost)
    assert out[0].reason == "found in the queue after the workers left"
    assert ledger.lose(4, 1, "again") == []


# -- property: random interleavings -----------------------------------------------------------


@dataclass
class Plan:
    """What happens to one task: the outcome of each attempt, and which reports are sent."""

    task: int
    outcomes: list[str]  # "done" | "failed" | "dies" | "dies_after_put"
    started_sent: list[bool]  # did the worker's TaskStarted get out?
    collecting_sent: list[bool]  # did the collector send TaskCollecting (a slow collect)?

    @property
    def expected(self) -> str:
        last = self.outcomes[-1]
        if last == "dies":
            return "task_lost"
        return "task_failed" if last == "failed" else "task_done"


@dataclass
class Sim:
    ledger: Ledger
    out: list[Event] = field(default_factory=list)
    clock: int = 0
    started_at: dict[tuple[int, int], int] = field(default_factory=dict)


def _worker_of(task: int, attempt: int) -> int:
    return task * 10 + attempt


def _streams_for(plan: Plan, attempt: int) -> list[deque[tuple[Any, ...]]]:
    """The worker's and the collector's streams for one attempt of a task."""
    task, outcome = plan.task, plan.outcomes[attempt - 1]
    worker = _worker_of(task, attempt)
    ok = outcome != "failed"
    start: list[tuple[Any, ...]] = (
        [("start", task, attempt)] if plan.started_sent[attempt - 1] else []
    )
    collector: list[tuple[Any, ...]] = [
        *([("collecting", task, attempt, ok)] if plan.collecting_sent[attempt - 1] else []),
        ("collected", task, attempt, ok),
    ]
    if outcome in ("done", "failed"):
        return [deque([*start, ("finish", task, attempt, ok)]), deque(collector)]
    if outcome == "dies":
        return [deque([*start, ("die", task, worker, task)])]
    assert outcome == "dies_after_put"
    return [deque([*start, ("die", task, worker, NO_TASK)]), deque(collector)]


def _plans(allow_after_put: bool) -> st.SearchStrategy[list[Plan]]:
    first = ["done", "failed", "dies"] + (["dies_after_put"] if allow_after_put else [])

    @st.composite
    def plan_list(draw: st.DrawFn) -> list[Plan]:
        count = draw(st.integers(min_value=1, max_value=6))
        plans = []
        for task in range(1, count + 1):
            outcomes = [draw(st.sampled_from(first))]
            if outcomes[0] == "dies":
                outcomes.append(draw(st.sampled_from(first)))
            started = [draw(st.booleans()) for _ in outcomes]
            collecting = [draw(st.booleans()) for _ in outcomes]
            plans.append(Plan(task, outcomes, started, collecting))
        return plans

    return plan_list()


def _simulate(
    data: st.DataObject, plans: list[Plan], hold_ns: int, bulk: bool = False
) -> list[Event]:
    """Feed the ledger the way the engine does, in an interleaving hypothesis chooses. With
    ``bulk``, the feeder's announcements and the collector's quick results (no collecting
    sent) go out as the engine sends them under load: gathered, flushed when hypothesis says
    (and before any other report of the collector's), as one bulk event for several."""
    sim = Sim(Ledger(collects=True, hold_ns=hold_ns))
    ledger = sim.ledger
    notes: list[tuple[int, int]] = []  # announcements not yet made (bulk)
    rows = CollectedRows()  # the collector's quick results not yet sent (bulk)

    def flush_notes() -> None:
        sim.out += ledger.announce_all(notes)
        notes.clear()

    def flush_rows() -> None:
        if rows:
            sent = rows.take(COLLECTOR)
            sim.out += ledger.accept(sent if len(sent) > 1 else next(expand(sent)))

    by_task = {plan.task: plan for plan in plans}
    streams: list[deque[tuple[Any, ...]]] = []
    for plan in plans:
        ledger.add(plan.task, plan.task, f"L{plan.task}", False)
        streams.append(deque([("announce", plan.task)]))
        streams.extend(_streams_for(plan, 1))
    attempts = {plan.task: 1 for plan in plans}
    while any(streams):
        live = [s for s in streams if s]
        stream = live[data.draw(st.integers(0, len(live) - 1))]
        action = stream.popleft()
        sim.clock += 1
        now = sim.clock
        if bulk and action[0] == "collecting":
            flush_rows()  # the collector's reports keep their order
        match action:
            case ("announce", task) if bulk:
                notes.append((now, task))
            case ("announce", task):
                sim.out += ledger.announce(now, task)
            case ("start", task, attempt):
                sim.started_at[task, attempt] = now
                sim.out += ledger.accept(TaskStarted(now, task, _worker_of(task, attempt), attempt))
            case ("finish", task, attempt, ok):
                worker = _worker_of(task, attempt)
                started = sim.started_at.get((task, attempt), now)
                event: Event = (
                    TaskDone(now, task, worker, started, f"out{task}")
                    if ok
                    else TaskFailed(now, task, worker, started, "E: boom", "Traceback: boom")
                )
                sim.out += ledger.accept(event)
            case ("collecting", task, attempt, ok):
                worker = _worker_of(task, attempt)
                sim.started_at[task, -attempt] = now
                sim.out += ledger.accept(_collecting(now, task, worker, attempt, ok, f"out{task}"))
            case ("collected", task, attempt, ok) if (
                bulk and (task, -attempt) not in sim.started_at
            ):
                rows.add(task, now, now, _worker_of(task, attempt), attempt, ok, f"out{task}")
            case ("collected", task, attempt, ok):
                worker = _worker_of(task, attempt)
                began = sim.started_at.get((task, -attempt), now)
                sim.out += ledger.accept(
                    _collected(now, task, began, worker, attempt, ok, f"out{task}")
                )
            case ("die", task, worker, held):
                sim.out += ledger.release_held(now, everything=True)
                died, requeue = ledger.worker_died(now, worker, held)
                sim.out += died
                for again in requeue:
                    attempts[again] += 1
                    streams.append(deque([("announce_retry", again)]))
            case ("announce_retry", task):
                # the engine announces a re-queued task once it is back on the queue; the
                # worker that takes it may still report before that announcement is out
                sim.out += ledger.announce(now, task)
                streams.extend(_streams_for(by_task[task], attempts[task]))
        if bulk and data.draw(st.booleans()):
            flush_notes()
        if bulk and data.draw(st.booleans()):
            flush_rows()
        if data.draw(st.booleans()):
            sim.out += ledger.release_held(now)
    flush_notes()
    flush_rows()
    sim.clock += 1
    sim.out += ledger.release_held(sim.clock, everything=True)
    sim.out += ledger.lose_unfinished(sim.clock, "the run ended before it finished")
    assert ledger.unfinished() == 0
    return list(expand_all(sim.out))


TERMINAL = ("task_done", "task_failed", "task_lost")


def _check_causal(out: list[Event], plans: list[Plan]) -> None:
    """Per task: queued → [started] → done/failed → [collecting] → collected, in step."""
    for plan in plans:
        mine = [e for e in out if getattr(e, "task", None) == plan.task]
        stage, attempt = "new", 1
        for e in mine:
            kind = e.kind
            if kind == "task_queued":
                assert stage == "new" and e.attempt == attempt, (plan, mine)
                stage = "queued"
            elif kind == "task_started":
                assert stage == "queued" and e.attempt == attempt, (plan, mine)
                stage = "started"
            elif kind == "task_requeued":
                assert stage == "started" and e.attempt == attempt + 1, (plan, mine)
                stage, attempt = "new", attempt + 1
            elif kind in ("task_done", "task_failed"):
                assert stage in ("queued", "started"), (plan, mine)
                assert e.worker == _worker_of(plan.task, attempt), (plan, mine)
                stage = "finished"
            elif kind == "task_lost":
                assert stage in ("queued", "started"), (plan, mine)
                stage = "lost"
            elif kind == "task_collecting":
                assert stage == "finished" and e.attempt == attempt, (plan, mine)
                stage = "collecting"
            elif kind == "task_collected":
                assert stage in ("finished", "collecting") and e.attempt == attempt, (plan, mine)
                stage = "collected"
            else:  # pragma: no cover - nothing else carries a task
                raise AssertionError(kind)
        terminals = [e.kind for e in mine if e.kind in TERMINAL]
        assert terminals == [plan.expected], (plan, mine)
        requeues = sum(e.kind == "task_requeued" for e in mine)
        assert requeues == len(plan.outcomes) - 1, (plan, mine)
        final = "lost" if plan.expected == "task_lost" else "collected"
        assert stage == final, (plan, mine)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), _plans(allow_after_put=False), st.sampled_from([1, 3, 10**9]))
def test_random_interleavings_keep_causal_order_and_one_outcome_per_task(
    data: st.DataObject, plans: list[Plan], hold_ns: int
) -> None:
    _check_causal(_simulate(data, plans, hold_ns), plans)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), _plans(allow_after_put=True), st.sampled_from([1, 3, 10**9]))
def test_random_interleavings_with_deaths_after_the_result_was_put(
    data: st.DataObject, plans: list[Plan], hold_ns: int
) -> None:
    """A worker that dies after putting its result: the collector's report settles it."""
    _check_causal(_simulate(data, plans, hold_ns), plans)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), _plans(allow_after_put=True), st.sampled_from([1, 3, 10**9]), st.just(True))
def test_random_interleavings_with_bulk_announcements_and_results(
    data: st.DataObject, plans: list[Plan], hold_ns: int, bulk: bool
) -> None:
    """Announced and collected in bulk, held in bulk ahead of their workers' reports,
    released in bulk or one by one after the hold: the same order, one outcome each."""
    _check_causal(_simulate(data, plans, hold_ns, bulk), plans)


def test_bulk_results_ahead_of_their_workers_wait_and_go_on_in_bulk() -> None:
    ledger = _ledger(1, 2, 3)
    announced = ledger.announce_all([(0, 1), (0, 2), (0, 3)])
    assert _kinds(announced) == ["task_queued"] * 3  # a few: one by one
    quick = CollectedRows()
    for task in (1, 2, 3):
        quick.add(task, 10 + task, 10 + task, W0, 1, True, f"r{task}")
    assert ledger.accept(quick.take(COLLECTOR)) == []  # no worker has said it finished them
    done = DoneRows()
    done.add(1, 1, 1, 2, "r1")
    done.add(2, 1, 2, 3, "r2")
    out = ledger.accept(done.take(W0))
    assert [type(e).__name__ for e in out] == ["TasksDone", "TasksCollected"]
    assert list(out[1].tasks) == [1, 2]  # task 3's result still waits for its worker
    out = ledger.accept(TaskDone(5, 3, W0, 4, "r3"))
    assert [(e.kind, list(e.tasks) if hasattr(e, "tasks") else e.task) for e in out] == [
        ("task_done", 3),
        ("tasks_collected", [3]),
    ]
    assert len(ledger) == 0  # every task collected: nothing left in the book


def test_many_announcements_are_one_bulk_and_none_is_made_twice() -> None:
    ledger = _ledger(*range(20))
    assert _kinds(ledger.announce_all([(0, 0)])) == ["task_queued"]
    (bulk,) = ledger.announce_all([(t, t) for t in range(20)])
    assert bulk.kind == "tasks_queued" and list(bulk.tasks) == list(range(1, 20))
    assert bulk.labels[0] == "L1" and bulk.t == 19
    assert ledger.announce_all([(30, 5)]) == []


def test_a_held_bulk_result_whose_worker_never_reports_is_filled_in_after_the_hold() -> None:
    ledger = _ledger(1, 2, hold_ns=100)
    quick = CollectedRows()
    quick.add(1, 10, 10, W1, 1, True, "one")
    quick.add(2, 11, 11, W1, 1, False, "ValueError: two")
    assert ledger.accept(quick.take(COLLECTOR)) == []
    assert ledger.release_held(50) == []  # not yet due
    out = ledger.release_held(200)
    assert _kinds(out) == [
        "task_queued",
        "task_done",
        "task_collected",
        "task_queued",
        "task_failed",
        "task_collected",
    ]
    failed = [e for e in out if isinstance(e, TaskFailed)]
    assert failed[0].traceback == "(the traceback was lost with its worker)"


def test_results_that_never_arrived_are_requeued_once_then_lost_and_the_state_takes_back() -> None:
    """A dead worker's finished-but-unsent result: re-queued (its done taken back), and lost
    on its second try; a result read but not yet collected is left alone."""
    from mpscope.core.pipeline.events import RunStarted
    from mpscope.core.pipeline.scenario import Mode
    from mpscope.core.pipeline.state import RunState

    ledger = _ledger(1, 2, 3)
    state = RunState()
    state.apply(RunStarted(0, Mode.PIPELINE, "spawn", 2, "{}", 1))
    for event in [
        *ledger.announce(0, 1),
        *ledger.announce(0, 2),
        *ledger.announce(0, 3),
        *ledger.accept(TaskDone(2, 1, W0, 1, "1")),  # a quick task: no start of its own
        *ledger.accept(TaskDone(3, 2, W0, 1, "4")),
        *ledger.accept(TaskStarted(3, 3, W1, 1)),
    ]:
        state.apply(event)
    assert state.done == 2
    events, requeue = ledger.results_never_arrived(5, W0, delivered=frozenset({2}))
    assert requeue == [1]
    assert events == [TaskRequeued(5, 1, W0, 2)]
    for event in events:
        state.apply(event)
    assert state.done == 1  # task 1's result never arrived: it is not done after all
    assert ledger.message(1) == (1, 2, 10, False)  # its payload was kept to run it again
    for event in [*ledger.announce(6, 1), *ledger.accept(TaskDone(7, 1, W0, 1, "1", 2))]:
        state.apply(event)
    events, requeue = ledger.results_never_arrived(8, W0, delivered=frozenset({2}))
    assert requeue == []
    assert [type(e) for e in events] == [TaskLost]
    for event in events:
        state.apply(event)
    assert (state.done, state.lost) == (1, 1)
    assert ledger.results_never_arrived(9, W1)[1] == [3]  # once W1 is dead, its task too
