"""A collector that fails: what it says, so the run can end in error with its traceback.

Task 3's collector process and Task 2's collecting thread both fail the same way: a result
that cannot be unpickled (:class:`ResultUnreadable`, raised from what the unpickling raised),
or any other exception while they collect. Either becomes one
:class:`~mpscope.core.pipeline.events.CollectorFailed` event with the formatted traceback and,
when a known pitfall fits, what it means (:mod:`.pitfalls`). A collector process a signal
ends leaves no traceback: the engine says so when it reaps it (:mod:`.monitor`).
"""

from __future__ import annotations

import traceback
from typing import Any

from mpscope.core.engine.pitfalls import explain
from mpscope.core.engine.result_channels import UnreadableResult
from mpscope.core.loading import exception_line
from mpscope.core.pipeline.events import MAX_TRACEBACK, CollectorFailed, clip


class ResultUnreadable(Exception):
    """A result message came whole off its channel, but unpickling it raised."""


def raise_if_unreadable(message: Any) -> None:
    """Raise :class:`ResultUnreadable` (from the cause) if ``message`` could not be read."""
    if isinstance(message, UnreadableResult):
        cause = message.exc
        raise ResultUnreadable(
            f"a result from worker {message.worker} could not be unpickled: "
            + exception_line(cause)
        ) from cause


def _tail(text: str, limit: int) -> str:
    """The last ``limit`` characters of ``text``: a traceback's end says most."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def failure_event(
    t: int, worker: int, pid: int, exc: BaseException, sharing: str
) -> CollectorFailed:
    """The event that says the collector ``worker`` (PID ``pid``) failed with ``exc``."""
    try:
        text = "".join(traceback.format_exception(exc))
    except Exception:  # a traceback that cannot be formatted
        text = ""
    return CollectorFailed(
        t,
        worker,
        pid,
        clip(exception_line(exc), 400),
        _tail(text, MAX_TRACEBACK),
        explain(exc, sharing),
    )
