"""Task functions: the seed's ``square`` and user functions named ``module:function``.

Workers receive the function's *name*, not the function, and resolve it themselves, so a
function from ``path/to/file.py`` works in spawned processes too. :func:`check_task_function`
resolves the name in the main process first, so a bad name fails before any process starts.
"""

from __future__ import annotations

import functools
import pickle
import random
import time
from collections.abc import Callable
from typing import Any, Final

from mpscope.core.loading import SpecError, exception_line, load_callable
from mpscope.core.pipeline.shared_fill import FILL_SHARED

TaskFunction = Callable[[Any], Any]


class InjectedFailure(RuntimeError):
    """Raised inside a task the user marked to fail, to show how failures travel."""


def square(x: Any) -> Any:
    """The seed's computation: ``x ** 2``, element-wise for a batch."""
    if isinstance(x, list):
        return [v**2 for v in x]
    return x**2


#: Bytes of padding on each result of :func:`big_square`: far more than a pipe buffers (64 KB).
BIG_RESULT_BYTES = 256 * 1024


class BigResult:
    """A result with ballast: its value, and padding that makes it too big for a pipe."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.padding = bytes(BIG_RESULT_BYTES)

    def __repr__(self) -> str:
        return f"{self.value!r} (+{BIG_RESULT_BYTES // 1024} KB)"


def big_square(x: Any) -> BigResult:
    """The seed's square with 256 KB of ballast on every result.

    A process that put such a result on a queue cannot exit until somebody reads it: its
    queue's feeder thread is still writing into the full pipe. In Task 2 the workers then sit
    between the end of their loop and their exit until the main process drains the queue, which
    is exactly where the seed's ``join()`` before draining would wait for ever."""
    return BigResult(square(x))


def tensor_result(x: Any, size: int = 1000, device: str = "cpu") -> Any:
    """The seed's claim as a task: a float32 tensor of ``size`` elements, all ``x`` squared.

    torch.multiprocessing sends it through the result queue as a small handle to its shared
    storage, not as its bytes (see :mod:`mpscope.core.engine.tensors`)."""
    import torch

    value = float(sum(v * v for v in x)) if isinstance(x, list) else float(x * x)
    return torch.full((size,), value, dtype=torch.float32, device=device)


BUILTIN_FUNCTIONS: dict[str, TaskFunction] = {
    "square": square,
    "big": big_square,
    "tensor": tensor_result,
}


#: What each task returns, in words, for the functions ``T`` cycles through in the app.
FUNCTION_WORDS: Final = {
    "square": "the seed's square (an int)",
    "tensor": "a tensor (shared memory: a handle crosses, not the data)",
    FILL_SHARED: "nothing: it fills its slice of one shared tensor in place",
}


def next_function(current: str, first: str) -> str:
    """The task function after ``current`` in the app's cycle: the run's own function
    ``first`` (the seed's square, or the user's), tensor results, one shared tensor."""
    own = first if first not in ("tensor", FILL_SHARED) else "square"
    cycle = [own, "tensor", FILL_SHARED]
    return cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else own


def resolve_task_function(spec: str, tensor_size: int = 1000, device: str = "cpu") -> TaskFunction:
    """The callable for ``spec`` (a built-in name or a ``module:function`` spec)."""
    if spec == "tensor":
        return functools.partial(tensor_result, size=tensor_size, device=device)
    if spec in BUILTIN_FUNCTIONS:
        return BUILTIN_FUNCTIONS[spec]
    return load_callable(spec)


def load_result_types(spec: str) -> None:
    """Load the user's module behind ``spec`` in a collector, as the workers load it, so the
    types its results are made of unpickle there too (nothing to load for a built-in)."""
    if spec == FILL_SHARED or spec in BUILTIN_FUNCTIONS:
        return
    load_callable(spec)


def check_task_function(spec: str) -> None:
    """Raise :class:`SpecError` if ``spec`` cannot serve as a task function in a worker."""
    if spec == FILL_SHARED:  # the worker fills the shared tensor itself (see shared_fill)
        return
    function = resolve_task_function(spec)
    if spec in BUILTIN_FUNCTIONS:
        return
    try:
        pickle.dumps(function)
    except BaseException as exc:  # a __reduce__ is user code: it may raise anything
        raise SpecError(
            f"task function {spec} is not picklable, so no worker process could receive it "
            f"({exception_line(exc)}); define it with def at module level"
        ) from None


def simulated_seconds(base: float, jitter: float, seed: int, task: int, scale: float) -> float:
    """The seeded, per-task simulated work time: ``base`` ± ``jitter`` share, times ``scale``."""
    if base <= 0:
        return 0.0
    spread = random.Random(seed * 1_000_003 + task).uniform(-jitter, jitter) if jitter else 0.0
    return max(0.0, base * (1.0 + spread) * scale)


def run_task(
    function: TaskFunction,
    payload: Any,
    seconds: float,
    fail: bool,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Run one task the way a worker does: simulated work (``sleep``), then the function."""
    if seconds > 0:
        sleep(seconds)
    if fail:
        raise InjectedFailure(f"task {payload!r} was marked to fail")
    return function(payload)
