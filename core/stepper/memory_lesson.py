"""The seed's memory lesson: a list of n squares against a generator of them, two ways.

The seed measures with :func:`sys.getsizeof` and prints ``8250.7 KB`` for the list of a million
squares against ``0.2 KB`` for the generator. That figure is the list's own block: a header and
one 8-byte pointer per slot. It leaves out the million int objects the pointers point to. The
honest figure is what the interpreter really allocated: :mod:`tracemalloc`'s peak while
building the list, against its peak while iterating the generator to the end (which holds one
value at a time). :func:`measure` takes both, for any n.

Measuring with tracemalloc is process-wide and slows allocation down (about a second for a
million items): run it while nothing else allocates much.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mpscope.core.stepper.examples import squares_gen, squares_list

__all__ = ["DEFAULT_N", "MAX_N", "MemoryFigures", "format_kb", "measure"]

DEFAULT_N = 1_000_000
"""The seed's n."""
MAX_N = 5_000_000
"""The largest n :func:`measure` accepts (about 200 MB and several seconds)."""


def format_kb(size: int) -> str:
    """Bytes as the seed prints them: ``f"{size / 1024:.1f} KB"``."""
    return f"{size / 1024:.1f} KB"


@dataclass(frozen=True, slots=True)
class MemoryFigures:
    """The lesson's four numbers for one n, in bytes."""

    n: int
    list_getsizeof: int
    """``sys.getsizeof(squares_list(n))``: the list object alone."""
    gen_getsizeof: int
    """``sys.getsizeof(squares_gen(n))``: the generator object alone."""
    list_peak: int
    """tracemalloc peak while building the list (everything it needed)."""
    gen_peak: int
    """tracemalloc peak while iterating the generator to the end."""

    @property
    def explanation(self) -> str:
        """One line on why getsizeof and tracemalloc disagree."""
        return (
            f"getsizeof counts only the list's {self.n:,} pointer slots (8 bytes each), not "
            f"the int objects they point to (about {self.bytes_per_item:.0f} bytes each here); "
            "tracemalloc counts every allocation, and the generator holds one value at a time."
        )

    @property
    def bytes_per_item(self) -> float:
        """What each item costs beyond its pointer slot, by the honest figure."""
        if self.n == 0:
            return 0.0
        return max(self.list_peak - self.list_getsizeof, 0) / self.n

    @property
    def ratio(self) -> float:
        """How many times the honest list figure exceeds the getsizeof one."""
        return self.list_peak / self.list_getsizeof if self.list_getsizeof else 0.0


def _consume(iterator: Iterator[int]) -> None:
    for _ in iterator:
        pass


def _peak_of(action: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``action()``, above what was allocated before it."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        kept = action()
        peak = tracemalloc.get_traced_memory()[1]
        del kept
    finally:
        if started:
            tracemalloc.stop()
    return max(peak - baseline, 0)


def measure(n: int = DEFAULT_N) -> MemoryFigures:
    """Measure the lesson for ``n`` squares; ValueError if n is not in 0..MAX_N."""
    if not 0 <= n <= MAX_N:
        raise ValueError(f"n must be between 0 and {MAX_N:,}")
    list_size = sys.getsizeof(squares_list(n))
    gen_size = sys.getsizeof(squares_gen(n))
    list_peak = _peak_of(lambda: squares_list(n))
    gen_peak = _peak_of(lambda: _consume(squares_gen(n)))
    return MemoryFigures(n, list_size, gen_size, list_peak, gen_peak)
