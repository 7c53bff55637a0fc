"""``t``: Task 2 vs Task 3 on one axis from 0, their work times in the seed's terms; ctrl+s on
every modal screen; the Gantt's axis from 0; an instant collect still drawn."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mpscope.core.pipeline.comparison import run_times
from mpscope.core.pipeline.events import Event
from mpscope.core.pipeline.lanes import Bar
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.tui.app import MpscopeApp
from mpscope.tui.screens.compare import CompareScreen, _Comparison
from mpscope.tui.views.renderables import gantt, timeline_row
from tests.app_support import recording
from tests.test_app_pilot import (
    driving,
    finished_and_shown,
    notifications,
    quit_app,
    scenario,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)


def _folded(events: list[Event]) -> RunState:
    state = RunState()
    for event in events:
        state.apply(event)
    return state


def _screen_text(app: MpscopeApp) -> str:
    """What the compare screen shows, as plain text at its own width."""
    widget = app.screen.query_one(_Comparison)
    return _render(widget.render(), widget.content_region.width)


def test_work_times_follow_the_seeds_formulas() -> None:
    task2, task3 = (run_times(_folded(recording(name))) for name in ("task2", "task3"))
    # Task 2 collects after the workers: its work is compute + collect
    assert task2.work_s == pytest.approx(task2.compute_s + task2.collect_s, rel=0.15)
    # Task 3 collects meanwhile: its work is about the longer of the two, less than their sum
    assert task3.work_s < task3.compute_s + task3.collect_s
    assert task3.work_s >= max(task3.compute_s, task3.collect_s) - 1e-9
    assert "计算时间 + 收集时间" in task2.seed_formula
    assert "max(计算时间, 收集时间)" in task3.seed_formula
    assert "compute" in task2.formula and "max(compute" in task3.formula
    assert task2.formula.startswith("work ") and task3.formula.startswith("work ")


def test_an_instant_collect_still_takes_a_column() -> None:
    bars = [Bar(1, "1", 500, 500, True)]  # --collect-time 0: a collect of no length
    row = timeline_row(bars, 0, 1000, 10).plain
    assert "█" in row, row


def test_the_plain_timeline_axis_starts_at_0() -> None:
    state = _folded(recording("task2"))
    lines = _render(gantt(state, 40)).splitlines()
    axis = lines[-1]
    assert re.search(r"\b0s\b", axis), axis
    assert state.now / 1e9 > 0.5  # the run itself started well before its work (start-up)


def _render(renderable: object, width: int = 100) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def test_t_shows_both_recorded_runs_on_one_axis_with_their_formulas() -> None:
    app = MpscopeApp(scenario(), autostart=False)
    async with driving(app) as pilot:
        app.finished_runs = {
            Mode.COLLECT_AFTER: _folded(recording("task2")),
            Mode.PIPELINE: _folded(recording("task3")),
        }
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "the screen")
        await pilot.pause(0.1)
        text = _screen_text(app)
        for words in ("Task 2 · collect after", "Task 3 · pipeline", "计算时间 + 收集时间"):
            assert words in text, words
        assert "max(计算时间, 收集时间)" in text
        assert "main (collects)" in text and "collector" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), 5, "closed")
        await quit_app(pilot)


async def test_t_after_live_runs_of_task_2_then_task_3() -> None:
    app = MpscopeApp(scenario(mode=Mode.COLLECT_AFTER, collect_time=0))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 60, "Task 2")
        await pilot.press("t")  # Task 3 not run yet: the screen says how to run it
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "the screen")
        await pilot.pause(0.1)
        assert "not run yet: press 3" in _screen_text(app)
        await pilot.press("t")
        await pilot.press("3")
        await wait_for(
            pilot, lambda: app.state.mode == Mode.PIPELINE and finished_and_shown(app), 60, "3"
        )
        assert set(app.finished_runs) == {Mode.COLLECT_AFTER, Mode.PIPELINE}
        collect_after = app.finished_runs[Mode.COLLECT_AFTER]
        collector = collect_after.collector()
        assert collector is not None and collector.bars  # --collect-time 0 still collected
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "the screen")
        await pilot.pause(0.1)
        text = _screen_text(app)
        assert "not run yet" not in text and "as fast" in text
        await pilot.press("q")
        await quit_app(pilot)


async def test_ctrl_s_on_the_compare_screen_and_a_read_only_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = MpscopeApp(scenario(), autostart=False)
    async with driving(app) as pilot:
        said = notifications(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), 5, "the screen")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: list(tmp_path.glob("*.svg")), 5, "the screenshot")
        # a folder no file can be made in (even by root): a message, not a crash
        monkeypatch.chdir("/proc")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("screenshot not saved" in s for s in said), 5, "message")
        assert app.return_code is None  # still running
        await pilot.press("escape")
        await quit_app(pilot)


async def test_ctrl_s_works_in_gen_and_on_its_memory_lesson_and_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mpscope.core.stepper.spec import resolve_target
    from mpscope.tui.stepper.app import GenApp
    from mpscope.tui.stepper.help import StepperHelpScreen
    from mpscope.tui.stepper.memory import MemoryLessonScreen

    monkeypatch.chdir(tmp_path)
    app = GenApp(resolve_target("running_average", []))
    async with app.run_test(size=(100, 30)) as pilot:
        screens = ((None, None), ("m", MemoryLessonScreen), ("?", StepperHelpScreen))
        for saved, (opening, screen) in enumerate(screens, start=1):
            if opening is not None:
                await pilot.press(opening)
                await wait_for(pilot, lambda s=screen: isinstance(app.screen, s), 5, opening)
            await pilot.press("ctrl+s")
            await wait_for(
                pilot, lambda n=saved: len(list(tmp_path.glob("*.svg"))) >= n, 5, f"shot {saved}"
            )
            if opening is not None:
                await pilot.press("escape")
                await wait_for(pilot, lambda s=screen: not isinstance(app.screen, s), 5, "closed")
        await pilot.press("q")
