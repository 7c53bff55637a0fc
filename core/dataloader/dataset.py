"""The built-in dataset and the wrappers that let DataLoader workers report what they do.

Only public hooks: the wrapped dataset reads :func:`torch.utils.data.get_worker_info` for the
worker's id, :func:`observed_collate` wraps ``collate_fn`` (it returns ``(key, batch)`` so the
main loop knows which worker built the batch it got), :func:`worker_init` is ``worker_init_fn``.
Reports go through a ``SimpleQueue`` (a synchronous pipe write: nothing is left in a buffer
when a worker exits), two records per batch. Times come from the run's
:class:`~mpscope.core.dataloader.controls.LoaderClock` (pauses left out), which the wrappers
carry into the workers.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import Dataset, IterableDataset, default_collate, get_worker_info

from mpscope.core.dataloader.controls import LoaderClock
from mpscope.core.engine.child_signals import drop_inherited_handlers

Report = Any  # a multiprocessing SimpleQueue (put is all that is used)


class SeededRange(Dataset[Any]):
    """The seed's range of numbers as a map-style dataset: sample ``i`` is ``first + i``,
    after a load time of ``load_time`` seconds plus a seeded share of ``jitter``, and
    ``slow_time`` seconds for every ``slow_every``-th sample (0: none). With a ``clock`` the
    load time is the clock's (divided by its speed, a pause left out)."""

    def __init__(
        self,
        count: int,
        first: int = 0,
        load_time: float = 0.001,
        jitter: float = 0.0,
        seed: int = 0,
        slow_every: int = 0,
        slow_time: float = 0.0,
        clock: LoaderClock | None = None,
    ) -> None:
        self.count, self.first = count, first
        self.load_time, self.jitter, self.seed = load_time, jitter, seed
        self.slow_every, self.slow_time = slow_every, slow_time
        self.clock = clock

    def __len__(self) -> int:
        return self.count

    def load_seconds(self, index: int) -> float:
        """How long sample ``index`` takes to load (the same for a given seed)."""
        if self.slow_every and (index + 1) % self.slow_every == 0:
            return self.slow_time
        share = random.Random(self.seed * 1_000_003 + index).random() if self.jitter else 0.0
        return self.load_time * (1.0 + self.jitter * share)

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.count:
            raise IndexError(index)
        seconds = self.load_seconds(index)
        if self.clock is not None:
            self.clock.sleep(seconds)
        elif seconds > 0:
            time.sleep(seconds)
        return self.first + index


class _Reporter:
    """The worker's side of the channel: the open batch and its counters."""

    def __init__(self, report: Report, clock: LoaderClock) -> None:
        self.report = report
        self.clock = clock
        self.epoch = 0  # set by the loop before each ``iter()``: fresh workers copy it
        self.worker = -1
        self.batches = 0
        self.begun = 0
        self.indices: list[int] = []
        self.slowest = 0

    def before(self, index: int) -> int:
        """A sample starts loading: open a batch if none is; return the start time."""
        started = self.clock.now()
        if self.worker < 0:
            info = get_worker_info()
            self.worker = info.id if info is not None else 0
        if not self.indices:
            self.begun = started
            key = self.key()
            self.report.put(("begun", started, self.worker, key, index))
        self.indices.append(index)
        return started

    def key(self) -> str:
        """The open batch's name: ``<worker>:<n>``, after ``<epoch>.`` from the second epoch on
        (workers that are not persistent start again from batch 0 every epoch)."""
        name = f"{self.worker}:{self.batches}"
        return f"{self.epoch}.{name}" if self.epoch else name

    def after(self, started: int) -> None:
        """The sample has loaded."""
        self.slowest = max(self.slowest, self.clock.now() - started)

    def built(self) -> str:
        key = self.key()
        now = self.clock.now()
        indices = ",".join(str(i) for i in self.indices)
        begun = self.begun if self.indices else now
        self.report.put(("built", now, self.worker, key, begun, indices, self.slowest))
        self.batches += 1
        self.indices, self.slowest = [], 0
        return key


class ObservedMap(Dataset[Any]):
    """A map-style dataset whose samples report their timing to the reporter."""

    def __init__(self, inner: Any, reporter: _Reporter) -> None:
        self.inner, self.reporter = inner, reporter

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> Any:
        started = self.reporter.before(index)
        sample = self.inner[index]
        self.reporter.after(started)
        return sample


class ObservedIterable(IterableDataset[Any]):
    """An iterable-style dataset: sample ``n`` is the n-th this worker yielded."""

    def __init__(self, inner: Any, reporter: _Reporter) -> None:
        self.inner, self.reporter = inner, reporter

    def __iter__(self) -> Iterator[Any]:
        source = iter(self.inner)
        n = 0
        while True:
            started = self.reporter.before(n)
            try:
                sample = next(source)
            except StopIteration:
                self.reporter.indices.pop()  # no sample came: not part of a batch
                return
            self.reporter.after(started)
            n += 1
            yield sample


def observe(dataset: Any, report: Report, clock: LoaderClock) -> tuple[Any, Callable[..., Any]]:
    """The observing dataset and ``collate_fn`` for ``dataset`` (map- or iterable-style)."""
    reporter = _Reporter(report, clock)
    wrapped: Any
    if isinstance(dataset, IterableDataset):
        wrapped = ObservedIterable(dataset, reporter)
    else:
        wrapped = ObservedMap(dataset, reporter)

    return wrapped, ObservedCollate(reporter)


class ObservedCollate:
    """``collate_fn``: ``default_collate``, then ``(key, batch)``. A class, not a closure, so
    that spawn and forkserver can pickle it (with the dataset, in one pickle: the same
    reporter)."""

    def __init__(self, reporter: _Reporter) -> None:
        self.reporter = reporter

    def __call__(self, samples: list[Any]) -> tuple[str, Any]:
        batch = default_collate(samples)
        return self.reporter.built(), batch


def worker_init(report: Report, clock: LoaderClock) -> Callable[[int], None]:
    """A ``worker_init_fn`` that reports the worker's id and PID."""
    return _WorkerInit(report, clock)


class _WorkerInit:
    """Picklable ``worker_init_fn`` (spawn and forkserver pickle it)."""

    def __init__(self, report: Report, clock: LoaderClock) -> None:
        self.report, self.clock = report, clock

    def __call__(self, worker_id: int) -> None:
        drop_inherited_handlers()  # forked from the app: not Textual's SIGCONT, SIGWINCH
        self.report.put(("up", self.clock.now(), worker_id, os.getpid()))
