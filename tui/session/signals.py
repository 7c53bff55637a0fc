"""How mpscope answers SIGINT, SIGTERM and SIGHUP: the app's policy and ``--plain``'s, in one place.

The app (Textual reads Ctrl+C as a key, so only SIGTERM and SIGHUP reach it as signals):
SIGTERM quits the orderly way (the run's processes stopped first, the terminal restored) with a
deadline of :data:`QUIT_GRACE_S`; SIGHUP means the terminal is gone, so the processes are
stopped and the app leaves at once (restoring a terminal that is gone would hang), and so does
any signal that arrives while the app is already quitting (:func:`hard_exit`).
:func:`run_app_session` runs the app under that policy.

``--plain`` (:class:`PlainSignals`): each of the three asks the engine for an ordered stop, named
after the signal; a second Ctrl+C kills the run's processes at once (:func:`.pump.abort_run`).

Either way, a signal that arrives once the processes are being stopped for good
(:data:`STOPPING_PROCESSES`) is ignored: its handler runs inside the very code it interrupted,
and stopping them again would wait forever on a lock that code holds (the forkserver's, the
engines').
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol, TypeAlias

from mpscope.tui.session.exit_codes import signal_exit_code
from mpscope.tui.session.pump import abort_run

if TYPE_CHECKING:
    from mpscope.core.engine.run import Engine

__all__ = [
    "APP_SIGNALS",
    "PLAIN_SIGNALS",
    "QUIT_GRACE_S",
    "STOPPING_PROCESSES",
    "PlainSignals",
    "QuittableApp",
    "handled_signals",
    "hard_exit",
    "install_app_signal_handlers",
    "install_signal_handlers",
    "restore_signal_handlers",
    "run_app_session",
]

QUIT_GRACE_S: Final = 10.0
"""Seconds the app has to quit the orderly way after SIGTERM before it stops hard."""
APP_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)
PLAIN_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: Set once the processes are being stopped for good: a signal arriving then is ignored.
STOPPING_PROCESSES: Final = threading.Event()

SignalHandler: TypeAlias = Callable[[int, FrameType | None], None]
#: What a signal was handled by before (as ``signal.signal`` returns it), to put back after.
Disposition: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def install_signal_handlers(
    handler: SignalHandler, signals: Iterable[int]
) -> dict[int, Disposition]:
    """Let ``handler`` take ``signals``; returns what took them before."""
    return {signum: signal.signal(signum, handler) for signum in signals}


def restore_signal_handlers(previous: dict[int, Disposition]) -> None:
    """Put back what :func:`install_signal_handlers` replaced."""
    for signum, disposition in previous.items():
        signal.signal(signum, disposition)


@contextmanager
def handled_signals(handler: SignalHandler, signals: Iterable[int]) -> Iterator[None]:
    """``handler`` takes ``signals`` inside the ``with`` block; what took them before, after."""
    previous = install_signal_handlers(handler, signals)
    try:
        yield
    finally:
        restore_signal_handlers(previous)


def hard_exit(signum: int) -> NoReturn:
    """Stop every run process, then leave at once with ``signum``'s exit code, without touching
    the terminal again."""
    from mpscope.core.engine.lifecycle import shutdown

    STOPPING_PROCESSES.set()
    shutdown()
    os._exit(signal_exit_code(signum))


# -- the app ---------------------------------------------------------------------------------


class QuittableApp(Protocol):
    """What the app's signal policy needs of the app."""

    exit_code: int
    """The code the app leaves with."""
    quitting: bool
    """True once the app is on its way out."""

    def call_later(self, callback: Callable[[], Awaitable[None]], /) -> object:
        """Run ``callback`` on the app's own loop, soon."""
        ...

    async def action_quit(self) -> None:
        """Stop the run (every child process) and leave."""
        ...

    def run(self) -> int | None:
        """Run the app until it leaves; its return value (None if it crashed)."""
        ...

    @property
    def return_code(self) -> int | None:
        """The code the app left with."""
        ...


def install_app_signal_handlers(app: QuittableApp) -> dict[int, Disposition]:
    """The app's policy for SIGTERM and SIGHUP (see the module docstring); returns what took
    the signals before."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if STOPPING_PROCESSES.is_set():
            return
        if signum == signal.SIGHUP or app.quitting:
            hard_exit(signum)
        app.exit_code = signal_exit_code(signum)
        app.call_later(app.action_quit)
        deadline = threading.Timer(QUIT_GRACE_S, hard_exit, args=(signum,))
        deadline.daemon = True
        deadline.start()

    return install_signal_handlers(on_signal, APP_SIGNALS)


def run_app_session(app: QuittableApp) -> int:
    """Run ``app`` under the app's signal policy; then stop every run process (the forkserver
    too) and return the app's exit code."""
    from mpscope.core.engine.lifecycle import shutdown

    STOPPING_PROCESSES.clear()
    previous = install_app_signal_handlers(app)
    try:
        result = app.run()
        if result is None:  # it crashed (Textual printed why): not a clean exit
            result = app.return_code
    finally:
        STOPPING_PROCESSES.set()
        shutdown()
        restore_signal_handlers(previous)
    return int(result or 0)


# -- --plain ---------------------------------------------------------------------------------


class PlainSignals:
    """``--plain``'s policy: each signal asks ``engine`` for an ordered stop named after it; a
    second Ctrl+C kills the run's processes at once. Install it with :func:`handled_signals`
    and :data:`PLAIN_SIGNALS`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.received: list[int] = []
        """The signals received, in order."""

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if signum == signal.SIGINT and len(self.received) > 1:
            abort_run(self._engine)
        self._engine.stop(f"{signal.Signals(signum).name} received")

    def ending_signal(self, outcome: str | None) -> int | None:
        """The signal that ended a run whose outcome is ``outcome``: the first one received, if
        the run was stopped (a run that completed or failed meanwhile ended on its own)."""
        if outcome == "stopped" and self.received:
            return self.received[0]
        return None
