"""The distributed mode in a terminal: ``mpscope run --mode distributed``, ``mpscope watch`` and
the replay of a distributed recording, as an app with only the distributed screen
(:class:`.DistScreen`; its keys are the screen's). ``q`` (or SIGTERM, SIGHUP) sets the
source's stop; once the screen is gone the source ends what it started before the command
returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import ClassVar

from textual.app import App
from textual.binding import BindingType

from mpscope.core.distributed.events import DistEvent, DistFinished
from mpscope.tui.screens.dist import DistScreen, Source
from mpscope.tui.session.exit_codes import exit_code


class DistApp(App[None]):
    """The distributed screen alone."""

    TITLE = "mpscope · distributed"
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, source: Source, record: str | None = None, hint: str = "") -> None:
        super().__init__()
        self.dist_screen = DistScreen(source, record, hint)

    def on_mount(self) -> None:
        self.push_screen(self.dist_screen, lambda _result: self.exit())

    def end(self) -> None:
        """Stop the source and wait for it to end what it started."""
        self.dist_screen.end_run()


def recorded(events: list[DistEvent]) -> Source:
    """A source that gives a recording's events at once (a replay: nothing runs)."""

    def source(emit: Callable[[DistEvent], None], _stop: threading.Event) -> str:
        outcome = "completed"  # a recording cut short: what it shows is all there is
        for event in events:
            emit(event)
            if isinstance(event, DistFinished):
                outcome = event.outcome
        return outcome

    return source


def run_dist_app(source: Source, record: str | None = None, hint: str = "") -> int:
    """Show the run until ``q`` (or the user's signal); then end it; the exit code."""
    app = DistApp(source, record, hint)
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        app.dist_screen.stop.set()
        app.exit()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        app.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if app.dist_screen.runner.is_alive():
            print("mpscope: ending the ranks…", flush=True)
        app.end()
    outcome = app.dist_screen.outcome or "stopped"
    return exit_code(outcome, caught[0] if caught else None)
