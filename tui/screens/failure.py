"""The traceback of a failed task, one key (``e``) away."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from mpscope.core.pipeline.lanes import Failure
from mpscope.tui.screens.modal import ClosableModal


class FailureScreen(ClosableModal[None]):
    """Shows which task failed, in which worker, and the formatted traceback."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,e", "close", "Close"),
    ]
    DEFAULT_CSS = """
    FailureScreen { align: center middle; }
    FailureScreen > VerticalScroll { width: 100; max-width: 100%; height: 80%;
        border: thick $error; background: $surface; padding: 0 1; }
    """

    def __init__(self, failure: Failure, pid: int) -> None:
        super().__init__()
        self.failure = failure
        self.pid = pid

    def compose(self) -> ComposeResult:
        f = self.failure
        with VerticalScroll() as scroll:
            scroll.border_title = f"task {f.label} failed in worker {f.worker} (PID {self.pid})"
            scroll.border_subtitle = "Esc closes"
            yield Static(Text(f.error, style="bold red"))
            yield Static(Syntax(f.traceback, "pytb", word_wrap=True, theme="ansi_dark"))
        yield Footer()  # this screen's keys, not those of the screen beneath
