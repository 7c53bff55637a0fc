"""The exit codes of a run, for the app and ``--plain`` alike.

Completed: 0. Stopped by the user (``x`` in the app): 0. Ended in an error (the collector
died, the engine failed), or with no outcome at all: 1. Ended by a signal: 128 + its number, as
the shell reports a program a signal ended (Ctrl+C: 130, SIGTERM: 143, SIGHUP: 129, a reader
that went away, SIGPIPE: 141). Bad input (2) is the command line's, before any run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

EXIT_OK: Final = 0
EXIT_RUN_ERROR: Final = 1

OUTCOME_EXIT_CODES: Final[Mapping[str, int]] = {
    "completed": EXIT_OK,
    "stopped": EXIT_OK,  # by the user; a signal's stop has the signal's code
    "error": EXIT_RUN_ERROR,
}


def signal_exit_code(signum: int) -> int:
    """The exit code of a program that signal ``signum`` ended: 128 + its number."""
    return 128 + signum


def exit_code(outcome: str | None, ended_by_signal: int | None = None) -> int:
    """The exit code of a run whose outcome is ``outcome`` (None or "": it has none), unless a
    signal ended it: then that signal's."""
    if ended_by_signal is not None:
        return signal_exit_code(ended_by_signal)
    return OUTCOME_EXIT_CODES.get(outcome or "", EXIT_RUN_ERROR)
