"""The app side of ``mpscope serve``: what each browser tab's process runs.

``python -m mpscope.tui.served <run's options>`` is ``mpscope run <options>`` (and
``python -m mpscope.tui.served replay --follow FILE`` is a watching tab's replay) made fit to be
served by textual-serve:

- it asks Linux for SIGTERM when its parent (the server) dies, so a SIGKILLed server still
  ends every app, and every app's exit path stops its processes; if the server died before it
  asked, it leaves at once;
- textual-serve reads a packet protocol on the app's stdout. The protocol moves to a private
  file descriptor that no child process inherits, and fd 1 then points at stderr: whatever
  else writes to fd 1 (a task module printing as a worker imports it, before the worker
  captures its output; the forkserver; the resource tracker) cannot corrupt the protocol;
- Textual's driver is :class:`mpscope.tui.served_driver.ServedDriver`: textual-serve's web
  driver that quits the way ``q`` does (the tab closed, the server stops or went away) and
  leaves mpscope's own SIGTERM handling in place.

Textual is not imported here before the driver is chosen: Textual reads its driver from the
environment when it is first imported.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

#: the server's PID, set by the server in each app's environment
PARENT_ENV: Final = "MPSCOPE_SERVE_PARENT"
#: the file descriptor the protocol goes to, for the driver
PROTOCOL_FD_ENV: Final = "MPSCOPE_SERVE_FD"
DRIVER: Final = "mpscope.tui.served_driver:ServedDriver"
_PR_SET_PDEATHSIG: Final = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum)


def parent_is_gone() -> bool:
    """The server that started this app has already died (before the death signal was set)."""
    expected = os.environ.get(PARENT_ENV, "")
    return expected.isdigit() and os.getppid() != int(expected)


def move_protocol_off_stdout() -> int:
    """Give the protocol a private descriptor (not inherited by children) and point fd 1 at
    stderr; returns the protocol's descriptor."""
    protocol = os.dup(1)  # os.dup's descriptor is not inheritable
    os.dup2(2, 1)  # sys.stdout still writes to fd 1: now to stderr
    return protocol


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mpscope run`` with these options as a served app."""
    die_with_parent()
    if parent_is_gone():
        return 1
    os.environ[PROTOCOL_FD_ENV] = str(move_protocol_off_stdout())
    os.environ["TEXTUAL_DRIVER"] = DRIVER
    from mpscope.tui.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    # a watching tab (serve --watch) replays; every other tab runs
    return cli_main(args if args[:1] == ["replay"] else ["run", *args])


if __name__ == "__main__":
    sys.exit(main())
