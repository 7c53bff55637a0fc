"""The mpscope app: a live torch.multiprocessing run (or a replay) beside a generator stepper.

:class:`MpscopeApp` is :class:`~mpscope.tui.run_display.RunDisplayApp` (the layout, the
events folded into the state, the paint loop) with the keys: its bindings and its command
palette come from the key table (:mod:`.keys`), and its actions are here. :func:`run_app` and
:func:`run_replay_app` run it under the session layer's signal policy
(:mod:`.session.signals`).
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.actions import parse as parse_action
from textual.app import SystemCommand
from textual.binding import BindingType
from textual.screen import Screen

from mpscope.core.pipeline.events import StepperCalled
from mpscope.core.pipeline.lanes import LaneStatus
from mpscope.core.pipeline.scenario import (
    MAX_WORKERS,
    MODE_TITLES,
    Mode,
    Scenario,
    with_function,
)
from mpscope.core.pipeline.tasks import FUNCTION_WORDS, next_function
from mpscope.tui.keys import LIVE_ONLY_ACTIONS, RUN, bindings_for, palette_entries
from mpscope.tui.run_display import RunDisplayApp
from mpscope.tui.session.bridge import Replay
from mpscope.tui.session.signals import run_app_session
from mpscope.tui.widgets.event_log import EventLog
from mpscope.tui.widgets.summary_panel import SummaryPanel

if TYPE_CHECKING:
    from mpscope.tui.stepper.panel import StepperPanel

__all__ = ["MpscopeApp", "run_app", "run_replay_app"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)

#: the app's actions a screen with keys of its own leaves it
SCREEN_OWNS_KEYS_BUT = frozenset({"quit", "command_palette"})


class MpscopeApp(RunDisplayApp):
    """Lanes per worker PID, queues as token strips, the collector, a log and a summary; the
    keys to restart, pause, stop, reshape, slow down, fault and record the run."""

    TITLE = "mpscope"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for(RUN)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As :class:`RunDisplayApp`; the run's own task function is kept for ``T``'s cycle."""
        super().__init__(*args, **kwargs)
        self._first_function = self.scenario.function
        self._stepper_calls: deque[str] = deque()  # a replayed session's, still to play

    # -- which keys, and the palette ---------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the stepper has focus, its letters are its own: no stopping the run by ``x``.
        A replay hides the keys that only a live run can obey. A screen with keys of its own
        (``OWNS_THE_KEYS``) leaves the app only quitting and the command palette."""
        if getattr(self.screen, "OWNS_THE_KEYS", False):  # the DataLoader's, the ranks'
            return action in SCREEN_OWNS_KEYS_BUT  # the run behind it is not theirs to drive
        if self.replay_events is not None and action in LIVE_ONLY_ACTIONS:
            return False
        return not (action == "stop" and self._stepper_focused())

    def _stepper_focused(self) -> bool:
        focused = self.focused
        while focused is not None:
            if focused.id == "stepper":
                return True
            focused = focused.parent  # type: ignore[assignment]
        return False

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The app's own actions in the command palette (ctrl+p), after Textual's."""
        yield from super().get_system_commands(screen)
        for title, detail, action in palette_entries(RUN):
            yield SystemCommand(title, detail, partial(self._run_palette_action, action))

    def _run_palette_action(self, action: str) -> Awaitable[None] | None:
        """Call an action's method straight away, as its key would (but without the check of
        :meth:`check_action`: the palette lists every command, and each says why it cannot)."""
        _namespace, name, arguments = parse_action(action)
        method: Callable[..., Awaitable[None] | None] = getattr(self, f"action_{name}")
        return method(*arguments)

    # -- actions on the run ------------------------------------------------------------------

    async def action_restart(self, why: str = "restart") -> None:
        """Start the run again (the last run's messages go with it); ``why``, for a session's
        recording: what replaced the run."""
        self.clear_notifications()
        await self._stop_source(replaced_by=why)
        self.start_run()

    async def action_stop(self) -> None:
        """Ordered stop of the current run."""
        if self.source is not None and not self.state.finished:
            self.notify("stopping: draining queues, joining workers…")
            self._asked_to_stop = True
            self.source.stop()

    def action_pause(self) -> None:
        """Pause or resume the run (the processes are suspended)."""
        if self.source is None or self.state.finished:
            return
        if not self.source.set_paused(not self.state.paused):
            if self._asked_to_stop:
                self.notify("the run is stopping: nothing to pause")
            else:
                self.notify("the workers are still starting: nothing to pause yet")

    async def action_mode(self, name: str) -> None:
        """Switch to Task 1, 2 or 3 and restart (the key table names the mode's value)."""
        if self.replay_events is not None:
            self.notify("a replay shows what was recorded; run mpscope to try another mode")
            return
        mode = Mode(name)
        self.scenario = dataclasses.replace(self.scenario, mode=mode)
        await self.action_restart(f"switched to {MODE_TITLES[mode]}")
        self.notify(f"switched to {MODE_TITLES[mode]}")

    async def action_workers(self, delta: int) -> None:
        """One worker more or fewer; restarts the run."""
        if self.replay_events is not None:
            self.notify("not in a replay", severity="warning")
            return
        workers = min(MAX_WORKERS, max(1, self.scenario.workers + delta))
        if workers == self.scenario.workers:
            self.notify(f"workers stay at {workers} (1..{MAX_WORKERS})", severity="warning")
            return
        self.scenario = dataclasses.replace(self.scenario, workers=workers)
        await self.action_restart(f"{workers} workers")

    async def action_cycle_function(self) -> None:
        """What each task returns, in turn: the run's own function (the seed's square, or
        the user's ``--function``), tensor results, one shared tensor; restarts the run (a
        replay does not offer it: :meth:`check_action`)."""
        function = next_function(self.scenario.function, self._first_function)
        self.scenario, notes = with_function(self.scenario, function)
        await self.action_restart(f"function {function}")
        words = FUNCTION_WORDS.get(function, function)
        if self.scenario.mode == Mode.PRINT:
            self.notify(f"Task 1 only prints; in Task 2 and 3 each task will return {words}")
        else:
            self.notify(f"each task now returns {words}")
        for note in notes:
            self.notify(note, severity="warning")

    def action_speed(self, step: int) -> None:
        """Slower or faster: scales work and collect times (or replay time)."""
        # the next speed of the steps in that direction (a --speed between or past them
        # goes to the nearest step on that side)
        steps = [v for v in SPEEDS if (v > self.speed if step > 0 else v < self.speed)]
        if not steps:
            limit = "fastest" if step > 0 else "slowest"
            hint = "" if self.replay_events is not None else " (--speed sets any speed)"
            self.notify(f"×{self.speed:g} is already the {limit}{hint}")
            return
        self.speed = min(steps) if step > 0 else max(steps)
        if self.state.finished:  # the run shown went at its own speed: this one is for the next
            self.notify(f"×{self.speed:g} for the next run: press r")
            return
        self._run_speed = self.speed
        if self.source is not None:
            self.source.set_speed(self.speed)
        self._paint(force=True)

    def action_kill(self) -> None:
        """SIGKILL a worker (a busy one if there is one) to show how faults are handled."""
        if self.source is None or not self.source.live or self.state.finished:
            self.notify("no live run to kill a worker in", severity="warning")
            return
        alive = [
            lane
            for lane in self.state.workers()
            if lane.status not in (LaneStatus.EXITED, LaneStatus.KILLED)
        ]
        busy = [lane for lane in alive if lane.status == LaneStatus.BUSY]
        target = next(iter(busy or alive), None)
        if target is None or not self.source.kill_worker(target.worker):
            starting = not self.state.workers() or any(
                lane.status == LaneStatus.STARTING for lane in self.state.workers()
            )
            self.notify(
                "the workers are still starting" if starting else "no worker is alive",
                severity="warning",
            )
            return
        self.notify(f"sent SIGKILL to worker {target.worker} (PID {target.pid})")

    def action_inject(self) -> None:
        """Make the next task raise inside its worker."""
        if self.source is None or not self.source.live or self.state.finished:
            self.notify("only a live run can be given a failing task", severity="warning")
            return
        if self.state.mode == Mode.PRINT:
            self.notify("Task 1 has no tasks to fail: switch to 2 or 3", severity="warning")
            return
        if self.state.total is not None and self.state.started >= self.state.total:
            self.notify("every task has started already: press r, then f", severity="warning")
            return
        if not self.source.inject_failure():
            self.notify("the run is over: press r, then f", severity="warning")
            return
        self.notify("the next task a worker takes will raise InjectedFailure")

    def action_show_error(self) -> None:
        """The collector's failure if it failed (the run's), else the last failed task's
        traceback."""
        from mpscope.tui.screens.failure import FailureScreen

        if self.state.collector_failure is not None:
            self.push_screen(FailureScreen.of_collector(self.state.collector_failure))
            return
        if not self.state.failures:
            if self.replay_events is not None:
                self.notify("no task has failed in this recording, so far")
            else:
                self.notify("no task has failed (press f to make one fail)")
            return
        failure = self.state.failures[-1]
        lane = self.state.lanes.get(failure.worker)
        self.push_screen(FailureScreen.of_task(failure, lane.pid if lane else 0))

    def action_compare(self) -> None:
        """Task 2 vs Task 3: the last finished run of each, on one axis from 0."""
        from mpscope.tui.screens.compare import CompareScreen

        self._land_tokens()
        self.push_screen(CompareScreen(self.finished_runs))

    def action_tensor_bench(self) -> None:
        """Tensors across processes: shared memory vs a pickled copy, measured on this machine."""
        from mpscope.tui.screens.tensor_bench import TensorBenchScreen

        self._land_tokens()
        self.push_screen(TensorBenchScreen())

    def action_record(self) -> None:
        """Record this run to a file (from its start while its events are kept)."""
        recorder = self.recorder
        if recorder.writer is not None:
            self.notify(f"already recording to {recorder.writer.path}")
            return
        if self._recorded_to is not None:
            self.notify(f"this run is already recorded in {self._recorded_to}")
            return
        too_long = "this run is too long to record from its start; press r, then R"
        if not recorder.keeps_the_start:
            self.notify(too_long, severity="warning")
            return
        path = Path(time.strftime("mpscope-%Y%m%d-%H%M%S.jsonl"))
        writer = self._open_writer(str(path))
        if writer is None:
            return
        if not recorder.record_to(writer):  # it grew too long meanwhile
            writer.close()
            path.unlink(missing_ok=True)
            self.notify(too_long, severity="warning")
            return
        if self.state.finished:
            self._close_recording()
            return
        self.notify(f"recording to {path}")

    # -- what the screen shows ---------------------------------------------------------------

    def action_help(self) -> None:
        """Keys and how to read the screen."""
        from mpscope.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_dataloader(self) -> None:
        """Key 4: a real torch DataLoader on its own screen (the tasks' run goes on)."""
        from mpscope.tui.screens.loader import LoaderScreen

        self.push_screen(LoaderScreen())

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG screenshot in the current folder: tokens in the air land and messages
        go first, so that a still picture shows every label whole and nothing over it."""
        self._land_tokens()
        self.clear_notifications()
        self.call_after_refresh(self._save_screenshot, filename, path)

    def _save_screenshot(self, filename: str | None, path: str | None) -> None:
        from mpscope.tui.screens.modal import save_screenshot_or_say

        save_screenshot_or_say(self, filename, path)

    def action_toggle_log(self) -> None:
        """Show or hide the event log (after a run: switch between log and summary)."""
        log = self.query_one(EventLog)
        summary = self.query_one(SummaryPanel)
        if self.state.finished:
            showing_log = not log.has_class("-hidden")
            log.set_class(showing_log, "-hidden")
            summary.set_class(showing_log, "-shown")
        else:
            log.toggle_class("-hidden")
        self._sync_dock()
        if not log.has_class("-hidden"):
            log.pending_scroll_to_end()

    def action_toggle_animation(self) -> None:
        """Flying tokens on or off (off saves a few percent of a core)."""
        self.flying_tokens = not self.flying_tokens
        if not self.flying_tokens:
            self._land_tokens()
        self.notify(f"flying tokens {'on' if self.flying_tokens else 'off'}")

    def action_toggle_stepper(self) -> None:
        """Show or hide the generator stepper beside the lanes (built the first time)."""
        panels = self.query("#stepper")
        if panels:
            panel = panels.first()
        else:
            from mpscope.tui.stepper.panel import StepperPanel

            panel = StepperPanel(id="stepper")
            self.query_one("#body").mount(panel)
        panel.toggle_class("-shown")
        self._note_stepper_call("show" if panel.has_class("-shown") else "hide")
        self.query_one("#body").set_class(panel.has_class("-shown"), "-stepping")
        self._land_tokens()  # tokens in the air were bound for a layout that is changing
        self._sync_width()
        self.call_after_refresh(self._paint, True)
        if panel.has_class("-shown"):
            panel.focus()
        else:
            self.screen.set_focus(None)

    async def action_quit(self) -> None:
        """Stop the run (every child process) and leave."""
        if self.quitting:
            return
        self.quitting = True
        await self._stop_source()
        self.tape.close()
        self.exit(self.exit_code)

    # -- the stepper in a session's recording --------------------------------------------------

    def on_stepper_panel_called(self, message: StepperPanel.Called) -> None:
        """Every call asked of the stepper goes into the session's recording, if one is made."""
        self._note_stepper_call(message.call)

    def _note_stepper_call(self, call: str) -> None:
        if self.replay_events is None and self.source is not None:
            self.recorder.note(StepperCalled(self.source.elapsed_ns(), call))

    def replay_stepper_calls(self, calls: list[str]) -> None:
        """A replayed session's stepper calls, played on the stepper in order."""
        self._stepper_calls.extend(calls)
        self.run_worker(self._play_stepper_calls(), exclusive=False, group="stepper-replay")

    async def _play_stepper_calls(self) -> None:
        from mpscope.tui.stepper.replay_calls import play_call

        while self._stepper_calls and not self.quitting:
            await play_call(self, self._stepper_calls.popleft())


def run_app(
    scenario: Scenario,
    notes: list[str],
    record: str | None,
    animate: bool = True,
    exit_after: float | None = None,
) -> int:
    """``mpscope`` / ``mpscope run``: the app on a live run, leaving ``exit_after`` seconds
    after a run ends if given; the forkserver warms up while the first frame shows
    (:mod:`mpscope.core.engine.warmup`)."""
    if scenario.start_method == "forkserver":
        from mpscope.core.engine.warmup import warm_forkserver

        warm_forkserver()
    app = MpscopeApp(scenario, notes, record, animate=animate)
    app.exit_after = exit_after
    return run_app_session(app)


def run_replay_app(
    events: Replay,
    name: str,
    animate: bool = True,
    speed: float = 1.0,
    trim_start: bool = False,
    exit_after: float | None = None,
) -> int:
    """``mpscope replay FILE``: the same screen driven by a recording (its events, or a
    function that opens a stream of them), at ``speed``, without its start-up's waits
    (``trim_start``), ending by itself ``exit_after`` seconds after the recording's end."""
    app = MpscopeApp(replay=events, replay_name=Path(name).name, animate=animate)
    app.speed = speed
    app.trim_start = trim_start
    app.exit_after = exit_after
    return run_app_session(app)
