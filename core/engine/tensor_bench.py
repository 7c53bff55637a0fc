"""What crossing a process boundary costs a tensor: shared memory vs a pickled copy, measured.

One producer process sends ``count`` results of ``size`` bytes to this process, three ways, in
one run, so the figures compare side by side on the same machine at the same moment:

- ``shared (fresh)``: a new tensor through a torch.multiprocessing queue; torch moves its
  storage into shared memory on the fly, and only a handle is pickled;
- ``shared (already)``: a tensor made with ``share_memory_()`` before it is sent, so only the
  handle's pickling is left;
- ``copy``: the same bytes pickled through a plain ``multiprocessing`` queue (every byte copied
  through a pipe), as any non-tensor result travels.

For each: milliseconds per result (from the first send to the last receive, over ``count``) and
the bytes that actually crossed the queue (a pickled handle's length, measured with torch's own
pickler; for the copy, the pickled bytes). The producer keeps what it sent alive until this
process has received all of it (see :mod:`.tensors`). Used by ``benchmarks/tensors.py`` and the
app's comparison screen (small sizes there).
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
import time
import warnings
from dataclasses import dataclass
from typing import Any, Final

WAYS: Final = ("shared (fresh)", "shared (already)", "copy")


@dataclass(frozen=True, slots=True)
class Crossing:
    """One way of sending, measured."""

    way: str
    size: int  # bytes of data per result
    count: int
    ms_per_result: float
    crossed: int  # bytes pickled onto the queue per result


def _handle_bytes(value: Any) -> int:
    """The length of what torch's pickler writes for ``value`` (a handle for a tensor)."""
    from multiprocessing.reduction import ForkingPickler

    buffer = io.BytesIO()
    ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(value)
    return len(buffer.getvalue())


def _quiet_torch() -> Any:
    """torch, imported without its "Failed to initialize NumPy" warning (no NumPy here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        import torch

    return torch


def _produce(way: str, size: int, count: int, go: Any, out: Any, done: Any) -> None:
    torch = _quiet_torch()

    elements = size // 4
    ready = (
        [torch.zeros(elements).share_memory_() for _ in range(count)] if "already" in way else []
    )
    kept = []
    out.put("ready")  # torch imported, tensors made: the clock may start
    go.wait()
    for n in range(count):
        if way == "copy":
            out.put(bytes(size))
        elif ready:
            out.put(ready[n])
        else:
            value = torch.zeros(elements)
            kept.append(value)  # alive until received (file_system needs it, like fd sharing)
            out.put(value)
    done.wait()  # the consumer has everything: now the handles may go


def measure(way: str, size: int, count: int) -> Crossing:
    """Send ``count`` results of ``size`` bytes one ``way`` from a fresh process; time them."""
    torch = _quiet_torch()
    import torch.multiprocessing as tmp

    context = (multiprocessing if way == "copy" else tmp).get_context(
        "forkserver"
    )  # fork after torch threads can hang
    out, go, done = context.Queue(), context.Event(), context.Event()
    producer = context.Process(target=_produce, args=(way, size, count, go, out, done))
    producer.start()
    try:
        out.get(timeout=120)  # the producer is up: its start is not part of the figure
        started = time.perf_counter()
        go.set()
        for _ in range(count):
            value = out.get(timeout=120)
        elapsed = time.perf_counter() - started
        if way == "copy":
            crossed = len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        else:
            crossed = _handle_bytes(torch.zeros(size // 4).share_memory_())
        del value
    finally:
        done.set()
        producer.join(30)
        if producer.is_alive():
            producer.kill()
            producer.join(5)
    return Crossing(way, size, count, elapsed * 1000 / count, crossed)


def measure_all(sizes: tuple[int, ...], count_for: dict[int, int]) -> list[Crossing]:
    """Every way for every size, in one run."""
    return [measure(way, size, count_for[size]) for size in sizes for way in WAYS]


def size_text(count: int) -> str:
    """``1 MB``, ``64 MB``, ``353 B`` (binary megabytes for sizes, as the table's rows)."""
    if count >= 1 << 20:
        return f"{count / (1 << 20):.3g} MB"
    if count >= 1 << 10:
        return f"{count / (1 << 10):.3g} kB"
    return f"{count} B"


def table(results: list[Crossing]) -> list[str]:
    """The results as text lines: one row per size, ms per result per way, ratios to copy."""
    lines = [
        f"{'size':>7}  " + "  ".join(f"{way:>17}" for way in WAYS) + "   copy/fresh  copy/already"
    ]
    for size in sorted({r.size for r in results}):
        row = {r.way: r for r in results if r.size == size}
        cells = "  ".join(f"{row[w].ms_per_result:>14.2f} ms" for w in WAYS)
        copy = row["copy"].ms_per_result
        fresh, already = row["shared (fresh)"].ms_per_result, row["shared (already)"].ms_per_result
        lines.append(
            f"{size_text(size):>7}  {cells}   {copy / fresh:>9.1f}x  {copy / already:>11.1f}x"
        )
    crossed = {r.way: r.crossed for r in results if r.size == max(r.size for r in results)}
    lines.append(
        "crossed the queue per result: "
        + ", ".join(f"{way} {size_text(crossed[way])}" for way in WAYS)
    )
    return lines
