"""Tensors across processes: a producer keeps what it sent alive until the consumer has it.

torch.multiprocessing pickles a tensor as a small handle to its shared storage. With the
``file_descriptor`` strategy the consumer fetches the storage's fd from the producer's resource
sharer, so the producer must still be alive when the consumer unpickles; with ``file_system``
the storage's shared-memory file lives as long as some process holds the storage, so the
producer must hold it until the consumer has opened it. Both come down to one rule: keep each
sent result, and the process, alive until the consumer says it has received it.

The consumer says so through a shared int64 array, ``received[worker]``: how many results of
that worker it has taken off the result queue. The worker holds only what is still in flight
(:class:`SentKeeper`), so a worker that sent a million tensors holds none of the ones already
received, and before it exits it waits until all it sent was received (or its parent died).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

from mpscope.core.pipeline.scenario import Scenario

ACK_POLL_S: Final = 0.02
#: At most this many sent results held per worker: past it, the worker waits for its consumer
#: (each held tensor under ``file_descriptor`` is an open file descriptor in the worker).
MAX_HELD: Final = 256


class SentKeeper:
    """The results one worker sent that its consumer has not yet received."""

    __slots__ = ("_held", "_limit", "_received", "_sent", "_worker")

    def __init__(self, received: Any, worker: int, limit: int = MAX_HELD) -> None:
        self._received = received  # shared int64 array, one count per worker
        self._worker = worker
        self._limit = limit
        self._sent = int(received[worker])  # a worker started again counts on from there
        self._held: deque[tuple[int, Any]] = deque()

    def sent(self, value: Any, orphaned: Callable[[], bool] = lambda: False) -> None:
        """Hold ``value`` (just put on the result queue); let go of what was received. Past
        ``limit`` values in flight, wait until the consumer has taken some."""
        self._sent += 1
        self._held.append((self._sent, value))
        self.release_received()
        while len(self._held) > self._limit:
            if orphaned():
                os._exit(3)
            time.sleep(ACK_POLL_S)
            self.release_received()

    def release_received(self) -> None:
        """Drop every held value the consumer has received by now."""
        received, held = int(self._received[self._worker]), self._held
        while held and held[0][0] <= received:
            held.popleft()

    @property
    def held(self) -> int:
        """How many sent values are still held (in flight)."""
        return len(self._held)

    @property
    def unreceived(self) -> int:
        """How many sent results the consumer has not received yet."""
        return self._sent - int(self._received[self._worker])

    def wait_until_received(self, orphaned: Callable[[], bool]) -> None:
        """Block until the consumer received everything sent; exit if the parent died (then
        nobody will ever receive it). The engine ends a run's processes with signals when it
        stops early, so there is no timeout here: a timeout would end a worker whose results
        are still waiting to be collected, the very failure this avoids."""
        while self.unreceived > 0:
            if orphaned():
                os._exit(3)
            time.sleep(ACK_POLL_S)
        self._held.clear()


def acknowledge(received: Any, message: Any) -> None:
    """The consumer's side: one more result of ``message``'s worker was received.

    ``message`` is a result message (task, attempt, worker, ...) or an unreadable one (which
    carries its worker); None (the end) is no result."""
    if message is None:
        return
    worker = message[2] if isinstance(message, tuple) else getattr(message, "worker", None)
    if worker is not None:
        received[worker] += 1


def set_sharing_strategy(strategy: str) -> None:
    """Use ``strategy`` in this process (each process has its own: spawn and forkserver
    children start with torch's default, whatever the parent chose)."""
    import torch.multiprocessing as mp

    if mp.get_sharing_strategy() != strategy:  # type: ignore[no-untyped-call]
        mp.set_sharing_strategy(strategy)  # type: ignore[no-untyped-call]


def cuda_available() -> bool:
    """Whether torch sees a CUDA device here (torch's warning on a driverless host silenced)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(torch.cuda.is_available())


def usable_device(scenario: Scenario) -> tuple[Scenario, list[str]]:
    """``scenario`` with a device this machine has, and a note for each change made.

    ``--device cuda`` without a GPU runs on the CPU and says so in one line, instead of failing
    in every worker; with a GPU, a start method other than spawn gets a note on why spawn is
    the CUDA-safe one (a forked child cannot use the CUDA its parent initialised)."""
    if scenario.device != "cuda":
        return scenario, []
    if not cuda_available():
        note = "--device cuda: no CUDA device is available here; tensors stay on the CPU"
        return dataclasses.replace(scenario, device="cpu"), [note]
    if scenario.start_method != "spawn":
        note = "--device cuda: use -s spawn; fork and forkserver children cannot share CUDA"
        return scenario, [note]
    return scenario, []
