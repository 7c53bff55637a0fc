"""Key ``4``: a real ``torch.utils.data.DataLoader`` run, lane by lane, on its own screen.

The run is :func:`mpscope.core.dataloader.run.run_loader` in a thread (the DataLoader starts and
shuts down its own workers); its events fold into a :class:`.LoaderState` under a lock and the
screen redraws it ten times a second with :func:`.loader_view`. Or a recorded DataLoader run's
events, folded at once. Escape stops the run (the DataLoader's workers end with its iterator)
and goes back.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from rich.console import Group
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from mpscope.core.dataloader.events import LoaderEvent
from mpscope.core.dataloader.run import LoaderSettings
from mpscope.core.dataloader.state import LoaderState
from mpscope.tui.views.loader import loader_view


class LoaderScreen(Screen[None]):
    """The DataLoader's lanes: live (``settings``) or from ``events`` already recorded."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the tasks"),
    ]

    def __init__(
        self, settings: LoaderSettings | None = None, events: list[LoaderEvent] | None = None
    ) -> None:
        super().__init__()
        self.settings = settings or LoaderSettings()
        self.events = events
        self.state = LoaderState()
        self.fold_lock = threading.Lock()
        self.stop = threading.Event()
        self.runner: threading.Thread | None = None
        self.last_view: Group | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="loader-lanes")
        yield Footer()

    def on_mount(self) -> None:
        if self.events is not None:
            for event in self.events:
                self.state.apply(event)
        else:
            self.runner = threading.Thread(target=self._run, name="dataloader-run", daemon=True)
            self.runner.start()
        self.redraw()
        self.set_interval(0.1, self.redraw)

    def _run(self) -> None:
        from mpscope.core.dataloader.run import run_loader

        run_loader(self.settings, self._fold, stop=self.stop)

    def _fold(self, event: LoaderEvent) -> None:
        with self.fold_lock:
            self.state.apply(event)

    def redraw(self) -> None:
        """Draw the state as it is now."""
        width = max(40, self.size.width - 2)
        with self.fold_lock:
            view = loader_view(self.state, width)
        self.last_view = view
        self.query_one("#loader-lanes", Static).update(view)

    def finished(self) -> bool:
        """True once the run (or the recording) has its end."""
        with self.fold_lock:
            return bool(self.state.outcome)

    def end_run(self, timeout: float = 30.0) -> None:
        """Ask the loop to stop after its step and wait for the DataLoader to shut down."""
        self.stop.set()
        if self.runner is not None:
            self.runner.join(timeout=timeout)

    def action_back(self) -> None:
        self.end_run()
        self.dismiss()

    def on_unmount(self) -> None:
        self.end_run()
