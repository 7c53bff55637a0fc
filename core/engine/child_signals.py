"""A forked child starts with its parent's Python signal handlers: it must not keep them.

A process forked from the app (a run process under ``fork``, a DataLoader's worker) inherits
the handlers the app's Python code installed, Textual's among them: its SIGCONT handler (for
resuming after Ctrl+Z) would run in the child when a pause ends and raise ``RuntimeError: no
running event loop`` into whatever task or sample it was running; its SIGWINCH handler would
run on every terminal resize. :func:`drop_inherited_handlers` puts every such handler back to
the default, first thing in the child. Python's own SIGINT handler (``KeyboardInterrupt``) is
kept: torch's DataLoader worker expects it.
"""

from __future__ import annotations

import contextlib
import signal


def drop_inherited_handlers() -> list[signal.Signals]:
    """Set every signal whose handler is a Python function (but Python's own SIGINT one) back
    to the default; returns those signals."""
    dropped: list[signal.Signals] = []
    for sig in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            handler = signal.getsignal(sig)
            if callable(handler) and handler is not signal.default_int_handler:
                signal.signal(sig, signal.SIG_DFL)
                dropped.append(signal.Signals(sig))
    return dropped
