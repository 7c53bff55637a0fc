"""Run generator steps off the caller's thread, one at a time, and let the caller give up.

A generator may run for ever between two yields. A UI must not wait for it, so each step runs on
its own *daemon* thread and reports back through a callback. A thread cannot be killed: giving
up (:meth:`StepRunner.give_up`) makes the stepper forget that generator (see
:meth:`.machine.GeneratorStepper.abandon`) and drops whatever the thread reports later. The
thread is a daemon so that an abandoned, still-running generator never keeps the process alive.

(Textual's own thread workers run on the event loop's default executor, which the loop waits for
at exit: a runaway generator there would hang the app on quit. Hence plain daemon threads.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from mpscope.core.stepper.machine import GeneratorStepper
from mpscope.core.stepper.result import StepResult

__all__ = ["StepRunner"]

StepCall = Callable[[GeneratorStepper], StepResult]
"""What to do to the stepper, e.g. ``GeneratorStepper.next`` or ``lambda s: s.send(10)``."""


class StepRunner:
    """Submit stepper calls to run on a daemon thread; report results that still matter."""

    def __init__(self, stepper: GeneratorStepper) -> None:
        self.stepper = stepper
        """The stepper whose calls this runner runs; replace it only when not busy."""
        self._lock = threading.Lock()
        self._token = 0
        self._busy = False
        self.last_thread: threading.Thread | None = None
        """The thread of the latest submitted step (tests join it)."""

    @property
    def busy(self) -> bool:
        """Whether a submitted step has neither finished nor been given up on."""
        with self._lock:
            return self._busy

    def submit(self, call: StepCall, done: Callable[[StepResult], None]) -> bool:
        """Run ``call(stepper)`` on a new daemon thread; ``done(result)`` is called on that thread.

        Returns False (and runs nothing) while another step is in progress. ``done`` is not
        called for a step that was given up on, nor for a stale result.
        """
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            self._token += 1
            token = self._token
        stepper = self.stepper

        def run() -> None:
            result: StepResult | None = None
            try:
                result = call(stepper)
            finally:
                with self._lock:
                    current = token == self._token
                    if current:
                        self._busy = False
            if current and not result.stale:
                done(result)

        thread = threading.Thread(target=run, name="mpscope-gen-step", daemon=True)
        self.last_thread = thread
        thread.start()
        return True

    def give_up(self) -> StepResult | None:
        """Stop waiting for the step in progress; return the stepper's ABANDONED result."""
        with self._lock:
            if not self._busy:
                return None
            self._busy = False
            self._token += 1
        return self.stepper.abandon()
