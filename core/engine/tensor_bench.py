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

import collections
import contextlib
import io
import multiprocessing
import pickle
import queue
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from mpscope.core.engine.child_output import real_stderr
from mpscope.core.engine.child_signals import drop_inherited_handlers

WAYS: Final = ("shared (fresh)", "shared (already)", "copy")
RECEIVE_TIMEOUT_S: Final = 120.0
#: results on their way at most (the queue's bound)
IN_FLIGHT: Final = 32
#: tensors a producer keeps alive: once it has put result ``i + 2 × IN_FLIGHT + 2``, the
#: consumer has got (and rebuilt) result ``i``
KEPT: Final = 2 * IN_FLIGHT + 2


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
    """Send ``count`` results ``way``; ``out`` holds at most :data:`IN_FLIGHT` of them, so
    the producer never holds more than a bounded number of shared tensors (each an open file
    under ``file_descriptor``): run ahead unbounded, it ran out of them, and the consumer then
    waited for a handle that could not come."""
    drop_inherited_handlers()  # forked from the app: not its handlers (see .child_signals)
    torch = _quiet_torch()

    elements = size // 4
    pool = min(count, KEPT)  # already shared: a pool sent in turn (the consumer drops each)
    ready = [torch.zeros(elements).share_memory_() for _ in range(pool)] if "already" in way else []
    # alive until received (file_system needs it, like fd sharing): a received one may go, and
    # the queue's bound says which have been (see KEPT)
    kept: collections.deque[Any] = collections.deque(maxlen=KEPT)
    out.put("ready")  # torch imported, tensors made: the clock may start
    go.wait()
    for n in range(count):
        if way == "copy":
            out.put(bytes(size))
        elif ready:
            out.put(ready[n % pool])
        else:
            value = torch.zeros(elements)
            kept.append(value)
            out.put(value)
    done.wait()  # the consumer has everything: now the handles may go


class MeasureStopped(Exception):
    """The measurement was stopped (its ``stop`` event set) before it finished."""


def _receive(out: Any, producer: Any, stop: threading.Event | None) -> Any:
    """The next value from ``out``: a bounded wait that gives up at once when ``stop`` is set
    or the producer has died, instead of waiting on a queue nobody will fill."""
    deadline = time.monotonic() + RECEIVE_TIMEOUT_S
    while True:
        try:
            return out.get(timeout=0.2)
        except (OSError, EOFError, RuntimeError) as exc:  # a hand-over cut by the stop's kill
            if stop is not None and stop.is_set():
                raise MeasureStopped from exc
            raise
        except queue.Empty:
            if stop is not None and stop.is_set():
                raise MeasureStopped from None
            if producer.exitcode is not None:
                raise RuntimeError(
                    f"the producer process exited (code {producer.exitcode}) before sending"
                ) from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing received in {RECEIVE_TIMEOUT_S:g} s") from None


def _end_when_stopped(stop: threading.Event, producer: Any, over: threading.Event) -> None:
    """Kill the producer the moment ``stop`` is set: the consumer may be blocked inside a
    tensor's hand-over (rebuilding one waits on the producer's resource sharer, with no
    timeout; seen under load), and only the producer's end cuts that wait."""
    while not over.wait(0.1):
        if stop.is_set():
            with contextlib.suppress(Exception):
                producer.kill()
            return


def measure(way: str, size: int, count: int, stop: threading.Event | None = None) -> Crossing:
    """Send ``count`` results of ``size`` bytes one ``way`` from a fresh process; time them.
    Raises :class:`MeasureStopped` if ``stop`` is set first; the producer never outlives it."""
    torch = _quiet_torch()
    import torch.multiprocessing as tmp

    context = (multiprocessing if way == "copy" else tmp).get_context(
        "forkserver"
    )  # fork after torch threads can hang
    with real_stderr():  # a full-screen app's stderr has no fd for the helpers started here
        out, go, done = context.Queue(IN_FLIGHT), context.Event(), context.Event()
        producer = context.Process(target=_produce, args=(way, size, count, go, out, done))
        producer.start()
    over = threading.Event()
    if stop is not None:
        threading.Thread(
            target=_end_when_stopped, args=(stop, producer, over), name="bench-stop", daemon=True
        ).start()
    try:
        _receive(out, producer, stop)  # the producer is up: its start is not part of the figure
        started = time.perf_counter()
        go.set()
        for _ in range(count):
            value = _receive(out, producer, stop)
        elapsed = time.perf_counter() - started
        if way == "copy":
            crossed = len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        else:
            crossed = _handle_bytes(torch.zeros(size // 4).share_memory_())
        del value
    finally:
        over.set()
        done.set()
        producer.join(2 if stop is not None and stop.is_set() else 30)
        if producer.is_alive():
            producer.kill()
            producer.join(5)
        out.cancel_join_thread()  # what a stopped producer left unread must not hold us
        out.close()
    return Crossing(way, size, count, elapsed * 1000 / count, crossed)


def measure_each(
    sizes: tuple[int, ...], count_for: dict[int, int], stop: threading.Event | None = None
) -> Iterator[Crossing]:
    """Every way for every size, in one run, each as soon as it is measured; nothing more is
    started once ``stop`` is set (the app's screen closing)."""
    for size in sizes:
        for way in WAYS:
            if stop is not None and stop.is_set():
                return
            try:
                yield measure(way, size, count_for[size], stop)
            except MeasureStopped:
                return


def measure_all(sizes: tuple[int, ...], count_for: dict[int, int]) -> list[Crossing]:
    """Every way for every size, in one run."""
    return list(measure_each(sizes, count_for))


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
