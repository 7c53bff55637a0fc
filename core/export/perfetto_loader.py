"""A recorded DataLoader run (``mpscope run --mode dataloader --record``) as a trace for
Perfetto and ``chrome://tracing``, in the same Trace Event Format as a pipeline's
(:mod:`.perfetto`): one process track per DataLoader worker (its PID) with a slice per batch
it built (from its first sample to its collate), the training loop's track in the main process
with its waits for data and its steps, and a flow arrow from each batch's build to the moment
the loop received it (one id per batch). The recording is read line by line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from mpscope.core.dataloader.events import (
    BatchBuilt,
    BatchReceived,
    LoaderEvent,
    LoaderFinished,
    LoaderRecordError,
    LoaderStarted,
    StepDone,
    WorkerKilled,
    WorkerUp,
    from_json,
)
from mpscope.core.export.perfetto import TraceWriter, _Track, write_trace_atomically

__all__ = ["export_loader_recording"]

MAIN_TRACK = -1


class LoaderTraceWriter(TraceWriter):
    """Turns a DataLoader run's events into trace events as they come."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._flows: dict[str, int] = {}  # batch key -> its flow's id, until received
        self._flow_ids = 0  # never reused

    def write_loader(self, events: Iterable[LoaderEvent]) -> None:
        for event in events:
            self._last_t = max(self._last_t, event.t)
            if isinstance(event, LoaderStarted):
                self._main_pid = event.main_pid
                self._track(MAIN_TRACK, event.main_pid, "training loop (main process)", event.t)
            elif isinstance(event, WorkerUp):
                self._track(event.worker, event.pid, f"DataLoader worker {event.worker}", event.t)
            elif isinstance(event, BatchBuilt):
                self._batch_built(event)
            elif isinstance(event, BatchReceived):
                self._batch_received(event)
            elif isinstance(event, StepDone):
                main = self._tracks.get(MAIN_TRACK)
                if main is not None:
                    self._slice(main, f"train step {event.step}", event.begun, event.t)
            elif isinstance(event, WorkerKilled):
                args = {"worker": event.worker, "signal": "SIGKILL"}
                self._instant(event.pid, event.t, "killed by mpscope", args, "p")
            elif isinstance(event, LoaderFinished):
                args = {"outcome": event.outcome, "error": event.error}
                self._instant(self._main_pid, event.t, f"run {event.outcome}", args, "g")

    def _track(self, key: int, pid: int, name: str, t: int) -> None:
        track = _Track(key, pid, name, t)
        self._tracks[key] = track
        self._meta(pid, pid, "process_name", f"{name} (PID {pid})", key + 2)
        self._meta(pid, pid, "thread_name", name, 0)

    def _batch_built(self, e: BatchBuilt) -> None:
        track = self._tracks.get(e.worker)
        if track is None:  # a worker that never said it was up (main-process loading)
            track = self._tracks.get(MAIN_TRACK)
            if track is None:
                return
        args = {"indices": e.indices, "slowest sample ms": round(e.slowest_ns / 1e6, 3)}
        self._flow_ids += 1
        flow = self._flows[e.key] = self._flow_ids
        self._slice(track, f"batch {e.key}", e.begun, e.t, args=args, bind_id=flow, flow_out=True)

    def _batch_received(self, e: BatchReceived) -> None:
        main = self._tracks.get(MAIN_TRACK)
        if main is None:
            return
        if e.t > e.asked:
            self._slice(main, f"waiting for batch {e.key}", e.asked, e.t)
        flow = self._flows.pop(e.key, None)
        extra = {"bind_id": flow, "flow_in": True} if flow is not None else {}
        self._slice(main, f"received batch {e.key}", e.t, e.t, **extra)  # where the arrow lands

    def close(self) -> None:
        main = self._tracks.get(MAIN_TRACK)
        if not self._closed and main is not None:  # built, never taken: its arrow ends there
            for key, flow in self._flows.items():
                name = f"batch {key} never taken (the run ended)"
                self._slice(main, name, self._last_t, self._last_t, bind_id=flow, flow_in=True)
        self._flows.clear()
        if not self._closed:  # each process's life ends with the run (it reports no exits)
            for track in self._tracks.values():
                self._life(track, self._last_t, {"reason": "the DataLoader run ended"})
            self._tracks.clear()
        self._depth.clear()  # a DataLoader run has no queue counters
        super().close()


def _events(recording: str | Path) -> Iterator[LoaderEvent]:
    with Path(recording).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield from_json(line)
            except LoaderRecordError as exc:
                raise LoaderRecordError(f"{recording} line {number}: {exc}") from None


def export_loader_recording(recording: str | Path, output: str | Path) -> int:
    """Export a DataLoader recording to a trace file; the number of events exported. Raises
    LoaderRecordError for a bad recording and TraceError for an output that cannot be written;
    a failure leaves no half trace behind."""

    def write(partial: Path) -> int:
        count = 0
        writer = LoaderTraceWriter(partial)
        try:
            for event in _events(recording):
                writer.write_loader((event,))
                count += 1
        finally:
            writer.close()
        return count

    return write_trace_atomically(output, write)
