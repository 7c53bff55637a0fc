"""The seed's sample generators, as a registry of named examples ready to step.

The generators are the seed's own code, kept verbatim in :mod:`.seed_generators` so that
the stepper shows learners exactly what they read. Each :class:`Example` says how to build
its generator with the seed's arguments, what to send it, and what the seed printed — the
stepper must reproduce those outputs.

``read_large_file`` needs a file: :func:`sample_file` writes a small one into a temporary folder
the first time it is asked for, and removes the folder when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpscope.core.stepper import seed_generators

__all__ = [
    "EXAMPLES",
    "Example",
    "batch_generator",
    "example_named",
    "read_large_file",
    "running_average",
    "sample_file",
    "squares_gen",
    "squares_list",
]


# -- typed names for the seed's code -------------------------------------------------------

GenFunction = Callable[..., Generator[Any, Any, Any]]

squares_list: Callable[[int], list[int]] = seed_generators.squares_list
squares_gen: GenFunction = seed_generators.squares_gen
read_large_file: GenFunction = seed_generators.read_large_file
batch_generator: GenFunction = seed_generators.batch_generator
running_average: GenFunction = seed_generators.running_average
squares_genexpr: Callable[[], Generator[Any, Any, Any]] = seed_generators.squares_genexpr
data_stream: Callable[[], Generator[int, None, None]] = seed_generators.data_stream

SAMPLE_LINES = (
    "  epoch 1: loss=0.912  ",
    "  epoch 2: loss=0.538",
    "epoch 3: loss=0.377   ",
    "\tepoch 4: loss=0.301",
    "epoch 5: loss=0.266",
)
"""What the sample file holds: padded lines, so that ``line.strip()`` has something to do."""

_sample_lock = threading.Lock()
_sample_path: Path | None = None


def sample_file() -> Path:
    """The sample file for ``read_large_file``, written to a temporary folder on first use."""
    global _sample_path
    with _sample_lock:
        if _sample_path is None or not _sample_path.is_file():
            folder = Path(tempfile.mkdtemp(prefix="mpscope-gen-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "large_file.txt"
            path.write_text("\n".join(SAMPLE_LINES) + "\n", encoding="utf-8")
            _sample_path = path
        return _sample_path


# -- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Example:
    """One of the seed's generators, with how to call it and what the seed says it does."""

    name: str
    """The name used on the command line: ``mpscope gen NAME``."""
    title: str
    """A short title for the picker."""
    description: str
    """What it teaches, in a sentence or two."""
    call_text: str
    """How the default generator is made, as Python."""
    function: Callable[..., Generator[Any, Any, Any]] | None
    """The seed's generator function, called with user arguments; None for the expression."""
    default_args: Callable[[], tuple[Any, ...]] = tuple
    """Fresh default arguments for ``function`` (called anew for each generator)."""
    expression: Callable[[], Generator[Any, Any, Any]] | None = None
    """For the generator expression: a factory that evaluates it."""
    send_values: tuple[Any, ...] = ()
    """Values worth sending, in order (empty: just use next)."""
    seed_output: tuple[str, ...] = field(default=())
    """What the seed printed for this example."""
    expected: tuple[Any, ...] = ()
    """The values the stepper must produce, in order, following ``send_values`` if any."""

    def factory(
        self, args: tuple[Any, ...] | None = None, kwargs: dict[str, Any] | None = None
    ) -> Callable[[], Generator[Any, Any, Any]]:
        """A zero-argument factory: the seed's call, or the function with the given arguments."""
        if self.function is None:
            if args or kwargs:
                raise TypeError(f"{self.name} is an expression and takes no arguments")
            assert self.expression is not None
            return self.expression
        function = self.function
        if args is None and kwargs is None:
            defaults = self.default_args
            return lambda: function(*defaults())
        given_args, given_kwargs = args or (), kwargs or {}
        return lambda: function(*given_args, **given_kwargs)


EXAMPLES: tuple[Example, ...] = (
    Example(
        name="squares_gen",
        title="squares_gen(5)",
        description="Lazily yields i**2: one value per next(), nothing computed ahead.",
        call_text="squares_gen(5)",
        function=squares_gen,
        default_args=lambda: (5,),
        seed_output=("[0, 1, 4, 9, 16]",),
        expected=(0, 1, 4, 9, 16),
    ),
    Example(
        name="genexpr",
        title="(x**2 for x in range(5))",
        description="A generator expression: a generator without a def. Its one local '.0' is "
        "the iterator over range(5).",
        call_text="(x**2 for x in range(5))",
        function=None,
        expression=squares_genexpr,
        seed_output=("逐个生成: [0, 1, 4, 9, 16]",),
        expected=(0, 1, 4, 9, 16),
    ),
    Example(
        name="read_large_file",
        title="read_large_file(path)",
        description="Reads a file one line at a time; the file stays open while the generator "
        "is suspended inside 'with', and close() closes it.",
        call_text="read_large_file(sample_file())",
        function=read_large_file,
        default_args=lambda: (str(sample_file()),),
        expected=tuple(line.strip() for line in SAMPLE_LINES),
    ),
    Example(
        name="batch_generator",
        title="batch_generator(25 items, 8)",
        description="Groups a stream into lists of 8, like a DataLoader; the last batch is short.",
        call_text="batch_generator((x for x in range(25)), batch_size=8)",
        function=batch_generator,
        default_args=lambda: (data_stream(), 8),
        seed_output=(
            "处理批次: [0, 1, 2, 3, 4, 5, 6, 7]",
            "处理批次: [8, 9, 10, 11, 12, 13, 14, 15]",
            "处理批次: [16, 17, 18, 19, 20, 21, 22, 23]",
            "处理批次: [24]",
        ),
        expected=(
            list(range(0, 8)),
            list(range(8, 16)),
            list(range(16, 24)),
            [24],
        ),
    ),
    Example(
        name="running_average",
        title="running_average()",
        description="Two-way: prime it with next(), then send(x) returns the average so far.",
        call_text="running_average()",
        function=running_average,
        send_values=(10, 20, 30),
        seed_output=("输入 10: 10.0", "输入 20: 15.0", "输入 30: 20.0"),
        expected=(10.0, 15.0, 20.0),
    ),
)
"""The seed's examples, in the seed's order."""


def example_named(name: str) -> Example | None:
    """The example called ``name``, or None."""
    for example in EXAMPLES:
        if example.name == name:
            return example
    return None
