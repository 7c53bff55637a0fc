"""Pilot tests of the stepper panel: every key, the buttons, bad input, and a runaway generator."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Footer, Input, Select, Static

from mpscope.core.stepper.hints import PRIME_FIRST
from mpscope.core.stepper.memory_lesson import MemoryFigures
from mpscope.core.stepper.result import Action, GenState, Outcome
from mpscope.core.stepper.spec import GenTarget, resolve_target
from mpscope.tui.stepper.app import GenApp
from mpscope.tui.stepper.help import StepperHelpScreen
from mpscope.tui.stepper.memory import MemoryLessonScreen
from mpscope.tui.stepper.panel import RUNNING_HINT, StepperPanel
from mpscope.tui.stepper.throw import ThrowDialog
from tests.gen_fixture_loader import gen_fixture

FIXTURES = Path(__file__).parent / "gen_fixtures"
FAKE_FIGURES = MemoryFigures(1000, 8056, 208, 40_056, 320)


class Host(App[None]):
    """The panel as a side panel beside something else, as the main app will mount it."""

    CSS = "#lanes { width: 1fr; } StepperPanel { width: 52; }"

    def __init__(self, target: GenTarget | None = None) -> None:
        super().__init__()
        self.target = target
        self.stepped: list[Any] = []
        self.loaded: list[StepperPanel.Loaded] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("lanes", id="lanes")
            yield StepperPanel(self.target, measure_fn=lambda n: FAKE_FIGURES)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StepperPanel).focus()

    def on_stepper_panel_stepped(self, message: StepperPanel.Stepped) -> None:
        self.stepped.append(message.result)

    def on_stepper_panel_loaded(self, message: StepperPanel.Loaded) -> None:
        self.loaded.append(message)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Let the app run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await pilot.pause(0.01)


async def press_and_wait(pilot: Pilot[Any], panel: StepperPanel, *keys: str) -> None:
    """Press ``keys``; wait until the panel has shown the result of the last step."""
    stepper = panel.stepper
    assert stepper is not None
    before = len(stepper.history) and stepper.history[-1].index
    await pilot.press(*keys)
    await until(pilot, lambda: panel.last_shown is not None and panel.last_shown.index > before)


def text_of(app: App[Any] | Screen[Any], selector: str) -> str:
    """What a Static shows, as plain text (wide enough not to wrap)."""
    console = Console(width=400, file=io.StringIO(), record=True, color_system=None)
    console.print(app.query_one(selector, Static).content)
    return console.export_text().strip()


def panel_of(app: App[Any]) -> StepperPanel:
    return app.query_one(StepperPanel)


async def test_n_steps_and_the_panel_shows_it() -> None:
    app = Host(resolve_target("squares_gen"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        assert "CREATED" in text_of(app, "#stepper-status")
        await press_and_wait(pilot, panel, "n")
        await press_and_wait(pilot, panel, "n")
        assert panel.stepper is not None and panel.stepper.state is GenState.SUSPENDED
        assert "SUSPENDED" in text_of(app, "#stepper-status")
        assert "line 26" in text_of(app, "#stepper-status")
        assert "next() → yielded 1" in text_of(app, "#stepper-outcome")
        history = text_of(app, "#stepper-history")
        assert "next() → yielded 0" in history and "next() → yielded 1" in history
        assert "i" in text_of(app, "#stepper-locals")
        assert [r.value for r in app.stepped] == [0, 1]


async def test_s_focuses_send_and_enter_sends_like_the_seed() -> None:
    app = Host(resolve_target("running_average"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        box = app.query_one("#stepper-send", Input)
        for value in ("10", "20", "30"):  # s, the value, Enter: the seed's three sends
            await pilot.press("s")
            assert app.focused is box
            await press_and_wait(pilot, panel, *value, "enter")
            assert box.value == "" and app.focused is panel  # the panel's keys again
        assert [r.value for r in app.stepped] == [None, 10.0, 15.0, 20.0]
        assert "send(30) → yielded 20.0" in text_of(app, "#stepper-outcome")
        await pilot.press("s", "escape")  # Esc leaves the box without sending
        assert app.focused is panel


async def test_send_before_priming_shows_the_type_error_and_the_hint() -> None:
    app = Host(resolve_target("running_average"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await pilot.press("s")
        await press_and_wait(pilot, panel, "1", "0", "enter")
        assert "TypeError: can't send non-None value" in text_of(app, "#stepper-outcome")
        assert text_of(app, "#stepper-hint") == PRIME_FIRST
        assert "CREATED" in text_of(app, "#stepper-status")


async def test_bad_send_value_shows_an_inline_error_and_leaves_the_generator() -> None:
    app = Host(resolve_target("running_average"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        stepper = panel.stepper
        assert stepper is not None
        calls = len(stepper.history)
        await pilot.press("s", *"ten", "enter")
        await pilot.pause(0.05)
        error = app.query_one("#stepper-error", Static)
        assert "send: not a literal: the name 'ten'" in text_of(app, "#stepper-error")
        assert "The generator is untouched" in text_of(app, "#stepper-error")
        assert not error.has_class("-empty")
        assert len(stepper.history) == calls
        assert stepper.state is GenState.SUSPENDED
        assert app.query_one("#stepper-send", Input).value == "ten"  # kept for fixing
        await pilot.press("backspace")
        assert error.has_class("-empty")  # editing clears the error
        await pilot.press("ctrl+u", *"(1,", "enter")
        await pilot.pause(0.05)
        assert "not valid Python" in text_of(app, "#stepper-error")
        assert len(stepper.history) == calls


async def test_t_throws_what_the_dialog_asks() -> None:
    target = resolve_target(f"{FIXTURES / 'user_gens.py'}:echo")
    app = Host(target)
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ThrowDialog))
        await press_and_wait(pilot, panel, *"boom", "enter")
        last = app.stepped[-1]
        assert (last.action, last.argument, last.value) == (
            Action.THROW,
            "ValueError('boom')",
            "caught boom",
        )
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ThrowDialog))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ThrowDialog))
        assert app.stepped[-1] is last  # cancelled: nothing thrown


async def test_throw_an_uncaught_type_from_the_dialog() -> None:
    app = Host(resolve_target("squares_gen"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ThrowDialog))
        app.screen.query_one("#throw-type", Select).value = "KeyError"
        await press_and_wait(pilot, panel, "enter")
        assert app.stepped[-1].error_type == "KeyError"
        assert "CLOSED" in text_of(app, "#stepper-status")


async def test_c_closes_and_r_resets() -> None:
    app = Host(resolve_target("squares_gen"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        await press_and_wait(pilot, panel, "c")
        assert app.stepped[-1].outcome is Outcome.CLOSED
        assert "CLOSED" in text_of(app, "#stepper-status")
        await press_and_wait(pilot, panel, "n")
        assert app.stepped[-1].outcome is Outcome.EXHAUSTED
        assert "cannot be rewound" in text_of(app, "#stepper-hint")
        await press_and_wait(pilot, panel, "r")
        assert app.stepped[-1].outcome is Outcome.CREATED
        assert "CREATED" in text_of(app, "#stepper-status")
        await press_and_wait(pilot, panel, "n")
        assert app.stepped[-1].value == 0


async def test_buttons_drive_the_same_calls() -> None:
    app = Host(resolve_target("running_average"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await press_and_wait(pilot, panel, "n")
        app.query_one("#stepper-send", Input).value = "10"
        before = len(app.stepped)
        await pilot.click("#stepper-send-button")
        await until(pilot, lambda: len(app.stepped) > before)
        assert app.stepped[-1].value == 10.0
        await pilot.click("#stepper-close")
        await until(pilot, lambda: app.stepped[-1].outcome is Outcome.CLOSED)
        await pilot.click("#stepper-reset")
        await until(pilot, lambda: app.stepped[-1].outcome is Outcome.CREATED)
        await pilot.click("#stepper-next")
        await until(pilot, lambda: app.stepped[-1].action is Action.NEXT)


async def test_e_picks_another_example() -> None:
    app = Host(resolve_target("squares_gen"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await pilot.press("e")
        picker = app.query_one("#stepper-picker", Select)
        assert picker.expanded and app.focused is not panel
        await pilot.press("down", "down", "down", "enter")  # batch_generator
        await until(pilot, lambda: panel.target.example is not None)
        await until(pilot, lambda: panel.target.label.startswith("batch_generator"))
        assert app.loaded[-1].label.startswith("batch_generator")
        assert app.focused is panel
        await press_and_wait(pilot, panel, "n")
        assert app.stepped[-1].value == [0, 1, 2, 3, 4, 5, 6, 7]


async def test_another_generator_starts_with_an_empty_send_box() -> None:
    app = Host(resolve_target("running_average"))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        await pilot.press("s")
        box = app.query_one("#stepper-send", Input)
        await pilot.press("4", "2")
        assert box.value == "42"
        panel.load_example("squares_gen")
        await until(pilot, lambda: panel.target.label.startswith("squares_gen"))
        assert box.value == ""


async def test_g_hide_is_offered_only_beside_the_lanes() -> None:
    app = Host(resolve_target("squares_gen"))  # a host with no lanes to go back to
    async with app.run_test(size=(110, 40)):
        assert panel_of(app).check_action("hide", ()) is False


async def test_m_opens_the_memory_lesson() -> None:
    app = Host(resolve_target("squares_gen"))
    async with app.run_test(size=(110, 40)) as pilot:
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MemoryLessonScreen))
        screen = app.screen
        assert isinstance(screen, MemoryLessonScreen)
        await until(pilot, lambda: screen.figures is not None)
        shown = text_of(screen, "#memory-result")
        assert "7.9 KB" in shown and "39.1 KB" in shown
        screen.query_one("#memory-n", Input).value = "oops"
        await pilot.click("#memory-go")
        await pilot.pause(0.05)
        assert "not a literal" in text_of(screen, "#memory-error")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MemoryLessonScreen))


async def test_x_gives_up_on_a_runaway_generator() -> None:
    runaway = gen_fixture("runaway")
    runaway.STOP.clear()
    target = GenTarget("spin()", runaway.spin)
    app = Host(target)
    try:
        async with app.run_test(size=(110, 40)) as pilot:
            panel = panel_of(app)
            await press_and_wait(pilot, panel, "n")
            await pilot.press("n")
            await until(pilot, lambda: panel.running)
            assert "RUNNING" in text_of(app, "#stepper-status")
            assert text_of(app, "#stepper-hint") == RUNNING_HINT
            assert app.query_one("#stepper-next").disabled
            assert app.query_one("#stepper-give-up").display
            await pilot.press("n")  # ignored while running
            await pilot.press("x")
            await until(pilot, lambda: not panel.running)
            assert app.stepped[-1].outcome is Outcome.ABANDONED
            assert "ABANDONED" in text_of(app, "#stepper-status")
            assert "keeps running in the" in text_of(app, "#stepper-hint")
            assert not app.query_one("#stepper-give-up").display
            await press_and_wait(pilot, panel, "r")
            await press_and_wait(pilot, panel, "n")
            assert app.stepped[-1].value == "started"
            thread = panel.runner.last_thread if panel.runner else None
    finally:
        runaway.STOP.set()
    assert thread is not None
    thread.join(2)


async def test_a_factory_that_fails_shows_a_message_in_the_panel() -> None:
    def broken() -> Any:
        raise OSError("disk on fire")

    app = Host(GenTarget("broken()", broken))
    async with app.run_test(size=(110, 40)) as pilot:
        panel = panel_of(app)
        assert panel.stepper is None
        assert "ERROR" in text_of(app, "#stepper-status")
        assert "OSError: disk on fire" in text_of(app, "#stepper-hint")
        assert app.loaded[-1].error is not None
        await pilot.press("n")  # the key is disabled: nothing to step
        await pilot.pause(0.05)
        assert app.stepped == []
        await pilot.click("#stepper-next")
        await pilot.pause(0.05)
        assert "disk on fire" in text_of(app, "#stepper-error")


async def test_gen_app_help_footer_and_quit() -> None:
    app = GenApp(resolve_target("genexpr"))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = panel_of(app)
        assert app.focused is panel
        assert app.query_one(Footer)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, StepperHelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, StepperHelpScreen))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, StepperHelpScreen))
        await pilot.press("escape")
        await press_and_wait(pilot, panel, "n")
        assert "next() → yielded 0" in text_of(app, "#stepper-outcome")
        await pilot.press("q")
        await pilot.pause(0.05)
    assert app.return_code == 0


async def test_panel_switches_to_two_columns_when_wide() -> None:
    app = GenApp(resolve_target("squares_gen"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.05)
        assert panel_of(app).has_class("-wide")
    host = Host(resolve_target("squares_gen"))
    async with host.run_test(size=(110, 40)) as pilot:
        await pilot.pause(0.05)
        assert not panel_of(host).has_class("-wide")
