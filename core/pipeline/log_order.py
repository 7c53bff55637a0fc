"""The order in which the event log and ``--plain`` print events: by time, causally per task.

Each process reports in batches of its own, so events reach the main process interleaved out of
time order by a few milliseconds. The log sorts them by time, with one correction: the events of
one task keep the order the engine gave them (its ledger puts them in causal order), even where
their clocks disagree. The feeder, for example, stamps a task's ``TaskQueued`` only once its put
returns, which can be a moment after a worker stamped taking it.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final, Generic, TypeVar

from mpscope.core.pipeline.events import Event

#: Tasks whose last sort key is remembered (the ones in flight; the oldest are forgotten first).
REMEMBERED_TASKS: Final = 4096
#: How long a line waits for earlier lines that other processes have not reported yet.
HOLD_NS: Final = 100_000_000

Item = TypeVar("Item")


class HeldInOrder(Generic[Item]):
    """Items waiting to be shown, taken out in key order once their key is old enough. A heap:
    each item costs a push and a pop, however many wait (a big replay holds a second of lines).
    Stable: equal keys keep the order they were put in (a task's causal order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Item]] = []
        self._count = 0

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, key: int, item: Item) -> None:
        """Hold ``item`` under ``key``."""
        self._count += 1
        heapq.heappush(self._heap, (key, self._count, item))

    def take(self, older_than: int | None) -> list[Item]:
        """Remove and return, in key order, the items keyed at most ``older_than`` (every one
        when None)."""
        heap = self._heap
        taken: list[Item] = []
        if older_than is None:
            taken = [item for _key, _n, item in sorted(heap)]
            heap.clear()
            return taken
        while heap and heap[0][0] <= older_than:
            taken.append(heapq.heappop(heap)[2])
        return taken

    def clear(self) -> None:
        """Forget every held item."""
        self._heap.clear()


class LogOrder:
    """Sort keys for events, given in the order the engine emits them."""

    def __init__(self) -> None:
        self._last: OrderedDict[int, int] = OrderedDict()

    def key(self, event: Event) -> int:
        """The event's time, raised to its task's previous key when that is later (a bulk
        event's: to the latest of its tasks' keys, which it then is for each of them)."""
        task: int | None = getattr(event, "task", None)
        if task is None:
            tasks: Sequence[int] | None = getattr(event, "tasks", None)
            return event.t if tasks is None else self._bulk_key(event.t, tasks)
        key = max(event.t, self._last.pop(task, event.t))
        self._last[task] = key
        if len(self._last) > REMEMBERED_TASKS:
            self._last.popitem(last=False)
        return key

    def _bulk_key(self, t: int, tasks: Sequence[int]) -> int:
        last = self._last
        key = max([t, *(last.pop(task) for task in tasks if task in last)])
        last.update(dict.fromkeys(tasks, key))
        while len(last) > REMEMBERED_TASKS:
            last.popitem(last=False)
        return key
