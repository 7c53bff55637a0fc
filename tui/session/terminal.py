"""Whether the full-screen app has a terminal to draw on.

The app needs a terminal on both stdin (keys) and stdout (the screen). Without one
(``mpscope | head``, ``mpscope gen </dev/null``, cron, CI) ``run`` and ``replay`` fall back to
``--plain`` and ``gen`` refuses with one line. A Textual driver chosen through the environment
(``mpscope serve`` sets its own) draws elsewhere and needs no terminal.
"""

from __future__ import annotations

import os
import sys
from typing import Final, TextIO

NO_TERMINAL_NOTE: Final = "mpscope: no terminal on stdin and stdout: showing the run as --plain"


def _is_a_terminal(stream: TextIO | None) -> bool:
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def has_terminal() -> bool:
    """The app can draw: stdin and stdout are terminals, or a driver is set to draw elsewhere."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    return _is_a_terminal(sys.stdin) and _is_a_terminal(sys.stdout)
