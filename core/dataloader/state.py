"""The state of a DataLoader run as a pure fold of its events, and the verdict on it.

Per worker: its PID and the bars of the batches it built (first sample to end of collate).
In the main process: batches built and not yet taken (ready), the loop's waits for data and its
steps. Head-of-line waiting is time the loop waited while a batch it was not given was already
built: with ``in_order=True`` the DataLoader holds ready batches back behind a slower one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
from mpscope.core.dataloader.run import LoaderSettings


@dataclass(slots=True)
class Bar:
    """One batch on a worker's lane."""

    key: str
    worker: int
    begun: int
    built: int = -1
    received: int = -1
    indices: str = ""
    slowest_ns: int = 0


@dataclass(slots=True)
class LoaderState:
    """Everything the views show; change it only with :meth:`apply`."""

    settings: LoaderSettings = field(default_factory=LoaderSettings)
    main_pid: int = 0
    torch_version: str = ""
    pids: dict[int, int] = field(default_factory=dict)
    killed: dict[int, int] = field(default_factory=dict)  # worker -> PID, killed by mpscope
    killed_at: dict[int, int] = field(default_factory=dict)  # worker -> when
    bars: dict[str, Bar] = field(default_factory=dict)
    waits: list[tuple[int, int, str]] = field(default_factory=list)
    steps: list[tuple[int, int, str]] = field(default_factory=list)
    head_of_line_ns: int = 0
    waiting_since: int = -1
    now: int = 0
    outcome: str = ""
    error: str = ""

    def apply(self, event: LoaderEvent) -> None:
        """Fold one event in."""
        self.now = max(self.now, event.t)
        if isinstance(event, BatchBegun):
            self.bars.setdefault(event.key, Bar(event.key, event.worker, event.t))
        elif isinstance(event, BatchBuilt):
            bar = self.bars.setdefault(event.key, Bar(event.key, event.worker, event.begun))
            bar.begun, bar.built = event.begun, event.t
            bar.indices, bar.slowest_ns = event.indices, event.slowest_ns
        elif isinstance(event, BatchReceived):
            bar = self.bars.setdefault(event.key, Bar(event.key, -1, event.asked))
            bar.received = event.t
            self.waits.append((event.asked, event.t, event.key))
            self.head_of_line_ns += self._held_back(event.asked, event.t, event.key)
            self.waiting_since = -1
        elif isinstance(event, StepDone):
            self.steps.append((event.begun, event.t, event.key))
            self.waiting_since = event.t
        elif isinstance(event, WorkerUp):
            self.pids[event.worker] = event.pid
        elif isinstance(event, WorkerKilled):
            self.killed[event.worker] = event.pid
            self.killed_at[event.worker] = event.t
        elif isinstance(event, LoaderStarted):
            self.settings = LoaderSettings.from_json(event.settings)
            self.main_pid, self.torch_version = event.main_pid, event.torch_version
            self.waiting_since = 0
        elif isinstance(event, LoaderFinished):
            self.outcome, self.error = event.outcome, event.error
            self.waiting_since = -1

    def _held_back(self, asked: int, got: int, key: str) -> int:
        """How long of the wait ``asked..got`` another batch was already built and waiting."""
        earliest = min(
            (
                b.built
                for b in self.bars.values()
                if b.key != key and 0 <= b.built < got and (b.received < 0 or b.received > got)
            ),
            default=-1,
        )
        return 0 if earliest < 0 else got - max(asked, earliest)

    def bar_end(self, bar: Bar) -> int:
        """Where a batch's bar ends: when it was built; if not (yet), now, or when its worker
        was killed."""
        if bar.built >= 0:
            return bar.built
        return self.killed_at.get(bar.worker, self.now)

    def ready(self) -> list[Bar]:
        """Batches built and not yet given to the loop (waiting in the main process)."""
        return [b for b in self.bars.values() if b.built >= 0 and b.received < 0]

    def in_flight(self) -> list[Bar]:
        """Batches a worker is building now."""
        return [b for b in self.bars.values() if b.built < 0 and b.received < 0]

    @property
    def wait_ns(self) -> int:
        """Total time the loop waited in ``next()``."""
        waited = sum(got - asked for asked, got, _key in self.waits)
        if self.waiting_since >= 0:
            waited += self.now - self.waiting_since
        return waited

    @property
    def step_ns(self) -> int:
        """Total time of the training steps."""
        return sum(end - begun for begun, end, _key in self.steps)

    def verdict(self) -> str:
        """What the numbers mean, in one sentence."""
        busy = self.wait_ns + self.step_ns
        if busy <= 0:
            return "no batch yet"
        share = self.wait_ns / busy
        held = self.head_of_line_ns / self.wait_ns if self.wait_ns else 0.0
        line = f"the loop waited for data {share:.0%} of the time"
        if share >= 0.5 and held >= 0.3:
            return (
                f"{line}, {held:.0%} of it with another batch ready: in-order delivery held "
                "back behind a slow batch (in_order=False would help)"
            )
        if share >= 0.5:
            return f"{line}: data-bound, more workers would help"
        if share <= 0.2:
            return f"{line}: compute-bound, the workers wait for the loop"
        return f"{line}: balanced, neither side waits long"


def killed_note(state: LoaderState) -> str:
    """What a kill from mpscope did, in a line; empty if there was none."""
    if not state.killed:
        return ""
    who = ", ".join(f"worker {w} (pid {pid})" for w, pid in sorted(state.killed.items()))
    return (
        f"killed by mpscope (SIGKILL): {who}; the error is the DataLoader's own (a batch it "
        "built that was on its way is lost with it: file_descriptor sharing passes its "
        "memory through the worker)"
    )


def fold(events: list[LoaderEvent]) -> LoaderState:
    """The state after ``events``."""
    state = LoaderState()
    for event in events:
        state.apply(event)
    return state
