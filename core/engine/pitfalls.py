"""The tensor pitfalls users hit, recognised and said in words where they happen.

- **Out of file descriptors**: under ``file_descriptor`` every tensor in flight is an open fd
  in its producer, and every one received is one in its consumer. When they run out, pickling
  fails with ``OSError: [Errno 24] Too many open files`` (or torch's ``unable to open shared
  memory object ... Too many open files (24)``) and receiving with ``received 0 items of
  ancdata``. ``file_system`` passes names, not fds.
- **A producer that exited first**: the consumer rebuilds a ``file_descriptor`` tensor by
  asking its producer's resource sharer for the fd; if the producer has gone, the rebuild
  fails (``FileNotFoundError`` / ``ConnectionRefusedError`` in torch's reductions or
  ``resource_sharer``).
- **Too little /dev/shm** for the tensors in flight (Docker gives a container 64 MB): a
  warning before the run starts (:func:`shm_warning`).

Nothing here imports torch; the checks read only an exception and its traceback.
"""

from __future__ import annotations

import errno
import os
import traceback
from collections.abc import Iterator
from typing import Final

from mpscope.core.pipeline.scenario import Mode, Scenario
from mpscope.core.pipeline.shared_fill import FILL_SHARED
from mpscope.core.words import counted

SHM_PATH: Final = "/dev/shm"
FLOAT32_BYTES: Final = 4

_FD_WORDS: Final = ("Too many open files", "received 0 items of ancdata")
_GONE_TYPES: Final = (FileNotFoundError, ConnectionRefusedError, ConnectionResetError, EOFError)
_REBUILD_FILES: Final = (
    "torch/multiprocessing/reductions.py",
    "multiprocessing/resource_sharer.py",
)

FD_NOTE: Final = (
    "out of file descriptors: under --sharing file_descriptor each tensor in flight keeps a "
    "file open; --sharing file_system passes names (or raise ulimit -n)"
)
PRODUCER_GONE: Final = (
    "a tensor's producer could not hand over its storage: under --sharing file_descriptor "
    "the consumer fetches each tensor's storage from the process that sent it, which must "
    "still be alive and able to open one more file (it exited, or ran out of file "
    "descriptors); --sharing file_system passes names instead"
)
PRODUCER_EXITED: Final = (
    "a tensor's producer exited before its tensor was read, and its shared memory went with "
    "it: a producer must keep what it sent alive until the consumer has it"
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _words(exc: BaseException) -> str:
    """``str(exc)``, or "" for an exception whose ``__str__`` raises."""
    try:
        return str(exc)
    except Exception:
        return ""


def out_of_fds(exc: BaseException) -> bool:
    """True if ``exc`` (or what it came from) says the process ran out of file descriptors."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.EMFILE, errno.ENFILE):
            return True
        if any(words in _words(e) for words in _FD_WORDS):
            return True
    return False


def producer_gone(exc: BaseException) -> bool:
    """True if ``exc`` is a tensor's rebuild failing because its producer has gone."""
    for e in _chain(exc):
        if isinstance(e, _GONE_TYPES):
            files = [frame.filename for frame in traceback.extract_tb(e.__traceback__)]
            if any(f.endswith(tail) for f in files for tail in _REBUILD_FILES):
                return True
    return False


def explain(exc: BaseException, sharing: str) -> str:
    """What a known pitfall behind ``exc`` means, in a sentence; "" when none fits (or when
    ``exc`` is too broken to read: this never raises)."""
    try:
        if out_of_fds(exc):
            return FD_NOTE if sharing == "file_descriptor" else "out of file descriptors"
        if producer_gone(exc):
            return PRODUCER_GONE if sharing == "file_descriptor" else PRODUCER_EXITED
    except Exception:  # a hostile exception (its traceback, its cause) explains nothing
        return ""
    return ""


def shm_free_bytes(path: str = SHM_PATH) -> int | None:
    """Bytes free in ``path`` (the shared memory tensors live in); None if it cannot be read.
    Tests replace this function to play a small /dev/shm."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def tensors_in_flight(scenario: Scenario) -> int:
    """How many results at least sit in shared memory at once: in Task 3 each worker's
    latest, plus the one the collector holds; in Task 2 every result, since nobody collects
    until every worker has finished."""
    if scenario.mode == Mode.COLLECT_AFTER:
        return scenario.task_total
    return min(scenario.task_total, scenario.workers + 1)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.0f} {unit}"
    return f"{n} B"


def shm_needed(scenario: Scenario) -> tuple[int, str] | None:
    """The least shared memory a run keeps at once, and what it is, in words; None for a run
    that keeps no tensors there."""
    each = scenario.tensor_size * FLOAT32_BYTES
    if scenario.mode == Mode.PRINT:
        return None
    if scenario.function == "tensor":
        in_flight = tensors_in_flight(scenario)
        return in_flight * each, f"{counted(in_flight, 'result')} × {_size(each)}"
    if scenario.function == FILL_SHARED:
        return scenario.task_total * each, f"one tensor of {counted(scenario.task_total, 'slice')}"
    return None


def shm_warning(scenario: Scenario) -> str | None:
    """A warning when the run's tensors need more shared memory than /dev/shm has free (a
    full /dev/shm shows as a bus error or a failed task); None when they fit."""
    need = shm_needed(scenario)
    if need is None:
        return None
    free = shm_free_bytes()
    needed, what = need
    if free is None or needed <= free:
        return None
    return (
        f"/dev/shm has {_size(free)} free, but this run keeps at least {_size(needed)} of "
        f"tensors in shared memory at once ({what}): tasks may fail or crash with a bus error; "
        "use a smaller --tensor-size or fewer tasks, or give the container more (docker run "
        "--shm-size=1g; Docker's default is 64 MB)"
    )
