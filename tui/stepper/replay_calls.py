"""A replayed session's stepper calls (:class:`~mpscope.core.pipeline.events.StepperCalled`),
played on the app's stepper panel as they were made: the panel shown or hidden, the same
generator opened, the same ``next()``, ``send()``, ``throw()``, ``close()`` in order, each
after the one before has come back."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from mpscope.core.pipeline.session import parse_call
from mpscope.core.stepper.machine import THROWABLE
from mpscope.tui.stepper.panel import StepperPanel

if TYPE_CHECKING:
    from mpscope.tui.app import MpscopeApp

#: the longest a replayed call waits for the call before it to come back
CALL_WAIT_S = 10.0


async def _shown(app: MpscopeApp, show: bool) -> StepperPanel | None:
    """The stepper panel, shown or hidden as asked (mounted the first time it shows)."""
    panels = app.query("#stepper")
    shown = bool(panels) and panels.first().has_class("-shown")
    if shown != show:
        app.action_toggle_stepper()
        await asyncio.sleep(0)  # let a new panel mount before it is called
    found = app.query("#stepper")
    return found.first(StepperPanel) if found else None


async def _idle(panel: StepperPanel) -> None:
    deadline = time.monotonic() + CALL_WAIT_S
    while panel.busy and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def play_call(app: MpscopeApp, text: str) -> None:
    """Play one recorded call; one this mpscope does not know is left out."""
    call = parse_call(text)
    if call is None:
        return
    if call.verb == "hide":
        await _shown(app, False)
        return
    panel = await _shown(app, True)
    if panel is None or call.verb == "show":
        return
    await _idle(panel)
    if call.verb == "open":
        panel.load_example(call.argument)
    elif call.verb == "next":
        panel.step_next()
    elif call.verb == "send":
        panel.send_text(call.argument)
    elif call.verb == "throw":
        name, message = call.exception
        if name in THROWABLE:
            panel.throw(THROWABLE[name], message)
    elif call.verb == "close":
        panel.close_generator()
    elif call.verb == "reset":
        panel.reset()
    elif call.verb == "give up":
        panel.give_up()
    await _idle(panel)
