"""Rich renderables for the generator stepper panel: badge, source, outcome, locals, history.

Plain functions from stepper values to Rich objects, so the panel's widgets stay thin and the
look can be tested without an app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.console import Group, RenderableType
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Span, Text

from mpscope.core.stepper.result import GenState, LocalVar, Outcome, StepResult
from mpscope.core.stepper.source import SourceText

__all__ = [
    "STATE_STYLES",
    "render_badge",
    "render_history",
    "render_locals",
    "render_outcome",
    "render_source",
]

STATE_STYLES: Mapping[GenState, str] = {
    GenState.CREATED: "bold black on #5fafff",
    GenState.RUNNING: "bold black on #ff87d7",
    GenState.SUSPENDED: "bold black on #ffd75f",
    GenState.CLOSED: "bold white on #585858",
    GenState.ABANDONED: "bold white on #d70000",
}
"""The badge colours of each state."""

_OUTCOME_STYLES: Mapping[Outcome, str] = {
    Outcome.YIELDED: "green",
    Outcome.RETURNED: "cyan",
    Outcome.EXHAUSTED: "yellow",
    Outcome.RAISED: "red",
    Outcome.CLOSED: "bright_black",
    Outcome.CREATED: "blue",
    Outcome.ABANDONED: "red",
    Outcome.REFUSED: "yellow",
}

_CURRENT_LINE = "on #3a3a1c"
_RUNNING_LINE = "on #4a1c40"
_GENEXPR_ITERATOR = ".0"


def render_badge(state: GenState, label: str, line: int | None) -> Text:
    """`` SUSPENDED  line 26  squares_gen(5)`` for the status row."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {state.value.upper()} ", STATE_STYLES[state])
    if state is GenState.RUNNING and line is not None:
        text.append(f" at line {line}", "bold")
    elif line is not None:
        text.append(f" line {line}", "bold")
    elif state is GenState.CREATED:
        text.append(" not started", "dim")
    text.append("  ")
    text.append(label)
    return text


def _highlight(code: str) -> Text:
    """Python syntax colours without the theme's background, so the panel's shows through."""
    text = Syntax("", "python", theme="monokai").highlight(code)
    text.style = ""
    text.spans = [Span(span.start, span.end, _foreground(span.style)) for span in text.spans]
    return text


def _foreground(style: str | Style) -> Style:
    parsed = Style.parse(style) if isinstance(style, str) else style
    return Style(color=parsed.color, bold=parsed.bold, italic=parsed.italic)


def render_source(source: SourceText | None, line: int | None, state: GenState) -> RenderableType:
    """The source with line numbers, the suspended line marked and highlighted."""
    if source is None:
        return Text("(source not available: defined in a REPL, -c, or C code)", "dim italic")
    highlighted = _highlight(source.text).split("\n", allow_blank=True)
    dim = state in (GenState.CLOSED, GenState.ABANDONED)
    table = Table.grid(expand=True, padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True, justify="right")
    table.add_column(overflow="fold", ratio=1)  # a long line wraps under itself, never cut
    width = len(str(source.last_lineno))
    for number, code in enumerate(highlighted[: len(source.lines)], source.first_lineno):
        current = number == line
        gutter = Text(no_wrap=True)
        gutter.append("▶ " if current else "  ", "bold red" if current else "")
        gutter.append(f"{number:>{width}}", "bold yellow" if current else "bright_black")
        if dim:
            code = Text(code.plain, "bright_black")
        row_style = _RUNNING_LINE if state is GenState.RUNNING else _CURRENT_LINE
        table.add_row(gutter, code, style=row_style if current else None)
    return table


def render_outcome(last: StepResult | None, last_output: StepResult | None) -> RenderableType:
    """What the last call did, and the value that came out last."""
    if last is None:
        return Text("Nothing called yet: press n for next().", "dim")
    line = Text(no_wrap=False)
    line.append(f"#{last.index} ", "bright_black")
    line.append(last.summary, _OUTCOME_STYLES[last.outcome])
    if last.outcome is Outcome.RAISED and last.error_line is not None:
        line.append(f" (line {last.error_line})", "bright_black")
    parts: list[RenderableType] = [line]
    if last_output is not None and last_output is not last:
        returned = last_output.outcome is Outcome.RETURNED
        value = Text("it returned " if returned else "last value out: ", "bright_black")
        value.append(last_output.value_repr or "", "bold")
        value.append(
            f" (call #{last_output.index}, in StopIteration.value)"
            if returned
            else f" (call #{last_output.index})",
            "bright_black",
        )
        parts.append(value)
    return Group(*parts)


def render_locals(
    local_vars: Iterable[LocalVar], state: GenState, previous: Mapping[str, str]
) -> RenderableType:
    """``name  value`` rows; values that changed since the previous step are bold."""
    rows = list(local_vars)
    if not rows:
        empty = {
            GenState.CLOSED: "(none: the frame is gone once the generator is closed)",
            GenState.ABANDONED: "(none: the generator was abandoned)",
            GenState.RUNNING: "(running…)",
        }.get(state, "(no locals yet)")
        return Text(empty, "dim italic")
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, style="cyan")
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    for var in rows:
        changed = previous.get(var.name) != var.value_repr
        value = Text(var.value_repr, "bold yellow" if changed and previous else "")
        if var.name == _GENEXPR_ITERATOR:
            value.append("  ← the iterator it consumes", "bright_black")
        table.add_row(var.name, value)
    return table


def render_history(history: Iterable[StepResult]) -> RenderableType:
    """One row per call, oldest first; a long value wraps under itself (the batches the seed
    prints stay whole on a narrow terminal)."""
    rows = list(history)
    if not rows:
        return Text("(no calls yet)", "dim italic")
    table = Table.grid(expand=True)
    table.add_column(no_wrap=True, style="bright_black", width=4)
    table.add_column(overflow="fold", ratio=1)
    for result in rows:
        table.add_row(f"#{result.index:<3}", Text(result.summary, _OUTCOME_STYLES[result.outcome]))
    return table
