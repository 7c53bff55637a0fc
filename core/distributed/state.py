"""The state of a distributed run as a pure fold of its events.

One lane per rank (rank, local rank, PID, host, its steps). A step's time on a rank splits
into compute and the time inside collectives; since an all-reduce ends for everyone when the
last rank arrives, a rank's collective time is mostly waiting for the slowest rank. Per step:
its time across the world (first rank's start to last rank's end) and whether every rank's
parameter checksum agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from mpscope.core.distributed.events import (
    DistEvent,
    DistFinished,
    DistStarted,
    RankJoined,
    RankLeft,
    ReportDropped,
    Span,
    StepReported,
)
from mpscope.core.distributed.run import DistSettings

MIN_STEPS_FOR_STRAGGLER: Final = 3


@dataclass(slots=True)
class RankStep:
    """One step on one rank."""

    step: int
    begun: int
    ended: int
    spans: list[Span]
    checksum: str

    @property
    def collective_ns(self) -> int:
        """Time inside collectives."""
        return sum(end - start for kind, _n, start, end in self.spans if kind == "collective")

    @property
    def total_ns(self) -> int:
        """The step's time on this rank."""
        return max(0, self.ended - self.begun)

    @property
    def compute_ns(self) -> int:
        """The step's time outside collectives."""
        return max(0, self.total_ns - self.collective_ns)


@dataclass(slots=True)
class Lane:
    """One rank."""

    rank: int
    local_rank: int = -1
    pid: int = 0
    host: str = ""
    offset_ns: int = 0
    rtt_ns: int = 0
    steps: list[RankStep] = field(default_factory=list)
    left: str = ""
    #: kept as the steps come (a view reads them every frame): time inside collectives, and
    #: the time of all its steps
    collective_ns: int = 0
    busy_ns: int = 0

    def add(self, step: RankStep) -> None:
        """A step this rank finished."""
        self.steps.append(step)
        self.collective_ns += step.collective_ns
        self.busy_ns += step.total_ns

    @property
    def wait_fraction(self) -> float:
        """Share of this rank's step time spent inside collectives."""
        return self.collective_ns / self.busy_ns if self.busy_ns else 0.0


@dataclass(slots=True)
class DistState:
    """Everything the views show; change it only with :meth:`apply`."""

    settings: DistSettings | None = None
    torch_version: str = ""
    address: str = ""
    launcher: str = ""
    world_size: int = 0
    lanes: dict[int, Lane] = field(default_factory=dict)
    checksums: dict[int, dict[int, str]] = field(default_factory=dict)
    #: step number -> (rank, its report) in the order they came: a step's ranks at once
    by_step: dict[int, list[tuple[int, RankStep]]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    last_drop: str = ""
    now: int = 0
    outcome: str = ""
    error: str = ""
    #: the verdicts, kept as the steps come (a view asks every frame): steps whose checksums
    #: differ, whether any step had two to compare, the steps every rank reported, and for
    #: each rank the number of those in which the others waited for it (see :meth:`straggler`)
    disagreeing: set[int] = field(default_factory=set)
    compared: bool = False
    whole_steps: int = 0
    waited_for: dict[int, int] = field(default_factory=dict)

    def apply(self, event: DistEvent) -> None:
        """Fold one event in."""
        self.now = max(self.now, event.t)
        if isinstance(event, StepReported):
            lane = self.lanes.setdefault(event.rank, Lane(event.rank))
            step = RankStep(event.step, event.begun, event.t, list(event.spans), event.checksum)
            lane.add(step)
            reports = self.by_step.setdefault(event.step, [])
            reports.append((event.rank, step))
            if event.checksum:
                sums = self.checksums.setdefault(event.step, {})
                sums[event.rank] = event.checksum
                self.compared = self.compared or len(sums) > 1
                if len(set(sums.values())) > 1:
                    self.disagreeing.add(event.step)
            if len(reports) == self.world_size > 1:  # the step is whole: who held the others?
                self._judge(reports)
        elif isinstance(event, RankJoined):
            lane = self.lanes.setdefault(event.rank, Lane(event.rank))
            lane.local_rank, lane.pid, lane.host = event.local_rank, event.pid, event.host
            lane.offset_ns, lane.rtt_ns = event.offset_ns, event.rtt_ns
            self.world_size = max(self.world_size, event.world_size)
        elif isinstance(event, RankLeft):
            self.lanes.setdefault(event.rank, Lane(event.rank)).left = event.reason
        elif isinstance(event, ReportDropped):
            self.dropped[event.reason] = self.dropped.get(event.reason, 0) + 1
            self.last_drop = f"{event.reason} from {event.peer}: {event.detail}"
        elif isinstance(event, DistStarted):
            self.settings = DistSettings.from_json(event.settings) if event.launcher else None
            self.torch_version, self.address = event.torch_version, event.address
            self.launcher = event.launcher
            if self.settings is not None:
                self.world_size = self.settings.world_size
        elif isinstance(event, DistFinished):
            self.outcome, self.error = event.outcome, event.error

    def disagreeing_steps(self) -> list[int]:
        """Steps whose ranks reported different checksums."""
        return sorted(self.disagreeing)

    def checksums_agree(self) -> bool | None:
        """True if every step's checksums agree; None before any step has two of them."""
        if not self.compared:
            return None
        return not self.disagreeing

    def step_times(self) -> dict[int, int]:
        """Each step's time across the world: first rank's start to last rank's end."""
        return {
            number: max(s.ended for _r, s in reports) - min(s.begun for _r, s in reports)
            for number, reports in sorted(self.by_step.items())
        }

    @property
    def wait_fraction(self) -> float:
        """Share of all ranks' step time spent inside collectives."""
        busy = sum(lane.busy_ns for lane in self.lanes.values())
        waited = sum(lane.collective_ns for lane in self.lanes.values())
        return waited / busy if busy else 0.0

    def straggler(self) -> int | None:
        """The rank the others wait for: in more than half of the steps every rank reported
        (three at least), it spent the least time in collectives, and every other rank at
        least twice its time there and a quarter of the step longer; None otherwise. Step by
        step, so that one odd step (the first, while the ranks warm up and arrive at different
        times) does not hide it."""
        if self.whole_steps < MIN_STEPS_FOR_STRAGGLER:
            return None
        for rank, count in self.waited_for.items():
            if count * 2 > self.whole_steps:
                return rank
        return None

    def _judge(self, reports: list[tuple[int, RankStep]]) -> None:
        """A step every rank reported: count it, and the rank the others waited for in it."""
        self.whole_steps += 1
        times = sorted((step.collective_ns, rank) for rank, step in reports)
        length = max(step.total_ns for _rank, step in reports)
        (least, rank), (second, _r) = times[0], times[1]
        # a wait worth the name: twice the straggler's, and a quarter of the step at least
        if second >= 2 * max(1, least) and second - least >= length // 4:
            self.waited_for[rank] = self.waited_for.get(rank, 0) + 1

    def hosts(self) -> list[str]:
        """The hosts the ranks run on, in rank order."""
        return list(dict.fromkeys(self.lanes[r].host for r in sorted(self.lanes)))


def fold(events: list[DistEvent]) -> DistState:
    """The state after ``events``."""
    state = DistState()
    for event in events:
        state.apply(event)
    return state
