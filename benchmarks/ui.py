"""UI benchmarks, measured side by side in one run; prints a table and the ratios.

    python -m benchmarks.ui

1. Time to first frame of the real ``mpscope`` in a real terminal (tmux, 120x40): from the
   command's start until the screen shows the app, and whether torch was imported by then.
2. Event absorption: a headless app fed 100,000 events as fast as it takes them (while still
   painting frames), against the bare ``RunState`` fold of the same events.
3. CPU of the app process (its own, not its workers') during a default live run, and while
   idle after the run ended.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

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
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.state import RunState

MPSCOPE = Path(sys.executable).with_name("mpscope")
BUSY_LANE = re.compile(r"worker \d+ · PID \d+  busy")
EVENTS = 100_000


def synthetic_run(tasks: int, workers: int = 3) -> list[Event]:
    """A plausible pipeline run of ``tasks`` tasks: 5 events a task."""
    scenario = Scenario(count=tasks, workers=workers)
    events: list[Event] = [RunStarted(0, "pipeline", "forkserver", workers, scenario.to_json(), 1)]
    for w in [*range(workers), COLLECTOR]:
        events.append(WorkerSpawned(1, w, 100 + w, "collector" if w < 0 else "worker"))
        events.append(WorkerReady(2, w, 100 + w))
    t = 10
    for task in range(tasks):
        w = task % workers
        events += [
            TaskQueued(t, task, str(task + 1)),
            TaskStarted(t + 1, task, w),
            TaskDone(t + 5, task, w, t + 1, str((task + 1) ** 2)),
            TaskCollected(t + 9, task, COLLECTOR, t + 6, w, 1, True, str((task + 1) ** 2)),
        ]
        t += 3
    events += [SourceExhausted(t, tasks), RunFinished(t + 1, "completed", "synthetic")]
    return events


def bare_fold_rate(events: list[Event]) -> float:
    t0 = time.perf_counter()
    RunState().apply_all(events)
    return len(events) / (time.perf_counter() - t0)


def app_rate(events: list[Event]) -> tuple[float, int]:
    """Events per second a headless app absorbs, and how many frames it painted meanwhile."""
    from mpscope.tui.app import MpscopeApp
    from mpscope.tui.messages import EventsArrived

    async def run() -> tuple[float, int]:
        app = MpscopeApp(autostart=False)
        paints = 0
        original = app._paint

        def counting_paint(force: bool = False) -> None:
            nonlocal paints
            before = app._painted
            original(force)
            if app._painted != before or force:
                paints += 1

        app._paint = counting_paint  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)):
            app.run_id = 1
            app.state = RunState()
            done = threading.Event()

            def feed() -> None:
                for i in range(0, len(events), 500):
                    app.post_message(EventsArrived(1, events[i : i + 500]))
                done.set()

            t0 = time.perf_counter()
            threading.Thread(target=feed, daemon=True).start()
            while not (done.is_set() and app.state.revision >= len(events)):
                await asyncio.sleep(0.005)
            seconds = time.perf_counter() - t0
        return len(events) / seconds, paints

    return asyncio.run(run())


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, timeout=10, check=True
    ).stdout


def first_frame_seconds() -> tuple[float, bool]:
    """Seconds from launching ``mpscope`` in tmux until its screen shows; torch loaded then?"""
    session = f"mpscope-bench-{os.getpid()}"
    marker = Path(tempfile.mkdtemp()) / "torch"
    probe = (
        f"import sys, atexit; from mpscope.tui import app as a; orig = a.MpscopeApp.on_mount\n"
        f"def m(self):\n    open({str(marker)!r}, 'w').write(str('torch' in sys.modules))\n"
        f"    return orig(self)\n"
        f"a.MpscopeApp.on_mount = m\nfrom mpscope.tui.cli import main\nsys.exit(main([]))"
    )
    command = f'{sys.executable} -c "{probe}"'
    t0 = time.perf_counter()
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        while time.perf_counter() - t0 < 20:
            if "task queue" in _tmux("capture-pane", "-p", "-t", session):
                seconds = time.perf_counter() - t0
                break
            time.sleep(0.005)
        else:
            raise RuntimeError("the app did not show")
        deadline = time.monotonic() + 5
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        torch_loaded = marker.read_text() == "True"
        _tmux("send-keys", "-t", session, "q")
        time.sleep(1.5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
    return seconds, torch_loaded


def app_cpu(*args: str) -> tuple[float, float, float, float]:
    """A run of ``mpscope ARGS`` in tmux: (seconds from launch to end, % of one core over it,
    % of one core from the first busy worker to the end, % of one core idle afterwards)."""
    session = f"mpscope-cpu-{os.getpid()}"
    _tmux(
        "new-session", "-d", "-s", session, "-x", "120", "-y", "40", " ".join([str(MPSCOPE), *args])
    )
    try:
        pane = int(_tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        app = psutil.Process(pane)
        t0 = time.perf_counter()
        c0 = app.cpu_times()
        busy_at: tuple[float, psutil._common.pcputimes] | None = None
        while "■ completed" not in (screen := _tmux("capture-pane", "-p", "-t", session)):
            if busy_at is None and BUSY_LANE.search(screen):
                busy_at = (time.perf_counter(), app.cpu_times())
            time.sleep(0.05)
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("the run did not finish")
        run_s = time.perf_counter() - t0
        c1 = app.cpu_times()
        assert busy_at is not None
        time.sleep(1.0)
        c2, t2 = app.cpu_times(), time.perf_counter()
        time.sleep(5.0)
        c3, t3 = app.cpu_times(), time.perf_counter()
        _tmux("send-keys", "-t", session, "q")
        time.sleep(1.5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)

    def busy(a: psutil._common.pcputimes, b: psutil._common.pcputimes) -> float:
        return (b.user - a.user) + (b.system - a.system)

    steady = 100 * busy(busy_at[1], c1) / (t0 + run_s - busy_at[0])
    return run_s, 100 * busy(c0, c1) / run_s, steady, 100 * busy(c2, c3) / (t3 - t2)


def main() -> None:
    console = Console()
    console.print("[bold]UI benchmarks[/] (2 cores shared with everything else running)")
    events = synthetic_run(EVENTS // 4)[:EVENTS]
    fold = bare_fold_rate(events)
    rate, paints = app_rate(events)
    table = Table(title="mpscope UI")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target / note")
    table.add_row("RunState fold, bare", f"{fold:,.0f} events/s", f"{len(events):,} events")
    table.add_row("headless app absorbing", f"{rate:,.0f} events/s", f"{paints} frames painted")
    table.add_row("app / fold", f"{rate / fold:.2f}", ">= 0.7")
    if shutil.which("tmux"):
        first, torch_loaded = first_frame_seconds()
        table.add_row(
            "first frame of mpscope",
            f"{first:.2f} s",
            f"<= 0.3 s; torch imported by then: {torch_loaded}",
        )
        for label, args in (("default run", ()), ("run of 40 tasks", ("--tasks", "40"))):
            run_s, whole, steady, idle = app_cpu(*args)
            table.add_row(
                f"app CPU, {label}, from launch",
                f"{whole:.0f}% of a core",
                f"{run_s:.1f} s, with importing torch and starting the forkserver",
            )
            table.add_row(
                f"app CPU, {label}, while workers run",
                f"{steady:.0f}% of a core",
                "<= 10% (the app's own process; workers not counted)",
            )
            table.add_row(f"app CPU, idle after the {label}", f"{idle:.1f}% of a core", "< 2%")
    else:
        table.add_row("first frame / CPU", "skipped", "tmux is not installed")
    console.print(table)


if __name__ == "__main__":
    main()
