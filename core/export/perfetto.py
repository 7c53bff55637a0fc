"""A run as a Trace Event Format file, for Perfetto (ui.perfetto.dev) and ``chrome://tracing``.

One process track per PID (``process_name`` / ``thread_name`` metadata: worker N, collector,
main), and on it:

- a slice (``"ph": "X"``, microseconds from the run's start) for the process's life, and inside
  it one for every task the worker ran and for every collection on the collector;
- a flow arrow (flows v2: ``bind_id`` with ``flow_out`` on the work, ``flow_in`` on the
  collection) from each task's work to its collection, one id per task, never reused;
- instant events (``"ph": "i"``) for kills and exits, failures (traceback in ``args``),
  Task 1's printed lines and the run's notes;
- counters (``"ph": "C"``) for the depths of the task queue and the result queue, derived from
  the events as the state derives them, one sample per millisecond at most.

The writer streams: it keeps a few numbers per process and per queue, never the events, so a
recording of any length exports in bounded memory.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from mpscope.core.pipeline.bulk import expand_all
from mpscope.core.pipeline.events import (
    COLLECTOR,
    MAIN,
    Event,
    Note,
    PrintedLine,
    RunFinished,
    RunStarted,
    TaskCollected,
    TaskDone,
    TaskFailed,
    TaskLost,
    TaskQueued,
    TaskRequeued,
    TaskStarted,
    WorkerExited,
    WorkerSpawned,
)
from mpscope.core.pipeline.scenario import Mode

#: counters are sampled at most this often (a million tasks would otherwise be four million
#: samples, each of which a viewer draws)
COUNTER_STEP_NS: Final = 1_000_000


class TraceError(OSError):
    """The trace file cannot be written; the message is one line."""


def _us(t: int) -> float:
    return round(t / 1000, 3)


@dataclass(slots=True)
class _Track:
    """One process of the run, as the trace shows it."""

    worker: int
    pid: int
    name: str
    born: int
    slices_end: int = 0  # the end of the latest slice on it (its life must reach that far)


def _process_name(worker: int) -> str:
    if worker == COLLECTOR:
        return "collector"
    if worker == MAIN:
        return "main (collects)"
    return f"worker {worker}"


class TraceWriter:
    """Turns events into trace events as they come and writes them to ``path``.

    ``write(events)`` any number of times, then ``close()``; it can follow a live run or a
    recording read line by line.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise TraceError(f"cannot write trace {self.path}: {exc.strerror}") from None
        self._first = True
        self._main_pid = 0
        self._tracks: dict[int, _Track] = {}
        self._depth = {"task queue": 0, "result queue": 0}
        self._sampled: dict[str, tuple[int, int]] = {}  # counter -> (time, value) last written
        self._last_t = 0
        self._collects = False  # Task 2 and 3 collect results; Task 1 has no queues
        self._in_task_queue: set[int] = set()  # at most the queue's bound
        self._flow_tasks: set[int] = set()  # tasks whose work has an outgoing flow, not yet in
        self._closed = False
        self._emit_raw('{"displayTimeUnit":"ms","traceEvents":[\n')

    # -- writing -------------------------------------------------------------------------------

    def _emit_raw(self, text: str) -> None:
        try:
            self._file.write(text)
        except OSError as exc:
            raise TraceError(f"cannot write trace {self.path}: {exc.strerror}") from None

    def _emit(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        self._emit_raw(line if self._first else ",\n" + line)
        self._first = False

    def _meta(self, pid: int, tid: int, what: str, name: str, sort: int) -> None:
        self._emit({"ph": "M", "name": what, "pid": pid, "tid": tid, "args": {"name": name}})
        key = "process_sort_index" if what == "process_name" else "thread_sort_index"
        self._emit({"ph": "M", "name": key, "pid": pid, "tid": tid, "args": {"sort_index": sort}})

    def _slice(self, track: _Track, name: str, start: int, end: int, **extra: Any) -> None:
        record: dict[str, Any] = {
            "ph": "X",
            "name": name,
            "pid": track.pid,
            "tid": track.pid,
            "ts": _us(start),
            "dur": _us(max(0, end - start)),
        }
        record.update(extra)
        self._emit(record)
        track.slices_end = max(track.slices_end, end)

    def _instant(self, pid: int, t: int, name: str, args: dict[str, Any], scope: str) -> None:
        self._emit(
            {
                "ph": "i",
                "name": name,
                "pid": pid,
                "tid": pid,
                "ts": _us(t),
                "s": scope,
                "args": args,
            }
        )

    def _count(self, t: int, counter: str, delta: int) -> None:
        self._depth[counter] = max(0, self._depth[counter] + delta)
        value = self._depth[counter]
        last = self._sampled.get(counter)
        if last is not None and (last[1] == value or t - last[0] < COUNTER_STEP_NS):
            return
        self._sampled[counter] = (t, value)
        self._counter_sample(t, counter, value)

    def _counter_sample(self, t: int, counter: str, value: int) -> None:
        self._emit(
            {
                "ph": "C",
                "name": counter,
                "pid": self._main_pid,
                "tid": self._main_pid,
                "ts": _us(t),
                "args": {"tasks": value},
            }
        )

    # -- events --------------------------------------------------------------------------------

    def write(self, events: Iterable[Event]) -> None:
        """Add a batch of events (in the order the run reported them); quick tasks reported in
        bulk get a slice each, as any task (a trace is where one zooms in on them)."""
        for event in expand_all(events):
            self._last_t = max(self._last_t, event.t)
            handler = self._HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)

    def _run_started(self, e: RunStarted) -> None:
        self._main_pid = e.main_pid
        self._collects = e.mode != Mode.PRINT
        self._meta(e.main_pid, e.main_pid, "process_name", f"mpscope main · {e.mode}", 0)
        self._meta(e.main_pid, e.main_pid, "thread_name", "main: feeder and engine", 0)

    def _worker_spawned(self, e: WorkerSpawned) -> None:
        track = self._tracks[e.worker] = _Track(e.worker, e.pid, _process_name(e.worker), e.t)
        if e.worker == MAIN:  # Task 2's collector is the main process: its track is there
            return
        sort = 1000 if e.worker == COLLECTOR else 1 + e.worker
        self._meta(e.pid, e.pid, "process_name", track.name, sort)
        self._meta(e.pid, e.pid, "thread_name", f"{track.name} (PID {e.pid})", sort)

    def _worker_exited(self, e: WorkerExited) -> None:
        track = self._tracks.pop(e.worker, None)
        if track is None:
            return
        what = f"killed by {e.signal}" if e.signal else f"exited with code {e.exitcode}"
        args = {"exitcode": e.exitcode, "signal": e.signal, "reason": e.reason}
        self._life(track, e.t, args)
        self._instant(track.pid, max(e.t, track.slices_end), what, args, "p")

    def _life(self, track: _Track, end: int, args: dict[str, Any]) -> None:
        if track.worker == MAIN:
            return
        end = max(end, track.slices_end)
        self._slice(track, f"{track.name} · PID {track.pid}", track.born, end, args=args)

    def _task_queued(self, e: TaskQueued) -> None:
        self._in_task_queue.add(e.task)
        self._count(e.t, "task queue", 1)

    def _task_started(self, e: TaskStarted) -> None:
        self._leave_task_queue(e.t, e.task)

    def _leave_task_queue(self, t: int, task: int) -> None:
        if task in self._in_task_queue:
            self._in_task_queue.discard(task)
            self._count(t, "task queue", -1)

    def _task_done(self, e: TaskDone | TaskFailed) -> None:
        self._leave_task_queue(e.t, e.task)  # a quick task's start rides on its end
        track = self._tracks.get(e.worker)
        if track is None:
            return
        ok = isinstance(e, TaskDone)
        args: dict[str, Any] = {"task": e.task, "attempt": e.attempt}
        if isinstance(e, TaskDone):
            args["result"] = e.output
        else:
            args["error"] = e.error
            args["traceback"] = e.traceback
        extra: dict[str, Any] = {"args": args, "cname": "good" if ok else "terrible"}
        if self._collects:
            extra["bind_id"] = e.task + 1  # task ids are never reused, and neither is this
            extra["flow_out"] = True
            self._flow_tasks.add(e.task)
            self._count(e.t, "result queue", 1)
        self._slice(
            track, f"task {e.task}" if ok else f"task {e.task} failed", e.started, e.t, **extra
        )
        if not ok:
            assert isinstance(e, TaskFailed)
            self._instant(track.pid, e.t, f"task {e.task} raised", {"error": e.error}, "t")

    def _task_collected(self, e: TaskCollected) -> None:
        track = self._tracks.get(e.collector)
        self._count(e.t, "result queue", -1)
        if track is None:
            return
        extra: dict[str, Any] = {"args": {"task": e.task, "from worker": e.worker, "ok": e.ok}}
        if e.task in self._flow_tasks:
            self._flow_tasks.discard(e.task)
            extra["bind_id"] = e.task + 1
            extra["flow_in"] = True
        self._slice(track, f"collect task {e.task}", e.started, e.t, **extra)

    def _task_requeued(self, e: TaskRequeued) -> None:
        pid = self._tracks[e.worker].pid if e.worker in self._tracks else self._main_pid
        self._instant(pid, e.t, f"task {e.task} re-queued", {"attempt": e.attempt}, "t")

    def _task_lost(self, e: TaskLost) -> None:
        self._leave_task_queue(e.t, e.task)  # stranded in the queue when no worker was left
        self._instant(self._main_pid, e.t, f"task {e.task} lost", {"reason": e.reason}, "g")

    def _printed(self, e: PrintedLine) -> None:
        track = self._tracks.get(e.worker)
        pid = track.pid if track is not None else self._main_pid
        self._instant(pid, e.t, e.text, {"stream": e.stream}, "t")

    def _note(self, e: Note) -> None:
        self._instant(self._main_pid, e.t, e.text, {"level": e.level}, "g")

    def _run_finished(self, e: RunFinished) -> None:
        self._instant(self._main_pid, e.t, f"run {e.outcome}", {"message": e.message}, "g")

    _HANDLERS: Final[dict[type, Any]] = {
        RunStarted: _run_started,
        WorkerSpawned: _worker_spawned,
        WorkerExited: _worker_exited,
        TaskQueued: _task_queued,
        TaskStarted: _task_started,
        TaskDone: _task_done,
        TaskFailed: _task_done,
        TaskCollected: _task_collected,
        TaskRequeued: _task_requeued,
        TaskLost: _task_lost,
        PrintedLine: _printed,
        Note: _note,
        RunFinished: _run_finished,
    }

    # -- ending --------------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the file: processes still alive (a recording cut short) end at the last
        event; the counters get their last values. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for track in list(self._tracks.values()):
                self._life(track, self._last_t, {"exitcode": None, "reason": "still running"})
            for counter, value in self._depth.items():
                if self._sampled.get(counter, (0, value))[1] != value:
                    self._counter_sample(self._last_t, counter, value)
            self._emit_raw("\n]}\n")
        finally:
            self._file.close()


def export_events(events: Iterable[Event], path: str | Path) -> int:
    """Write ``events`` as a trace to ``path``; the number of events read."""
    writer = TraceWriter(path)
    count = 0
    try:
        for event in events:
            writer.write((event,))
            count += 1
    finally:
        writer.close()
    return count


def export_recording(recording: str | Path, output: str | Path) -> int:
    """Export a recording file to a trace file, reading it line by line (bounded memory).

    The trace is written beside ``output`` under a temporary name and moved into place when
    whole, so a recording found truncated or foreign half way leaves no half trace behind.
    Raises :class:`~mpscope.core.pipeline.recording.RecordingError` for a bad recording and
    :class:`TraceError` for an output that cannot be written; returns the events exported.
    """
    from mpscope.core.pipeline.recording import RecordingError, iter_recording
    from mpscope.core.pipeline.session import session_timeline

    events = iter_recording(recording)
    first = next(events, None)  # the header is checked before anything is written
    if not isinstance(first, RunStarted):
        raise RecordingError(f"{recording} has no run in it (its first event is not run_started)")
    # a session's runs one after another on the trace's timeline
    timeline = session_timeline(itertools.chain((first,), events))
    return write_trace_atomically(output, lambda partial: export_events(timeline, partial))


def write_trace_atomically(output: str | Path, write: Callable[[Path], int]) -> int:
    """Run ``write(partial)`` to make the trace beside ``output`` under a temporary name, then
    move it into place; its count. A failure leaves no half trace behind, and a
    :class:`TraceError` names ``output``, not the partial file."""
    output = Path(output)
    if output.is_dir():
        raise TraceError(f"cannot write trace {output}: it is a folder")
    partial = output.with_name(output.name + ".partial")
    try:
        try:
            count = write(partial)
        except TraceError as exc:  # named by the file the user asked for, not its partial one
            raise TraceError(str(exc).replace(str(partial), str(output))) from None
        try:
            os.replace(partial, output)
        except OSError as exc:
            raise TraceError(f"cannot write trace {output}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return count
