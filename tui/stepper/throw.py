"""The dialog that asks which exception to ``throw()`` into the generator, and with what message."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from mpscope.core.stepper.machine import THROWABLE
from mpscope.tui.screens.modal import ClosableModal

__all__ = ["ThrowDialog", "ThrowRequest"]

ThrowRequest = tuple[type[BaseException], str]
"""The exception type to throw and its message (possibly empty)."""


class ThrowDialog(ClosableModal[ThrowRequest | None]):
    """Pick an exception type, type a message; Enter throws, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ThrowDialog {
        align: center middle;
        background: $background 60%;
    }
    ThrowDialog > #throw-box {
        width: 56;
        max-width: 100%;
        height: auto;
        border: thick $error 80%;
        background: $surface;
        padding: 0 1;
    }
    ThrowDialog #throw-explain { color: $text-muted; margin-bottom: 1; }
    ThrowDialog .throw-label { color: $text-muted; }
    ThrowDialog Select { margin-bottom: 1; }
    ThrowDialog Input { margin-bottom: 1; border: tall $accent; }
    ThrowDialog #throw-buttons { height: auto; align-horizontal: right; }
    ThrowDialog #throw-buttons Button { margin-left: 1; }
    """

    def __init__(self, default: str = "ValueError") -> None:
        super().__init__()
        self._default = default if default in THROWABLE else "ValueError"

    def compose(self) -> ComposeResult:
        with Vertical(id="throw-box") as box:
            box.border_title = "throw()"
            yield Static(
                "Raise an exception inside the generator, at the yield it is paused at. "
                "If it catches it and yields again, throw() returns that value. "
                "Type the message, Enter throws; shift+Tab goes back to the type.",
                id="throw-explain",
            )
            yield Static("exception type", classes="throw-label")
            yield Select(
                [(name, name) for name in THROWABLE],
                value=self._default,
                allow_blank=False,
                compact=True,
                id="throw-type",
            )
            yield Static("message (optional)", classes="throw-label")
            yield Input(placeholder="e.g. boom", id="throw-message")
            with Horizontal(id="throw-buttons"):
                yield Button("Throw", variant="error", compact=True, id="throw-ok")
                yield Button("Cancel", compact=True, id="throw-cancel")

    def on_mount(self) -> None:
        self.query_one("#throw-message", Input).focus()

    @on(Button.Pressed, "#throw-ok")
    @on(Input.Submitted, "#throw-message")
    def _throw(self) -> None:
        chosen = self.query_one("#throw-type", Select).value
        name = chosen if isinstance(chosen, str) else "ValueError"
        message = self.query_one("#throw-message", Input).value
        self.dismiss((THROWABLE[name], message))

    @on(Button.Pressed, "#throw-cancel")
    def action_cancel(self) -> None:
        """Close without throwing."""
        self.dismiss(None)
