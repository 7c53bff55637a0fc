"""The distributed benchmark runs: its cheapest measurement (a reporter and a real listener, a
handful of steps) gives positive figures and the table renders them. No wall-clock thresholds."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from benchmarks import distributed, distributed_training

pytestmark = pytest.mark.timeout(120)


def test_reporting_cost_is_measured_and_the_table_renders() -> None:
    cost = distributed.reporting_cost(steps=5, rounds=2)
    for loop in (cost.with_checksum, cost.without_checksum, cost.inactive):
        for figure in (loop.cpu_us, loop.wall_us):
            assert isinstance(figure, float) and figure > 0
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(distributed.build_table(cost))
    text = out.getvalue()
    assert "mpscope distributed reporting" in text
    assert f"{cost.with_checksum.cpu_us:.1f} µs CPU" in text
    assert "reporter inactive" in text


def test_steady_step_time_leaves_out_the_first_tenth() -> None:
    # 10 steps of 1 ms after a first one of 5 ms, one of them stalled 3 ms more
    begins = [0, 5, 6, 7, 8, 9, 12, 13, 14, 15]
    marks = [(n, b * 1_000_000, (b + 1) * 1_000_000) for n, b in enumerate(begins)]
    median, mean = distributed_training.steady_step_ms(marks)
    assert median == pytest.approx(1.0)
    assert mean == pytest.approx((16 - 5) / 9)
