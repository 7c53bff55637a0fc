"""The order in which the event log and ``--plain`` print events: by time, causally per task.

Each process reports in batches of its own, so events reach the main process interleaved out of
time order by a few milliseconds. The log sorts them by time, with one correction: the events of
one task keep the order the engine gave them (its ledger puts them in causal order), even where
their clocks disagree. The feeder, for example, stamps a task's ``TaskQueued`` only once its put
returns, which can be a moment after a worker stamped taking it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, TypeVar

from mpscope.core.pipeline.events import Event

#: Tasks whose last sort key is remembered (the ones in flight; the oldest are forgotten first).
REMEMBERED_TASKS: Final = 4096
#: How long a line waits for earlier lines that other processes have not reported yet.
HOLD_NS: Final = 100_000_000

Item = TypeVar("Item")


def take_in_order(held: list[tuple[int, Item]], older_than: int | None) -> list[Item]:
    """Remove from ``held`` (sort key, item) pairs and return, in key order, the items keyed at
    most ``older_than`` (every one when None). Stable: equal keys keep their causal order."""
    held.sort(key=lambda pair: pair[0])
    cut = len(held)
    if older_than is not None:
        cut = next((i for i, (key, _) in enumerate(held) if key > older_than), cut)
    taken = [item for _key, item in held[:cut]]
    del held[:cut]
    return taken


class LogOrder:
    """Sort keys for events, given in the order the engine emits them."""

    def __init__(self) -> None:
        self._last: OrderedDict[int, int] = OrderedDict()

    def key(self, event: Event) -> int:
        """The event's time, raised to its task's previous key when that is later."""
        task: int | None = getattr(event, "task", None)
        if task is None:
            return event.t
        key = max(event.t, self._last.pop(task, event.t))
        self._last[task] = key
        if len(self._last) > REMEMBERED_TASKS:
            self._last.popitem(last=False)
        return key
