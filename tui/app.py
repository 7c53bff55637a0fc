"""The mpscope app: a live torch.multiprocessing run (or a replay) beside a generator stepper.

The app folds events from one source (:mod:`.session.bridge`) into a
:class:`~mpscope.core.pipeline.state.RunState`
and repaints at a bounded frame rate, only what changed. It never starts or kills processes
itself: it asks the source, which asks the engine. It runs under the session layer's signal
policy (:mod:`.session.signals`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Offset
from textual.screen import Screen
from textual.widgets import Footer

from mpscope.core.pipeline.events import (
    COLLECTOR,
    Event,
    Note,
    RunFinished,
    TaskCollected,
    TaskCollecting,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
)
from mpscope.core.pipeline.log_order import LogOrder
from mpscope.core.pipeline.recording import RecordingError, RecordingWriter, RunRecorder
from mpscope.core.pipeline.scenario import MAX_WORKERS, MODE_TITLES, Scenario
from mpscope.core.pipeline.state import RunState
from mpscope.tui.keys import LIVE_ONLY_ACTIONS, RUN, bindings_for, palette_entries
from mpscope.tui.messages import EventsArrived, SourceEnded
from mpscope.tui.session.bridge import EventSource, LiveSource, ReplaySource
from mpscope.tui.session.exit_codes import exit_code
from mpscope.tui.session.signals import run_app_session
from mpscope.tui.widgets.event_log import EventLog
from mpscope.tui.widgets.flights import Flights
from mpscope.tui.widgets.lanes_view import LanesView
from mpscope.tui.widgets.queue_strip import QueueStrip
from mpscope.tui.widgets.run_header import RunHeader
from mpscope.tui.widgets.summary_panel import SummaryPanel
from mpscope.tui.widgets.worker_lane import WorkerLane

FPS = 8  # frames a second while anything moves: one clock paints and flies tokens together
TICK_FPS = 4  # frames a second when only the clocks move
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
MAX_KEPT_EVENTS = 500_000
SIDE_BY_SIDE_WIDTH = 110  # columns from which the generator stepper shows beside the lanes
LOG_MIN_HEIGHT = 30  # terminal rows from which the event log shows during a run
MAX_FLYING_BATCH = 24  # more events than this at once: too fast to follow, nothing flies
MAX_LOGGED_PER_BATCH = 24  # the log shows the last ones of a big batch, and these always:
ALWAYS_LOGGED = frozenset({Note, TaskFailed, TaskLost, TaskRequeued, WorkerExited, RunFinished})


class MpscopeApp(App[int]):
    """Lanes per worker PID, queues as token strips, the collector, a log and a summary."""

    TITLE = "mpscope"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = bindings_for(RUN)

    def __init__(
        self,
        scenario: Scenario | None = None,
        notes: list[str] | None = None,
        record: str | None = None,
        replay: list[Event] | None = None,
        replay_name: str = "",
        autostart: bool = True,
        instant: bool = False,
        animate: bool = True,
    ) -> None:
        super().__init__()
        self.scenario = scenario or Scenario()
        self.notes = list(notes or [])
        self.replay_events = replay
        self.replay_name = replay_name
        self.autostart = autostart
        self.instant = instant
        self.animate = animate
        self.state = RunState()
        self.source: EventSource | None = None
        self.run_id = 0
        self.speed = 1 / self.scenario.time_scale
        self._run_speed = self.speed  # the header's: the speed the shown run goes (or went) at
        self.record_path = record
        self.recorder = RunRecorder(MAX_KEPT_EVENTS)  # the current run's events, for R
        self._recorded_to: Path | None = None  # where the current run's whole recording went
        self._log_order = LogOrder()
        self.flights = Flights()
        self._to_fly: list[Event] = []  # events whose tokens take off at the next frame
        self._painted = -1
        self._layout_mode: str | None = None
        self._source_ended = False  # the source said all it will (a recording may end early)
        self._asked_to_stop = False  # x was pressed during this run
        self._last_paint = 0.0
        self.quitting = False
        self.exit_code = 0

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with Horizontal(id="body"), Vertical(id="pipeline"):
            yield QueueStrip("task", id="task-queue")
            yield LanesView(id="lanes")
            yield QueueStrip("result", id="result-queue")
            with Vertical(id="collector-box"):
                yield WorkerLane(COLLECTOR, id="collector-lane")
            with Vertical(id="dock"):
                yield SummaryPanel(id="summary")
                yield EventLog(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1 / FPS, self._frame)
        self._sync_width()
        self._sync_dock()
        if self.autostart:
            self.call_after_refresh(self.start_run)

    def on_resize(self, event: events.Resize) -> None:
        """Widths changed: lay every line out again (and fold or unfold the queues)."""
        self._sync_width(event.size.width)  # self.size may still be the old one here
        self.call_after_refresh(self._sync_dock)
        self.call_after_refresh(self._paint, True)

    # -- runs --------------------------------------------------------------------------------

    def start_run(self) -> None:
        """Start a fresh run of the current scenario (or replay from the beginning)."""
        self.run_id += 1
        run_id = self.run_id
        self.state = RunState()
        self._run_speed = self.speed
        recorder = self.recorder = RunRecorder(MAX_KEPT_EVENTS)
        self._land_tokens()
        self.query_one(LanesView).reset()
        self.query_one(EventLog).clear()
        self.query_one(SummaryPanel).remove_class("-shown")
        # the log shows during a run when there is room for it (l toggles it)
        self.query_one(EventLog).set_class(self.size.height < LOG_MIN_HEIGHT, "-hidden")
        self._sync_dock()
        self._painted = -1
        self._layout_mode = None  # the new run's first frame lays out for its mode
        self._source_ended = False
        self._asked_to_stop = False
        self._recorded_to = None
        self._log_order = LogOrder()

        def post(events: list[Event] | None) -> None:  # called on the source's thread
            if events is not None:
                recorder.feed(events)  # even after the app stops listening (q, r mid-run)
            message = SourceEnded(run_id) if events is None else EventsArrived(run_id, events)
            self.post_message(message)

        if self.replay_events is not None:
            self.source = ReplaySource(self.replay_events, post, self.speed, self.instant)
        else:
            scenario = dataclasses.replace(self.scenario, time_scale=1 / self.speed)
            if self.record_path and (writer := self._open_writer(self.record_path)) is not None:
                recorder.record_to(writer)
            self.source = LiveSource(scenario, self.notes, post)
            self.notes = []
        self.source.start()

    def _open_writer(self, path: str) -> RecordingWriter | None:
        try:
            return RecordingWriter(path)
        except RecordingError as exc:
            self.notify(str(exc), severity="error")
            return None

    @on(EventsArrived)
    def _events(self, message: EventsArrived) -> None:
        if message.run_id != self.run_id:
            return
        events = message.events
        log = self.query_one(EventLog)
        if len(events) + len(self._to_fly) <= MAX_FLYING_BATCH:
            self._to_fly.extend(events)  # they take off at the next frame, with its repaint
        logged: list[tuple[int, list[Text]]] = []
        # a fast live run: only the last events of a batch get a log line; a replay: all
        tail = max(0, len(events) - MAX_LOGGED_PER_BATCH) if self.replay_events is None else 0
        for event in events[:tail]:  # the fast part: only what must not go unsaid is logged
            if type(event) in ALWAYS_LOGGED:
                logged.append((self._log_order.key(event), log.describe_lines([event], self.state)))
            self.state.apply(event)
        for event in events[tail:]:
            logged.append((self._log_order.key(event), log.describe_lines([event], self.state)))
            self.state.apply(event)
        if self.replay_events is None and self.state.scenario not in (None, self.scenario):
            self.scenario = self.state.scenario  # the engine's validated copy
        # processes report in batches of their own, so a later batch can hold earlier events:
        # the log holds lines a moment and shows them in time order (see core.pipeline.log_order)
        log.add(logged)

    @on(SourceEnded)
    def _ended(self, message: SourceEnded) -> None:
        if message.run_id != self.run_id:
            return
        self._source_ended = True  # every held log line shows now
        if self._close_recording():
            self.record_path = None
        self._paint(force=True)
        if self.state.finished:
            summary = self.query_one(SummaryPanel)
            summary.add_class("-shown")
            summary.show(self.state)
            self.query_one(EventLog).add_class("-hidden")
            self._sync_dock()
            self.exit_code = exit_code(self.state.outcome)

    # -- painting ----------------------------------------------------------------------------

    @property
    def _closing_down(self) -> bool:
        """The app is shutting down: its widgets may already be gone, so paint nothing."""
        return not self._running or self._closing

    def _frame(self) -> None:
        """One frame: tokens take off from where the screen still shows them, the screen is
        repainted, tokens in the air move. Done together, Textual lays the screen out once."""
        self._paint()
        if self.flights.active and not self._closing_down:
            self.flights.step()

    def _paint(self, force: bool = False) -> None:
        """Repaint what changed; nothing at all when nothing did."""
        if self._closing_down:  # a timer or a resize can still fire while the screens go
            return
        if self._to_fly:  # before the repaint: a token starts where its task is still drawn
            self._launch_flights(self._to_fly)
            self._to_fly = []
        state = self.state
        # lines wait for earlier ones while the run goes on; paused, over or instant: all show
        moving = not (state.finished or state.paused or self.instant or self._source_ended)
        clock = self.source.elapsed_ns() if moving and self.source is not None else None
        self.query_one(EventLog).flush(now=force, clock=clock)
        if not force and state.revision == self._painted:
            # nothing happened: only clocks move, and they need a few frames a second
            ticking = state.mode != "" and not state.finished and not state.paused
            if not ticking or time.monotonic() - self._last_paint < 1 / TICK_FPS:
                return
        self._painted = state.revision
        self._last_paint = time.monotonic()
        writer = self.recorder.writer
        recording = writer.path.name if writer is not None else None
        with self.batch_update():
            self.query_one(RunHeader).show(
                state,
                live=self.replay_events is None,
                speed=self._run_speed,
                recording=recording,
                source_name=self.replay_name,
                now=self.source.elapsed_ns() if self.source is not None else None,
            )
            self.query_one("#task-queue", QueueStrip).show(state)
            self.query_one(LanesView).show(state)
            self.query_one("#result-queue", QueueStrip).show(state)
            collector = state.collector()
            lane = self.query_one("#collector-lane", WorkerLane)
            if collector is not None and lane.worker != collector.worker:
                lane.worker = collector.worker
            lane.show(state)
            if state.mode != self._layout_mode:  # what is shown depends on the mode only
                self._layout_mode = state.mode
                queues = state.mode != "print"
                box = self.query_one("#collector-box")
                box.display = queues
                box.border_title = (
                    "collector"
                    if state.mode != "collect-after"
                    else ("collector: the main process (Task 2 collects after the workers)")
                )
                self._sync_queue_strips()

    def _launch_flights(self, events: list[Event]) -> None:
        if not self.animate or self.size.height < 20 or self.speed > 2 or self.instant:
            return
        if not self.query_one("#pipeline").region:  # the stepper has the whole width
            return
        if self.screen is not self.screen_stack[0]:  # a help or traceback screen is on top
            return
        lanes = self.query_one(LanesView)
        tasks = self.query_one("#task-queue", QueueStrip)
        results = self.query_one("#result-queue", QueueStrip)
        collector = self.query_one("#collector-lane", WorkerLane)
        for event in events:
            start: Offset | None = None
            end: Offset | None = None
            if isinstance(event, TaskStarted):
                lane = lanes.lane(event.worker)
                start = tasks.token_offset(event.task)
                end = _lane_anchor(lane)
            elif isinstance(event, TaskDone | TaskFailed):
                lane = lanes.lane(event.worker)
                if lane is not None and lane.task_in_hand == event.task:
                    start = lane.token_offset()
                else:
                    start = tasks.token_offset(event.task)
                end = results.entry_offset() if self.state.mode != "print" else None
            elif isinstance(event, TaskCollecting | TaskCollected):
                if isinstance(event, TaskCollected) and collector.task_in_hand == event.task:
                    continue
                start = results.token_offset(event.task)
                end = _lane_anchor(collector)
            else:
                continue
            label = self.state.labels.get(event.task, str(event.task))
            ok = not isinstance(event, TaskFailed)
            self.flights.launch(self.screen, event.task, label, ok, start, end, self.speed)

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the stepper has focus, its letters are its own: no stopping the run by ``x``.
        A replay hides the keys that only a live run can obey."""
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

    # -- actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        """Keys and how to read the screen."""
        from mpscope.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_restart(self) -> None:
        """Start the run again (the last run's messages go with it)."""
        self.clear_notifications()
        await self._stop_source()
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

    async def action_mode(self, mode: str) -> None:
        """Switch to Task 1, 2 or 3 and restart."""
        if self.replay_events is not None:
            self.notify("a replay shows what was recorded; run mpscope to try another mode")
            return
        self.scenario = dataclasses.replace(self.scenario, mode=mode)
        await self.action_restart()
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
        await self.action_restart()

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
        alive = [lane for lane in self.state.workers() if lane.status not in ("exited", "killed")]
        busy = [lane for lane in alive if lane.status == "busy"]
        target = (busy or alive or [None])[0]
        if target is None or not self.source.kill_worker(target.worker):
            starting = not self.state.workers() or any(
                lane.status == "starting" for lane in self.state.workers()
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
        if self.state.mode == "print":
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
        """The last failed task's traceback."""
        if not self.state.failures:
            if self.replay_events is not None:
                self.notify("no task has failed in this recording, so far")
            else:
                self.notify("no task has failed (press f to make one fail)")
            return
        from mpscope.tui.screens.failure import FailureScreen

        failure = self.state.failures[-1]
        lane = self.state.lanes.get(failure.worker)
        self.push_screen(FailureScreen(failure, lane.pid if lane else 0))

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

    def _close_recording(self) -> bool:
        """The run's recording is over: say where it went (and remember it, for ``R``), or why
        it stopped early; False if there was none."""
        recorder = self.recorder
        writer, error = recorder.close(), recorder.error
        recorder.error = None  # said once
        if error is not None:
            self.notify(error, severity="error")
        elif writer is not None:
            self.notify(f"recorded {writer.count} events to {writer.path}")
            self._recorded_to = writer.path
        return writer is not None or error is not None

    def _land_tokens(self) -> None:
        """Tokens in the air, and those about to take off, are put down at once."""
        self.flights.clear()
        self._to_fly = []

    def action_screenshot(self) -> None:
        """Save an SVG screenshot in the current folder: tokens in the air land and messages
        go first, so that a still picture shows every label whole and nothing over it."""
        self._land_tokens()
        self.clear_notifications()
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        path = self.save_screenshot()
        self.notify(f"saved {path}")

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

    def _sync_width(self, width: int | None = None) -> None:
        """Below ``SIDE_BY_SIDE_WIDTH`` columns the stepper takes the whole width while shown
        (beside the lanes it would leave them a sliver); ``g`` switches between the two."""
        narrow = (self.size.width if width is None else width) < SIDE_BY_SIDE_WIDTH
        self.query_one("#body").set_class(narrow, "-narrow")

    def _sync_dock(self) -> None:
        """The bottom dock is shown only when it holds something."""
        if self._closing_down:
            return
        log = self.query_one(EventLog)
        summary = self.query_one(SummaryPanel)
        self.query_one("#dock").display = not log.has_class("-hidden") or summary.has_class(
            "-shown"
        )
        self._sync_queue_strips()

    def _sync_queue_strips(self) -> None:
        """Queues show unless Task 1 has none, or a short terminal has finished its run: then
        empty queues give their rows to the summary."""
        summary = self.query_one(SummaryPanel)
        fold = self.size.height < LOG_MIN_HEIGHT and summary.has_class("-shown")
        for strip in self.query(QueueStrip):
            held = self.state.task_queue if strip.which == "task" else self.state.result_queue
            strip.display = self.state.mode != "print" and not (fold and not held)

    def action_toggle_animation(self) -> None:
        """Flying tokens on or off (off saves a few percent of a core)."""
        self.animate = not self.animate
        if not self.animate:
            self._land_tokens()
        self.notify(f"flying tokens {'on' if self.animate else 'off'}")

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
        self.exit(self.exit_code)

    async def _stop_source(self) -> None:
        source = self.source
        self.source = None
        self.run_id += 1  # ignore whatever the old run still says
        if source is not None:
            source.stop()
            await asyncio.to_thread(source.join, 20)
        # after the join: the run's last words are in the file; and --record FILE was that
        # run's, so r must not write over it
        if self._close_recording():
            self.record_path = None


def _lane_anchor(lane: WorkerLane | None) -> Offset | None:
    """Where a token lands on a lane: just after its title."""
    if lane is None or not lane.display:
        return None
    region = lane.content_region
    if region.width == 0:
        return None
    title = lane.title_width()
    return Offset(region.x + title, region.y)


def run_app(scenario: Scenario, notes: list[str], record: str | None, animate: bool = True) -> int:
    """``mpscope`` / ``mpscope run``: the app on a live run."""
    return run_app_session(MpscopeApp(scenario, notes, record, animate=animate))


def run_replay_app(events: list[Event], name: str, animate: bool = True) -> int:
    """``mpscope replay FILE``: the same screen driven by a recording."""
    return run_app_session(MpscopeApp(replay=events, replay_name=Path(name).name, animate=animate))


__all__ = ["MpscopeApp", "run_app", "run_replay_app"]
