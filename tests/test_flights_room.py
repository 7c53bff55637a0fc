"""Flying tokens never garble what the screen says, and never outlast the step they show.

Captured frame by frame while tokens fly, at ×1 and ×0.25: every border title and lane title
is whole, and the task queue reads in its order; a token is shown only over blank or drawn
cells; a flight is capped by the step it shows, and a task's next event lands it.
"""

from __future__ import annotations

import re
import time

import pytest

from mpscope.core.pipeline.events import TaskCollecting, TaskStarted
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.tui.app import MpscopeApp
from mpscope.tui.flight_routes import step_seconds
from mpscope.tui.widgets.flights import MIN_SECONDS, STEP_SHARE
from mpscope.tui.widgets.queue_strip import QueueStrip
from tests.test_app_pilot import driving, finished_and_shown, scenario

pytestmark = pytest.mark.timeout(120)


def _screen_lines(app: MpscopeApp) -> list[str]:
    """The whole screen as drawn, flying tokens included, one string per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def _queue_labels(app: MpscopeApp, lines: list[str]) -> list[int]:
    strip = app.query_one("#task-queue", QueueStrip)
    region = strip.content_region
    row = lines[region.y][region.x : region.right]
    tokens = row.split("◀")[0]  # the caption on the right says what the feeder does
    return [int(n) for n in re.findall(r"\d+", tokens)]


def _check_frame(app: MpscopeApp, lines: list[str]) -> None:
    screen = "\n".join(lines)
    for title in ("task queue", "result queue", "collector"):
        assert title in screen, (title, screen)
    assert re.search(r"workers · \d+ process(es)? · \d+ busy", screen), screen
    for lane in app.state.process_lanes():
        if lane.pid:
            assert lane.title in screen, (lane.title, screen)
    labels = _queue_labels(app, lines)
    assert labels == sorted(set(labels)), (labels, screen)  # in order, none twice


@pytest.mark.parametrize("speed", [1.0, 0.25])
async def test_frames_during_flights_keep_every_label_whole_and_the_queue_in_order(
    speed: float,
) -> None:
    made = scenario(
        mode=Mode.PIPELINE,
        count=8,
        workers=2,
        work_time=0.25,
        collect_time=0.08,
        time_scale=1 / speed,
    )
    app = MpscopeApp(made)
    frames = flying = 0
    async with driving(app) as pilot:
        deadline = time.monotonic() + 60
        while not finished_and_shown(app) and time.monotonic() < deadline:
            await pilot.pause(0.03)
            if not app.flights.active:
                continue
            lines = _screen_lines(app)
            _check_frame(app, lines)
            frames += 1
            flying += sum(shown for _task, _at, shown in app.flights.flying())
        assert finished_and_shown(app)
        await pilot.press("q")
    assert frames >= 5, frames  # tokens did fly, and were looked at
    if speed < 1:  # slow flights are seen in the air (at ×1 a frame may miss the few shown)
        assert flying >= 1, "no token ever showed"


def test_a_flight_is_capped_by_the_step_it_shows() -> None:
    state = RunState()
    state.scenario = scenario(work_time=0.3, collect_time=0.1)
    started = TaskStarted(0, 1, 1)
    collecting = TaskCollecting(0, 1, -1, 1, 1, True, "1")
    assert step_seconds(started, state, 0.25) == pytest.approx(1.2)  # ×0.25: 4 times as long
    assert step_seconds(collecting, state, 1.0) == pytest.approx(0.1)
    # a collect step of 0.1 s at ×1 is too quick to fly: the token just appears collected
    assert (step_seconds(collecting, state, 1.0) or 0) * STEP_SHARE < MIN_SECONDS
