"""SVG snapshots of the stepper panel in each state, full screen and as a side panel.

Regenerate with ``pytest tests/test_stepper_snapshots.py --snapshot-update`` and look at the
SVGs in ``tests/__snapshots__/test_stepper_snapshots/`` before committing them. Examples whose
locals show a temporary path (read_large_file) are left out: they differ on every run.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.pilot import Pilot
from textual.widgets import Footer, Input, Static

from mpscope.core.stepper.memory_lesson import MemoryFigures
from mpscope.core.stepper.spec import GenTarget, resolve_target
from mpscope.tui.stepper.app import GenApp
from mpscope.tui.stepper.panel import StepperPanel
from tests.gen_fixture_loader import gen_fixture

FIGURES = MemoryFigures(1_000_000, 8_448_728, 208, 40_448_360, 352)
"""The memory lesson's figures for n = 1,000,000 as measured on CPython 3.11 (fixed for the
snapshot; the real measurement varies a little between runs)."""

Snap = Callable[..., bool]


class SidePanelHost(App[None]):
    """The panel 52 columns wide beside a placeholder for the lanes, as in the main app."""

    CSS = """
    #lanes { width: 1fr; border: round $success 50%; content-align: center middle; }
    StepperPanel { width: 52; }
    """

    def __init__(self, target: GenTarget) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("worker lanes", id="lanes")
            yield StepperPanel(self.target, measure_fn=lambda n: FIGURES)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StepperPanel).focus()


def gen_app(spec: str) -> GenApp:
    app = GenApp(resolve_target(spec))
    return app


async def _until(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 3
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.01)


def steps(
    *keys: str, calls: int, then: tuple[str, ...] = ()
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Press ``keys``, wait until the panel has shown ``calls`` results, then press ``then``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        panel = pilot.app.query_one(StepperPanel)
        await pilot.press(*keys)
        await _until(
            pilot, lambda: panel.last_shown is not None and panel.last_shown.index == calls
        )
        await pilot.press(*then)
        for box in pilot.app.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    return run_before


def test_created(snap_compare: Snap) -> None:
    assert snap_compare(gen_app("squares_gen"), terminal_size=(80, 24))


def test_suspended(snap_compare: Snap) -> None:
    run_before = steps("n", "n", calls=2)
    assert snap_compare(gen_app("squares_gen"), terminal_size=(80, 24), run_before=run_before)


def test_send_before_priming(snap_compare: Snap) -> None:
    run_before = steps("s", "1", "0", "enter", calls=1, then=("escape",))
    assert snap_compare(gen_app("running_average"), terminal_size=(80, 24), run_before=run_before)


def test_running_average_like_the_seed(snap_compare: Snap) -> None:
    keys = ("n", "s", "1", "0", "enter", "s", "2", "0", "enter", "s", "3", "0", "enter")
    run_before = steps(*keys, calls=4)
    assert snap_compare(gen_app("running_average"), terminal_size=(120, 40), run_before=run_before)


def test_exhausted(snap_compare: Snap) -> None:
    run_before = steps(*"nnnnnnn", calls=7)
    assert snap_compare(gen_app("genexpr"), terminal_size=(80, 24), run_before=run_before)


def test_side_panel_batches(snap_compare: Snap) -> None:
    app = SidePanelHost(resolve_target("batch_generator"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=steps("n", "n", calls=2))


async def _running(pilot: Pilot[Any]) -> None:
    """Step the blocked fixture into its endless wait and let the panel say so."""
    panel = pilot.app.query_one(StepperPanel)
    await steps("n", calls=1)(pilot)
    await pilot.press("n")
    await _until(pilot, lambda: panel.running)
    await pilot.pause(0.3)  # one poll of the live line


def _blocked_target() -> tuple[GenTarget, ModuleType]:
    blocked = gen_fixture("blocked")
    blocked.RELEASE.clear()
    return GenTarget("blocked()", blocked.blocked), blocked


def test_side_panel_running(snap_compare: Snap) -> None:
    target, blocked = _blocked_target()
    try:
        assert snap_compare(SidePanelHost(target), terminal_size=(120, 40), run_before=_running)
    finally:
        blocked.RELEASE.set()


def test_side_panel_abandoned(snap_compare: Snap) -> None:
    target, blocked = _blocked_target()

    async def abandoned(pilot: Pilot[Any]) -> None:
        await _running(pilot)
        await pilot.press("x")
        await _until(pilot, lambda: not pilot.app.query_one(StepperPanel).running)

    try:
        assert snap_compare(SidePanelHost(target), terminal_size=(120, 40), run_before=abandoned)
    finally:
        blocked.RELEASE.set()


def test_memory_lesson(snap_compare: Snap) -> None:
    app = SidePanelHost(resolve_target("squares_gen"))

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("m")
        await pilot.pause(0.2)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_help(snap_compare: Snap) -> None:
    assert snap_compare(gen_app("squares_gen"), terminal_size=(120, 40), press=["question_mark"])


def test_throw_dialog(snap_compare: Snap) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await steps("n", calls=1)(pilot)
        await pilot.press("t")
        await pilot.pause(0.1)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False

    assert snap_compare(gen_app("squares_gen"), terminal_size=(80, 24), run_before=run_before)
