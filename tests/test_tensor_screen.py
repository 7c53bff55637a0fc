"""``b``: the tensor comparison screen measures for real, fills in as it goes, stops what it
measures when closed, and draws the same picture every time from figures (snapshot)."""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from mpscope.core.engine.tensor_bench import WAYS, Crossing
from mpscope.tui.app import MpscopeApp
from mpscope.tui.screens import tensor_bench
from mpscope.tui.screens.tensor_bench import TensorBenchScreen, bench_table
from tests.app_support import replay_app

pytestmark = pytest.mark.timeout(120)

Snap = Callable[..., bool]
SMALL = (64 << 10, 256 << 10)


def _text(screen: TensorBenchScreen) -> str:
    console = Console(record=True, width=108, color_system=None)
    console.print(screen.view.render())
    return console.export_text()


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small sizes: the screen's own measurement, in a second or two."""
    monkeypatch.setattr(tensor_bench, "SIZES", SMALL)
    monkeypatch.setattr(tensor_bench, "COUNT_FOR", {SMALL[0]: 3, SMALL[1]: 2})


async def test_b_measures_every_way_and_says_what_it_means(small: None) -> None:
    app = replay_app("task3")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, TensorBenchScreen)
        for _ in range(600):
            if not screen.view.measuring:
                break
            await pilot.pause(0.1)
        assert not screen.view.measuring and screen.view.error == ""
        results = {(r.size, r.way): r for r in screen.view.results}
        assert set(results) == {(size, way) for size in SMALL for way in WAYS}
        text = _text(screen)
        assert "measuring" not in text and "·" not in text.split("crossed")[0]
        handle = results[(SMALL[1], "shared (already)")].crossed
        assert handle < 2000 and results[(SMALL[1], "copy")].crossed >= SMALL[1]
        assert f"crossed as {handle} B" in text  # the measured handle, in the sentence
        await pilot.press("escape")
        assert not isinstance(app.screen, TensorBenchScreen)


async def test_closing_while_measuring_stops_and_leaves_no_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # so many results that only the stop can end the first measurement in time
    monkeypatch.setattr(tensor_bench, "SIZES", (4096, 8192))
    monkeypatch.setattr(tensor_bench, "COUNT_FOR", {4096: 20_000, 8192: 20_000})
    app = replay_app("task3")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, TensorBenchScreen)
        await pilot.pause(0.3)
        await pilot.press("escape")
        measurer = screen.measurer
        assert measurer is not None
        for _ in range(100):  # the measuring thread ends within a moment
            if not measurer.is_alive():
                break
            await pilot.pause(0.1)
        assert not measurer.is_alive(), _stack_of(measurer)
        assert len(screen.view.results) < len(SMALL) * len(WAYS)  # it did stop early


def _stack_of(thread: threading.Thread) -> str:
    """Where ``thread`` is, for a failure's message."""
    frame = sys._current_frames().get(thread.ident or 0)
    return "".join(traceback.format_stack(frame)) if frame is not None else "(gone)"


def test_the_cell_being_measured_says_so_and_the_rest_wait() -> None:
    first = Crossing(WAYS[0], SMALL[0], 3, 1.5, 342)
    console = Console(record=True, width=108, color_system=None)
    console.print(bench_table([first], SMALL, measuring=True))
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.strip().startswith("64 kB"))
    assert "1.50 ms" in row and "measuring…" in row and row.count("·") == 1
    assert "measuring… (a fresh process" in text


def test_a_failing_measurement_is_said_not_raised() -> None:
    text = Console(record=True, width=108, color_system=None)
    text.print(bench_table([], SMALL, measuring=False, error="TimeoutError: nothing received"))
    assert "could not measure: TimeoutError: nothing received" in text.export_text()


FIGURES = [
    Crossing(way, size, 5, ms, crossed)
    for size, row in ((1 << 20, (4.24, 0.71, 2.48)), (16 << 20, (52.6, 0.89, 35.1)))
    for way, ms, crossed in zip(WAYS, row, (342, 342, size + 32), strict=True)
]


def test_the_comparison_screen(snap_compare: Snap) -> None:
    async def show(pilot: Pilot[object]) -> None:
        await pilot.app.push_screen(TensorBenchScreen(shown=FIGURES))
        await pilot.pause(0.2)

    assert snap_compare(replay_app("task3"), terminal_size=(120, 40), run_before=show)


async def test_shift_t_cycles_what_each_task_returns_and_restarts() -> None:
    from tests.test_app_pilot import driving, finished_and_shown, quit_app, scenario, wait_for

    app = MpscopeApp(scenario(work_time=0.02, collect_time=0))

    async def press_and_finish(pilot: Pilot[Any], function: str) -> None:
        run = app.run_id
        await pilot.press("T")
        await wait_for(
            pilot,
            lambda: app.run_id > run and app.state.scenario is not None and finished_and_shown(app),
            60,
            f"the {function} run",
        )
        assert app.scenario.function == app.state.scenario.function == function
        assert app.state.outcome == "completed", app.state.outcome_message

    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 60, "the square run")
        assert app.state.tensor_results == 0
        await press_and_finish(pilot, "tensor")
        assert (app.state.tensor_results, app.state.collected) == (4, 4)
        assert app.state.tensor_crossed < 4 * 1000  # handles, not the 4 kB of each tensor
        await press_and_finish(pilot, "fill-shared")
        await wait_for(pilot, lambda: app.state.shared_read is not None, 30, "the tensor read")
        await press_and_finish(pilot, "square")  # and back to the seed's square
        assert app.state.tensor_results == 0
        await quit_app(pilot)


async def test_shift_t_is_not_for_a_replay() -> None:
    app = replay_app("task3")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("T")
        await pilot.pause(0.1)
        assert app.scenario.function == "square"
