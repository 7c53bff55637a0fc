"""The CPU-budget measures the engine benchmark prints (benchmarks/cpu_budget.py)."""

from __future__ import annotations

import math
import multiprocessing
import time

import pytest

from benchmarks.cpu_budget import CpuUse, cpu_use, event_floor_us, ratio_ceiling


def _spin(seconds: float) -> None:
    """Use ``seconds`` of CPU (not of wall time: the machine may be busy)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_ratio_ceiling_at_the_bare_pipelines_core_use() -> None:
    bare = CpuUse(us_per_task=16.0, cores_busy=1.8)
    assert ratio_ceiling(bare, 0.0) == pytest.approx(1.0)
    assert ratio_ceiling(bare, 16.0) == pytest.approx(0.5)
    assert ratio_ceiling(bare, 2.0) == pytest.approx(16 / 18)


def test_ratio_ceiling_with_every_core_busy_counts_the_idle_time_too() -> None:
    bare = CpuUse(us_per_task=16.0, cores_busy=1.6)
    assert ratio_ceiling(bare, 0.0, cores=2) == pytest.approx(2 / 1.6)
    assert ratio_ceiling(bare, 2.0, cores=2) == pytest.approx((2 / 18) / (1.6 / 16))


def test_event_floor_is_a_positive_number_of_microseconds() -> None:
    floor = event_floor_us(2_000)
    assert math.isfinite(floor)
    assert 0 < floor < 1_000  # a few µs here; a millisecond per task would be a broken measure


def test_cpu_per_task_counts_joined_children() -> None:
    ctx = multiprocessing.get_context("fork")

    def run() -> None:
        child = ctx.Process(target=_spin, args=(0.2,))
        child.start()
        child.join(30)
        assert child.exitcode == 0

    # one "task" whose only work is 0.2 s of CPU in a child: at least 200,000 µs
    use = cpu_use(run, 1)
    assert use.us_per_task >= 190_000
    assert 0 < use.cores_busy <= 1.2  # one process spinning keeps about one core busy
