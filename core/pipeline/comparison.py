"""Task 2 against Task 3 in numbers: how long the work took, and of it how long computing and
collecting took, in the seed's own terms.

The seed ends on a comparison: Task 2 (the main process collects after every worker is done)
takes ``总耗时: 计算时间 + 收集时间``, compute time plus collect time; Task 3 (a collector
process beside the workers) about ``max(计算时间, 收集时间)``. :func:`run_times` reads both
from a finished run's state; every time is measured from the work's start (the first worker
ready or task started), so start-up is left out and two runs compare on one axis from 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState


@dataclass(frozen=True, slots=True)
class RunTimes:
    """A run's work in seconds: all of it, its computing, its collecting."""

    mode: str
    work_s: float
    """From the work's start to its last compute or collect."""
    compute_s: float
    """From the work's start to the last task's end in a worker."""
    collect_s: float
    """The collector's busy time: the sum of its collect steps."""

    @property
    def formula(self) -> str:
        """How the work time is made of the other two, in this run's mode (English first)."""
        if self.mode == Mode.COLLECT_AFTER:
            return (
                f"work {self.work_s:.2f}s ≈ compute {self.compute_s:.2f}s + collect "
                f"{self.collect_s:.2f}s"
            )
        return (
            f"work {self.work_s:.2f}s ≈ max(compute {self.compute_s:.2f}s, collect "
            f"{self.collect_s:.2f}s)"
        )

    @property
    def seed_formula(self) -> str:
        """The same, in the seed's words."""
        if self.mode == Mode.COLLECT_AFTER:
            return "总耗时 = 计算时间 + 收集时间"
        return "总耗时 ≈ max(计算时间, 收集时间)"


def work_start(state: RunState) -> int:
    """When the run's work began: its first process ready or first task started, whichever
    came first (start-up before it is left out, so that runs compare by their work)."""
    lanes = state.process_lanes()
    starts = [b.start for lane in lanes for b in lane.bars]
    ready = [lane.ready_at for lane in lanes if lane.ready_at is not None]
    return min([*starts, *ready]) if starts or ready else 0


def run_times(state: RunState) -> RunTimes:
    """The work, compute and collect times of a (finished) run."""
    t0 = work_start(state)
    compute_ends = [b.end for lane in state.workers() for b in lane.bars]
    collector = state.collector()
    collect_bars = list(collector.bars) if collector is not None else []
    ends = [*compute_ends, *(b.end for b in collect_bars)]
    return RunTimes(
        mode=state.mode,
        work_s=max(0, max(ends, default=t0) - t0) / 1e9,
        compute_s=max(0, max(compute_ends, default=t0) - t0) / 1e9,
        collect_s=sum(b.end - b.start for b in collect_bars) / 1e9,
    )
