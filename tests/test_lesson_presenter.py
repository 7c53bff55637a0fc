"""Presenter mode (``mpscope lesson --presenter``): each step waits for → or space once it is
over, ← plays the step before again, the app's keys work between steps; and the captions'
language follows the locale unless ``--lang`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.core.lesson.model import parse_lesson
from mpscope.tui.cli import locale_language, main
from mpscope.tui.lesson.player import LessonApp
from tests.test_app_pilot import driving, quit_app, wait_for

SHORT = (Path(__file__).parent / "fixtures" / "short_lesson.toml").read_text(encoding="utf-8")

pytestmark = pytest.mark.timeout(120)


async def test_the_presenter_steps_on_with_right_or_space_and_back_with_left() -> None:
    app = LessonApp(parse_lesson(SHORT, "short.toml"), presenter=True)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.waiting and app.step_index == 1, 30, "step 1 over")
        assert "→ next step · ← back" in app.caption.plain
        await pilot.pause(1.0)  # longer than the step's hold: it still waits for the presenter
        assert app.step_index == 1 and app.waiting and not app.lesson_done
        await pilot.press("right")
        await wait_for(pilot, lambda: app.step_index == 2, 10, "step 2")
        await wait_for(pilot, lambda: app.waiting and app.state.finished, 60, "step 2's run")
        run = app.run_id
        await pilot.press("left")  # back a step: step 1 plays again
        await wait_for(pilot, lambda: app.step_index == 1 and app.waiting, 30, "step 1 again")
        await pilot.press("space")  # space steps on too while a step waits
        await wait_for(pilot, lambda: app.step_index == 2 and app.run_id > run, 30, "a new run")
        await wait_for(pilot, lambda: app.waiting and app.step_index == 2, 60, "step 2 over")
        await pilot.press("right")
        await wait_for(pilot, lambda: app.lesson_done, 10, "the lesson's end")
        await quit_app(pilot)


async def test_space_is_the_apps_pause_while_a_presenters_step_still_plays() -> None:
    lesson = parse_lesson(
        "[[step]]\ncaption = 'a long run'\n"
        "run = { mode = 'pipeline', workers = 2, count = 40, work_time = 0.2 }\n"
        "until = 'finished'\n",
        "long.toml",
    )
    app = LessonApp(lesson, presenter=True)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.state.done >= 1, 60, "the run under way")
        assert not app.waiting
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.paused, 10, "the run paused")
        await pilot.press("right")  # the step is not over: → waits for it
        assert app.step_index == 1 and not app.lesson_done
        await quit_app(pilot)


async def test_without_presenter_the_arrows_do_nothing_and_the_lesson_goes_on() -> None:
    app = LessonApp(parse_lesson(SHORT, "short.toml"))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.step_index == 1, 10, "step 1")
        await pilot.press("left")
        await wait_for(pilot, lambda: app.lesson_done, 60, "the lesson's end by itself")
        assert not app.waiting
        await quit_app(pilot)


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),  # LC_ALL first
        ({"LC_ALL": "", "LC_MESSAGES": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_captions_language_follows_the_locale(environ: dict[str, str], lang: str) -> None:
    assert locale_language(environ) == lang


def test_presenter_mode_cannot_be_headless(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "--presenter", "--cast", "x.cast", "--headless"]) == 2
    assert "--presenter waits for your keys" in capsys.readouterr().err


async def _play_once() -> tuple[list[str], list[str], tuple[object, ...]]:
    """The short lesson played to its end: the captions it said, its markers, its end state."""
    app = LessonApp(parse_lesson(SHORT, "short.toml"), speed=4.0)
    captions: list[str] = []
    markers: list[str] = []
    app._mark = markers.append
    said = app._say

    def say(text: str, title: str = "") -> None:
        said(text, title)
        captions.append(app.caption.plain)

    app._say = say  # type: ignore[method-assign]
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.lesson_done, 60, "the lesson's end")
        stepper = app.query_one("#stepper").stepper  # type: ignore[attr-defined]
        state = app.state
        end = (state.mode, state.done, state.collected, state.outcome, stepper.history[-1].value)
        await quit_app(pilot)
    return captions, markers, end


async def test_a_lesson_plays_the_same_every_time() -> None:
    """The same captions in the same order, the same markers, the same end states (the runs'
    timing and the flights' frames may differ)."""
    first, second = await _play_once(), await _play_once()
    assert first == second
    captions, markers, end = first
    assert markers == ["1. running_average", "2. a small Task 3"]
    assert captions[-1].startswith("step 2 of 2") and "lesson over" in captions[-1]
    assert end == ("pipeline", 3, 3, "completed", 10.0)
