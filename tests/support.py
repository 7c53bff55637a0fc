"""Helpers for tests that run the real engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.bulk import expand
from mpscope.core.pipeline.events import Event
from mpscope.core.pipeline.scenario import Scenario, make_scenario
from mpscope.core.pipeline.state import RunState

FAST = dict(work_time=0.05, collect_time=0.01, count=6, workers=2, print_delay=0.02)


def scenario(**settings: Any) -> Scenario:
    """A small, quick scenario (the seed's defaults scaled down), overridable."""
    sc, _notes = make_scenario(**{**FAST, **settings})
    return sc


def run_engine(
    sc: Scenario,
    timeout: float = 30.0,
    on_event: Callable[[Engine, Event, RunState], None] | None = None,
    raw: list[Event] | None = None,
) -> tuple[list[Event], RunState]:
    """Run ``sc`` to its end (failing after ``timeout`` s); return its events one by one (bulk
    events expanded) and the final state, folded from the events as they came. Folding the
    expanded events must give the same state (checked here, so every run checks it). ``raw``
    gets the events as the engine gave them."""
    engine = Engine(sc)
    state = RunState()
    one_by_one = RunState()
    events: list[Event] = []
    engine.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, "the run did not end in time"
            batch = engine.next_batch(0.2)
            if batch is None:
                break
            if raw is not None:
                raw.extend(batch)
            for bulk in batch:
                state.apply(bulk)
                for event in expand(bulk):
                    events.append(event)
                    one_by_one.apply(event)
                    if on_event is not None:
                        on_event(engine, event, state)
    finally:
        engine.stop("test over")
        assert engine.join(15), "engine did not finish"
    assert comparable(one_by_one) == comparable(state), "the bulk fold differs"
    return events, state


def comparable(state: RunState) -> dict[str, Any]:
    """What a state shows, as plain values to compare (not its revision: a bulk event is one
    revision, its tasks one by one are many)."""
    out: dict[str, Any] = {}
    for name, value in vars(state).items():
        if name == "revision":
            continue
        if name == "lanes":
            value = {key: _lane_values(lane) for key, lane in value.items()}
        elif hasattr(value, "__iter__") and not isinstance(value, str | dict):
            value = list(value)
        out[name] = value
    return out


def _lane_values(lane: Any) -> dict[str, Any]:
    return {
        name: list(getattr(lane, name)) if name == "bars" else getattr(lane, name)
        for name in lane.__dataclass_fields__
    }


def of_kind(events: list[Event], kind: type) -> list[Any]:
    """The events of one type."""
    return [e for e in events if isinstance(e, kind)]


def assert_balanced(state: RunState) -> None:
    """Every task ended as exactly one of done, failed or lost."""
    assert state.total is not None
    assert state.done + state.failed + state.lost == state.total, (
        state.done,
        state.failed,
        state.lost,
        state.total,
    )
