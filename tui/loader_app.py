"""``mpscope run --mode dataloader`` (without ``--plain``) and ``mpscope replay`` of a DataLoader
recording: an app with only the DataLoader screen (its keys are the screen's); Esc or q ends it
(and the run with it)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from mpscope.core.dataloader.events import LoaderEvent
from mpscope.core.dataloader.run import LoaderSettings
from mpscope.tui.screens.loader import LoaderScreen


class LoaderApp(App[None]):
    """The DataLoader screen alone: live from ``settings`` or from recorded ``events``."""

    TITLE = "mpscope · DataLoader"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(
        self,
        settings: LoaderSettings | None = None,
        events: list[LoaderEvent] | None = None,
        record: str | None = None,
    ) -> None:
        super().__init__()
        self.loader_screen = LoaderScreen(settings, events, record)

    def on_mount(self) -> None:
        self.push_screen(self.loader_screen, lambda _result: self.exit())


def run_loader_app(
    settings: LoaderSettings | None = None,
    events: list[LoaderEvent] | None = None,
    record: str | None = None,
) -> int:
    """Run the app to its end (recording the run to ``record``, if given); exit code 0."""
    LoaderApp(settings, events, record).run()
    return 0
