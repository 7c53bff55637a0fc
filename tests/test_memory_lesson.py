"""The list vs generator memory lesson: getsizeof as the seed shows it, and tracemalloc peaks."""

from __future__ import annotations

import sys
import tracemalloc

import pytest

from mpscope.core.stepper.examples import squares_gen, squares_list
from mpscope.core.stepper.memory_lesson import MAX_N, MemoryFigures, format_kb, measure


def test_format_kb_is_the_seeds_format() -> None:
    assert format_kb(8_448_728) == "8250.7 KB"
    assert format_kb(208) == "0.2 KB"
    assert format_kb(0) == "0.0 KB"


def test_the_seeds_getsizeof_figures_for_a_million() -> None:
    # The seed prints 8250.7 KB and 0.2 KB on 64-bit CPython; so must we.
    assert format_kb(sys.getsizeof(squares_list(1_000_000))) == "8250.7 KB"
    assert format_kb(sys.getsizeof(squares_gen(1_000_000))) == "0.2 KB"


def test_measure_reports_getsizeof_and_honest_peaks() -> None:
    figures = measure(20_000)
    assert figures.n == 20_000
    assert figures.list_getsizeof == sys.getsizeof(squares_list(20_000))
    assert figures.gen_getsizeof == sys.getsizeof(squares_gen(20_000))
    # the ints themselves (28+ bytes each) are counted by tracemalloc, not by getsizeof
    assert figures.list_peak > figures.list_getsizeof + 20_000 * 20
    assert figures.ratio > 3
    assert figures.gen_peak < 4096  # one value at a time
    assert 20 < figures.bytes_per_item < 60


def test_explanation_is_one_line_and_names_the_cause() -> None:
    figures = MemoryFigures(1000, 8056, 208, 40_000, 300)
    text = figures.explanation
    assert "\n" not in text
    assert "1,000 pointer slots" in text
    assert "tracemalloc" in text
    assert f"{figures.bytes_per_item:.0f} bytes each" in text


def test_measure_leaves_tracemalloc_as_it_found_it() -> None:
    assert not tracemalloc.is_tracing()
    measure(100)
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        measure(100)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("n", [-1, MAX_N + 1])
def test_measure_rejects_n_out_of_range(n: int) -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        measure(n)


def test_zero_items() -> None:
    figures = measure(0)
    assert figures.bytes_per_item == 0.0
    assert figures.gen_peak < 4096
