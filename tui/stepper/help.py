"""The help screen of the generator stepper: its keys and the seed's generator rules."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from mpscope.tui.keys import Where, help_rows
from mpscope.tui.screens.modal import ClosableModal

__all__ = ["KEYS", "RULES", "StepperHelpScreen"]

KEYS: tuple[tuple[str, str], ...] = tuple(
    (" ".join(names), what) for names, what in help_rows(Where.STEPPER | Where.GEN)
)
"""The keys, as shown in the help."""

RULES: tuple[str, ...] = (
    "yield pauses the function and hands out a value; the next call resumes right after it.",
    "A fresh generator must be primed with next() before send() of a value (else TypeError).",
    "send(x) makes the paused yield evaluate to x and returns the NEXT yielded value.",
    "next(g) is g.send(None).",
    "When the body ends, StopIteration carries the return value; a finished generator "
    "raises StopIteration for ever and cannot be rewound.",
    "A generator is consumed once; a list can be iterated again and again.",
)
"""The seed's key rules about generators, in one line each."""


class StepperHelpScreen(ClosableModal[None]):
    """Keys and rules; any of Escape, q, ? or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
    ]

    DEFAULT_CSS = """
    StepperHelpScreen {
        align: center middle;
        background: $background 60%;
    }
    StepperHelpScreen > VerticalScroll {
        width: 80;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $accent 80%;
        background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(style="bold cyan", no_wrap=True)
        keys.add_column()
        for key, what in KEYS:
            keys.add_row(key, what)
        rules = Text()
        for number, rule in enumerate(RULES):
            rules.append("\n" if number else "")
            rules.append("• ", "yellow")
            rules.append(rule)
        with VerticalScroll() as scroll:
            scroll.border_title = "Generator stepper — help"
            scroll.border_subtitle = "Esc closes"
            yield Static(keys)
            yield Static(Text("\nThe rules", "bold"))
            yield Static(rules)
        yield Footer()  # this screen's keys, not those of the screen beneath
