"""The app's picture of one run: its layout, the source's events folded into its state, the
paint loop.

:class:`RunDisplayApp` folds events from one source (:mod:`.session.bridge`) into a
:class:`~mpscope.core.pipeline.state.RunState` and repaints at a bounded frame rate, only what
changed; tokens fly between the places a task moves through (:mod:`.flight_routes`). It never
starts or kills processes itself: it asks the source, which asks the engine. It has no keys:
:class:`~mpscope.tui.app.MpscopeApp` adds them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from mpscope.core.pipeline.events import (
    COLLECTOR,
    Event,
    Note,
    RunFinished,
    RunReplaced,
    TaskFailed,
    TaskLost,
    TaskRequeued,
    WorkerExited,
)
from mpscope.core.pipeline.log_order import LogOrder
from mpscope.core.pipeline.recording import RecordingError, RecordingWriter, RunRecorder
from mpscope.core.pipeline.scenario import Mode, Scenario
from mpscope.core.pipeline.session import split_session
from mpscope.core.pipeline.state import RunState
from mpscope.tui.flight_routes import FlightPlaces, launch_flights
from mpscope.tui.messages import EventsArrived, SourceEnded
from mpscope.tui.session.bridge import EventSource, LiveSource, Replay, ReplaySource
from mpscope.tui.session.exit_codes import exit_code
from mpscope.tui.session.tape import SessionTape
from mpscope.tui.widgets.event_log import EventLog
from mpscope.tui.widgets.flights import Flights
from mpscope.tui.widgets.lanes_view import LanesView
from mpscope.tui.widgets.queue_strip import QueueStrip
from mpscope.tui.widgets.run_header import RunHeader
from mpscope.tui.widgets.summary_panel import SummaryPanel
from mpscope.tui.widgets.tensor_strip import TensorStrip
from mpscope.tui.widgets.worker_lane import WorkerLane

__all__ = ["RunDisplayApp"]

FPS = 8  # frames a second while anything moves: one clock paints and flies tokens together
TICK_FPS = 4  # frames a second when only the clocks move
MAX_KEPT_EVENTS = 500_000
SIDE_BY_SIDE_WIDTH = 110  # columns from which the generator stepper shows beside the lanes
LOG_MIN_HEIGHT = 30  # terminal rows from which the event log shows during a run
MAX_FLYING_BATCH = 24  # more events than this at once: too fast to follow, nothing flies
REPLAY_IN_FLIGHT = 2  # a replay's batches posted and not yet folded, at most
MAX_LOGGED_PER_REPLAY_BATCH = 2000
MAX_LOGGED_PER_BATCH = 24  # the log shows the last ones of a big batch, and these always:
ALWAYS_LOGGED = frozenset({Note, TaskFailed, TaskLost, TaskRequeued, WorkerExited, RunFinished})


class RunDisplayApp(App[int]):
    """Lanes per worker PID, queues as token strips, the collector, a log and a summary,
    painted from the run's state; no keys (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        notes: list[str] | None = None,
        record: str | None = None,
        replay: Replay | None = None,
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
        self.flying_tokens = animate  # tokens fly between places (a toggles it)
        self.state = RunState()
        self.source: EventSource | None = None
        self.run_id = 0
        self.speed = 1 / self.scenario.time_scale
        self._run_speed = self.speed  # the header's: the speed the shown run goes (or went) at
        self.tape = SessionTape(record, replay)  # --record FILE's session, or the replayed one
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
        #: the last completed run of Task 2 and of Task 3, for the comparison (``t``)
        self.finished_runs: dict[str, RunState] = {}
        self.quitting = False  # on the way out: the run is being stopped for good
        self.exit_code = 0
        self.trim_start = False  # a replay skips its recorded start-up (--trim-start)
        self.exit_after: float | None = None  # the app leaves this long after its run ends

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        with Horizontal(id="body"), Vertical(id="pipeline"):
            yield QueueStrip("task", id="task-queue")
            yield LanesView(id="lanes")
            yield QueueStrip("result", id="result-queue")
            with Vertical(id="collector-box"):
                yield WorkerLane(COLLECTOR, id="collector-lane")
            yield TensorStrip(id="tensor-strip")
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
            strip.display = self.state.mode != Mode.PRINT and not (fold and not held)

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, fresh: bool = True) -> None:
        """Start a fresh run of the current scenario (or replay from the beginning; not
        ``fresh``: a replayed session's next run)."""
        self.run_id += 1
        run_id = self.run_id
        self.state = RunState()
        self.exit_code = 0  # the last run's outcome is not this one's
        self._run_speed = self.speed
        playing = self.tape.next_run(fresh) if self.replay_events is not None else None
        reread = self.tape.reread() if playing is not None else None
        recorder = self.recorder = RunRecorder(MAX_KEPT_EVENTS, reread)
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

        if playing is not None:
            self.source = ReplaySource(playing, post, self.speed, self.instant, REPLAY_IN_FLIGHT)
            self.source.trim_start = self.trim_start
        else:
            scenario = dataclasses.replace(self.scenario, time_scale=1 / self.speed)
            if (writer := self._session_writer()) is not None:
                recorder.record_to(writer, owns=False)  # the session's file outlives the run
            self.source = LiveSource(scenario, self.notes, post)
            self.notes = []
        self.source.start()

    def _session_writer(self) -> RecordingWriter | None:
        """``--record FILE``'s file, opened at the first run and kept for the session."""
        try:
            return self.tape.writer_for_run()
        except RecordingError as exc:
            self.notify(str(exc), severity="error")
            self.tape.record_path = None
            return None

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
        if self.source is not None:
            self.source.batch_taken()  # a replay posts the next batch while this one is folded
        events = message.events
        if self.replay_events is not None:  # a session's stepper calls and run boundaries
            events, calls, replaced = split_session(events)
            self.tape.more = self.tape.more or replaced
            if calls:
                self.replay_stepper_calls(calls)
        log = self.query_one(EventLog)
        if len(events) + len(self._to_fly) <= MAX_FLYING_BATCH:
            self._to_fly.extend(events)  # they take off at the next frame, with its repaint
        logged: list[tuple[int, list[Text]]] = []
        # a fast run: only the last events of a big batch get a log line (a replay's batches
        # are whole recordings, or its clock's share of one: it logs more of each)
        most = MAX_LOGGED_PER_BATCH if self.replay_events is None else MAX_LOGGED_PER_REPLAY_BATCH
        tail = max(0, len(events) - most)
        apply, always = self.state.apply, ALWAYS_LOGGED
        for event in events[:tail]:  # the fast part: only what must not go unsaid is logged
            if type(event) in always:
                logged.append((self._log_order.key(event), log.describe_lines([event], self.state)))
            apply(event)
        for event in events[tail:]:
            logged.append((self._log_order.key(event), log.describe_lines([event], self.state)))
            self.state.apply(event)
        if self.replay_events is None and self.state.scenario not in (None, self.scenario):
            self.scenario = self.state.scenario  # the engine's validated copy
        # processes report in batches of their own, so a later batch can hold earlier events:
        # the log holds lines a moment and shows them in time order (see core.pipeline.log_order)
        log.add(logged)
        if self.replay_events is not None:
            self._show_outcome()  # a replayed session's run: its summary shows in its gap

    def replay_stepper_calls(self, calls: list[str]) -> None:
        """A replayed session's stepper calls: this display has no stepper to show them on
        (:class:`~mpscope.tui.app.MpscopeApp`, which has, plays them)."""
        del calls

    @on(SourceEnded)
    def _ended(self, message: SourceEnded) -> None:
        if message.run_id != self.run_id:
            return
        self._source_ended = True  # every held log line shows now
        session = self.tape.writer
        if session is None or self.recorder.writer is not session:
            self._close_recording()  # the session's file takes the stepper's calls until r or q
        self._paint(force=True)
        if self.replay_events is not None and self.tape.more and not self._closing_down:
            self.start_run(fresh=False)  # the session's next run
            return
        if self.exit_after is not None:  # --exit-after: a replay's end, or a live run's
            self.set_timer(self.exit_after, partial(self.run_action, "quit"))
        self._show_outcome()

    def _show_outcome(self) -> None:
        """The summary of a finished run, once; the exit code and the comparison get it."""
        summary = self.query_one(SummaryPanel)
        if self.state.finished and not summary.has_class("-shown"):
            summary.add_class("-shown")
            summary.show(self.state)
            self.query_one(EventLog).add_class("-hidden")
            self._sync_dock()
            self.exit_code = exit_code(self.state.outcome)
            if self.state.outcome == "completed" and self.state.mode != Mode.PRINT:
                self.finished_runs[self.state.mode] = self.state

    def _close_recording(self) -> bool:
        """The run's recording is over: say where it went (and remember it, for ``R``), or why
        it stopped early; False if there was none."""
        recorder = self.recorder
        writer, error = recorder.close(), recorder.error
        recorder.error = None  # said once
        if error is not None:
            self.notify(error, severity="error")
        elif writer is not None:
            if writer is not self.tape.writer:  # the session's file says so at the end
                self.notify(f"recorded {writer.count} events to {writer.path}")
            self._recorded_to = writer.path
        return writer is not None or error is not None

    async def _stop_source(self, replaced_by: str | None = None) -> None:
        """End the run (a live one's processes, a replay's reading); ``replaced_by``: why
        another run takes its place, which a session's recording notes."""
        source = self.source
        self.source = None
        self.run_id += 1  # ignore whatever the old run still says
        if source is not None:
            source.stop()
            await asyncio.to_thread(source.join, 20)
        # after the join: the run's last words are in the file, and then what replaced it
        if replaced_by is not None and source is not None and source.live:
            t = max(source.elapsed_ns(), self.state.now)
            self.recorder.note(RunReplaced(t, replaced_by))
        self._close_recording()

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
                source_name=self._replay_title(),
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
            self.query_one(TensorStrip).show(state)
            if state.mode != self._layout_mode:  # what is shown depends on the mode only
                self._layout_mode = state.mode
                queues = state.mode != Mode.PRINT
                box = self.query_one("#collector-box")
                box.display = queues
                box.border_title = (
                    "collector"
                    if state.mode != Mode.COLLECT_AFTER
                    else ("collector: the main process (Task 2 collects after the workers)")
                )
                self._sync_queue_strips()

    def _replay_title(self) -> str:
        """The replayed file's name, with which run of its session plays after the first."""
        index = self.tape.run_index
        return f"{self.replay_name} · run {index + 1}" if index else self.replay_name

    def _launch_flights(self, events: list[Event]) -> None:
        if not self.flying_tokens or self.size.height < 20 or self.speed > 2 or self.instant:
            return
        if not self.query_one("#pipeline").region:  # the stepper has the whole width
            return
        if self.screen is not self.screen_stack[0]:  # a help or traceback screen is on top
            return
        places = FlightPlaces(
            self.query_one(LanesView),
            self.query_one("#task-queue", QueueStrip),
            self.query_one("#result-queue", QueueStrip),
            self.query_one("#collector-lane", WorkerLane),
        )
        launch_flights(self.flights, self.screen, events, self.state, places, self.speed)

    def _land_tokens(self) -> None:
        """Tokens in the air, and those about to take off, are put down at once."""
        self.flights.clear()
        self._to_fly = []
