"""Task sources: generators the feeder pulls lazily, one task at a time.

Because the feeder pulls from a generator into a bounded queue, a run of a million tasks costs
the main process no more memory than a run of ten. ``batch_generator`` is the seed's, written
again cleanly: each task is a batch (a list), the way a DataLoader hands out batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mpscope.core.pipeline.events import clip
from mpscope.core.pipeline.scenario import Scenario


def range_source(first: int, count: int) -> Iterator[int]:
    """Yield ``first, first+1, ...`` for ``count`` values (the seed's tasks 1..10)."""
    yield from range(first, first + count)


def batch_generator(iterable: Iterable[Any], batch_size: int) -> Iterator[list[Any]]:
    """Group ``iterable`` into lists of ``batch_size``; the last one may be shorter."""
    batch: list[Any] = []
    for item in iterable:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def make_source(scenario: Scenario) -> Iterator[Any]:
    """The task source a scenario names, as a fresh generator."""
    numbers = range_source(scenario.first, scenario.count)
    if scenario.source == "batches":
        return batch_generator(numbers, scenario.batch_size)
    return numbers


def task_label(payload: Any) -> str:
    """A short label for a task token: ``7``, or ``[0..7]`` for a batch of consecutive ints."""
    consecutive = (
        isinstance(payload, list)
        and payload
        and all(isinstance(v, int) for v in payload)
        and payload == list(range(payload[0], payload[0] + len(payload)))
    )
    if consecutive:
        return f"[{payload[0]}..{payload[-1]}]" if len(payload) > 1 else f"[{payload[0]}]"
    return clip(repr(payload), 40)
