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


async def _until(pilot: object, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.05)
    assert check(), "not in time"  # type: ignore[operator]


async def test_the_screens_keys_pause_speed_kill_and_restart_a_live_run() -> None:
    from mpscope.core.dataloader.run import LoaderSettings
    from mpscope.tui.loader_app import LoaderApp

    settings = LoaderSettings(samples=4000, batch_size=4, load_time=0.01, train_time=0.01)
    app = LoaderApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.loader_screen
        await _until(pilot, lambda: screen.state.steps)
        await pilot.press("space")
        assert screen.control.paused
        screen.redraw()
        assert "paused: the workers are stopped (SIGSTOP) · space resumes" in _text(
            screen.last_view
        )
        steps = len(screen.state.steps)
        await asyncio.sleep(0.5)
        assert len(screen.state.steps) <= steps + 1  # at most the step in hand ends
        await pilot.press("space")
        assert not screen.control.paused
        await pilot.press("greater_than_sign")
        assert screen.control.wanted_speed == 2.0 and screen.control.clock is not None
        assert screen.control.clock.speed == 2.0
        screen.redraw()
        assert "×2" in _text(screen.last_view)
        await pilot.press("k")
        await _until(pilot, screen.finished)
        assert screen.state.outcome == "error" and screen.state.error
        assert len(screen.state.killed) == 1
        screen.redraw()
        shown = _text(screen.last_view)
        assert "error: " in shown and "killed by mpscope (SIGKILL): worker" in shown
        await pilot.press("r")
        await _until(pilot, lambda: screen.state.steps and not screen.state.outcome)
        assert screen.control.wanted_speed == 2.0  # the speed carries over to the new run
        await pilot.press("escape")
        await pilot.pause()
    assert not screen.runner or not screen.runner.is_alive()


async def test_r_records_the_run_from_its_start_and_it_replays_the_same(
    tmp_path: Path, monkeypatch: object
) -> None:
    from mpscope.core.dataloader.report import summary_lines
    from mpscope.core.dataloader.run import LoaderSettings
    from mpscope.tui.loader_app import LoaderApp

    monkeypatch.chdir(tmp_path)  # type: ignore[attr-defined]
    app = LoaderApp(LoaderSettings(samples=24, batch_size=4, load_time=0.005, train_time=0.02))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.loader_screen
        await _until(pilot, lambda: len(screen.state.steps) >= 2)
        await pilot.press("R")
        await _until(pilot, screen.finished)
        await pilot.pause(0.3)
        live = fold(list(screen.seen))
    (recording,) = tmp_path.glob("mpscope-loader-*.jsonl")
    replayed = fold(read_recording(str(recording)))
    assert summary_lines(replayed) == summary_lines(live)
    assert len(replayed.steps) == 6


async def test_a_recording_hides_the_keys_of_a_live_run_and_help_lists_the_keys() -> None:
    from mpscope.tui.loader_app import LoaderApp
    from mpscope.tui.screens.help import HelpScreen

    app = LoaderApp(events=read_recording(str(RECORDED)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.loader_screen
        for action in ("pause", "speed", "kill", "restart", "record"):
            assert not screen.check_action(action, ())
        await pilot.press("space", "k")
        assert screen.state.outcome == "completed" and not screen.control.pids
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "SIGKILL a DataLoader worker" in app.screen.text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


def test_the_readme_lists_the_dataloader_screens_keys_as_the_table_does() -> None:
    import re

    from mpscope.tui.loader_keys import loader_key_rows

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("DataLoader screen's keys")
    table = readme[start : readme.index("\n\n", readme.index("|---|", start))]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    named = [tuple(re.findall(r"`([^`]+)`", row.split("|")[1])) for row in rows]
    assert named == [names for names, _what in loader_key_rows()]
