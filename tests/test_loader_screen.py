"""Key 4: the DataLoader screen, live from a real DataLoader and from a recording."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console

from mpscope.core.dataloader.report import read_recording
from mpscope.core.dataloader.state import fold
from mpscope.tui.app import MpscopeApp
from mpscope.tui.screens.loader import LoaderScreen
from mpscope.tui.views.loader import loader_view
from tests.app_support import replay_app

RECORDED = Path(__file__).parent / "fixtures" / "dataloader_slow_sample.jsonl"


def _text(state_view: object, width: int = 240) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    console.print(state_view)
    return console.export_text()


def test_the_view_titles_each_lane_with_its_pid_and_shows_prefetch_and_ready() -> None:
    events = read_recording(str(RECORDED))
    done = fold(events)
    text = _text(loader_view(done))
    for worker, pid in done.pids.items():
        assert f"worker {worker} pid {pid}" in text
    assert f"loop pid {done.main_pid}" in text
    assert "in-order delivery held back" in text and "finished: completed" in text
    mid = fold(events[: len(events) // 2])
    held = len(mid.in_flight()) + len(mid.ready())
    text = _text(loader_view(mid))
    assert f"{held}/{mid.settings.prefetch_bound}" in text
    assert ("ready in the main process: none" in text) == (not mid.ready())


async def test_key_4_runs_a_real_dataloader_and_escape_goes_back() -> None:
    app = replay_app("task3")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LoaderScreen)
        deadline = time.monotonic() + 60
        while not screen.finished() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert screen.finished() and screen.state.outcome == "completed", screen.state.error
        assert len(screen.state.pids) == 2
        screen.redraw()
        await pilot.pause()
        shown = _text(screen.last_view)
        app.save_screenshot("loader.svg", "/tmp")
        for worker, pid in screen.state.pids.items():
            assert f"worker {worker} pid {pid}" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LoaderScreen)


async def test_the_screen_shows_a_recording_at_once() -> None:
    app = MpscopeApp(replay=[], replay_name="none", instant=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = LoaderScreen(events=read_recording(str(RECORDED)))
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.finished() and screen.runner is None
        assert screen.state.head_of_line_ns > 0


async def test_the_loader_app_replays_a_recording_and_q_ends_it() -> None:
    from mpscope.tui.loader_app import LoaderApp

    app = LoaderApp(events=read_recording(str(RECORDED)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoaderScreen) and app.screen.finished()
        assert "in-order delivery held back" in _text(app.screen.last_view)
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_code in (0, None)
