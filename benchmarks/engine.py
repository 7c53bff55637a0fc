"""Engine benchmarks, measured side by side in one run; prints a table and the ratios.

    python -m benchmarks.engine            # everything (about a minute on 2 cores)
    python -m benchmarks.engine --quick    # fewer rounds

1. Throughput: the instrumented Task 3 pipeline vs the same pipeline bare (20,000 trivial
   tasks, no sleeps, 2 workers, forkserver), alternating rounds, median of each. The headline
   is the steady state: tasks per second between the 10% and the 90% collection marks, which
   leaves out start-up and wind-down (where the two differ in ways that are not the cost of
   instrumentation: the engine's feeder fills the queue while workers start). The whole run
   (first start or put to last collection) is printed beside it.
2. Event latency of tasks shown one by one (each longer than a flush: 15 ms of work), from
   the worker's report to the main process (its engine thread), p50/p99. Quick tasks come
   in bulk, once a flush (their own latency is the flush's, about 10 ms, by design).
3. Memory: peak RSS of a main process streaming 1,000,000 tasks vs 10 tasks (fresh
   subprocesses, so one run's heap does not hide the other's).
4. Worker start per start method: time until every worker is ready; private memory (USS) per
   worker.
5. The CPU budget (:mod:`benchmarks.cpu_budget`): CPU per task of each pipeline, all its
   processes together (100,000 tasks, fork, so that every process is ours to count), and the
   least CPU the three events of one task can cost, which caps the ratio on saturated cores.

Module-level imports are kept light on purpose: processes started by forkserver or spawn import
the main module again, and importing Rich and psutil there delayed the bare collector's start
enough to flatter the ratio by about 0.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

from benchmarks.bare_pipeline import run_bare, steady_marks, steady_rate
from benchmarks.cpu_budget import CpuUse, cpu_use, event_floor_us, machine_cores, ratio_ceiling
from mpscope.core.engine.lifecycle import import_torch_quietly
from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.bulk import expand_all
from mpscope.core.pipeline.events import TaskCollected, TaskDone, WorkerReady
from mpscope.core.pipeline.scenario import make_scenario

TASKS = 20_000
WORKERS = 2
SLOW_TASKS = 2_000
SLOW_WORK_S = 0.001
BRIEF_TASKS = 5_000
BRIEF_WORK_S = 0.0001
SHOWN_TASKS = 300
SHOWN_WORK_S = 0.015  # longer than a flush (10 ms): each such task is shown by itself
BUDGET_TASKS = 100_000


def instrumented_round(
    tasks: int, workers: int, work_s: float = 0.0
) -> tuple[float, float, list[float]]:
    """Seconds from first task start to last collection, steady-state tasks/s (between the
    collection marks of :func:`steady_marks`), and event latencies (ms)."""
    scenario, _ = make_scenario(
        count=tasks, workers=workers, work_time=work_s, collect_time=0, queue_bound=1000
    )
    engine = Engine(scenario)
    probe: list[int] = []
    engine.latency_probe = probe
    engine.start()
    batches = []  # drained as the app's bridge drains them: batch by batch, looked at later
    while (batch := engine.next_batch(5)) is not None:
        batches.append(batch)
    engine.join(10)
    events = list(expand_all(event for batch in batches for event in batch))
    first_start = min(e.started for e in events if isinstance(e, TaskDone))
    collected = sorted(e.t for e in events if isinstance(e, TaskCollected))
    assert len(collected) == tasks, len(collected)
    steady = steady_rate(tasks, {count: collected[count - 1] for count in steady_marks(tasks)})
    return (collected[-1] - first_start) / 1e9, steady, [ns / 1e6 for ns in probe]


def drained_run(tasks: int, workers: int, start_method: str) -> int:
    """Run ``tasks`` trivial tasks and drain their events, doing nothing else; the event count."""
    scenario, _ = make_scenario(
        count=tasks,
        workers=workers,
        work_time=0,
        collect_time=0,
        queue_bound=1000,
        start_method=start_method,
    )
    engine = Engine(scenario)
    engine.start()
    count = done = 0
    while (batch := engine.next_batch(5)) is not None:
        count += len(batch)
        done += sum(1 for event in expand_all(batch) if isinstance(event, TaskCollected))
    engine.join(10)
    assert engine.outcome == "completed" and done == tasks, (engine.outcome, done)
    return count


def peak_rss_mb(tasks: int) -> float:
    """Peak RSS of a fresh main process that streams ``tasks`` tasks through the engine."""
    code = f"""
import resource, sys
from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.scenario import make_scenario
if __name__ == "__main__":
    sc, _ = make_scenario(count={tasks}, workers=2, work_time=0, collect_time=0)
    e = Engine(sc); e.start()
    while e.next_batch(5) is not None:
        pass
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    return int(out.stdout.split()[-1]) / 1024


def start_round(method: str, workers: int) -> tuple[float, float]:
    """Seconds from run start until all workers are ready; mean USS per worker (MB)."""
    import psutil

    scenario, _ = make_scenario(
        count=workers * 4, workers=workers, work_time=0.5, collect_time=0, start_method=method
    )
    engine = Engine(scenario)
    engine.start()
    ready: dict[int, int] = {}
    uss: list[float] = []
    while (batch := engine.next_batch(5)) is not None:
        for event in batch:
            if isinstance(event, WorkerReady) and event.worker >= 0:
                ready[event.worker] = event.t
                if len(ready) == workers and not uss:
                    for pid in (engine.pids().get(w) for w in range(workers)):
                        if pid:
                            uss.append(psutil.Process(pid).memory_full_info().uss / 2**20)
                    engine.stop("measured")
    engine.join(20)
    return max(ready.values()) / 1e9, statistics.mean(uss)


def _median_use(runs: list[CpuUse]) -> CpuUse:
    return CpuUse(
        statistics.median(r.us_per_task for r in runs),
        statistics.median(r.cores_busy for r in runs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    rounds = 3 if args.quick else 9
    import_torch_quietly()
    import torch.multiprocessing as mp

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["mpscope.core.engine.worker"])
    console = Console(width=None if sys.stdout.isatty() else 120)  # a file gets a wide table
    console.print(
        f"[bold]engine benchmarks[/] — {TASKS:,} trivial tasks, {WORKERS} workers, "
        f"forkserver, {rounds} alternating rounds"
    )
    instrumented_round(2000, WORKERS)  # warm up the forkserver
    bare_s, ours_s, bare_steady, ours_steady, latencies = [], [], [], [], []
    for _ in range(rounds):
        bare = run_bare(ctx, WORKERS, TASKS, 1000)
        bare_s.append(bare.seconds)
        bare_steady.append(bare.steady_rate)
        seconds, steady, _lat = instrumented_round(TASKS, WORKERS)
        ours_s.append(seconds)
        ours_steady.append(steady)
    for _ in range(max(1, rounds // 3)):
        latencies.extend(instrumented_round(SHOWN_TASKS, WORKERS, SHOWN_WORK_S)[2])
    bare_rate = TASKS / statistics.median(bare_s)
    ours_rate = TASKS / statistics.median(ours_s)
    bare_steady_rate = statistics.median(bare_steady)
    ours_steady_rate = statistics.median(ours_steady)
    round_ratios = sorted(o / b for o, b in zip(ours_steady, bare_steady, strict=True))
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99)]

    slow_bare, slow_ours = [], []
    for _ in range(rounds):
        slow_bare.append(run_bare(ctx, WORKERS, SLOW_TASKS, 1000, SLOW_WORK_S).seconds)
        slow_ours.append(instrumented_round(SLOW_TASKS, WORKERS, SLOW_WORK_S)[0])
    slow_ratio = statistics.median(slow_bare) / statistics.median(slow_ours)
    brief_bare, brief_ours = [], []
    for _ in range(rounds):
        brief_bare.append(run_bare(ctx, WORKERS, BRIEF_TASKS, 1000, BRIEF_WORK_S).seconds)
        brief_ours.append(instrumented_round(BRIEF_TASKS, WORKERS, BRIEF_WORK_S)[0])
    brief_ratio = statistics.median(brief_bare) / statistics.median(brief_ours)

    # the CPU budget: fork, so that every process of a run is ours and its CPU is counted
    fork = mp.get_context("fork")
    bare_cpu: list[CpuUse] = []
    ours_cpu: list[CpuUse] = []
    for _ in range(max(1, rounds // 3)):
        bare_cpu.append(cpu_use(lambda: run_bare(fork, WORKERS, BUDGET_TASKS, 1000), BUDGET_TASKS))
        ours_cpu.append(cpu_use(lambda: drained_run(BUDGET_TASKS, WORKERS, "fork"), BUDGET_TASKS))
    bare_use = _median_use(bare_cpu)
    ours_use = _median_use(ours_cpu)
    floor_us = min(event_floor_us() for _ in range(3))
    cores = machine_cores()
    ceiling = ratio_ceiling(bare_use, floor_us)
    ceiling_all_busy = ratio_ceiling(bare_use, floor_us, cores)

    rss_small = peak_rss_mb(10)
    rss_big = peak_rss_mb(1_000_000)

    starts: dict[str, tuple[float, float]] = {}
    for method in ("spawn", "forkserver", "fork"):
        starts[method] = start_round(method, 4)

    table = Table(title="mpscope engine", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target / note")
    table.add_row("bare pipeline, steady state", f"{bare_steady_rate:,.0f} tasks/s", "baseline")
    table.add_row("instrumented pipeline, steady state", f"{ours_steady_rate:,.0f} tasks/s", "")
    ratio = ours_steady_rate / bare_steady_rate
    table.add_row(
        "throughput ratio, steady state",
        f"{ratio:.2f}",
        f">= 0.9; rounds {round_ratios[0]:.2f}-{round_ratios[-1]:.2f}",
    )
    whole_ratio = ours_rate / bare_rate
    table.add_row(
        "throughput ratio, whole run",
        f"{whole_ratio:.2f}",
        f"bare {bare_rate:,.0f} vs {ours_rate:,.0f} tasks/s",
    )
    table.add_row(
        f"ratio with {BRIEF_WORK_S * 1e6:g} µs of work a task",
        f"{brief_ratio:.2f}",
        f">= 0.97; {BRIEF_TASKS:,} tasks",
    )
    table.add_row(
        f"ratio with {SLOW_WORK_S * 1000:g} ms of work a task",
        f"{slow_ratio:.2f}",
        f"{SLOW_TASKS:,} tasks",
    )
    table.add_row(
        "CPU per task, bare (all processes)",
        f"{bare_use.us_per_task:.1f} µs",
        f"{bare_use.cores_busy:.2f} of {cores} cores busy; {BUDGET_TASKS:,} tasks, fork",
    )
    table.add_row(
        "CPU per task, instrumented",
        f"{ours_use.us_per_task:.1f} µs",
        f"{ours_use.cores_busy:.2f} cores busy; bare/instrumented "
        f"{bare_use.us_per_task / ours_use.us_per_task:.2f}",
    )
    table.add_row(
        "least CPU for one task's 3 events",
        f"{floor_us:.1f} µs",
        f"ratio ceiling {ceiling:.2f} at bare's core use, {ceiling_all_busy:.2f} all busy",
    )
    shown = f"tasks shown one by one ({SHOWN_WORK_S * 1000:g} ms of work)"
    table.add_row("event latency p50", f"{p50:.1f} ms", shown)
    table.add_row("event latency p99", f"{p99:.1f} ms", "<= 20 ms")
    table.add_row("peak RSS, 10 tasks", f"{rss_small:.1f} MB", "")
    table.add_row(
        "peak RSS, 1,000,000 tasks",
        f"{rss_big:.1f} MB",
        f"+{rss_big - rss_small:.1f} MB (<= +25 MB)",
    )
    for method, (ready_s, uss) in starts.items():
        table.add_row(
            f"start 4 workers: {method}", f"{ready_s:.2f} s", f"{uss:.0f} MB private per worker"
        )
    console.print(table)
    figures: dict[str, Any] = {
        "bare_tasks_per_s": bare_steady_rate,
        "ours_tasks_per_s": ours_steady_rate,
        "ratio": ratio,
        "ratio_whole_run": whole_ratio,
        "round_ratios": round_ratios,
        "bare_whole_tasks_per_s": bare_rate,
        "ours_whole_tasks_per_s": ours_rate,
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "rss_10_mb": rss_small,
        "rss_1m_mb": rss_big,
        "starts": starts,
        "ratio_1ms": slow_ratio,
        "ratio_100us": brief_ratio,
        "bare_cpu_us_per_task": bare_use.us_per_task,
        "bare_cores_busy": bare_use.cores_busy,
        "ours_cpu_us_per_task": ours_use.us_per_task,
        "ours_cores_busy": ours_use.cores_busy,
        "event_floor_us_per_task": floor_us,
        "ratio_ceiling": ceiling,
        "ratio_ceiling_all_cores_busy": ceiling_all_busy,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
