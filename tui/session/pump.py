"""Reading a live run's events from its engine, for the app's live source and ``--plain``.

:func:`pump_batches` is the one loop that reads an engine's batches until the run is over.
:func:`abort_run` is the one place the user interfaces kill a run's processes at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from mpscope.core.pipeline.events import Event

if TYPE_CHECKING:  # the engine module is imported only when a run starts
    from mpscope.core.engine.run import Engine

__all__ = ["BatchSource", "abort_run", "pump_batches"]


class BatchSource(Protocol):
    """What the pump reads: :class:`~mpscope.core.engine.run.Engine` is one."""

    def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        """The next batch of events; ``[]`` on timeout; None once the run is over."""
        ...


def pump_batches(
    source: BatchSource,
    on_batch: Callable[[list[Event]], object],
    poll_s: float,
    deadline: float | None = None,
) -> bool:
    """Hand ``on_batch`` every batch of ``source`` until the run is over (True), or until the
    monotonic clock passes ``deadline`` (False). A wait of ``poll_s`` seconds without events
    hands it an empty batch, so that the caller's clocks move on between events."""
    while deadline is None or time.monotonic() < deadline:
        batch = source.next_batch(poll_s)
        if batch is None:
            return True
        on_batch(batch)
    return False


def abort_run(engine: Engine) -> None:
    """Kill every process of ``engine``'s run at once, without the ordered stop (the second
    Ctrl+C of ``--plain``)."""
    engine.abort()
