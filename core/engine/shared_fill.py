"""One shared tensor, filled in place by the workers and read back by the main process.

:class:`SharedFill` holds the two tensors of a ``--function fill-shared`` run, both made by
the main process with ``share_memory_()`` before any worker starts: ``data`` (float32, one
slice of ``slice_elements`` per task) and ``writers`` (int64, one per slice: the PID that
wrote it). It travels to each worker inside the worker's start arguments: with fork it is
inherited; with spawn and forkserver torch's pickler sends a handle to the same storage (an
fd passed to the child, or a file name under ``file_system``), so every process maps the same
memory. A task writes its slice in place (:meth:`SharedFill.write`) and returns None: nothing
of the tensor crosses a queue. Once every worker has gone the main process reads both back
and checks every element (:meth:`SharedFill.read_back`).
"""

from __future__ import annotations

import os
from typing import Any

from mpscope.core.pipeline.events import Event, SharedTensorRead, clip
from mpscope.core.pipeline.scenario import Mode, Scenario
from mpscope.core.pipeline.shared_fill import FILL_SHARED, encode_writers, slice_value
from mpscope.core.pipeline.sources import make_source


class SharedFill:
    """The shared tensor of one run and its writers' PIDs (picklable into a worker)."""

    __slots__ = ("data", "slice_elements", "writers")

    def __init__(self, data: Any, writers: Any, slice_elements: int) -> None:
        self.data = data
        self.writers = writers
        self.slice_elements = slice_elements

    def __getstate__(self) -> tuple[Any, Any, int]:
        return self.data, self.writers, self.slice_elements

    def __setstate__(self, state: tuple[Any, Any, int]) -> None:
        self.data, self.writers, self.slice_elements = state

    @staticmethod
    def for_scenario(scenario: Scenario) -> SharedFill | None:
        """The zeroed shared tensors a fill-shared scenario needs (None for any other)."""
        if scenario.function != FILL_SHARED or scenario.mode == Mode.PRINT:
            return None
        import torch

        slices = scenario.task_total
        data = torch.zeros(slices * scenario.tensor_size, dtype=torch.float32)
        writers = torch.zeros(slices, dtype=torch.int64)
        data.share_memory_()  # type: ignore[no-untyped-call]
        writers.share_memory_()  # type: ignore[no-untyped-call]
        return SharedFill(data, writers, scenario.tensor_size)

    @property
    def slices(self) -> int:
        """How many slices (one per task)."""
        return int(self.writers.numel())

    @property
    def nbytes(self) -> int:
        """The bytes of the data tensor."""
        return int(self.data.numel()) * int(self.data.element_size())

    def describe(self) -> str:
        """``float32[40×25000] 4.0 MB``, for the note that says it was made."""
        from mpscope.core.pipeline.values import size_text

        return f"float32[{self.slices}×{self.slice_elements}] {size_text(self.nbytes)}"

    def write(self, task: int, payload: Any) -> None:
        """In a worker: fill slice ``task`` with its value, in place, and sign it."""
        lo = task * self.slice_elements
        self.data[lo : lo + self.slice_elements].fill_(slice_value(payload))
        self.writers[task] = os.getpid()

    def read_back(self, scenario: Scenario, t: int) -> SharedTensorRead:
        """In the main process, once every worker has gone: check every element of every slice
        against its task's value, and read who wrote it."""
        import torch

        rows = self.data.view(self.slices, self.slice_elements)
        writer_pids = [int(p) for p in self.writers.tolist()]
        right = wrong = unwritten = 0
        detail = ""
        for task, payload in enumerate(make_source(scenario)):
            if task >= self.slices:
                break
            if writer_pids[task] == 0:
                unwritten += 1
                continue
            expected = slice_value(payload)
            off = torch.nonzero(rows[task] != expected)
            if off.numel() == 0:
                right += 1
                continue
            wrong += 1
            if not detail:
                element = int(off[0, 0])
                found = float(rows[task, element])
                detail = clip(f"slice {task} element {element}: {found:g}, expected {expected:g}")
        pids, writers = encode_writers(writer_pids)
        return SharedTensorRead(
            t,
            self.slices,
            self.slice_elements,
            self.nbytes,
            right,
            wrong,
            unwritten,
            pids,
            writers,
            detail,
        )


def read_back_shared_tensor(mp: Any, scenario: Scenario, t: int) -> list[Event]:
    """The run's end, every worker gone: the main process's read of its shared tensor, if the
    run has one (``mp`` is the run's :class:`~.shared.ProcessShared`, or None)."""
    fill = getattr(mp, "fill", None)
    return [] if fill is None else [fill.read_back(scenario, t)]
