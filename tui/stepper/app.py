"""``mpscope gen [NAME] [ARGS...]``: the generator stepper on its own, full screen.

:func:`run_gen_command` checks the spec *before* any Textual app starts: a bad one prints one
line to stderr and returns 2. Otherwise it runs :class:`GenApp` — a :class:`StepperPanel`, a
footer listing its keys, help on ``?`` or F1, quit on ``q`` — and returns 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer

from mpscope.core.stepper.spec import GenSpecError, GenTarget, resolve_target
from mpscope.tui.keys import Where, bindings_for
from mpscope.tui.screens.modal import save_screenshot_or_say
from mpscope.tui.session.terminal import has_terminal
from mpscope.tui.stepper.help import StepperHelpScreen
from mpscope.tui.stepper.panel import StepperPanel

__all__ = ["GenApp", "run_gen_command"]


class GenApp(App[None]):
    """A full-screen generator stepper."""

    TITLE = "mpscope gen"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = bindings_for(Where.GEN)
    CSS = """
    Screen { layout: vertical; }
    StepperPanel { height: 1fr; }
    """

    def __init__(self, target: GenTarget | None = None) -> None:
        super().__init__()
        self._target = target

    def compose(self) -> ComposeResult:
        yield StepperPanel(self._target, id="stepper")
        yield Footer()

    def on_mount(self) -> None:
        panel = self.query_one(StepperPanel)
        panel.border_title = "mpscope gen · generator stepper"
        panel.focus()

    def action_help(self) -> None:
        """Show the keys and the seed's rules."""
        self.push_screen(StepperHelpScreen())

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG screenshot in the current folder (or say why it could not)."""
        save_screenshot_or_say(self, filename, path)


def run_gen_command(spec: str | None, args: Sequence[str]) -> int:
    """Run ``mpscope gen``: 2 after a one-line error for a bad spec, else 0 after the app."""
    try:
        target = resolve_target(spec, list(args))
    except GenSpecError as exc:
        print(f"mpscope gen: error: {exc}", file=sys.stderr)
        return 2
    if not has_terminal():
        print(
            "mpscope gen: error: the stepper needs a terminal on stdin and stdout",
            file=sys.stderr,
        )
        return 2
    GenApp(target).run()
    return 0
