"""A recorded distributed run (``mpscope run --mode distributed --record`` or ``mpscope watch
--record``) as a trace for Perfetto and ``chrome://tracing``, in the Trace Event Format of a
pipeline's (:mod:`.perfetto`).

One process track per rank (named with its rank, host and PID), on it a slice per step and,
inside it, its phases and its collectives. A collective ends for everyone when the last rank
arrives, so for each step's collective the trace draws a flow arrow from the moment the last
rank arrived to the moment each other rank got out (one id per arrow, never reused): the wait
a straggler imposes, visible as arrows. A step waits for all its ranks' reports before its
arrows are drawn; the recording is read line by line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mpscope.core.distributed.events import (
    DistEvent,
    DistFinished,
    DistStarted,
    RankJoined,
    RankLeft,
    StepReported,
    read_dist_recording,
)
from mpscope.core.export.perfetto import TraceWriter, _Track, write_trace_atomically

__all__ = ["DistTraceWriter", "export_dist_recording"]

VIEWER_PID = 0


class DistTraceWriter(TraceWriter):
    """Turns a distributed run's events into trace events as they come."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._world = 0
        self._steps: dict[int, list[StepReported]] = {}  # reports of steps not yet complete
        self._flow_ids = 0

    def write_dist(self, events: Iterable[DistEvent]) -> None:
        for event in events:
            self._last_t = max(self._last_t, event.t)
            if isinstance(event, DistStarted):
                what = "torchrun" if event.launcher else "mpscope watch"
                self._meta(VIEWER_PID, VIEWER_PID, "process_name", f"viewer ({what})", 0)
                self._meta(VIEWER_PID, VIEWER_PID, "thread_name", event.address, 0)
            elif isinstance(event, RankJoined):
                self._joined(event)
            elif isinstance(event, StepReported):
                self._step(event)
            elif isinstance(event, RankLeft):
                track = self._tracks.get(event.rank)
                if track is not None:
                    args = {"reason": event.reason}
                    self._instant(track.pid, event.t, f"rank {event.rank} left", args, "p")
            elif isinstance(event, DistFinished):
                args = {"outcome": event.outcome, "error": event.error}
                self._instant(VIEWER_PID, event.t, f"run {event.outcome}", args, "g")

    def _joined(self, e: RankJoined) -> None:
        self._world = max(self._world, e.world_size)
        name = f"rank {e.rank} · {e.host}"
        self._tracks[e.rank] = _Track(e.rank, e.pid, name, e.t)
        self._meta(e.pid, e.pid, "process_name", f"{name} (PID {e.pid})", 1 + e.rank)
        self._meta(e.pid, e.pid, "thread_name", f"rank {e.rank} (local {e.local_rank})", 0)

    def _step(self, e: StepReported) -> None:
        track = self._tracks.get(e.rank)
        if track is None:  # a step without its hello cannot be placed on a track
            return
        args: dict[str, Any] = {"checksum": e.checksum}
        self._slice(track, f"step {e.step}", e.begun, e.t, args=args)
        for kind, name, start, end in e.spans:
            cname = "bad" if kind == "collective" else "good"
            self._slice(track, name, start, end, cname=cname, args={"kind": kind})
        reports = self._steps.setdefault(e.step, [])
        reports.append(e)
        if len(reports) >= self._world:
            self._arrows(self._steps.pop(e.step))

    def _arrows(self, reports: list[StepReported]) -> None:
        """From the last rank's arrival at the step's first collective to each other rank's
        way out of it."""
        entered: list[tuple[int, int, StepReported]] = []
        for report in reports:
            spans = [s for s in report.spans if s[0] == "collective"]
            if spans:
                entered.append((spans[0][2], spans[0][3], report))
        if len(entered) < 2:
            return
        arrival, _left, last = max(entered, key=lambda item: item[0])
        source = self._tracks[last.rank]
        for _start, left, report in entered:
            if report is last:
                continue
            self._flow_ids += 1
            flow = self._flow_ids
            name = f"rank {last.rank} arrives"
            self._slice(source, name, arrival, arrival, bind_id=flow, flow_out=True)
            target = self._tracks[report.rank]
            self._slice(target, "released", left, left, bind_id=flow, flow_in=True)

    def close(self) -> None:
        if not self._closed:
            for reports in self._steps.values():  # steps some rank never finished
                self._arrows(reports)
            self._steps.clear()
            for track in self._tracks.values():
                self._life(track, self._last_t, {"reason": "the run ended"})
            self._tracks.clear()
        self._depth.clear()  # no queue counters in a distributed run
        super().close()


def export_dist_recording(recording: str | Path, output: str | Path) -> int:
    """Export a distributed run's recording to a trace file; the number of events exported.
    Raises DistRecordError for a bad recording and TraceError for an output that cannot be
    written; a failure leaves no half trace behind."""
    events = read_dist_recording(str(recording))  # a few lines a step: small, and checked first

    def write(partial: Path) -> int:
        writer = DistTraceWriter(partial)
        try:
            writer.write_dist(events)
        finally:
            writer.close()
        return len(events)

    return write_trace_atomically(output, write)
