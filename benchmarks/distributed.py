"""The cost of the distributed reporting API, three ways side by side in one run; prints a table.

    python -m benchmarks.distributed            # about 2½ minutes on 2 cores
    python -m benchmarks.distributed --quick    # fewer steps and rounds, under a minute

1. Reporting cost per step, on the rank's side: a :class:`.Reporter` connected to a real
   :class:`.Listener` in this process runs steps that do nothing but report (``step``, a
   ``phase``, a ``collective``, and the parameters' ``checksum`` of a small
   ``Sequential(Linear(32, 64), ReLU, Linear(64, 1))``), with and without the checksum; the
   same loop with an inactive reporter (no address) is the floor. Microseconds per step, median
   of the rounds, as the stepping thread's own CPU time (``time.thread_time``) and as wall time.
   The CPU time is the rank's cost: the listener parses each report in a thread of this process,
   and the wall time also holds that thread's turns with the GIL, which a real rank (a process
   of its own) does not pay.
2. Training speed with and without reporting: real 2-rank gloo runs through torchrun, 10 ms of
   compute a step. "With" is :func:`.run_distributed` as is; "without" is the same launcher and
   the same rank script (:mod:`mpscope.core.distributed.train`, unchanged) in an environment
   without ``MPSCOPE_ADDRESS``, so its reporter is inactive. Each rank times its own loop: with
   reporting, from the steps it reports; without, through a shim that runs the rank script
   (``torchrun --no-python python -u -c SHIM``) with ``Reporter.step`` wrapped to note each
   step's start and end on the rank's clock. A rank's steady step time is the median of its
   step periods (one step's start to the next's) from the step at 10% on, and a run's the mean
   of its ranks'; the headline ratio is steps per second with reporting over without, median of
   the rounds (which alternate). The median keeps out the stalls that other jobs on a shared
   machine cause now and then; the mean step time over the same steps, every stall counted, is
   printed beside it. So is the whole-run wall time of the torchrun command, N steps minus
   1 step (start-up and teardown, about 6 s, cancel out): what can be measured from outside,
   but its start-up varies by up to a second, far more than 2% of the loop. (This part lives
   in :mod:`benchmarks.distributed_training`.)
3. The viewer's CPU with 8 ranks reporting: a :class:`.Listener` in this process and 8 rank
   processes (small ``python -c`` scripts using :class:`.Reporter`, no torch) reporting a step
   every 10 ms for a few seconds, all starting at one signal once every rank has connected.
   This process's CPU time (``time.process_time``, every thread) over that window, as a share of
   one core: the listener alone (events appended to a list), and the listener folding every
   event into :class:`.DistState` as the app does before it paints.

Module-level imports are light: torch is imported by measurement 1 only, Rich by the table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.distributed_training import COMPUTE_TIME, TrainingSpeed, training_speed
from mpscope.core.distributed.events import (
    DistEvent,
    RankJoined,
    RankLeft,
    ReportDropped,
    StepReported,
)
from mpscope.core.distributed.listener import Listener, new_token
from mpscope.core.distributed.report import Reporter
from mpscope.core.distributed.wire import ADDRESS_ENV, TOKEN_ENV

if TYPE_CHECKING:
    from rich.table import Table

VIEWER_RANKS = 8
VIEWER_SECONDS = 3.0

#: A rank that only reports: connects, waits for a line on stdin, then a step every 10 ms
#: (a phase that sleeps, an empty collective, a checksum) for argv[1] seconds, then says bye.
REPORTING_RANK = """
import sys, time
from mpscope.core.distributed.report import Reporter

class NoParameters:
    def parameters(self):
        return []

reporter = Reporter.from_env()
sys.stdin.readline()
seconds, began, step = float(sys.argv[1]), time.monotonic(), 0
while time.monotonic() - began < seconds:
    with reporter.step(step):
        with reporter.phase("forward+backward"):
            time.sleep(max(0.0, began + (step + 1) * 0.01 - time.monotonic()))
        with reporter.collective("all_reduce"):
            pass
        reporter.checksum(NoParameters())
    step += 1
reporter.close()
"""


# --- 1. reporting cost per step -------------------------------------------------------------


@dataclass(frozen=True)
class LoopCost:
    """Microseconds per step of one reporting loop: the stepping thread's CPU, and wall time."""

    cpu_us: float
    wall_us: float


@dataclass(frozen=True)
class ReportCost:
    """Measurement 1: medians over ``rounds`` rounds of ``steps`` steps each."""

    steps: int
    rounds: int
    with_checksum: LoopCost
    without_checksum: LoopCost
    inactive: LoopCost


def _small_model() -> Any:
    import torch

    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))


def _report_loop(reporter: Reporter, steps: int, model: Any) -> LoopCost:
    """Time ``steps`` steps that only report (``model`` None: no checksum)."""
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for number in range(steps):
        with reporter.step(number):
            with reporter.phase("forward"):
                pass
            with reporter.collective("all_reduce"):
                pass
            if model is not None:
                reporter.checksum(model)
    cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
    return LoopCost(cpu / steps / 1e3, wall / steps / 1e3)


def _median_cost(costs: list[LoopCost]) -> LoopCost:
    return LoopCost(
        statistics.median(c.cpu_us for c in costs), statistics.median(c.wall_us for c in costs)
    )


def reporting_cost(steps: int = 2000, rounds: int = 5) -> ReportCost:
    """Microseconds per reporting step, active with and without the checksum, and inactive."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        model = _small_model()
        events: list[DistEvent] = []
        listener = Listener(new_token(), events.append, time.monotonic_ns())
        listener.start()
        reporter = Reporter(listener.address, listener.token, rank=0)
        inactive = Reporter(None, "", rank=0)
        runs: dict[str, list[LoopCost]] = {"with": [], "without": [], "inactive": []}
        try:
            assert reporter.active and not inactive.active
            _report_loop(reporter, max(1, steps // 10), model)  # warm up
            for _ in range(rounds):
                runs["with"].append(_report_loop(reporter, steps, model))
                runs["without"].append(_report_loop(reporter, steps, None))
                runs["inactive"].append(_report_loop(inactive, steps, model))
        finally:
            reporter.close()
            listener.close()
    reported = sum(1 for e in events if isinstance(e, StepReported))
    expected = max(1, steps // 10) + 2 * steps * rounds
    assert reported == expected, f"the listener got {reported} of {expected} steps"
    return ReportCost(
        steps,
        rounds,
        _median_cost(runs["with"]),
        _median_cost(runs["without"]),
        _median_cost(runs["inactive"]),
    )


# --- 3. the viewer's CPU with 8 ranks reporting ---------------------------------------------


@dataclass(frozen=True)
class ViewerCpu:
    """Measurement 3: this process's CPU over the window in which the ranks reported."""

    ranks: int
    fold: bool
    seconds: float  # the window, wall
    cpu_s: float
    reports: int
    dropped: int

    @property
    def core_percent(self) -> float:
        return self.cpu_s / self.seconds * 100

    @property
    def reports_per_s(self) -> float:
        return self.reports / self.seconds

    @property
    def us_per_report(self) -> float:
        return self.cpu_s / max(1, self.reports) * 1e6


@contextlib.contextmanager
def _processes(commands: list[tuple[list[str], dict[str, str]]]) -> Iterator[list[Any]]:
    """Start the processes (stdin a pipe); at the end wait for each, killing what lingers."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for command, env in commands:
            procs.append(
                subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            )
        yield procs
    finally:
        for proc in procs:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def viewer_cpu(
    ranks: int = VIEWER_RANKS, seconds: float = VIEWER_SECONDS, fold: bool = False
) -> ViewerCpu:
    """``ranks`` processes report a step every 10 ms for ``seconds`` s to a listener here."""
    from mpscope.core.distributed.state import DistState

    state = DistState()
    joined, left, reports, dropped = [0], [0], [0], [0]
    window_end: list[tuple[float, float]] = []
    everyone_left = threading.Event()

    def emit(event: DistEvent) -> None:  # called under the listener's lock
        if fold:
            state.apply(event)
        if isinstance(event, StepReported):
            reports[0] += 1
        elif isinstance(event, RankJoined):
            joined[0] += 1
        elif isinstance(event, ReportDropped):
            dropped[0] += 1
        elif isinstance(event, RankLeft):
            left[0] += 1
            if left[0] == ranks:
                window_end.append((time.perf_counter(), time.process_time()))
                everyone_left.set()

    listener = Listener(new_token(), emit, time.monotonic_ns())
    listener.start()
    base = {**os.environ, ADDRESS_ENV: listener.address, TOKEN_ENV: listener.token}
    commands = [
        (
            [sys.executable, "-c", REPORTING_RANK, repr(seconds)],
            {**base, "RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": str(ranks)},
        )
        for r in range(ranks)
    ]
    try:
        with _processes(commands) as procs:
            deadline = time.monotonic() + 60
            while joined[0] < ranks:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"only {joined[0]} of {ranks} ranks connected")
                time.sleep(0.02)
            begun_wall, begun_cpu = time.perf_counter(), time.process_time()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            if not everyone_left.wait(timeout=seconds + 30):
                raise RuntimeError(f"only {left[0]} of {ranks} ranks said bye")
    finally:
        listener.close()
    end_wall, end_cpu = window_end[0]
    return ViewerCpu(
        ranks, fold, end_wall - begun_wall, end_cpu - begun_cpu, reports[0], dropped[0]
    )


# --- the table ------------------------------------------------------------------------------


def build_table(
    cost: ReportCost, speed: TrainingSpeed | None = None, viewers: list[ViewerCpu] | None = None
) -> Table:
    """The figures as a ``measure | value | goal`` table (only the measurements given)."""
    from rich.table import Table

    table = Table(title="mpscope distributed reporting")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal")

    def loop(c: LoopCost) -> str:
        return f"{c.cpu_us:.1f} µs CPU ({c.wall_us:.1f} µs wall)"

    table.add_row(
        f"reporting a step: step, phase, collective, checksum ({cost.steps:,} steps, "
        f"median of {cost.rounds})",
        loop(cost.with_checksum),
        "",
    )
    table.add_row("the same without the checksum", loop(cost.without_checksum), "")
    table.add_row(
        "the same loop, reporter inactive (no MPSCOPE_ADDRESS): the floor",
        loop(cost.inactive),
        "",
    )
    if speed is not None:
        ratios = sorted(speed.round_ratios)
        table.add_row(
            f"training step, 2 ranks gloo, {COMPUTE_TIME * 1e3:g} ms compute, "
            f"{speed.steps} steps: without / with reporting (ranks' clocks, median step)",
            f"{speed.without_step_ms:.2f} ms / {speed.with_step_ms:.2f} ms",
            "",
        )
        table.add_row(
            f"throughput ratio with / without reporting (median of {speed.rounds} rounds)",
            f"{speed.ratio:.3f} (rounds {ratios[0]:.3f}–{ratios[-1]:.3f})",
            "≥ 0.98",
        )
        table.add_row(
            "the same from the mean step time (every stall counted): without / with, ratio",
            f"{statistics.median(r.mean_ms for r in speed.without_runs):.2f} ms / "
            f"{statistics.median(r.mean_ms for r in speed.with_runs):.2f} ms: "
            f"{speed.mean_ratio:.3f}",
            "",
        )
        wall_without, wall_with = speed.wall_step_ms(False), speed.wall_step_ms(True)
        table.add_row(
            f"from outside: torchrun wall time, ({speed.steps} steps − 1 step) / "
            f"{speed.steps - 1}, without / with",
            f"{wall_without:.2f} ms / {wall_with:.2f} ms: ratio {wall_without / wall_with:.3f}",
            "",
        )
        table.add_row(
            "torchrun run of 1 step (start-up and end), without / with",
            f"{statistics.median(speed.without_start_s):.2f} s / "
            f"{statistics.median(speed.with_start_s):.2f} s",
            "",
        )
    for viewer in viewers or []:
        what = "listener folding into DistState" if viewer.fold else "listener only"
        table.add_row(
            f"viewer CPU, {viewer.ranks} ranks reporting every 10 ms, {what}",
            f"{viewer.core_percent:.1f}% of a core ({viewer.reports_per_s:,.0f} reports/s, "
            f"{viewer.us_per_report:.0f} µs each, {viewer.dropped} dropped)",
            "",
        )
    return table


def main() -> None:
    """Run the three measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    args = parser.parse_args()
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 140)  # a file gets a wide table
    rounds = 1 if args.quick else 4
    steps = 100 if args.quick else 200
    console.print(
        f"[bold]distributed reporting benchmarks[/] — 2-rank gloo runs of {steps} steps "
        f"({COMPUTE_TIME * 1e3:g} ms compute), {rounds} alternating round(s)"
    )

    def progress(what: str) -> None:
        console.print(f"[dim]{what}…[/]")

    progress("1. reporting cost per step")
    cost = reporting_cost(steps=500 if args.quick else 2000, rounds=3 if args.quick else 5)
    progress("2. training with and without reporting (torchrun)")
    speed = training_speed(steps=steps, rounds=rounds)
    progress(f"3. viewer CPU with {VIEWER_RANKS} ranks reporting")
    seconds = 2.0 if args.quick else VIEWER_SECONDS
    viewers = [viewer_cpu(seconds=seconds), viewer_cpu(seconds=seconds, fold=True)]
    console.print(build_table(cost, speed, viewers))


if __name__ == "__main__":
    main()
