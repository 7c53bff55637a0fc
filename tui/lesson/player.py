"""The app playing a lesson (:mod:`mpscope.core.lesson.model`) by itself.

:class:`LessonApp` is the app with a caption bar over the footer. A task walks the steps: it
shows the caption, does what the step says through the app's own actions (a run of the step's
scenario, keys, the stepper on one of the seed's examples and its ``next()``/``send()`` calls,
the memory lesson), waits for the step's condition on the state (never a guessed sleep: a run
finished, N tasks collected, the generator suspended), and then holds so the caption can be
read. A condition that does not come within the step's timeout is said in the caption, and the
lesson goes on. Every key of the app still works meanwhile; ``q`` leaves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from mpscope.core.lesson.model import Lesson, Step, Wait
from mpscope.core.stepper.memory_lesson import DEFAULT_N
from mpscope.core.stepper.result import GenState
from mpscope.tui import app as app_module
from mpscope.tui.app import MpscopeApp
from mpscope.tui.keys import KEY_TABLE, RUN
from mpscope.tui.session.signals import run_app_session
from mpscope.tui.stepper.memory import MemoryLessonScreen
from mpscope.tui.stepper.panel import StepperPanel

__all__ = ["CaptionBar", "LessonApp", "run_lesson_app"]

POLL_S = 0.05
END_HOLD_S = 1.5
WORDS = {
    "en": {"step": "step", "of": "of", "late": "did not happen within", "over": "lesson over"},
    "zh": {"step": "第", "of": "步，共", "late": "未在以下时间内发生：", "over": "课程结束"},
}


class CaptionBar(Static):
    """The lesson's caption: which step, and what to look at."""

    DEFAULT_CSS = """
    CaptionBar {
        height: auto;
        max-height: 4;
        padding: 0 1;
        background: $boost;
        color: $text;
        border-top: tall $accent;
    }
    """


def _key_actions() -> dict[str, str]:
    """Key name → the app's action, from the key table."""
    actions: dict[str, str] = {}
    for row in KEY_TABLE:
        if row.where & RUN:
            for key in row.keys:
                for name in key.keys.split(","):
                    actions.setdefault(name, key.action)
    return actions


class LessonApp(MpscopeApp):
    """The app, driven by a lesson; see the module docstring."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # app.py's, from here

    def __init__(
        self, lesson: Lesson, lang: str = "en", exit_at_end: bool = False, speed: float = 1.0
    ) -> None:
        super().__init__(autostart=False)
        self.lesson = lesson
        self.lang = lang
        self.exit_at_end = exit_at_end
        self.lesson_speed = speed
        self.speed = speed
        self.step_index = 0
        """The step being played (1-based); 0 before the first."""
        self.lesson_done = False
        self._actions = _key_actions()

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, Footer):  # the caption sits over the footer, not over it
                yield CaptionBar(self.lesson.title_in(self.lang), id="caption")
            yield widget

    def on_mount(self) -> None:
        super().on_mount()
        self.run_worker(self._play(), exclusive=True, group="lesson")

    # -- playing -----------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        words = WORDS[self.lang]
        total = len(self.lesson.steps)
        if self.lang == "zh":
            where = f"{words['step']} {self.step_index} {words['of']} {total} 步"
        else:
            where = f"{words['step']} {self.step_index} {words['of']} {total}"
        self.query_one(CaptionBar).update(f"[b]{where}[/b]  {text}")

    async def _play(self) -> None:
        for index, step in enumerate(self.lesson.steps, 1):
            self.step_index = index
            self._say(step.caption_in(self.lang))
            await self._do(step)
            if not await self._wait(step):
                late = f"{WORDS[self.lang]['late']} {step.timeout:g}s"
                self._say(f"{step.caption_in(self.lang)}  ({late})")
            await asyncio.sleep(step.hold / max(self.lesson_speed, 0.01))
        self.lesson_done = True
        self.step_index = len(self.lesson.steps)
        self._say(f"{WORDS[self.lang]['over']}: {self.lesson.title_in(self.lang)}")
        if self.exit_at_end:
            await asyncio.sleep(END_HOLD_S)  # the last caption is seen (and cast) before it goes
            await self.action_quit()

    async def _do(self, step: Step) -> None:
        if step.close:
            self._close()
        if step.run is not None:
            time_scale = 1 / self.speed
            self.scenario = dataclasses.replace(step.run, time_scale=time_scale)
            await self.action_restart()
        for key in step.keys:
            action = self._actions.get(key)
            if action is not None:
                await self.run_action(action)
        if step.memory:
            await self.push_screen(MemoryLessonScreen(DEFAULT_N))
        if step.stepper is not None:
            panel = self._shown_stepper()
            panel.load_example(step.stepper)
            await self._until(lambda: not panel.busy, step.timeout)
        if step.calls:
            panel = self._shown_stepper()
            for call in step.calls:
                await self._until(lambda: not panel.busy, step.timeout)
                if call == "next":
                    panel.step_next()
                else:
                    panel.send_text(call.removeprefix("send ").strip())
                await asyncio.sleep(0.6 / max(self.lesson_speed, 0.01))  # one call at a time
            await self._until(lambda: not panel.busy, step.timeout)

    def _shown_stepper(self) -> StepperPanel:
        panels = self.query("#stepper")
        if not panels or not panels.first().has_class("-shown"):
            self.action_toggle_stepper()
        return self.query_one("#stepper", StepperPanel)

    def _close(self) -> None:
        """Close what an earlier step opened: a screen over the app, else the stepper."""
        if isinstance(self.screen, ModalScreen):
            self.pop_screen()
            return
        panels = self.query("#stepper")
        if panels and panels.first().has_class("-shown"):
            self.action_toggle_stepper()

    def _met(self, step: Step) -> bool:
        wait = step.until.wait
        if wait == Wait.FINISHED:
            return self.state.finished
        if wait == Wait.COLLECTED:
            return self.state.collected >= step.until.count
        if wait == Wait.SUSPENDED:
            panels = self.query("#stepper")
            if not panels:
                return False
            panel = panels.first(StepperPanel)
            stepper = panel.stepper
            return bool(
                stepper is not None and not panel.busy and stepper.state == GenState.SUSPENDED
            )
        return True

    async def _wait(self, step: Step) -> bool:
        return await self._until(lambda: self._met(step), step.timeout)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.quitting:
                return False
            await asyncio.sleep(POLL_S)
        return True


def run_lesson_app(lesson: Lesson, lang: str, exit_at_end: bool, speed: float) -> int:
    """``mpscope lesson``: play ``lesson`` in the app; its exit code."""
    return run_app_session(LessonApp(lesson, lang, exit_at_end, speed))
