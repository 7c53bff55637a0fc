"""``b``: the seed's claim about tensors, measured here and now — shared memory vs a copy.

The screen measures, on this machine while it is open, what :mod:`mpscope.core.engine.
tensor_bench` measures for ``python -m benchmarks.tensors`` (smaller, so that it takes seconds):
a fresh tensor through a torch.multiprocessing queue, a tensor already in shared memory, and
the same bytes pickled through a plain ``multiprocessing`` queue. Each cell fills in as soon as
its figure is measured; the bytes that crossed the queue are measured too, not estimated. ``r``
measures again; Esc closes (and stops what is still being measured).
"""

from __future__ import annotations

import threading
from typing import ClassVar, Final

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer

from mpscope.core.engine.tensor_bench import WAYS, Crossing, measure_each, size_text
from mpscope.tui.screens.modal import ClosableModal

__all__ = ["COUNT_FOR", "SIZES", "TensorBenchScreen", "bench_table"]

#: The sizes measured on the screen, and how many results of each (a few seconds in all).
SIZES: Final = (1 << 20, 16 << 20)
COUNT_FOR: Final = {1 << 20: 20, 16 << 20: 5}

_HEADINGS: Final = {
    "shared (fresh)": "fresh tensor\ntorch queue",
    "shared (already)": "already shared\n(share_memory_())",
    "copy": "pickled copy\nplain queue",
}


def bench_table(
    results: list[Crossing], sizes: tuple[int, ...], measuring: bool, error: str = ""
) -> RenderableType:
    """The comparison so far: a row per size, a cell per way (``measuring…`` for the one being
    measured, ``·`` for those not yet), the bytes each way put on the queue, and what it means
    once everything is in."""
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 2))
    table.add_column("tensor", justify="right")
    for way in WAYS:
        table.add_column(_HEADINGS[way], justify="right")
    table.add_column("copy ÷\nalready", justify="right")
    by_key = {(r.size, r.way): r for r in results}
    pending = [(size, way) for size in sizes for way in WAYS if (size, way) not in by_key]
    current = pending[0] if measuring and pending else None
    for size in sizes:
        cells: list[Text] = []
        for way in WAYS:
            result = by_key.get((size, way))
            if result is not None:
                cells.append(Text(f"{result.ms_per_result:.2f} ms"))
            elif (size, way) == current:
                cells.append(Text("measuring…", style="yellow"))
            else:
                cells.append(Text("·", style="dim"))
        copy, already = by_key.get((size, "copy")), by_key.get((size, "shared (already)"))
        ratio = (
            Text(f"×{copy.ms_per_result / already.ms_per_result:.0f}", style="bold green")
            if copy is not None and already is not None and already.ms_per_result > 0
            else Text("")
        )
        table.add_row(Text(size_text(size), style="bold"), *cells, ratio)
    crossed = [by_key.get((sizes[-1], way)) for way in WAYS]
    table.add_row(
        Text(f"crossed\n({size_text(sizes[-1])})", style="dim"),
        *[
            Text(size_text(r.crossed), style="cyan") if r else Text("·", style="dim")
            for r in crossed
        ],
        Text(""),
    )
    parts: list[RenderableType] = [
        Text.assemble(
            ("Tensors across processes: ", "bold"),
            "ms per result, one producer process to this one, measured now on this machine",
        ),
        Text(""),
        table,
        Text(""),
    ]
    if error:
        parts.append(Text(f"could not measure: {error}", style="bold red"))
    elif measuring:
        parts.append(Text("measuring… (a fresh process for each way; a few seconds)", "dim"))
    elif not pending:
        parts.append(_meaning(by_key, sizes[-1]))
    else:
        parts.append(Text("stopped before the end: press r to measure again", "dim"))
    return Group(*parts)


def _meaning(by_key: dict[tuple[int, str], Crossing], big: int) -> Text:
    """What the figures say, in the seed's terms."""
    already, copy = by_key[(big, "shared (already)")], by_key[(big, "copy")]
    return Text.assemble(
        ("torch pickles a handle, not the data: ", "bold"),
        f"a {size_text(big)} tensor crossed as {size_text(already.crossed)}; ",
        f"already in shared memory it took {already.ms_per_result:.2f} ms, "
        f"copied byte by byte {copy.ms_per_result:.2f} ms. ",
        ("A fresh tensor ", "bold"),
        "pays once for being moved into shared memory on the way (torch does it in put()).",
    )


class _BenchView(Widget):
    """The table, redrawn as figures arrive."""

    DEFAULT_CSS = "_BenchView { height: auto; }"

    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.sizes = sizes
        self.results: list[Crossing] = []
        self.measuring = False
        self.error = ""

    def render(self) -> RenderableType:
        return bench_table(self.results, self.sizes, self.measuring, self.error)


class _Measured(Message):
    """One crossing measured (posted from the measuring thread)."""

    def __init__(self, result: Crossing) -> None:
        super().__init__()
        self.result = result


class _Finished(Message):
    """Every crossing measured, or ``error`` (posted from the measuring thread)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TensorBenchScreen(ClosableModal[None]):
    """Shared memory vs a copy, measured while it is open; ``r`` again, Esc, q or b closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,b", "close", "Close"),
        Binding("r", "measure", "Measure again"),
    ]
    DEFAULT_CSS = """
    TensorBenchScreen { align: center middle; }
    TensorBenchScreen > VerticalScroll { width: 100%; max-width: 110; height: auto;
        max-height: 100%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(
        self,
        sizes: tuple[int, ...] | None = None,
        count_for: dict[int, int] | None = None,
        shown: list[Crossing] | None = None,
    ) -> None:
        """Measure ``sizes`` (``count_for[size]`` results each; :data:`SIZES` and
        :data:`COUNT_FOR` by default) once open; with ``shown``, show those figures (measured
        earlier) and measure only when ``r`` asks."""
        super().__init__()
        self.view = _BenchView(SIZES if sizes is None else sizes)
        self._count_for = dict(COUNT_FOR if count_for is None else count_for)
        self._shown = shown
        self._stop = threading.Event()
        self.measurer: threading.Thread | None = None  # the thread measuring, once started

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Tensors: shared memory vs a copy"
            scroll.border_subtitle = "r measures again · Esc closes · ctrl+s saves a screenshot"
            yield self.view
        yield Footer()

    def on_mount(self) -> None:
        if self._shown is None:
            self.action_measure()
        else:
            self.view.results = list(self._shown)

    def action_measure(self) -> None:
        """Measure every way again (nothing, while a measurement is going)."""
        if self.view.measuring:
            return
        self.view.results, self.view.error, self.view.measuring = [], "", True
        self.view.refresh(layout=True)
        self._measure()

    def _measure(self) -> None:
        # a daemon thread of its own, which hands results over without waiting for the app:
        # a Textual thread worker (the loop's executor, which the interpreter joins at exit)
        # waiting in call_from_thread on an app that was closing kept a test run from exiting
        self.measurer = threading.Thread(target=self._measure_all, name="tensor-bench", daemon=True)
        self.measurer.start()

    def _measure_all(self) -> None:
        error = ""
        try:
            for result in measure_each(self.view.sizes, self._count_for, self._stop):
                self.post_message(_Measured(result))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        if not self._stop.is_set():
            self.post_message(_Finished(error))

    @on(_Measured)
    def _measured(self, message: _Measured) -> None:
        self._add(message.result)

    @on(_Finished)
    def _finished(self, message: _Finished) -> None:
        self._finish(message.error)

    def _add(self, result: Crossing) -> None:
        self.view.results.append(result)
        self.view.refresh(layout=True)

    def _finish(self, error: str) -> None:
        self.view.measuring, self.view.error = False, error
        self.view.refresh(layout=True)

    def on_unmount(self) -> None:  # closed (Esc, q, b) or the app ending
        self._stop.set()  # the producer in flight ends within a moment; nothing more starts
