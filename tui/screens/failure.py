"""The traceback of a failed task, or of the collector that failed, one key (``e``) away."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from mpscope.core.pipeline.lanes import CollectorFailure, Failure
from mpscope.tui.screens.modal import ClosableModal


class FailureScreen(ClosableModal[None]):
    """Shows what failed (a task, in which worker; or the collector), and its traceback."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,e", "close", "Close"),
    ]
    DEFAULT_CSS = """
    FailureScreen { align: center middle; }
    FailureScreen > VerticalScroll { width: 100; max-width: 100%; height: 80%;
        border: thick $error; background: $surface; padding: 0 1; }
    """

    def __init__(self, title: str, error: str, traceback: str, explanation: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.error = error
        self.traceback = traceback
        self.explanation = explanation

    @classmethod
    def of_task(cls, failure: Failure, pid: int) -> FailureScreen:
        """A failed task: which one, in which worker, and its traceback."""
        title = f"task {failure.label} failed in worker {failure.worker} (PID {pid})"
        return cls(title, failure.error, failure.traceback)

    @classmethod
    def of_collector(cls, failure: CollectorFailure) -> FailureScreen:
        """The collector's failure (the run's): what it raised, or the signal that ended it."""
        return cls(f"{failure.who} failed", failure.error, failure.traceback, failure.explanation)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title_text
            scroll.border_subtitle = "Esc closes"
            yield Static(Text(self.error, style="bold red"))
            if self.explanation:
                yield Static(Text(self.explanation, style="yellow"))
            if self.traceback:
                yield Static(Syntax(self.traceback, "pytb", word_wrap=True, theme="ansi_dark"))
            else:
                yield Static(Text("no traceback: a signal ended it where it stood", style="dim"))
        yield Footer()  # this screen's keys, not those of the screen beneath
