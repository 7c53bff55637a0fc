"""The memory lesson screen: a list of n squares against a generator, getsizeof vs tracemalloc."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from mpscope.core.stepper.memory_lesson import DEFAULT_N, MAX_N, MemoryFigures, format_kb, measure
from mpscope.core.stepper.spec import LiteralError, parse_literal
from mpscope.tui.screens.modal import ClosableModal

__all__ = ["MemoryLessonScreen", "render_figures"]

_CODE = """\
squares_list(n)  →  [i**2 for i in range(n)]      # all n values at once
squares_gen(n)   →  for i in range(n): yield i**2  # one at a time"""


def render_figures(figures: MemoryFigures) -> RenderableType:
    """The two-by-two table, the seed's own two lines, and why the figures differ."""
    table = Table(box=None, padding=(0, 2), expand=False, header_style="bold")
    table.add_column(f"n = {figures.n:,}")
    table.add_column("list", justify="right")
    table.add_column("generator", justify="right")
    table.add_row(
        "sys.getsizeof (the seed)",
        format_kb(figures.list_getsizeof),
        format_kb(figures.gen_getsizeof),
    )
    table.add_row(
        "tracemalloc peak (honest)",
        Text(format_kb(figures.list_peak), "bold yellow"),
        Text(format_kb(figures.gen_peak), "bold green"),
    )
    seed = Text("seed prints: ", "bright_black")
    seed.append(f"列表占用: {format_kb(figures.list_getsizeof)}   ")
    seed.append(f"生成器占用: {format_kb(figures.gen_getsizeof)}")
    why = Text.assemble(("Why they differ: ", "bold"), figures.explanation)
    return Group(table, Text(""), seed, why)


class MemoryLessonScreen(ClosableModal[None]):
    """Measure squares_list(n) against squares_gen(n); Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    MemoryLessonScreen {
        align: center middle;
        background: $background 60%;
    }
    MemoryLessonScreen > #memory-box {
        width: 84;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $accent 80%;
        background: $surface;
        padding: 0 1;
    }
    MemoryLessonScreen #memory-code { color: $text-muted; margin-bottom: 1; }
    MemoryLessonScreen #memory-row { height: 1; margin-bottom: 1; }
    MemoryLessonScreen #memory-row Label { width: auto; padding-right: 1; }
    MemoryLessonScreen #memory-n { width: 16; }
    MemoryLessonScreen #memory-row Button { margin-left: 1; }
    MemoryLessonScreen #memory-error { color: $error; height: auto; }
    MemoryLessonScreen #memory-result { height: auto; }
    """

    def __init__(
        self,
        n: int = DEFAULT_N,
        *,
        measure_fn: Callable[[int], MemoryFigures] = measure,
        auto: bool = True,
    ) -> None:
        """``measure_fn`` does the measuring (tests pass a fake); ``auto`` measures on open."""
        super().__init__()
        self._n = n
        self._measure = measure_fn
        self._auto = auto
        self.figures: MemoryFigures | None = None
        """The figures shown, once measured."""

    def compose(self) -> ComposeResult:
        with Vertical(id="memory-box") as box:
            box.border_title = "Memory: list vs generator"
            box.border_subtitle = "Esc closes"
            yield Static(_CODE, id="memory-code")
            with Horizontal(id="memory-row"):
                yield Label("n =")
                yield Input(f"{self._n:_}", compact=True, id="memory-n")
                yield Button("Measure", compact=True, variant="primary", id="memory-go")
            yield Static(id="memory-error")
            yield Static(id="memory-result")
        yield Footer()  # this screen's keys, not those of the screen beneath

    def on_mount(self) -> None:
        if self._auto:
            self.start_measure(self._n)
        else:
            self.query_one("#memory-n", Input).focus()

    @on(Button.Pressed, "#memory-go")
    @on(Input.Submitted, "#memory-n")
    def _measure_typed(self) -> None:
        error = self.query_one("#memory-error", Static)
        text = self.query_one("#memory-n", Input).value
        try:
            n = parse_literal(text)
        except LiteralError as exc:
            error.update(f"n: {exc}")
            return
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_N:
            error.update(f"n must be a whole number from 0 to {MAX_N:_}")
            return
        error.update("")
        self.start_measure(n)

    def start_measure(self, n: int) -> None:
        """Show that measuring started, then measure after the screen has been painted.

        tracemalloc counts the whole process's allocations, so the measurement runs on the UI
        thread while nothing else happens; for n = 1,000,000 the app pauses about a second.
        """
        self._n = n
        self.query_one("#memory-result", Static).update(
            Text(f"measuring n = {n:,} with tracemalloc… (the app pauses while it counts)", "dim")
        )
        self.set_timer(0.05, lambda: self._measure_now(n))

    def _measure_now(self, n: int) -> None:
        self.figures = self._measure(n)
        self.query_one("#memory-result", Static).update(render_figures(self.figures))
