"""What the generator stepper panel shows, drawn from its stepper's state: the badge, the
source with the suspended line, the outcome and its hint, the locals and the history, the
example picker and the send box's placeholder. :class:`PanelDisplay` is the panel's base;
:class:`~mpscope.tui.stepper.panel.StepperPanel` adds the keys, the calls and the runner.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, Input, Label, Select, Static

from mpscope.core.stepper.examples import EXAMPLES
from mpscope.core.stepper.machine import GeneratorStepper
from mpscope.core.stepper.result import GenState
from mpscope.core.stepper.runner import StepRunner
from mpscope.core.stepper.spec import GenTarget
from mpscope.tui.stepper.render import (
    render_badge,
    render_history,
    render_locals,
    render_outcome,
)
from mpscope.tui.stepper.source import SourceView

_USER = "__user__"
_STEP_BUTTONS = ("#stepper-next", "#stepper-send-button", "#stepper-throw", "#stepper-close")
RUNNING_HINT = (
    "The generator is running and has not yielded yet. Press x to give up on it; Python cannot "
    "stop it, so it goes on in a background thread until mpscope exits."
)


class PanelDisplay(Vertical):
    """The stepper panel's drawing, from the state its subclass keeps."""

    running: reactive[bool] = reactive(False)
    """True while a step has been running longer than ``RUNNING_AFTER``."""

    _target: GenTarget
    _stepper: GeneratorStepper | None
    _runner: StepRunner | None
    _load_error: str | None
    _user_target: GenTarget | None
    _locals_before: dict[str, str]
    _last_state: GenState

    @property
    def busy(self) -> bool:
        """Whether a step is in progress on the runner's thread."""
        return self._runner is not None and self._runner.busy

    def _picker_options(self) -> list[tuple[str, str]]:
        current = self._target.example
        options = [  # an example loaded with other arguments shows them (squares_gen(-1))
            (self._target.label if example is current else example.title, example.name)
            for example in EXAMPLES
        ]
        if self._target.example is None:
            self._user_target = self._target
        if self._user_target is not None:
            options.insert(0, (self._user_target.label, _USER))
        return options

    def _picker_value(self) -> str:
        example = self._target.example
        return example.name if example is not None else _USER

    def _sync_picker(self) -> None:
        picker = self.query_one("#stepper-picker", Select)
        if self._target.example is None and self._user_target is not self._target:
            self._user_target = self._target
        with self.prevent(Select.Changed):
            picker.set_options(self._picker_options())
            picker.value = self._picker_value()
        box = self.query_one("#stepper-send", Input)
        box.placeholder = self._send_placeholder()
        box.value = ""  # what was typed for the last generator does not carry over

    def _send_placeholder(self) -> str:
        example = self._target.example
        if example is not None and example.send_values:
            shown = ", ".join(repr(value) for value in example.send_values)
            return f"a literal, e.g. {shown}; Enter sends"
        return "a literal, e.g. 10 or 'text'; Enter sends"

    def _show_error(self, text: str | None) -> None:
        error = self.query_one("#stepper-error", Static)
        error.update(text or "")
        error.set_class(not text, "-empty")

    def _show(self) -> None:
        """Render everything from the stepper's current state."""
        status = self.query_one("#stepper-status", Static)
        hint = self.query_one("#stepper-hint", Static)
        stepper = self._stepper
        if stepper is None:
            status.update(Text(" ERROR ", "bold white on red") + Text(f" {self._target.label}"))
            self.query_one(SourceView).show(None, None, GenState.CLOSED)
            self.query_one("#stepper-outcome", Static).update("")
            self._set_hint(hint, self._load_error)
            return
        state = GenState.RUNNING if self.running else stepper.state
        if state is GenState.RUNNING and not self.running:
            state = self._last_state  # a quick step in flight: do not flash "running"
        self._last_state = state
        line = stepper.live_line if self.running else stepper.current_line
        status.update(render_badge(state, stepper.label, line))
        for button_id in _STEP_BUTTONS:
            self.query_one(button_id, Button).disabled = self.busy
        self.query_one(SourceView).show(stepper.source, line, state)
        last = stepper.last_result
        self.query_one("#stepper-outcome", Static).update(render_outcome(last, stepper.last_output))
        if self.running:
            self._set_hint(hint, RUNNING_HINT)
        elif last is None:
            example = self._target.example
            intro = example.description if example is not None else None
            self._set_hint(hint, f"{intro} Press n for next()." if intro else None)
        else:
            self._set_hint(hint, last.hint)
        local_vars = stepper.locals
        self.query_one("#stepper-locals-heading", Label).update(
            "Locals (as of the last yield)" if self.running else "Locals"
        )
        self.query_one("#stepper-locals", Static).update(
            render_locals(local_vars, state, self._locals_before)
        )
        history = stepper.history
        self.query_one("#stepper-history", Static).update(render_history(history))
        scroll = self.query_one("#stepper-history-scroll", VerticalScroll)
        # after the refresh: the new row's height is known then, so the newest call is in view
        self.call_after_refresh(scroll.scroll_end, animate=False)

    @staticmethod
    def _set_hint(hint: Static, text: str | None) -> None:
        hint.update(text or "")
        hint.set_class(not text, "-empty")
