"""Key ``4``: a real ``torch.utils.data.DataLoader`` run, lane by lane, on its own screen.

The run is :func:`mpscope.core.dataloader.run.run_loader` in a thread (the DataLoader starts and
shuts down its own workers); its events fold into a :class:`.LoaderState` under a lock and the
screen redraws it ten times a second with :func:`.loader_view`. Or a recorded DataLoader run's
events, folded at once. A live run's keys go to its
:class:`~mpscope.core.dataloader.controls.LoaderControl` (pause, speed, kill a worker: this
screen signals no process itself); ``r`` runs it again, ``R`` records it. Escape stops the run
(the DataLoader's workers end with its iterator) and goes back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar, TextIO

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from mpscope.core.dataloader.controls import LoaderControl
from mpscope.core.dataloader.events import LoaderEvent, to_json
from mpscope.core.dataloader.run import LoaderSettings
from mpscope.core.dataloader.state import LoaderState
from mpscope.tui.loader_keys import LIVE_ONLY, loader_bindings
from mpscope.tui.views.loader import loader_view


class LoaderScreen(Screen[None]):
    """The DataLoader's lanes: live (``settings``) or from ``events`` already recorded."""

    OWNS_THE_KEYS = True  # the app's run keys do not apply here (see MpscopeApp)
    BINDINGS: ClassVar[list[BindingType]] = loader_bindings()

    def __init__(
        self,
        settings: LoaderSettings | None = None,
        events: list[LoaderEvent] | None = None,
        record: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or LoaderSettings()
        self.events = events
        self.record_to = record
        self.state = LoaderState()
        self.fold_lock = threading.Lock()
        self.stop = threading.Event()
        self.control = LoaderControl()
        self.runner: threading.Thread | None = None
        self.last_view: Group | None = None
        self.seen: list[LoaderEvent] = []  # this run's events so far: R records from the start
        self.sink: TextIO | None = None
        self.sink_path = ""
        self.sink_error = ""  # said by the next redraw (a write fails in the run's thread)

    def compose(self) -> ComposeResult:
        yield Static(id="loader-lanes")
        yield Footer()

    def on_mount(self) -> None:
        if self.events is not None:
            for event in self.events:
                self.state.apply(event)
        else:
            self._start_run()
            if self.record_to:
                self._record(self.record_to)
        self.redraw()
        self.set_interval(0.1, self.redraw)

    # -- the run -------------------------------------------------------------------------------

    def _start_run(self) -> None:
        self.stop = threading.Event()
        speed = self.control.wanted_speed
        self.control = LoaderControl()
        self.control.set_speed(speed)
        with self.fold_lock:
            self.state = LoaderState()
            self.seen = []
        self.runner = threading.Thread(
            target=self._run, args=(self.stop, self.control), name="dataloader-run", daemon=True
        )
        self.runner.start()

    def _run(self, stop: threading.Event, control: LoaderControl) -> None:
        from mpscope.core.dataloader.run import run_loader

        run_loader(self.settings, self._fold, stop=stop, control=control)

    def _fold(self, event: LoaderEvent) -> None:
        with self.fold_lock:
            self.state.apply(event)
            self.seen.append(event)
            if self.sink is not None:
                self._write(event)

    def finished(self) -> bool:
        """True once the run (or the recording) has its end."""
        with self.fold_lock:
            return bool(self.state.outcome)

    def end_run(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop after its step and wait for the DataLoader to shut down (a
        paused run is resumed first: a stopped worker cannot shut down)."""
        self.stop.set()
        self.control.release()
        if self.runner is not None:
            self.runner.join(timeout=timeout)
        self._close_recording()

    # -- what it draws -------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the state as it is now, and the controls' state under it."""
        width = max(40, self.size.width - 2)
        with self.fold_lock:
            view = loader_view(self.state, width)
            if self.sink is not None and self.state.outcome:
                self._close_recording()
            error, self.sink_error = self.sink_error, ""
        if error:
            self.notify(error, severity="error")
            self.sink_path = ""
        status = self._status()
        if status is not None:
            view = Group(*view.renderables, status)
        self.last_view = view
        self.query_one("#loader-lanes", Static).update(view)

    def _status(self) -> Text | None:
        if self.events is not None:
            return Text("a recording: what it shows was measured then", style="magenta")
        parts: list[tuple[str, str]] = []
        if self.control.paused:
            parts.append(
                ("⏸ paused: the workers are stopped (SIGSTOP) · space resumes  ", "bold yellow")
            )
        speed = self.control.wanted_speed
        parts.append((f"×{speed:g}" + (" slow motion" if speed < 1 else ""), "magenta"))
        if self.sink_path:
            parts.append((f"  ● recording to {self.sink_path}", "red"))
        return Text.assemble(*parts)

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A recording has no processes to pause, speed up or kill, nor a run to restart."""
        return not (self.events is not None and action in LIVE_ONLY)

    def action_pause(self) -> None:
        if self.finished():
            self.notify("the run has ended: r runs it again")
            return
        self.control.toggle_pause()  # the status line says so: no note over the lanes
        self.redraw()

    def action_speed(self, direction: int) -> None:
        speed = self.control.step_speed(direction)
        if self.settings.dataset:
            self.notify(f"×{speed:g}: the training step only (your dataset keeps its own pace)")
        self.redraw()

    def action_kill(self) -> None:
        with self.fold_lock:
            busy = [b.worker for b in self.state.in_flight() if b.worker >= 0]
            workers = busy + sorted(self.state.pids)
            done = bool(self.state.outcome)
        if done or not workers:
            self.notify("no DataLoader worker is running", severity="warning")
            return
        for worker in dict.fromkeys(workers):
            pid = self.control.kill(worker)
            if pid is not None:
                self.notify(f"SIGKILL sent to worker {worker} (pid {pid})")
                return
        self.notify("no DataLoader worker is running", severity="warning")

    def action_restart(self) -> None:
        self.end_run()
        self._start_run()
        self.redraw()

    def action_record(self) -> None:
        if self.sink is not None:
            self.notify(f"already recording to {self.sink_path}")
            return
        self._record(time.strftime("mpscope-loader-%Y%m%d-%H%M%S.jsonl"))

    def action_help(self) -> None:
        from mpscope.tui.screens.help import HelpScreen
        from mpscope.tui.screens.loader_help import LOADER_HELP

        self.app.push_screen(HelpScreen(LOADER_HELP))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        from mpscope.tui.screens.modal import save_screenshot_or_say

        self.app.clear_notifications()
        self.call_after_refresh(save_screenshot_or_say, self.app, filename, path)

    def action_back(self) -> None:
        self.end_run()
        self.dismiss()

    def on_unmount(self) -> None:
        self.end_run()

    # -- recording -----------------------------------------------------------------------------

    def _record(self, path: str) -> None:
        """Write the run's events so far to ``path`` and every later one as it comes."""
        try:
            sink = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 (closed at the end)
        except OSError as exc:
            self.notify(f"not recorded: {path}: {exc.strerror or exc}", severity="error")
            return
        with self.fold_lock:
            self.sink, self.sink_path = sink, path
            for event in self.seen:
                self._write(event)
        self.notify(f"recording to {path}")

    def _write(self, event: LoaderEvent) -> None:
        """One event to the recording (under the fold lock); a write error ends it, said."""
        assert self.sink is not None
        try:
            self.sink.write(to_json(event) + "\n")
        except OSError as exc:
            self.sink = None
            self.sink_error = f"recording stopped: {self.sink_path}: {exc.strerror or exc}"

    def _close_recording(self) -> None:
        sink, self.sink = self.sink, None
        if sink is not None:
            sink.close()
            self.app.notify(f"recorded {self.sink_path}")
