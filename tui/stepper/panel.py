"""The generator stepper panel: step a generator with next, send, throw, close and reset.

The panel shows the generator's source with the suspended line marked, a state badge, what the
last call did and the value that came out last, the frame's locals, the history of calls, and a
hint naming the rule a call ran into. It drives a :class:`GeneratorStepper`; steps
run on a daemon thread (:class:`StepRunner`), so a generator that runs for ever
between two yields shows "running…" and can be given up on (``x``) without freezing the app.

Embedding: mount ``StepperPanel()`` anywhere (it works from about 45 columns wide; from 76 it
switches to two columns); its keys work while it or a child has focus. It posts
:class:`StepperPanel.Stepped` after every call and :class:`StepperPanel.Loaded` when it loads a
generator.

Its drawing is :class:`~.panel_display.PanelDisplay` (its base), its look
:data:`~.panel_style.PANEL_CSS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Select, Static

from mpscope.core.stepper.machine import FactoryError, GeneratorStepper
from mpscope.core.stepper.memory_lesson import DEFAULT_N, MemoryFigures, measure
from mpscope.core.stepper.result import Action, GenState, StepResult
from mpscope.core.stepper.runner import StepCall, StepRunner
from mpscope.core.stepper.spec import (
    GenSpecError,
    GenTarget,
    LiteralError,
    parse_literal,
    resolve_target,
)
from mpscope.tui.keys import Where, bindings_for
from mpscope.tui.stepper.memory import MemoryLessonScreen
from mpscope.tui.stepper.panel_display import _USER, RUNNING_HINT, PanelDisplay
from mpscope.tui.stepper.panel_style import PANEL_CSS
from mpscope.tui.stepper.source import SourceView
from mpscope.tui.stepper.throw import ThrowDialog, ThrowRequest

__all__ = ["RUNNING_HINT", "StepperPanel"]


class StepperPanel(PanelDisplay, can_focus=True):
    """Step a generator by hand and watch its frame; see the module docstring."""

    # from the key table: g (back to the lanes) first, so that even a narrow footer shows it
    BINDINGS: ClassVar[list[BindingType]] = bindings_for(Where.STEPPER)

    DEFAULT_CSS = PANEL_CSS

    WIDE_FROM: ClassVar[int] = 76
    """From this width on, the source and the frame sit side by side."""
    SHORT_BELOW: ClassVar[int] = 30
    """Below this height, the blank lines between parts go."""
    RUNNING_AFTER: ClassVar[float] = 0.25
    """Seconds a step may take before the panel says it is running."""

    class Stepped(Message):
        """Posted after every call that came back (and after giving up on one)."""

        def __init__(self, panel: StepperPanel, result: StepResult) -> None:
            super().__init__()
            self.panel = panel
            self.result = result
            """What the call did."""

        @property
        def control(self) -> StepperPanel:
            """The panel that posted the message."""
            return self.panel

    class Loaded(Message):
        """Posted when the panel loads a generator (or fails to: then ``error`` is set)."""

        def __init__(self, panel: StepperPanel, label: str, error: str | None) -> None:
            super().__init__()
            self.panel = panel
            self.label = label
            self.error = error

        @property
        def control(self) -> StepperPanel:
            """The panel that posted the message."""
            return self.panel

    class Called(Message):
        """Posted for every call asked of the stepper (``open SPEC``, ``next``, ``send
        LITERAL``, ``throw NAME MESSAGE``, ``close``, ``reset``, ``give up``), as a session
        recording keeps it (:class:`~mpscope.core.pipeline.events.StepperCalled`)."""

        def __init__(self, call: str) -> None:
            super().__init__()
            self.call = call

    class _Done(Message):
        """A step finished on the runner's thread (private)."""

        def __init__(self, result: StepResult) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self,
        target: GenTarget | None = None,
        *,
        measure_fn: Callable[[int], MemoryFigures] = measure,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Open ``target`` (default: the first of the seed's examples).

        ``measure_fn`` is what the memory lesson measures with (tests pass a fake).
        """
        super().__init__(name=name, id=id, classes=classes)
        self._target = target if target is not None else resolve_target(None)
        self._measure_fn = measure_fn
        self._stepper: GeneratorStepper | None = None
        self._runner: StepRunner | None = None
        self._load_error: str | None = None
        self._user_target: GenTarget | None = None
        self._locals_before: dict[str, str] = {}
        """The locals as they were before the last step, to mark what changed."""
        self._locals_seen: dict[str, str] = {}
        self._last_state = GenState.CREATED
        self._poll: Timer | None = None
        self._ready = False
        self.last_shown: StepResult | None = None
        """The latest result the panel has displayed (tests wait on its ``index``)."""
        self.border_title = "Generator stepper"

    # -- public API --------------------------------------------------------------------------

    @property
    def stepper(self) -> GeneratorStepper | None:
        """The stepper of the loaded generator (None if it could not be created)."""
        return self._stepper

    @property
    def target(self) -> GenTarget:
        """What is loaded."""
        return self._target

    @property
    def runner(self) -> StepRunner | None:
        """The runner of the loaded stepper."""
        return self._runner

    def load(self, target: GenTarget) -> None:
        """Load ``target``, giving up on any step in progress."""
        if self._runner is not None:
            self._runner.give_up()
        self._target = target
        self._locals_before, self._locals_seen = {}, {}
        self.last_shown = None
        try:
            self._stepper = GeneratorStepper(target.factory, label=target.label)
        except FactoryError as exc:
            self._stepper, self._runner = None, None
            self._load_error = f"{target.label}: {exc}"
        else:
            self._runner = StepRunner(self._stepper)
            self._load_error = None
            self._locals_seen = {var.name: var.value_repr for var in self._stepper.locals}
        self.running = False
        if self._ready:
            self._sync_picker()
            self._show()
        self.post_message(self.Called(f"open {target.spec or target.label}"))
        self.post_message(self.Loaded(self, target.label, self._load_error))

    def load_example(self, name: str) -> None:
        """Load one of the seed's examples by name (see :data:`EXAMPLES`)."""
        try:
            target = resolve_target(name)
        except GenSpecError as exc:
            self._show_error(str(exc))
            return
        self.load(target)

    def step_next(self) -> bool:
        """``next()``; False if a step is already in progress or nothing is loaded."""
        return self._submit(GeneratorStepper.next, "next")

    def send_value(self, value: object) -> bool:
        """``send(value)``."""
        return self._submit(lambda stepper: stepper.send(value), f"send {value!r}")

    def send_text(self, text: str) -> bool:
        """``send()`` the literal ``text``; a bad one shows an inline error and sends nothing."""
        try:
            value = parse_literal(text)
        except LiteralError as exc:
            self._show_error(f"send: {exc}. The generator is untouched.")
            return False
        self._show_error(None)
        return self._submit(lambda stepper: stepper.send(value), f"send {text.strip()}")

    def throw(self, exc_type: type[BaseException], message: str | None = None) -> bool:
        """``throw(exc_type(message))``."""
        return self._submit(
            lambda stepper: stepper.throw(exc_type, message or None),
            f"throw {exc_type.__name__} {message or ''}".rstrip(),
        )

    def close_generator(self) -> bool:
        """``close()``."""
        return self._submit(GeneratorStepper.close, "close")

    def reset(self) -> bool:
        """A fresh generator from the factory (gives up on a running step first)."""
        if self._stepper is None:
            self.load(self._target)
            return True
        if self.busy:
            self.give_up()
        return self._submit(GeneratorStepper.reset, "reset")

    def give_up(self) -> bool:
        """Stop waiting for the step in progress; the stepper marks its generator abandoned."""
        if self._runner is None:
            return False
        result = self._runner.give_up()
        if result is None:
            return False
        self.running = False
        self.last_shown = result
        self._show()
        self.post_message(self.Called("give up"))
        self.post_message(self.Stepped(self, result))
        return True

    # -- Textual plumbing --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Select(
            self._picker_options(),
            value=self._picker_value(),
            allow_blank=False,
            compact=True,
            id="stepper-picker",
        )
        yield Static(id="stepper-status")
        with Container(id="stepper-body"):
            with Vertical(id="stepper-code"):
                yield SourceView(id="stepper-source")
                yield Static(id="stepper-outcome")
            with Vertical(id="stepper-frame"):
                yield Static(id="stepper-hint")
                yield Label("Locals", classes="stepper-heading", id="stepper-locals-heading")
                yield Static(id="stepper-locals")
            with Vertical(id="stepper-past"):
                yield Label("History", classes="stepper-heading")
                with VerticalScroll(id="stepper-history-scroll", can_focus=False):
                    yield Static(id="stepper-history")
        with Horizontal(id="stepper-send-row"):
            yield Label("send(")
            yield Input(placeholder=self._send_placeholder(), compact=True, id="stepper-send")
            yield Label(")")
        yield Static(id="stepper-error", classes="-empty")
        with Horizontal(id="stepper-buttons"):
            yield Button("next", compact=True, variant="primary", id="stepper-next")
            yield Button("send", compact=True, id="stepper-send-button")
            yield Button("throw", compact=True, variant="error", id="stepper-throw")
            yield Button("close", compact=True, id="stepper-close")
            yield Button("reset", compact=True, variant="warning", id="stepper-reset")
            yield Button("give up", compact=True, variant="error", id="stepper-give-up")

    def on_mount(self) -> None:
        self._ready = True
        if self._stepper is None and self._load_error is None:
            self.load(self._target)
        else:
            self._show()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= self.WIDE_FROM, "-wide")
        self.set_class(event.size.height < self.SHORT_BELOW, "-short")

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "-running")
        self.refresh_bindings()
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        if running:
            self._poll = self.set_interval(self.RUNNING_AFTER, self._show)
        if self._ready:
            self._show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide "give up" unless running; dim the step keys while a step is in progress."""
        if action == "give_up":
            return self.busy
        if action == "focus_panel":
            return self.app.focused is not self
        if action == "hide":  # only beside the lanes (mpscope gen has nothing to go back to)
            return hasattr(self.app, "action_toggle_stepper")
        if action in ("step_next", "focus_send", "throw", "close_generator"):
            return None if self.busy or self._stepper is None else True
        return True

    # -- actions -----------------------------------------------------------------------------

    async def action_hide(self) -> None:
        """Hide the stepper and give the keys back to the lanes (the app's ``g``)."""
        await self.app.run_action("toggle_stepper")

    def action_step_next(self) -> None:
        """Call next() on the generator."""
        self.step_next()

    def action_focus_send(self) -> None:
        """Put the cursor in the send box."""
        self.query_one("#stepper-send", Input).focus()

    def action_throw(self) -> None:
        """Ask for an exception, then throw it into the generator."""
        if self.busy or self._stepper is None:
            return
        self.app.push_screen(ThrowDialog(), self._throw_chosen)

    def action_close_generator(self) -> None:
        """Call close() on the generator."""
        self.close_generator()

    def action_reset(self) -> None:
        """Make a fresh generator."""
        self.reset()

    def action_give_up(self) -> None:
        """Give up on the running step."""
        self.give_up()

    def action_pick_example(self) -> None:
        """Open the example picker."""
        picker = self.query_one("#stepper-picker", Select)
        picker.focus()
        picker.expanded = True

    def action_memory(self) -> None:
        """Open the memory lesson."""
        self.app.push_screen(MemoryLessonScreen(DEFAULT_N, measure_fn=self._measure_fn))

    def action_focus_panel(self) -> None:
        """Give the focus back to the panel (from the send box or the picker)."""
        self.focus()

    # -- events ------------------------------------------------------------------------------

    @on(Input.Submitted, "#stepper-send")
    def _send_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.send_text(event.value):
            event.input.value = ""
            self.focus()  # the panel's keys again: s for the next send, n, t, ...

    @on(Input.Changed, "#stepper-send")
    def _send_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show_error(None)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        match event.button.id:
            case "stepper-next":
                self.step_next()
            case "stepper-send-button":
                box = self.query_one("#stepper-send", Input)
                if self.send_text(box.value):
                    box.value = ""
            case "stepper-throw":
                self.action_throw()
            case "stepper-close":
                self.close_generator()
            case "stepper-reset":
                self.reset()
            case "stepper-give-up":
                self.give_up()

    @on(Select.Changed, "#stepper-picker")
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if not isinstance(value, str) or value == self._picker_value():
            return
        if value == _USER:
            self.load(self._user_target or self._target)
        else:
            self.load_example(value)
        self.focus()

    @on(_Done)
    def _step_done(self, message: _Done) -> None:
        message.stop()
        if self._stepper is not None:
            self._locals_before = self._locals_seen
            self._locals_seen = {var.name: var.value_repr for var in self._stepper.locals}
            if message.result.action is Action.RESET:
                self._locals_before = {}
        self.running = False
        self.last_shown = message.result
        self._show()
        self.refresh_bindings()
        self.post_message(self.Stepped(self, message.result))

    # -- internals ---------------------------------------------------------------------------

    def _throw_chosen(self, request: ThrowRequest | None) -> None:
        if request is not None:
            self.throw(*request)

    def _submit(self, call: StepCall, said: str) -> bool:
        """Run ``call`` on the runner's thread (and post ``said``, how the call reads); say so
        if busy or if nothing is loaded."""
        if self._runner is None:
            self._show_error(self._load_error or "nothing loaded")
            return False
        if not self._runner.submit(call, self._post_done):
            self.notify("A step is still running: press x to give up on it.", severity="warning")
            return False
        self.post_message(self.Called(said))
        self.refresh_bindings()
        self.set_timer(self.RUNNING_AFTER, self._check_running)
        return True

    def _post_done(self, result: StepResult) -> None:
        """Called on the runner's thread: hand the result to the UI thread."""
        with contextlib.suppress(Exception):  # the app may have gone away while the step ran
            self.post_message(self._Done(result))

    def _check_running(self) -> None:
        if self.busy:
            self.running = True
