"""Benchmark part 2 of :mod:`benchmarks.distributed`: a 2-rank gloo training loop through
torchrun with reporting and without (no ``MPSCOPE_ADDRESS``), alternating rounds, each rank
timing its own steps: whole-run wall times cannot resolve 2% (torchrun's start-up varies by up
to a second), the ranks' own clocks can.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mpscope.core.distributed.events import DistEvent, DistFinished, StepReported
from mpscope.core.distributed.listener import new_token
from mpscope.core.distributed.run import (
    TRAIN_MODULE,
    DistSettings,
    end_processes,
    failure_summary,
    rank_environment,
    run_distributed,
)
from mpscope.core.distributed.wire import ADDRESS_ENV

COMPUTE_TIME = 0.01
TIMES_ENV = "MPSCOPE_BENCH_TIMES"

#: Runs the rank script unchanged, with ``Reporter.step`` wrapped to note each step's start and
#: end (the rank's monotonic clock); ``Reporter.close``, which the script calls after its loop,
#: writes them to ``$MPSCOPE_BENCH_TIMES/rank<RANK>.json``.
RANK_SHIM = """
import contextlib, json, os, sys, time
from mpscope.core.distributed import report, train
marks = []
step, close = report.Reporter.step, report.Reporter.close

@contextlib.contextmanager
def timed_step(self, number):
    begun = time.monotonic_ns()
    with step(self, number):
        yield
    marks.append((number, begun, time.monotonic_ns()))

def closing(self):
    name = "rank%s.json" % os.environ["RANK"]
    with open(os.path.join(os.environ["MPSCOPE_BENCH_TIMES"], name), "w") as f:
        json.dump(marks, f)
    close(self)

report.Reporter.step, report.Reporter.close = timed_step, closing
train.main(sys.argv[1:])
"""


# --- 2. training speed with and without reporting -------------------------------------------


@dataclass(frozen=True)
class TrainingRun:
    """One torchrun run: its wall time (s), and its ranks' steady step time (ms; median step
    period and mean step period, each the mean over the ranks)."""

    wall_s: float
    step_ms: float
    mean_ms: float


@dataclass(frozen=True)
class TrainingSpeed:
    """Measurement 2: ``rounds`` alternating rounds of ``steps``-step runs (and 1-step ones)."""

    steps: int
    rounds: int
    with_runs: list[TrainingRun]
    without_runs: list[TrainingRun]
    with_start_s: list[float]  # wall time of 1-step runs
    without_start_s: list[float]

    @property
    def with_step_ms(self) -> float:
        return statistics.median(r.step_ms for r in self.with_runs)

    @property
    def without_step_ms(self) -> float:
        return statistics.median(r.step_ms for r in self.without_runs)

    @property
    def round_ratios(self) -> list[float]:
        """Throughput with reporting / without, per round (ranks' own clocks)."""
        pairs = zip(self.with_runs, self.without_runs, strict=True)
        return [without.step_ms / with_.step_ms for with_, without in pairs]

    @property
    def ratio(self) -> float:
        """Throughput with reporting / without: median of the rounds."""
        return statistics.median(self.round_ratios)

    @property
    def mean_ratio(self) -> float:
        """The same from the mean step periods (every stall counted): median of the rounds."""
        pairs = zip(self.with_runs, self.without_runs, strict=True)
        return statistics.median(without.mean_ms / with_.mean_ms for with_, without in pairs)

    def wall_step_ms(self, reporting: bool) -> float:
        """Per step from outside: median wall time of N-step runs minus 1-step runs, / (N-1)."""
        runs = self.with_runs if reporting else self.without_runs
        starts = self.with_start_s if reporting else self.without_start_s
        extra = statistics.median(r.wall_s for r in runs) - statistics.median(starts)
        return extra / max(1, self.steps - 1) * 1e3


def steady_step_ms(marks: list[tuple[int, int, int]]) -> tuple[float, float]:
    """Median and mean step period (ms: one step's start to the next's, the last step's to its
    end) from the step at 10% on, of (step, begun, ended) marks in ns."""
    marks = sorted(marks)
    first = len(marks) // 10
    starts = [begun for _, begun, _ in marks[first:]] + [marks[-1][2]]
    periods = [(b - a) / 1e6 for a, b in itertools.pairwise(starts)]
    return statistics.median(periods), statistics.mean(periods)


def _run_of(wall: float, marks: list[list[tuple[int, int, int]]]) -> TrainingRun:
    """A run's figures from each rank's marks: the mean over the ranks."""
    steady = [steady_step_ms(m) for m in marks]
    return TrainingRun(
        wall, statistics.mean(m for m, _ in steady), statistics.mean(a for _, a in steady)
    )


def _with_reporting(settings: DistSettings) -> TrainingRun:
    """``run_distributed`` as is; step times from the steps the ranks report."""
    events: list[DistEvent] = []
    started = time.perf_counter()
    outcome = run_distributed(settings, events.append)
    wall = time.perf_counter() - started
    if outcome != "completed":
        error = next((e.error for e in events if isinstance(e, DistFinished)), "")
        raise RuntimeError(f"the run with reporting ended {outcome}: {error}")
    by_rank: dict[int, list[tuple[int, int, int]]] = {}
    for event in events:
        if isinstance(event, StepReported):
            by_rank.setdefault(event.rank, []).append((event.step, event.begun, event.t))
    assert len(by_rank) == settings.world_size, sorted(by_rank)
    assert all(len(m) == settings.steps for m in by_rank.values())
    return _run_of(wall, list(by_rank.values()))


def _shim_launcher(settings: DistSettings, log_dir: str) -> list[str]:
    """``settings.launcher(log_dir)`` with the rank script run through :data:`RANK_SHIM`."""
    command = settings.launcher(log_dir)
    args = settings.train_args()
    head = len(command) - len(args) - 2
    assert command[head:] == ["-m", TRAIN_MODULE, *args], command
    return [*command[:head], "--no-python", sys.executable, "-u", "-c", RANK_SHIM, *args]


def _read_marks(path: Path) -> list[tuple[int, int, int]]:
    """The (step, begun, ended) marks a rank's shim wrote."""
    return [(int(n), int(b), int(e)) for n, b, e in json.loads(path.read_text())]


def _without_reporting(settings: DistSettings) -> TrainingRun:
    """The same launcher and rank script, no ``MPSCOPE_ADDRESS``: the reporter is inactive."""
    token = new_token()  # no address: the ranks only carry it, for end_processes to find them
    env = rank_environment("", token)
    del env[ADDRESS_ENV]
    with (
        tempfile.TemporaryDirectory(prefix="mpscope-ranks-") as logs,
        tempfile.TemporaryDirectory(prefix="mpscope-times-") as times,
        tempfile.TemporaryFile() as output,
    ):
        env[TIMES_ENV] = times
        command = _shim_launcher(settings, logs)
        started = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=settings.time_limit)
        finally:
            end_processes(proc, token)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise RuntimeError(f"the run without reporting failed:\n{failure_summary(text)}")
        files = sorted(Path(times).glob("rank*.json"))
        assert len(files) == settings.world_size, files
        marks = [_read_marks(f) for f in files]
    assert all(len(m) == settings.steps for m in marks)
    return _run_of(wall, marks)


def training_speed(steps: int = 200, rounds: int = 4) -> TrainingSpeed:
    """Alternating rounds: ``steps``-step runs with and without reporting, then 1-step runs."""
    settings = DistSettings(world_size=2, steps=steps, compute_time=COMPUTE_TIME, time_limit=120)
    start = DistSettings(world_size=2, steps=1, compute_time=COMPUTE_TIME, time_limit=120)
    with_runs: list[TrainingRun] = []
    without_runs: list[TrainingRun] = []
    with_start: list[float] = []
    without_start: list[float] = []
    for number in range(rounds):
        if number % 2 == 0:
            with_runs.append(_with_reporting(settings))
            without_runs.append(_without_reporting(settings))
        else:
            without_runs.append(_without_reporting(settings))
            with_runs.append(_with_reporting(settings))
        with_start.append(_with_reporting(start).wall_s)
        without_start.append(_without_reporting(start).wall_s)
    return TrainingSpeed(steps, rounds, with_runs, without_runs, with_start, without_start)
