"""Where a task's token flies, worked out from where the widgets are on the screen.

A task taken by a worker flies from the task queue to its lane; a finished (or failed) one from
the lane to the result queue's entry; a collected one from the result queue to the collector.
Each route starts where the screen still shows the task, so the app computes routes just
before it repaints. A route whose end is not on the screen (a folded queue, a lane scrolled
away) flies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.geometry import Offset
from textual.screen import Screen

from mpscope.core.pipeline.bulk import BULK_TYPES
from mpscope.core.pipeline.events import (
    Event,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskStarted,
)
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.tui.widgets.flights import Flights
from mpscope.tui.widgets.lanes_view import LanesView
from mpscope.tui.widgets.queue_strip import QueueStrip
from mpscope.tui.widgets.worker_lane import WorkerLane

__all__ = ["FlightPlaces", "Route", "lane_anchor", "launch_flights", "route_of", "step_seconds"]


@dataclass(frozen=True)
class FlightPlaces:
    """The widgets tokens fly between."""

    lanes: LanesView
    task_queue: QueueStrip
    result_queue: QueueStrip
    collector: WorkerLane


@dataclass(frozen=True)
class Route:
    """One token's flight: which task, from where to where (None: off the screen)."""

    task: int
    start: Offset | None
    end: Offset | None
    ok: bool = True
    """False for a failed task (its token shows it)."""


def lane_anchor(lane: WorkerLane | None) -> Offset | None:
    """Where a token lands on a lane: just after its title."""
    if lane is None or not lane.display:
        return None
    region = lane.content_region
    if region.width == 0:
        return None
    title = lane.title_width()
    return Offset(region.x + title, region.y)


def route_of(event: Event, places: FlightPlaces, mode: str) -> Route | None:
    """The flight ``event`` starts in a run of ``mode``; None if it starts none."""
    if isinstance(event, TaskStarted):
        lane = places.lanes.lane(event.worker)
        return Route(event.task, places.task_queue.token_offset(event.task), lane_anchor(lane))
    if isinstance(event, TaskDone | TaskFailed):
        lane = places.lanes.lane(event.worker)
        if lane is not None and lane.task_in_hand == event.task:
            start = lane.token_offset()
        else:
            start = places.task_queue.token_offset(event.task)
        end = places.result_queue.entry_offset() if mode != Mode.PRINT else None
        return Route(event.task, start, end, ok=not isinstance(event, TaskFailed))
    if isinstance(event, TaskCollecting | TaskCollected):
        collector = places.collector
        if isinstance(event, TaskCollected) and collector.task_in_hand == event.task:
            return None  # its token is in the collector's hand already
        start = places.result_queue.token_offset(event.task)
        return Route(event.task, start, lane_anchor(collector))
    return None


def launch_flights(
    flights: Flights,
    screen: Screen[object],
    events: list[Event],
    state: RunState,
    places: FlightPlaces,
    speed: float,
) -> None:
    """Send the tokens of ``events`` flying on ``screen``, labelled as ``state`` names tasks;
    a task's next event lands its flight, and no flight lasts longer than the step it shows."""
    for event in events:
        task = getattr(event, "task", None)
        if isinstance(task, int):
            flights.land(task)  # it moved on: whatever it was flying to, it is there
        elif type(event) in BULK_TYPES:  # quick tasks fly not (too quick to see), but one of
            flights.land_any(event.tasks)  # type: ignore[attr-defined]  # (one may have started)
        route = route_of(event, places, state.mode)
        if route is None:
            continue
        label = state.labels.get(route.task, str(route.task))
        cap = step_seconds(event, state, speed)
        flights.launch(screen, route.task, label, route.ok, route.start, route.end, speed, cap)


def step_seconds(event: Event, state: RunState, speed: float) -> float | None:
    """How long the step a flight shows lasts at ``speed``, when the scenario says: a taken
    task is worked on for its work time, a collected one for the collect time; None when the
    next event's time is not known (a finished task waits for the collector)."""
    scenario = state.scenario
    if scenario is None:
        return None
    if isinstance(event, TaskStarted):
        return scenario.work_time / max(speed, 0.01)
    if isinstance(event, TaskCollecting):
        return scenario.collect_time / max(speed, 0.01)
    return None
