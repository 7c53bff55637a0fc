"""The end-of-run summary as plain data, computed from a :class:`~.state.RunState`.

Per process: tasks done and failed, busy time and utilisation; totals; wall time; and the
check that every task ended as exactly one of done, failed or lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from mpscope.core.pipeline.lanes import LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.words import counted


@dataclass(frozen=True, slots=True)
class LaneSummary:
    """One row of the summary table."""

    title: str
    pid: int
    role: str
    done: int
    failed: int
    busy_s: float
    utilisation: float
    end: str


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Everything the summary shows."""

    title: str
    outcome: str
    message: str
    wall_s: float
    work_s: float  # from the first task's start to the last result: start-up left out
    lanes: tuple[LaneSummary, ...]
    total: int
    done: int
    failed: int
    lost: int
    collected: int
    requeued: int
    #: results of done or failed tasks that never reached the collector, once the run is
    #: over (0 while it runs, and in Task 1, which collects nothing)
    uncollected: int = 0

    @property
    def balanced(self) -> bool:
        """Every task ended as exactly one of done, failed or lost, and every done or failed
        task's result was collected (once the run is over)."""
        return self.done + self.failed + self.lost == self.total and not self.uncollected

    @property
    def ledger_line(self) -> str:
        """``done 9 + failed 1 + lost 0 = 10 tasks ✓``; when the events shown end before
        every task has an outcome (a replay stopped half-way, a recording cut short), says how
        many have none: ``done 2 + failed 0 + lost 0 = 2 of 6 tasks ✗ 4 without an outcome``;
        when a run ended with results its collector never took (it died), says so: ``… = 10
        tasks ✗ collected 8 of 10 results: 2 never collected``."""
        ended = self.done + self.failed + self.lost
        if ended == self.total:
            sum_line = f"done {self.done} + failed {self.failed} + lost {self.lost} = " + (
                f"{counted(self.total, 'task')}"
            )
            if not self.uncollected:
                return f"{sum_line} ✓"
            return (
                f"{sum_line} ✗ collected {self.collected} of {self.done + self.failed} results: "
                f"{self.uncollected} never collected"
            )
        missing = f"{self.total - ended} without an outcome" if self.total > ended else "too many"
        return (
            f"done {self.done} + failed {self.failed} + lost {self.lost} = {ended} of "
            f"{counted(self.total, 'task')} ✗ {missing}"
        )


def summarize(state: RunState) -> RunSummary:
    """Compute the summary of a run (finished or not)."""
    now = state.now
    lanes = []
    for lane in state.process_lanes():
        if lane.status in (LaneStatus.EXITED, LaneStatus.KILLED):
            end = lane.exit_reason or lane.status
        else:
            end = lane.status
        lanes.append(
            LaneSummary(
                title=lane.title,
                pid=lane.pid,
                role=lane.role,
                done=lane.done,
                failed=lane.failed,
                busy_s=lane.busy_ns / 1e9,
                utilisation=lane.utilisation(now),
                end=end,
            )
        )
    scenario = state.scenario
    total = state.total if state.total is not None else state.queued
    return RunSummary(
        title=scenario.describe() if scenario else state.mode,
        outcome=state.outcome or "running",
        message=state.outcome_message,
        wall_s=now / 1e9,
        work_s=(state.work_to - state.work_from) / 1e9 if state.work_from is not None else 0.0,
        lanes=tuple(lanes),
        total=total,
        done=state.done,
        failed=state.failed,
        lost=state.lost,
        collected=state.collected,
        requeued=state.requeued,
        uncollected=_uncollected(state),
    )


def _uncollected(state: RunState) -> int:
    """Done or failed tasks whose result the collector never took, once the run is over."""
    if not state.finished or state.mode not in (Mode.PIPELINE, Mode.COLLECT_AFTER):
        return 0
    return max(0, state.done + state.failed - state.collected)
