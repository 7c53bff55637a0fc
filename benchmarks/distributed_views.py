"""What the distributed views cost as a run grows: folding the events with the lines ``--plain``
prints, and one frame of the screen at the end, for 8 ranks at 200 and at 2,000 steps side by
side (made-up reports, no processes). Neither should grow with the steps already seen.

    python -m benchmarks.distributed_views
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from mpscope.core.distributed.events import DistEvent, RankJoined, StepReported
from mpscope.core.distributed.state import DistState
from mpscope.core.distributed.summary import live_lines
from mpscope.tui.views.dist import dist_view

RANKS = 8
MS = 1_000_000
FRAMES = 20


def reports(ranks: int, steps: int) -> list[DistEvent]:
    """A run's joins and step reports: 15 ms steps, 5 of them in the all-reduce."""
    events: list[DistEvent] = [RankJoined(0, r, r, ranks, 100 + r, "h", 0, 1) for r in range(ranks)]
    for number in range(steps):
        begun = number * 20 * MS
        spans = [
            ("phase", "forward+backward", begun, begun + 10 * MS),
            ("collective", "all_reduce", begun + 10 * MS, begun + 15 * MS),
        ]
        for rank in range(ranks):
            events.append(StepReported(begun + 15 * MS, rank, number, begun, spans, "c0ffee00"))
    return events


def measure(steps: int) -> tuple[float, float]:
    """µs to fold one event (with its printed lines) and ms for a frame at the end."""
    events = reports(RANKS, steps)
    state, printed = DistState(), set[int]()
    began = time.perf_counter()
    for event in events:
        state.apply(event)
        live_lines(state, event, printed)
    folded = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(FRAMES):
        state.apply(events[-1])  # a new revision each frame, as a live run gives
        dist_view(state, 118, 40)
    frame = (time.perf_counter() - began) / FRAMES
    return folded / len(events) * 1e6, frame * 1e3


def main() -> None:
    table = Table(
        title=f"distributed views, {RANKS} ranks (python -m benchmarks.distributed_views)"
    )
    for column in ("steps", "fold an event (µs)", "a frame at the end (ms)"):
        table.add_column(column, justify="right")
    for steps in (200, 2000):
        per_event, frame = measure(steps)
        table.add_row(f"{steps:,}", f"{per_event:.1f}", f"{frame:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
