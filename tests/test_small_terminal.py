"""At 80x24: the footer still offers what a teacher needs first (quit, help, the speed); the
stepper wraps what the seed prints instead of cutting it, and keeps its newest call in view."""

from __future__ import annotations

import io

from rich.console import Console
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from mpscope.core.stepper.spec import resolve_target
from mpscope.tui.app import MpscopeApp
from mpscope.tui.stepper.app import GenApp
from mpscope.tui.stepper.panel import StepperPanel
from tests.test_app_pilot import quit_app, scenario, spawned, wait_for
from tests.test_stepper_panel import press_and_wait


def _footer_text_on_screen(app: MpscopeApp) -> str:
    """The footer's keys that are drawn inside the terminal's width, left to right."""
    footer = app.screen.query_one(Footer)
    width = app.size.width
    shown = [key for key in footer.children if key.region.width and key.region.right <= width]
    shown.sort(key=lambda key: key.region.x)
    return " ".join(str(key.render()) for key in shown)


async def test_a_live_run_at_80_columns_keeps_the_speed_keys_in_the_footer() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        try:
            await wait_for(pilot, lambda: spawned(app), what="the workers")
            await pilot.pause(0.2)
            text = _footer_text_on_screen(app)
            for word in ("Quit", "Help", "Speed"):
                assert word in text, text
            assert "</>" in text, text
        finally:
            await quit_app(pilot)


def _as_drawn(static: Static) -> str:
    """A Static's content as drawn at its own width, with every space and line break taken out
    (a value wrapped over two rows reads as one)."""
    console = Console(width=static.content_region.width, file=io.StringIO(), color_system=None)
    console.print(static.content)
    return "".join(console.file.getvalue().split())  # type: ignore[attr-defined]


async def test_the_steppers_history_wraps_the_batches_and_keeps_the_newest_in_view() -> None:
    app = GenApp(resolve_target("batch_generator"))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(StepperPanel)
        for _ in range(3):
            await press_and_wait(pilot, panel, "n")
        await pilot.pause(0.2)
        drawn = _as_drawn(app.query_one("#stepper-history", Static))
        for batch in ("[0,1,2,3,4,5,6,7]", "[8,9,10,11,12,13,14,15]", "[16,17,18,19,20,21,22,23]"):
            assert batch in drawn, drawn  # whole, not cut with …
        assert "…" not in drawn
        scroll = app.query_one("#stepper-history-scroll", VerticalScroll)
        assert scroll.scroll_y == scroll.max_scroll_y  # the newest call is not below the fold
        source = _as_drawn(app.query_one("#source-text", Static))
        assert "defbatch_generator(iterable,batch_size):" in source, source


def test_a_lane_that_cannot_exit_says_so_whole_at_80_columns() -> None:
    from mpscope.core.pipeline.events import Note, WorkerLoopEnded
    from mpscope.core.pipeline.state import RunState
    from mpscope.tui.widgets.worker_lane import STUCK_EXITING_WORDS, WorkerLane
    from tests.app_support import recording

    events = recording("task2")
    ended = next(i for i, e in enumerate(events) if isinstance(e, WorkerLoopEnded))
    state = RunState()
    state.apply_all(events[: ended + 1])
    worker = events[ended].worker  # type: ignore[attr-defined]
    state.apply(Note(events[ended].t + 1_000_000_000, "info", "a second later"))  # still there
    lane = WorkerLane(worker)
    for width, words in ((116, STUCK_EXITING_WORDS[0]), (76, None)):
        line = lane._headline(state.lanes[worker], state, width).plain
        assert len(line) <= width and "…" not in line, line
        said = words or next(w for w in STUCK_EXITING_WORDS if w in line)
        assert said in line, line
