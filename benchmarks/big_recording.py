"""Big recordings: how mpscope copes with a recording of hundreds of thousands of tasks.

    python -m benchmarks.big_recording [--tasks 600000]

Writes a recording of quick tasks in the shape a real run of them records: today quick tasks
in bulk (per 10 ms, one ``tasks_queued``, one ``tasks_done`` per worker and one
``tasks_collected``; every few hundred tasks a task slow enough to be shown starting), and
beside it the same run one event at a time (three a task, as mpscope recorded before bulk
reporting and as a schema 3 recording holds it). Then measures, for each, in one run:

1. the recording's size per task, and how long writing it took;
2. ``mpscope replay --plain FILE`` to a pipe: wall time and peak memory (RSS of the process);
3. ``mpscope replay FILE`` in a real terminal (tmux, 120x40): seconds until the first frame
   shows the lanes, peak memory over the first seconds of playing, and seconds from ``q`` to
   the process's end; the same for a small recording, for the memory above it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

from mpscope.core.pipeline.bulk import gather
from mpscope.core.pipeline.events import (
    COLLECTOR,
    Event,
    RunFinished,
    RunStarted,
    SourceExhausted,
    TaskCollected,
    TaskDone,
    TaskQueued,
    TaskStarted,
    WorkerExited,
    WorkerLoopEnded,
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.recording import RecordingWriter
from mpscope.core.pipeline.scenario import Scenario

MPSCOPE = Path(sys.executable).with_name("mpscope")
SHOWN_EVERY = 500  # one task in so many is slow enough to get its own task_started
CHUNK = 5000
FLUSH_TASKS = 1000  # quick tasks a flush reports at 100,000 a second (one each 10 ms)


def quick_run(tasks: int, workers: int = 2, every_ns: int = 10_000) -> Iterator[Event]:
    """The events of a run of ``tasks`` quick tasks, one every ``every_ns`` (100,000 a second),
    as a real run of them records them (``mpscope run --work-time 0 --collect-time 0``): made
    one by one, never held whole."""
    scenario = Scenario(count=tasks, workers=workers, work_time=0.0, collect_time=0.0)
    yield RunStarted(0, "pipeline", "forkserver", workers, scenario.to_json(), 1000)
    for w in [*range(workers), COLLECTOR]:
        yield WorkerSpawned(1_000_000, w, 1001 + w, "collector" if w < 0 else "worker")
        yield WorkerReady(2_000_000, w, 1001 + w)
    t = 3_000_000
    for task in range(tasks):
        w = task % workers
        value = task + 1
        yield TaskQueued(t, task, str(value))
        if task % SHOWN_EVERY == 0:
            yield TaskStarted(t + 2_000, task, w)
        yield TaskDone(t + 20_000, task, w, t + 2_000, str(value * value))
        yield TaskCollected(t + 40_000, task, COLLECTOR, t + 40_000, w, 1, True, str(value**2))
        t += every_ns
    yield SourceExhausted(t, tasks)
    for w in [*range(workers), COLLECTOR]:
        yield WorkerLoopEnded(t + 50_000, w, "took the end sentinel")
        yield WorkerExited(t + 60_000, w, 1001 + w, 0, "", "finished its loop")
    yield RunFinished(t + 70_000, "completed", "every task has an outcome")


def in_bulk(events: Iterator[Event], per_flush: int = FLUSH_TASKS) -> Iterator[Event]:
    """``events`` as the engine sends quick tasks: per ``per_flush`` tasks (a flush), their
    announcements in one bulk, then each worker's reports in one, then the collector's."""
    window: list[Event] = []
    tasks = 0

    def order(event: Event) -> tuple[int, int]:
        kinds = (TaskQueued, TaskStarted, TaskDone, TaskCollected)
        kind = kinds.index(type(event)) if type(event) in kinds else 0
        return kind, getattr(event, "worker", 0) if kind == 2 else 0

    for event in events:
        if type(event) in (TaskQueued, TaskStarted, TaskDone, TaskCollected):
            window.append(event)
            tasks += type(event) is TaskQueued
            if tasks < per_flush:
                continue
        yield from gather(sorted(window, key=order))  # (sorted is stable: time order kept)
        window, tasks = [], 0
        if type(event) not in (TaskQueued, TaskStarted, TaskDone, TaskCollected):
            yield event
    yield from gather(sorted(window, key=order))


def write_quick_run(path: Path, tasks: int, bulk: bool = True, every_ns: int = 10_000) -> float:
    """Write :func:`quick_run` to ``path`` (in bulk, or one event at a time); returns the
    seconds it took."""
    t0 = time.perf_counter()
    writer = RecordingWriter(path)
    chunk: list[Event] = []
    events = quick_run(tasks, every_ns=every_ns)
    for event in in_bulk(events) if bulk else events:
        chunk.append(event)
        if len(chunk) >= CHUNK:
            writer.write(chunk)
            chunk = []
    writer.write(chunk)
    writer.close()
    return time.perf_counter() - t0


class PeakRss:
    """The peak resident memory of a process, sampled every 20 ms on a thread of its own."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


def plain_replay(path: Path) -> tuple[float, int]:
    """``mpscope replay --plain PATH`` to a pipe: (seconds, peak RSS in bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(MPSCOPE), "replay", "--plain", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = PeakRss(proc.pid)
    proc.wait(600)
    seconds = time.perf_counter() - t0
    return seconds, peak.stop()


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout


def app_replay(path: Path, play_s: float = 4.0) -> tuple[float, int, float]:
    """``mpscope replay PATH`` in tmux: (seconds to the first frame with lanes, peak RSS over
    ``play_s`` seconds of playing, seconds from ``q`` to the process's end)."""
    session = f"mpscope-big-{os.getpid()}"
    t0 = time.perf_counter()
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"{MPSCOPE} replay {path}")
    try:
        pid = int(_tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        peak = PeakRss(pid)
        while "worker 0" not in _tmux("capture-pane", "-p", "-t", session):
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("the replay did not show its lanes")
            time.sleep(0.01)
        first_frame = time.perf_counter() - t0
        time.sleep(play_s)
        _tmux("send-keys", "-t", session, "q")
        t_quit = time.perf_counter()
        process = psutil.Process(pid)
        while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
            if time.perf_counter() - t_quit > 60:
                raise RuntimeError("the replay did not quit")
            time.sleep(0.005)
        quit_s = time.perf_counter() - t_quit
        return first_frame, peak.stop(), quit_s
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=600_000)
    args = parser.parse_args()
    console = Console()
    folder = Path(tempfile.mkdtemp(prefix="mpscope-big-"))
    try:
        big, small = folder / "big.jsonl", folder / "small.jsonl"
        single = folder / "one-by-one.jsonl"
        write_s = write_quick_run(big, args.tasks)
        single_write_s = write_quick_run(single, args.tasks, bulk=False)
        write_quick_run(small, 100)
        size, single_size = big.stat().st_size, single.stat().st_size
        table = Table(title=f"a recording of {args.tasks:,} quick tasks")
        table.add_column("measure")
        table.add_column("in bulk (as recorded now)", justify="right")
        table.add_column("one event at a time", justify="right")
        table.add_row("size (MB)", f"{size / 1e6:.0f}", f"{single_size / 1e6:.0f}")
        table.add_row("bytes a task", f"{size / args.tasks:.0f}", f"{single_size / args.tasks:.0f}")
        table.add_row("writing it (s)", f"{write_s:.1f}", f"{single_write_s:.1f}")
        plain_s, plain_rss = plain_replay(big)
        single_plain_s, single_plain_rss = plain_replay(single)
        table.add_row("replay --plain (s)", f"{plain_s:.1f}", f"{single_plain_s:.1f}")
        table.add_row(
            "replay --plain peak memory (MB)",
            f"{plain_rss / 1e6:.0f}",
            f"{single_plain_rss / 1e6:.0f}",
        )
        if shutil.which("tmux"):
            small_frame, small_rss, small_quit = app_replay(small)
            frame, rss, quit_s = app_replay(big)
            one_frame, one_rss, one_quit = app_replay(single)
            table.add_row("app: first frame (s)", f"{frame:.2f}", f"{one_frame:.2f}")
            table.add_row("app: peak memory (MB)", f"{rss / 1e6:.0f}", f"{one_rss / 1e6:.0f}")
            table.add_row(
                "app: memory above a 100-task replay (MB)",
                f"{(rss - small_rss) / 1e6:.0f}",
                f"{(one_rss - small_rss) / 1e6:.0f}",
            )
            table.add_row("app: q to exit (s)", f"{quit_s:.2f}", f"{one_quit:.2f}")
            table.add_row(
                "app, a 100-task replay: first frame, memory, q",
                f"{small_frame:.2f} s, {small_rss / 1e6:.0f} MB, {small_quit:.2f} s",
                "",
            )
        else:
            table.add_row("app replay", "skipped: tmux is not installed")
        console.print(table)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
