"""What every ``mpscope`` command shares on the command line: the one-line error and its exit
code, the speed range, and checks made before any process starts (a recording's folder, a
``--timeline`` only with ``--plain``), and stopping quietly when a pipe's reader goes away.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Final

from mpscope.core.pipeline.recording import RecordingError
from mpscope.core.pipeline.scenario import MAX_TIME_SCALE, MIN_TIME_SCALE, ScenarioError
from mpscope.tui.session.exit_codes import signal_exit_code

EXIT_USAGE: Final = 2
MIN_SPEED: Final = 1 / MAX_TIME_SCALE
MAX_SPEED: Final = 1 / MIN_TIME_SCALE


class UsageError(Exception):
    """Bad command-line input; the message is one line."""


def fail(message: str) -> int:
    print(f"mpscope: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def no_timeline_without_plain(value: str | None) -> None:
    if value is not None:
        raise UsageError("--timeline draws the timeline of --plain's summary: add --plain")


def to_a_pipe(write_out: Callable[[], int]) -> int:
    """Run a --plain output; if its reader goes away (``| head``), stop quietly (the run's
    processes are stopped on the way out) with SIGPIPE's exit code, as the shell tools do."""
    try:
        return write_out()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # nothing more may reach the closed pipe
        os.dup2(devnull, sys.stdout.fileno())
        return signal_exit_code(signal.SIGPIPE)


def timeline_seconds(value: str | None) -> float | None:
    """``--timeline SECONDS``: a positive number of seconds, or None when not given."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ScenarioError(f"--timeline must be a number of seconds, got {value!r}") from None
    if not 0 < seconds < 1e6:
        raise ScenarioError(f"--timeline must be more than 0 seconds, got {value}")
    return seconds


def check_writable(path: str, what: str = "recording") -> None:
    """Fail early (before processes start) if a recording or trace cannot be written there."""
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise RecordingError(f"cannot write {what} {path}: it is a directory")
    if not target.parent.exists():
        raise RecordingError(f"cannot write {what} {path}: no folder {target.parent}")


#: ``--mode`` words of the distributed mode (here, so that telling it apart imports nothing)
DISTRIBUTED_MODES: Final = ("distributed", "ddp")


def asks_for_mode(argv: Sequence[str], words: Sequence[str]) -> bool:
    """True if ``argv`` (after ``run``) asks for ``--mode`` with one of ``words``: the modes
    that have a command line of their own (the DataLoader's, the distributed one)."""
    for i, arg in enumerate(argv):
        if arg in ("--mode", "-m") and i + 1 < len(argv):
            return argv[i + 1].lower() in words
        if arg.startswith("--mode="):
            return arg.split("=", 1)[1].lower() in words
    return False
