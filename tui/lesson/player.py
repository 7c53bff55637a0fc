"""The app playing a lesson (:mod:`mpscope.core.lesson.model`) by itself.

:class:`LessonApp` is the app with a caption bar over the footer. A task walks the steps: it
shows the caption, does what the step says through the app's own actions (a run of the step's
scenario, keys, the stepper on one of the seed's examples and its ``next()``/``send()`` calls,
the memory lesson, key ``4``'s DataLoader screen on settings of its own), waits for the step's
condition on the state (never a guessed sleep: a run finished, N tasks collected, the generator
suspended, the DataLoader's run over, the Task 2 vs Task 3 screen up with both), and then holds
so the caption can be read: until it has been up as long as it takes to read, and at least a
moment after the condition (or the step's own ``hold``). A condition that does not come within
the step's timeout is said in the caption, and the lesson goes on. Every key of the app still
works meanwhile; ``q`` leaves.

In presenter mode (``--presenter``) the lesson waits after each step, once its condition is
met, for → or space (the next step); ← goes back a step and plays it again, at any moment. The
app's keys work meanwhile; space is the app's pause while a step still plays.

Under ``mpscope lesson --cast`` each step begins with a marker in the cast, labelled with its
number and title (:func:`mpscope.core.export.asciicast.marker_sink`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Footer

from mpscope.core.dataloader.run import LoaderSettings
from mpscope.core.export.asciicast import marker_sink
from mpscope.core.lesson.dist_step import DIST_TIMES
from mpscope.core.lesson.loader_step import TIMES
from mpscope.core.lesson.model import Lesson, Step, Wait
from mpscope.core.lesson.reading import MIN_HOLD_S
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.stepper.memory_lesson import DEFAULT_N
from mpscope.core.stepper.result import GenState
from mpscope.tui import app as app_module
from mpscope.tui.app import MpscopeApp
from mpscope.tui.lesson.caption_bar import CaptionBar
from mpscope.tui.lesson.lesson_keys import key_actions
from mpscope.tui.screens.compare import CompareScreen
from mpscope.tui.screens.dist import DistScreen
from mpscope.tui.screens.loader import LoaderScreen
from mpscope.tui.session.signals import run_app_session
from mpscope.tui.stepper.memory import MemoryLessonScreen
from mpscope.tui.stepper.panel import StepperPanel

__all__ = ["CaptionBar", "LessonApp", "run_lesson_app"]

POLL_S = 0.05
END_HOLD_S = 1.5
WORDS = {
    "en": {
        "step": "step",
        "of": "of",
        "late": "did not happen within",
        "over": "lesson over",
        "keys": "→ next step · ← back",
    },
    "zh": {
        "step": "第",
        "of": "步，共",
        "late": "未在以下时间内发生：",
        "over": "课程结束",
        "keys": "→ 下一步 · ← 上一步",
    },
}


class LessonApp(MpscopeApp):
    """The app, driven by a lesson; see the module docstring."""

    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))  # app.py's, from here
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "next_step", "Next step"),
        Binding("left", "previous_step", "Back a step"),
    ]

    def __init__(
        self,
        lesson: Lesson,
        lang: str = "en",
        exit_at_end: bool = False,
        speed: float = 1.0,
        presenter: bool = False,
    ) -> None:
        super().__init__(autostart=False)
        self.presenter = presenter
        self.waiting = False
        """Presenter mode: the step is over and waits for → or space."""
        self._go = asyncio.Event()
        self._step_by = 1  # where → (1) or ← (-1) goes from the step being played
        self.lesson = lesson
        self.lang = lang
        self.exit_at_end = exit_at_end
        self.lesson_speed = speed
        self.speed = speed
        self.step_index = 0
        """The step being played (1-based); 0 before the first."""
        self.lesson_done = False
        self.late_steps: list[int] = []
        """The steps whose condition did not come within their timeout."""
        self.caption = Text(lesson.title_in(lang))
        """What the caption bars say."""
        self.shown_at = 0.0
        """When the step's caption came up (monotonic seconds)."""
        self._actions = key_actions()
        self._mark = marker_sink()

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, Footer):  # the caption sits over the footer, not over it
                yield CaptionBar(self.caption, id="caption")
            yield widget

    def on_mount(self) -> None:
        super().on_mount()
        self.run_worker(self._play(), exclusive=True, group="lesson")

    # -- playing -----------------------------------------------------------------------------

    def _say(self, text: str, title: str = "") -> None:
        words = WORDS[self.lang]
        total = len(self.lesson.steps)
        if self.lang == "zh":
            where = f"{words['step']} {self.step_index} {words['of']} {total} 步"
        else:
            where = f"{words['step']} {self.step_index} {words['of']} {total}"
        if title:
            where += f" · {title}"
        self.caption = Text.assemble((where, "bold"), "  ", text)
        for screen in self.screen_stack:  # a screen over the app has a bar of its own too
            for bar in screen.query(CaptionBar):
                bar.show(self.caption)

    async def _play(self) -> None:
        steps = self.lesson.steps
        index = 1
        while index <= len(steps):
            step = steps[index - 1]
            self.step_index = index
            self._go.clear()
            self._step_by = 1
            if self._mark is not None:
                self._mark(step.marker_in(self.lang, index))
            title, caption = step.title_in(self.lang), step.caption_in(self.lang)
            self._say(caption, title)
            self.shown_at = time.monotonic()
            await self._do(step)
            await self._caption_everywhere()
            if not await self._wait(step) and not self._go.is_set():
                self.late_steps.append(index)
                late = f"{WORDS[self.lang]['late']} {step.timeout:g}s"
                caption = f"{caption}  ({late})"
                self._say(caption, title)
            if self.presenter:
                await self._presenter_waits(caption, title)
            elif not self._go.is_set():
                await asyncio.sleep(self.hold_after(step, time.monotonic() - self.shown_at))
            index = max(1, index + self._step_by)
        self.lesson_done = True
        self.step_index = len(self.lesson.steps)
        self._say(f"{WORDS[self.lang]['over']}: {self.lesson.title_in(self.lang)}")
        if self.exit_at_end:
            await asyncio.sleep(END_HOLD_S)  # the last caption is seen (and cast) before it goes
            await self.action_quit()

    async def _presenter_waits(self, caption: str, title: str) -> None:
        """Presenter mode: the step is over; wait for → or space (or ←)."""
        if not self._go.is_set():
            self.waiting = True
            self._say(f"{caption}  [{WORDS[self.lang]['keys']}]", title)
            self.refresh_bindings()
            await self._go.wait()
        self.waiting = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """→ and ← are the presenter's; other keys are the app's."""
        if action in ("next_step", "previous_step"):
            return self.presenter and not self.lesson_done
        return super().check_action(action, parameters)

    def action_next_step(self) -> None:
        """Presenter mode: the next step (once this one is over)."""
        if self.waiting:
            self._step_by = 1
            self._go.set()

    def action_previous_step(self) -> None:
        """Presenter mode: back a step, which plays again (at any moment)."""
        self._step_by = -1 if self.step_index > 1 else 0
        self._go.set()

    def action_pause(self) -> None:
        """Space: the next step while a presenter's step waits, else the app's pause."""
        if self.presenter and self.waiting:
            self.action_next_step()
            return
        super().action_pause()

    def hold_after(self, step: Step, shown_for: float) -> float:
        """Seconds to hold once the step's condition is met, its caption up ``shown_for``
        seconds so far: the step's own hold, or what is left of its reading time and at least
        :data:`MIN_HOLD_S` (all at the lesson's speed)."""
        speed = max(self.lesson_speed, 0.01)
        if step.hold is not None:
            return step.hold / speed
        return max(MIN_HOLD_S / speed, step.reading_in(self.lang) / speed - shown_for)

    async def _do(self, step: Step) -> None:
        if step.close:
            self._close()
        if step.run is not None:
            time_scale = 1 / self.speed
            # the runs print the seed's lines in the lesson's language (Task 1's 计数=1)
            self.scenario = dataclasses.replace(step.run, time_scale=time_scale, lang=self.lang)
            await self.action_restart()
        for key in step.keys:
            action = self._actions.get(key)
            if action is not None:
                await self.run_action(action)
        if step.memory:
            await self.push_screen(MemoryLessonScreen(DEFAULT_N))
        if step.loader is not None:
            await self.push_screen(LoaderScreen(self._loader_settings(step.loader)))
        if step.distributed is not None:
            await self.push_screen(self._dist_screen(step.distributed))
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

    async def _caption_everywhere(self) -> None:
        """A screen a step opened over the app (the DataLoader's, the comparison, the memory
        lesson) gets a caption bar of its own over its footer: it may cover the app's."""
        for screen in self.screen_stack[1:]:
            if not screen.query(CaptionBar):
                await screen.mount(CaptionBar(self.caption, classes="-over-footer"))

    def _shown_stepper(self) -> StepperPanel:
        panels = self.query("#stepper")
        if not panels or not panels.first().has_class("-shown"):
            self.action_toggle_stepper()
        return self.query_one("#stepper", StepperPanel)

    def _loader_settings(self, pairs: tuple[tuple[str, int | float], ...]) -> LoaderSettings:
        """The DataLoader screen's settings from a step's, its times at the lesson's speed."""
        speed = max(self.lesson_speed, 0.01)
        chosen = {key: value / speed if key in TIMES else value for key, value in pairs}
        return LoaderSettings(**chosen)  # type: ignore[arg-type]

    def _dist_screen(self, pairs: tuple[tuple[str, int | float], ...]) -> DistScreen:
        """The distributed screen on a torchrun run of the step's settings, its times at the
        lesson's speed."""
        from mpscope.core.distributed.run import DistSettings, run_distributed

        speed = max(self.lesson_speed, 0.01)
        chosen = {key: value / speed if key in DIST_TIMES else value for key, value in pairs}
        settings = DistSettings(**chosen)  # type: ignore[arg-type]
        return DistScreen(lambda emit, stop: run_distributed(settings, emit, stop))

    def _close(self) -> None:
        """Close what an earlier step opened: a screen over the app, else the stepper."""
        if isinstance(self.screen, ModalScreen | LoaderScreen | DistScreen):
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
        if wait == Wait.LOADED:
            return isinstance(self.screen, LoaderScreen) and self.screen.finished()
        if wait == Wait.TRAINED:
            return isinstance(self.screen, DistScreen) and self.screen.finished()
        if wait == Wait.COMPARED:
            shown = isinstance(self.screen, CompareScreen)
            return shown and {Mode.COLLECT_AFTER, Mode.PIPELINE} <= set(self.finished_runs)
        return True

    async def _wait(self, step: Step) -> bool:
        return await self._until(lambda: self._met(step), step.timeout)

    async def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline or self.quitting or self._go.is_set():
                return False
            await asyncio.sleep(POLL_S)
        return True


def run_lesson_app(
    lesson: Lesson, lang: str, exit_at_end: bool, speed: float, presenter: bool = False
) -> int:
    """``mpscope lesson``: play ``lesson`` in the app (``presenter``: step by step, on → and
    ←); its exit code."""
    return run_app_session(LessonApp(lesson, lang, exit_at_end, speed, presenter))
