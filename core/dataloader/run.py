"""The training loop around a real ``torch.utils.data.DataLoader``, and its settings.

:func:`run_loader` builds the DataLoader with the user's options, times ``next()`` on its
iterator in the main process (the loop's waits for data) and a simulated training step, and
hands every event to ``emit`` (from the loop's thread and from the thread draining the workers'
reports; ``emit`` is called under one lock, in the order the records arrived). A
:class:`~mpscope.core.dataloader.controls.LoaderControl` pauses it, changes its speed and kills
its workers; its clock leaves the pauses out of every time.
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mpscope.core.dataloader.controls import LoaderClock, LoaderControl
from mpscope.core.dataloader.events import (
    BatchBegun,
    BatchBuilt,
    BatchReceived,
    LoaderEvent,
    LoaderFinished,
    LoaderStarted,
    StepDone,
    WorkerKilled,
    WorkerUp,
)

START_METHODS: Final = ("fork", "forkserver", "spawn")


@dataclass(frozen=True, slots=True)
class LoaderSettings:
    """A DataLoader run: the DataLoader's own options, the built-in dataset's, the loop's."""

    samples: int = 64
    batch_size: int = 4
    num_workers: int = 2
    prefetch_factor: int = 2
    persistent_workers: bool = False
    in_order: bool = True
    pin_memory: bool = False
    train_time: float = 0.02
    load_time: float = 0.005
    jitter: float = 0.0
    seed: int = 0
    slow_every: int = 0
    slow_time: float = 0.2
    epochs: int = 1
    start_method: str = "fork"
    dataset: str = ""

    def to_json(self) -> str:
        """JSON text of every field."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> LoaderSettings:
        """Inverse of :meth:`to_json` (fields this version does not know are ignored)."""
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(LoaderSettings)}
        return LoaderSettings(**{k: v for k, v in data.items() if k in known})

    @property
    def prefetch_bound(self) -> int:
        """How many batches the DataLoader keeps in flight: prefetch_factor × num_workers."""
        return self.prefetch_factor * max(1, self.num_workers)


def has_in_order() -> bool:
    """True if the installed torch's DataLoader takes ``in_order`` (torch 2.6 and later)."""
    from mpscope.core.engine.lifecycle import import_torch_quietly

    import_torch_quietly()
    from torch.utils.data import DataLoader

    return "in_order" in inspect.signature(DataLoader).parameters


def build_dataset(settings: LoaderSettings, clock: LoaderClock | None = None) -> Any:
    """The built-in dataset (on ``clock``'s time, if given), or the user's from
    ``--dataset path.py:factory`` (its own time: the speed control does not change it)."""
    if settings.dataset:
        from mpscope.core.dataloader.user_dataset import load_user_dataset

        return load_user_dataset(settings.dataset)
    from mpscope.core.dataloader.dataset import SeededRange  # torch: only when a run starts

    return SeededRange(
        settings.samples,
        load_time=settings.load_time,
        jitter=settings.jitter,
        seed=settings.seed,
        slow_every=settings.slow_every,
        slow_time=settings.slow_time,
        clock=clock,
    )


def loader_options(settings: LoaderSettings) -> dict[str, Any]:
    """The DataLoader keyword arguments the settings stand for."""
    options: dict[str, Any] = {
        "batch_size": settings.batch_size,
        "num_workers": settings.num_workers,
        "pin_memory": settings.pin_memory,
    }
    if settings.num_workers > 0:
        options["prefetch_factor"] = settings.prefetch_factor
        options["persistent_workers"] = settings.persistent_workers
        options["multiprocessing_context"] = settings.start_method
    if has_in_order():
        options["in_order"] = settings.in_order
    return options


class _Emitter:
    """One lock around ``emit``; the reports' drain thread."""

    def __init__(self, emit: Callable[[LoaderEvent], None], control: LoaderControl) -> None:
        self.emit_fn = emit
        self.control = control
        self.lock = threading.RLock()  # a kill from inside emit emits its event too

    def emit(self, event: LoaderEvent) -> None:
        with self.lock:
            self.emit_fn(event)

    def drain(self, report: Any) -> None:
        """Turn the workers' records into events until the ``None`` the loop puts last."""
        while True:
            record = report.get()
            if record is None:
                return
            tag = record[0]
            if tag == "begun":
                self.emit(BatchBegun(*record[1:]))
            elif tag == "built":
                self.emit(BatchBuilt(*record[1:]))
            elif tag == "up":
                self.control.worker_up(record[2], record[3])
                self.emit(WorkerUp(*record[1:]))


def run_loader(
    settings: LoaderSettings,
    emit: Callable[[LoaderEvent], None],
    stop: threading.Event | None = None,
    dataset: Any = None,
    control: LoaderControl | None = None,
) -> str:
    """Run the DataLoader for ``settings.epochs`` epochs; return the outcome. ``control``, if
    given, pauses the run, sets its speed and kills its workers while it goes.

    Errors the DataLoader raises in the main process (a sample that raised in a worker, a
    worker killed by a signal) end the run as ``error`` with torch's own message."""
    from mpscope.core.engine.lifecycle import import_torch_quietly

    import_torch_quietly()  # before the dataset module imports it: without NumPy's warning
    import torch
    import torch.multiprocessing as mp
    from torch.utils.data import DataLoader

    from mpscope.core.dataloader.dataset import observe, worker_init

    context = mp.get_context(settings.start_method)
    clock = LoaderClock(context)
    control = control or LoaderControl()
    out = _Emitter(emit, control)
    control.attach(clock, lambda t, worker, pid: out.emit(WorkerKilled(t, worker, pid)))
    out.emit(LoaderStarted(0, settings.to_json(), os.getpid(), torch.__version__))
    report = context.SimpleQueue()
    # daemon: a worker killed inside ``report.put`` keeps the queue's write lock for ever;
    # the run must still end (and the interpreter exit), with the drain given up after 10 s
    drainer = threading.Thread(target=out.drain, args=(report,), name="loader-reports", daemon=True)
    drainer.start()
    outcome, error = "completed", ""
    loader: Any = None
    iterator: Any = None
    try:
        source = build_dataset(settings, clock) if dataset is None else dataset
        wrapped, collate = observe(source, report, clock)
        loader = DataLoader(
            wrapped,
            collate_fn=collate,
            worker_init_fn=worker_init(report, clock),
            **loader_options(settings),
        )
        step = 0
        for epoch in range(settings.epochs):
            wrapped.reporter.epoch = epoch  # workers started by this iter() copy it
            iterator = iter(loader)
            while True:
                control.wait_running(stop)
                if stop is not None and stop.is_set():
                    outcome = "stopped"
                    break
                asked = clock.now()
                try:
                    key, _batch = next(iterator)
                except StopIteration:
                    break
                got = clock.now()
                out.emit(BatchReceived(got, key, asked))
                clock.sleep(settings.train_time)
                out.emit(StepDone(clock.now(), step, key, got))
                step += 1
            iterator = None
            if outcome != "completed":
                break
    except Exception as exc:  # the DataLoader's own error, shown as the run's error
        outcome, error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        # the iterator's __del__ shuts its workers down and unregisters their PIDs from
        # torch's SIGCHLD check; after an error, a reference cycle through the traceback would
        # keep it alive (and a later SIGCHLD would raise its error again), so collect it now
        control.release()  # a stopped worker could not shut down
        iterator = loader = None
        if outcome == "error":
            gc.collect()
        closer = threading.Thread(
            target=report.put, args=(None,), name="loader-reports-end", daemon=True
        )
        closer.start()  # not in this thread: the write lock may be a killed worker's
        drainer.join(timeout=10)
        out.emit(LoaderFinished(clock.now(), outcome, error[:4000]))
    return outcome
