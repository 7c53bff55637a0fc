"""``t``: Task 2 against Task 3, the seed's own conclusion, inside the app.

The app keeps the last finished run of each of the two modes; this screen draws both on one
time axis from 0 (each run's work start), so that they compare by length, each with its work,
compute and collect times: Task 2's ``work ≈ compute + collect`` (the seed's
``总耗时 = 计算时间 + 收集时间``) against Task 3's ``work ≈ max(compute, collect)``. A mode not
run yet is named, with the key that runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer

from mpscope.core.pipeline.comparison import run_times, work_start
from mpscope.core.pipeline.scenario import MODE_TITLES, Mode
from mpscope.core.pipeline.state import RunState
from mpscope.tui.screens.modal import ClosableModal
from mpscope.tui.views.renderables import axis_line, timeline_row

__all__ = ["COMPARED", "CompareScreen", "comparison"]

#: The modes compared, in the seed's order, with the key that runs each.
COMPARED: tuple[tuple[Mode, str], ...] = ((Mode.COLLECT_AFTER, "2"), (Mode.PIPELINE, "3"))


def comparison(runs: Mapping[str, RunState], width: int) -> RenderableType:
    """Both runs' timelines over one axis from 0, ``width`` cells wide in all."""
    shown = [(mode, runs[mode]) for mode, _key in COMPARED if mode in runs]
    titles = [lane.title for _mode, state in shown for lane in state.process_lanes()]
    title_width = max([len(t) for t in titles] + [12]) + 2
    columns = max(10, width - title_width)
    span = max([1, *(state.now - work_start(state) for _mode, state in shown)])
    parts: list[RenderableType] = [
        Text.assemble(
            ("Task 2 vs Task 3", "bold"),
            ": the same tasks, one time axis from 0 (each run's first worker ready)",
        ),
        Text(""),
    ]
    for mode, key in COMPARED:
        state = runs.get(mode)
        title = Text(MODE_TITLES[mode], style="bold")
        if state is None:
            parts += [title, Text(f"  not run yet: press {key}, and t again after it", "dim")]
            parts.append(Text(""))
            continue
        times = run_times(state)
        if (sc := state.scenario) is not None:  # the times are scaled by the run's speed
            title.append(
                f"  · {sc.workers} workers · {sc.count} tasks · work {sc.work_time:g}s · "
                f"collect {sc.collect_time:g}s · ×{1 / sc.time_scale:g}",
                style="dim",
            )
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 0))
        table.add_column("lane", width=title_width, no_wrap=True)
        table.add_column("timeline", no_wrap=True)
        t0 = work_start(state)
        for lane in state.process_lanes():
            row = timeline_row(list(lane.bars), t0, span, columns, lane.lived_until(state.now))
            table.add_row(Text(lane.title, style="bold"), row)
        formula = Text("  " + times.formula, style="bold cyan")
        formula.append(f"   the seed: {times.seed_formula}", style="cyan")
        parts += [title, table, formula, Text("")]
    axis = Text(" " * title_width).append_text(axis_line(span, columns))
    parts.append(axis)
    if len(shown) == len(COMPARED):
        task2, task3 = (run_times(state) for _mode, state in shown)
        if task3.work_s > 0:
            parts.append(
                Text(
                    f"Task 3 did the same work in {task3.work_s:.2f}s against Task 2's "
                    f"{task2.work_s:.2f}s: ×{task2.work_s / task3.work_s:.2f} as fast, "
                    "because it collects while the workers compute.",
                    style="bold",
                )
            )
    return Group(*parts)


class _Comparison(Widget):
    """The comparison, laid out for the widget's width."""

    DEFAULT_CSS = "_Comparison { height: auto; }"

    def __init__(self, runs: Mapping[str, RunState]) -> None:
        super().__init__()
        self._runs = runs

    def render(self) -> RenderableType:
        return comparison(self._runs, self.content_region.width or 80)


class CompareScreen(ClosableModal[None]):
    """Task 2 and Task 3 side by side; Escape, q or t closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,t", "close", "Close")]
    DEFAULT_CSS = """
    CompareScreen { align: center middle; }
    CompareScreen > VerticalScroll { width: 100%; max-width: 130; height: auto;
        max-height: 100%; border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, runs: Mapping[str, RunState]) -> None:
        super().__init__()
        self.runs = dict(runs)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Task 2 vs Task 3"
            scroll.border_subtitle = "Esc closes · ctrl+s saves a screenshot"
            yield _Comparison(self.runs)
        yield Footer()
