"""What a run's tensors weighed, in words, from a :class:`~.state.RunState`.

Two forms (issue: the seed's "tensors cross processes through shared memory"):

- tensor results (``--function tensor``, or a user's function): their data against what
  crossed the result pipes for them, measured (the pickled messages, torch's handles inside):
  ``10 tensor results: 40.0 MB of tensor data crossed as 3.5 kB of pickled handles``;
- one shared tensor (``--function fill-shared``): who wrote which slice, as the workers'
  reports say and as the tensor itself records, and the main process's check of every element
  once it read the tensor it was never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpscope.core.pipeline.events import SharedTensorRead
from mpscope.core.pipeline.shared_fill import FILL_SHARED, decode_writers
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.values import size_text
from mpscope.core.words import counted


def tensor_results_line(state: RunState) -> str | None:
    """The tensor results' data against what crossed for them, or None without any."""
    if not state.tensor_results:
        return None
    each = state.tensor_crossed // state.tensor_results
    sharing = state.scenario.sharing if state.scenario is not None else "?"
    return (
        f"{counted(state.tensor_results, 'tensor result')}: "
        f"{size_text(state.tensor_bytes)} of tensor data crossed as "
        f"{size_text(state.tensor_crossed)} of pickled handles ({size_text(each)} a result, "
        f"measured; sharing strategy {sharing})"
    )


@dataclass(frozen=True, slots=True)
class SliceWriters:
    """Who wrote each slice of the shared tensor: one PID per slice (0: nobody)."""

    by_reports: tuple[int, ...]  # from the workers' own reports (TaskDone), live
    by_tensor: tuple[int, ...] | None  # from the tensor's own record, once it was read

    @property
    def pids(self) -> tuple[int, ...]:
        """The best knowledge: the tensor's record once read, else the reports."""
        return self.by_tensor if self.by_tensor is not None else self.by_reports

    @property
    def disagreeing(self) -> int:
        """Slices the tensor says a different PID wrote than the reports do."""
        if self.by_tensor is None:
            return 0
        return sum(1 for a, b in zip(self.by_reports, self.by_tensor, strict=True) if a != b)


def slice_writers(state: RunState) -> SliceWriters | None:
    """Who wrote which slice of a fill-shared run's tensor (None for any other run)."""
    read = state.shared_read
    if state.scenario is None or (read is None and state.scenario.function != FILL_SHARED):
        return None
    slices = read.slices if read is not None else state.scenario.task_total
    pid_of = {worker: lane.pid for worker, lane in state.lanes.items()}
    reports = [0] * slices
    for task, worker in state.slice_writers.items():
        if 0 <= task < slices:
            reports[task] = pid_of.get(worker, 0)
    tensor = tuple(decode_writers(read.pids, read.writers)) if read is not None else None
    return SliceWriters(tuple(reports), tensor)


def shared_read_lines(state: RunState) -> list[str]:
    """The main process's read of the shared tensor, in words: what it read, whether every
    element is right, and whether the tensor's record of its writers agrees with the lanes
    (nothing before the read, or for another run)."""
    read, writers = state.shared_read, slice_writers(state)
    if read is None or writers is None:
        return []
    return _read_lines(read, writers, state.tensor_bytes, state.crossed)


def _read_lines(
    read: SharedTensorRead, writers: SliceWriters, tensor_bytes: int, crossed: int
) -> list[str]:
    written = read.slices - read.unwritten
    by = len({pid for pid in writers.pids if pid})
    lines = [
        f"the main process read {size_text(read.nbytes)} it was never sent: "
        f"{counted(written, 'slice')} written by {counted(by, 'PID')}, "
        f"{size_text(tensor_bytes)} of tensor data "
        f"in the results (their messages, {size_text(crossed)} in all, say only which task "
        "is done)"
    ]
    if read.wrong == 0 and read.unwritten == 0:
        lines.append(
            f"every element checked: all {counted(read.slices, 'slice')} of "
            f"{read.slice_elements} hold their task's value ✓"
        )
    else:
        parts = [f"{read.right} of {counted(read.slices, 'slice')} right"]
        if read.wrong:
            parts.append(f"{read.wrong} wrong ({read.detail})")
        if read.unwritten:
            parts.append(f"{read.unwritten} never written (their tasks failed or were lost)")
        lines.append("every element checked: " + ", ".join(parts) + " ✗")
    if writers.disagreeing:
        lines.append(
            f"the tensor's record of who wrote each slice disagrees with the lanes on "
            f"{counted(writers.disagreeing, 'slice')} ✗"
        )
    else:
        lines.append("the tensor's record of who wrote each slice agrees with the lanes ✓")
    return lines
