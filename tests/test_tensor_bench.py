"""The tensor benchmark measures what it says: a handle crosses for a tensor, every byte for a
copy, and the table shows each way for each size with its ratio."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mpscope.core.engine.tensor_bench import WAYS, Crossing, measure, table

pytestmark = pytest.mark.timeout(180)

SIZE = 256 * 1024


@pytest.mark.parametrize("way", WAYS)
def test_each_way_delivers_and_counts_what_crossed(way: str) -> None:
    result = measure(way, SIZE, 3)
    assert result.ms_per_result > 0
    if way == "copy":
        assert result.crossed >= SIZE  # the bytes themselves, pickled
    else:
        assert result.crossed < 2000  # a handle to shared storage, not the data


def test_the_table_has_a_row_per_size_and_the_ratios() -> None:
    results = [
        Crossing(way, size, 1, ms, crossed)
        for size, figures in ((1 << 20, (2.0, 1.0, 4.0)), (64 << 20, (30.0, 1.0, 250.0)))
        for way, ms, crossed in zip(WAYS, figures, (350, 350, size + 9), strict=True)
    ]
    lines = table(results)
    assert lines[1].split()[:2] == ["1", "MB"] and "2.0x" in lines[1] and "4.0x" in lines[1]
    assert lines[2].split()[:2] == ["64", "MB"] and "8.3x" in lines[2] and "250.0x" in lines[2]
    assert "shared (fresh) 350 B" in lines[3] and "copy 64 MB" in lines[3]


FEW_FILES = """
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
from mpscope.core.engine.tensor_bench import measure
if __name__ == "__main__":
    for way in ("shared (already)", "shared (fresh)"):
        print(measure(way, 4096, 3000).count)
"""


@pytest.mark.timeout(180)
def test_a_producer_holds_a_bounded_number_of_shared_tensors() -> None:
    """3000 results through shared memory with 256 files allowed (each tensor in flight is an
    open file under file_descriptor): the producer once ran ahead, ran out, and the consumer
    waited for a handle that could not come (the app's tensor screen stalled)."""
    done = subprocess.run(
        [sys.executable, "-c", FEW_FILES], capture_output=True, text=True, timeout=150
    )
    assert (done.returncode, done.stdout.split()) == (0, ["3000", "3000"]), done.stderr[-2000:]
