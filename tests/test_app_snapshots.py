"""SVG snapshots of the app fed from recorded runs (deterministic: recordings carry their own
PIDs and times, and are shown instantly, without flights).

Each mode, a failure and a killed worker, at 80x24 and at 120x40. Regenerate with
``pytest tests/test_app_snapshots.py --snapshot-update`` after ``python -m
tests.recordings.make_recordings``, and look at the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from mpscope.tui.app import MpscopeApp
from tests.app_support import midrun_app, replay_app

Snap = Callable[..., bool]
RECORDINGS = ["task1", "task2", "task3", "failure", "killed", "tensor", "fill_shared"]
SIZES = [(80, 24), (120, 40)]


async def _until_finished(pilot: Pilot[object]) -> None:
    app = pilot.app
    assert isinstance(app, MpscopeApp)
    for _ in range(200):
        if app.state.finished and app.query_one("#summary").has_class("-shown"):
            break
        await pilot.pause(0.02)
    assert app.state.finished
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", RECORDINGS)
def test_recorded_run(snap_compare: Snap, name: str, size: tuple[int, int]) -> None:
    assert snap_compare(replay_app(name), terminal_size=size, run_before=_until_finished)


async def _show_log(pilot: Pilot[object]) -> None:
    from mpscope.tui.widgets.event_log import EventLog

    await _until_finished(pilot)
    await pilot.press("l")
    log = pilot.app.query_one(EventLog)
    for _ in range(100):  # until the log shows its newest line
        if log.max_scroll_y > 0 and log.scroll_offset.y >= log.max_scroll_y:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.5)  # the log redraws at most four times a second


def test_log_after_a_run(snap_compare: Snap) -> None:
    assert snap_compare(replay_app("failure"), terminal_size=(120, 40), run_before=_show_log)


def test_tensor_results_in_the_log(snap_compare: Snap) -> None:
    """Each tensor result in one line: dtype, shape, bytes, shared, and what crossed."""
    assert snap_compare(replay_app("tensor"), terminal_size=(120, 40), run_before=_show_log)


def test_failure_traceback_screen(snap_compare: Snap) -> None:
    async def show_error(pilot: Pilot[object]) -> None:
        await _until_finished(pilot)
        await pilot.press("e")
        await pilot.pause(0.2)

    assert snap_compare(replay_app("failure"), terminal_size=(120, 40), run_before=show_error)


def test_help_screen(snap_compare: Snap) -> None:
    async def show_help(pilot: Pilot[object]) -> None:
        await _until_finished(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(replay_app("task3"), terminal_size=(120, 40), run_before=show_help)


@pytest.mark.parametrize("name", ["task2", "task3"])
def test_midrun(snap_compare: Snap, name: str) -> None:
    """Tokens in the queues and busy workers, as a run stands half way."""

    async def settle(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, MpscopeApp)
        from mpscope.tui.widgets.event_log import EventLog

        log = app.query_one(EventLog)
        for _ in range(200):  # every event folded, and the log showing its newest line
            if (
                app.state.lanes
                and app.state.revision >= len(app.replay_events or [])
                and log.virtual_size.height == len(log.lines_text) > 0
                and log.scroll_offset.y >= log.max_scroll_y
            ):
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)

    halfway = {"task2": 0.37, "task3": 1.9}[name]
    assert snap_compare(midrun_app(name, halfway), terminal_size=(120, 34), run_before=settle)


async def test_command_palette_lists_the_apps_actions() -> None:
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    app = replay_app("task3")
    async with app.run_test(size=(100, 30)) as pilot:
        await _until_finished(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"task")
        prompts: list[str] = []
        for _ in range(100):
            palette = app.screen
            if isinstance(palette, CommandPalette):
                options = palette.query_one(OptionList)
                prompts = [
                    str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
                ]
                if len(prompts) >= 3:
                    break
            await pilot.pause(0.05)
        text = " ".join(prompts)
        for title in ("Task 1 · processes print", "Task 2 · collect after", "Task 3 · pipeline"):
            assert title in text, text


async def test_a_palette_command_runs_its_action() -> None:
    """Picking "Task 2 · collect after" in the palette switches the mode (an async action)."""
    from tests.support import scenario

    app = MpscopeApp(scenario(count=3, work_time=0.05))
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(400):
            if app.state.finished:
                break
            await pilot.pause(0.05)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"collect after", "enter")
        for _ in range(400):
            if app.state.mode == "collect-after" and app.state.finished:
                break
            await pilot.pause(0.05)
        assert app.scenario.mode == "collect-after"
        assert app.state.mode == "collect-after" and app.state.finished
        await app.action_quit()


async def test_a_turns_flying_tokens_off_and_on() -> None:
    from tests.support import scenario

    app = MpscopeApp(scenario(count=40, work_time=0.15))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        assert app.flying_tokens is False
        for _ in range(200):  # a live run well under way, and nothing took off
            if app.state.collected >= 3:
                break
            assert not app.flights.active
            await pilot.pause(0.05)
        assert app.state.collected >= 3
        await pilot.press("a")
        assert app.flying_tokens is True
        for _ in range(200):
            if app.flights.active:
                break
            await pilot.pause(0.02)
        assert app.flights.active
        await app.action_quit()


def test_no_animation_option_reaches_the_app() -> None:
    from mpscope.tui.cli import build_parser

    args = build_parser().parse_args(["run", "--no-animation"])
    assert args.no_animation is True
    assert build_parser().parse_args(["run"]).no_animation is False
