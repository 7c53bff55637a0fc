"""Rich renderables of a run: the live overview, the summary table and the timeline (Gantt).

Plain objects built from :class:`RunState`; used by ``--plain`` output and inside
the Textual app (summary screen). No Textual import here.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mpscope.core.pipeline.comparison import work_start
from mpscope.core.pipeline.lanes import Bar, Lane, LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.summary import RunSummary, summarize
from mpscope.core.pipeline.tensor_summary import shared_read_lines, tensor_results_line

TASK_COLOURS = (
    "#4e9af1",
    "#f1a94e",
    "#5fd068",
    "#e15f8c",
    "#b38cf0",
    "#48c9c0",
    "#e8d25a",
    "#f07a5a",
    "#8fb3ff",
    "#9bd67e",
)

STATUS_STYLE = {
    LaneStatus.STARTING: "dim",
    LaneStatus.WAITING: "yellow",
    LaneStatus.IDLE: "cyan",
    LaneStatus.BUSY: "bold green",
    LaneStatus.EXITING: "magenta",
    LaneStatus.EXITED: "dim",
    LaneStatus.FINISHED: "dim",
    LaneStatus.KILLED: "bold red",
}

#: Failed and lost tasks the summary names one by one (the latest; the rest are counted).
SUMMARY_LISTED = 3


def task_colour(task: int) -> str:
    """The colour a task keeps everywhere it appears."""
    return TASK_COLOURS[task % len(TASK_COLOURS)]


def status_text(lane: Lane, now: int) -> Text:
    """``busy task 7 · 0.21s``, ``idle``, ``killed (SIGKILL)`` ... styled."""
    style = STATUS_STYLE.get(lane.status, "")
    if lane.status == LaneStatus.BUSY and lane.task is not None:
        seconds = max(0, now - lane.since) / 1e9
        text = Text(f"busy {lane.task_label} ", style=style)
        text.append(f"{seconds:.2f}s", style="dim")
        return text
    if lane.status == LaneStatus.KILLED:
        return Text(f"killed ({lane.signal})", style=style)
    if lane.status == LaneStatus.EXITED:
        return Text(f"exited ({lane.exitcode})", style=style)
    return Text(lane.status, style=style)


def live_view(state: RunState) -> RenderableType:
    """A compact table for ``--plain`` on a terminal: a row per process, queue depths."""
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("process")
    table.add_column("status")
    table.add_column("done", justify="right", no_wrap=True, min_width=4)
    table.add_column("failed", justify="right")
    table.add_column("last line" if state.mode == Mode.PRINT else "util", justify="left")
    lanes = state.process_lanes()
    for lane in lanes:
        extra = (
            lane.last_line if state.mode == Mode.PRINT else f"{lane.utilisation(state.now):4.0%}"
        )
        table.add_row(
            lane.title, status_text(lane, state.now), str(lane.done), str(lane.failed), extra
        )
    total = (
        f"of {state.total} tasks" if state.total is not None else f"of {state.queued}+ tasks so far"
    )
    queue_line = Text()
    queue_line.append(f"task queue {len(state.task_queue)}", style="bold")
    if state.feeder_blocked:
        queue_line.append(" (full: feeder waits)", style="yellow")
    queue_line.append(f"   result queue {len(state.result_queue)}", style="bold")
    queue_line.append(
        f"   done {state.done} failed {state.failed} lost {state.lost} {total}"
        f"   collected {state.collected}   {state.now / 1e9:.1f}s"
    )
    return Group(
        Text(state.scenario.describe() if state.scenario else "", style="bold"), table, queue_line
    )


def _column_bars(bars: list[Bar], t0: int, span: int, width: int) -> list[Bar | None]:
    """For each of ``width`` columns over [t0, t0+span), the bar covering most of it."""
    cells: list[Bar | None] = [None] * width
    cover = [0] * width
    for bar in bars:
        first = max(0, (bar.start - t0) * width // span)
        last = min(width - 1, max(first, (bar.end - 1 - t0) * width // span))
        for col in range(first, last + 1):
            lo = t0 + col * span // width
            hi = t0 + (col + 1) * span // width
            overlap = min(hi, bar.end) - max(lo, bar.start)
            # an instant (Task 2's collecting with --collect-time 0) still takes its column
            if overlap > cover[col] or (cells[col] is None and overlap >= 0):
                cover[col], cells[col] = overlap, bar
    for bar in bars:  # a worker's death always shows, however short the task it died in
        if bar.killed and t0 <= bar.end <= t0 + span:  # its last column, as drawn above
            last = max(bar.start - t0, bar.end - 1 - t0) * width // span
            cells[min(width - 1, last)] = bar
    return cells


def timeline_row(bars: list[Bar], t0: int, span: int, width: int, until: int | None = None) -> Text:
    """One lane of the Gantt: coloured blocks where it worked, dots where it idled; a task
    its worker died in is shaded and ends in a red ✖. Columns after time ``until`` (the run's
    present, or the process's end) stay blank."""
    text = Text()
    run_style, run_char, run_length = "", "", 0
    cells = _column_bars(bars, t0, span, width)
    if until is not None:
        cells = cells[: max(0, min(width, (until - t0) * width // span + 1))]
    for col, cell in enumerate(cells):  # one span per run of equal cells
        if cell is None:
            style, char = "grey35", "·"
        elif cell.killed:
            last = col + 1 == len(cells) or cells[col + 1] is not cell
            style, char = ("bold red", "✖") if last else (task_colour(cell.task), "▒")
        else:
            style, char = (task_colour(cell.task) if cell.ok else "bold red"), "█"
        if (style, char) != (run_style, run_char) and run_length:
            text.append(run_char * run_length, style=run_style)
            run_length = 0
        run_style, run_char = style, char
        run_length += 1
    if run_length:
        text.append(run_char * run_length, style=run_style)
    return text


def axis_line(span: int, width: int) -> Text:
    """The time axis under a timeline: from 0 (the work's start) to ``span``."""
    right = f"{span / 1e9:.2f}s"
    return Text("0s".ljust(max(0, width - len(right))) + right, style="dim")


def gantt(state: RunState, width: int = 60, seconds: float | None = None) -> RenderableType:
    """Per-process timeline of the run, on one shared time axis from 0, the work's start;
    ``seconds`` fixes the axis's length (at least the run's own), so that two runs drawn alike
    compare by length."""
    lanes = state.process_lanes()
    t0 = work_start(state)
    span = max(1, state.now - t0, int((seconds or 0) * 1e9))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("lane", no_wrap=True)
    table.add_column("timeline", no_wrap=True)
    for lane in lanes:
        row = timeline_row(list(lane.bars), t0, span, width, until=lane.lived_until(state.now))
        table.add_row(Text(lane.title, style="bold"), row)
    table.add_row(Text("0s: the work starts", style="dim"), axis_line(span, width))
    return table


def summary_table(summary: RunSummary, compact: bool = False) -> RenderableType:
    """Per-PID counts, busy time and utilisation (``compact``: no box, no title, and no
    "failed" column when nothing failed, and columns one space apart when two do not fit, so
    that it fits beside the generator stepper)."""
    if compact:
        return _Fitted(lambda tight: _summary_table(summary, True, tight))
    return _summary_table(summary, False, False)


class _Fitted:
    """A table drawn with its columns two spaces apart where that fits, else one."""

    def __init__(self, make: Callable[[bool], Table]) -> None:
        self._make = make

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = self._make(False)
        natural = Measurement.get(console, options.update_width(10_000), table).maximum
        if natural > options.max_width:
            table = self._make(True)
        yield table


def _summary_table(summary: RunSummary, compact: bool, tight: bool) -> Table:
    if compact:
        table = Table(
            box=None, expand=False, pad_edge=False, header_style="bold", collapse_padding=tight
        )
    else:
        table = Table(title=summary.title, title_style="bold", expand=False)
    show_failed = not compact or any(row.failed for row in summary.lanes)
    table.add_column("process", no_wrap=True)
    table.add_column("done", justify="right", no_wrap=True, min_width=4)
    if show_failed:
        table.add_column("failed", justify="right")
    table.add_column("busy", justify="right", no_wrap=True, min_width=5)
    table.add_column("util", justify="right", no_wrap=True, min_width=4)
    # beside the stepper a wrapped end reads "finished its / loop": cut it with … instead
    table.add_column("end", no_wrap=compact, overflow="ellipsis")
    for row in summary.lanes:
        cells = [row.title, str(row.done)]
        if show_failed:
            cells.append(str(row.failed))
        cells += [f"{row.busy_s:.2f}s", f"{row.utilisation:.0%}"]
        table.add_row(*cells, Text(row.end, no_wrap=compact, overflow="ellipsis"))
    return table


def summary_view(
    state: RunState,
    width: int = 60,
    timeline: bool = True,
    compact: bool = False,
    timeline_seconds: float | None = None,
) -> RenderableType:
    """The whole end-of-run summary: totals, table and (if asked) the timeline."""
    summary = summarize(state)
    style = {"completed": "bold green", "stopped": "bold yellow"}.get(summary.outcome, "bold red")
    totals = Text()
    totals.append(f"{summary.outcome}", style=style)
    if summary.message:
        totals.append(f": {summary.message}")
    totals.append(f"\n{summary.ledger_line}", style="green" if summary.balanced else "red")
    queues = (  # Task 1 has no queues: nothing is collected or re-queued
        f"collected {summary.collected}   re-queued {summary.requeued}   "
        if state.mode != Mode.PRINT
        else ""
    )
    # work: from the first task's start to the last one's end
    totals.append(f"\n{queues}wall {summary.wall_s:.2f}s   work {summary.work_s:.2f}s")
    tensors = tensor_results_line(state)
    if tensors is not None:
        totals.append(f"\n{tensors}")
    for line in shared_read_lines(state):
        totals.append(f"\n{line}", style="red" if line.endswith("✗") else "")
    parts: list[RenderableType] = [summary_table(summary, compact), totals]
    if compact:
        parts.reverse()
    elif (strip := tensor_strip_view(state, width)) is not None:
        parts.append(strip)
    if timeline:
        parts += [Text("timeline", style="bold"), gantt(state, width, timeline_seconds)]
    collector = state.collector_failure
    if collector is not None:  # the run's failure, before the tasks'
        said = f": {collector.explanation}" if collector.explanation else ""
        parts.append(Text(f"{collector.who} failed: {collector.error}{said}", style="bold red"))
    failed = [f"failed task {f.label}: {f.error}" for f in state.failures]
    lost = [f"lost task {label}: {reason}" for _task, label, reason in state.lost_tasks]
    for what, count, lines in (("failed", state.failed, failed), ("lost", state.lost, lost)):
        # the latest; the others are counted (a line saying "1 more" would hide just one line)
        listed = SUMMARY_LISTED + 1 if count == SUMMARY_LISTED + 1 else SUMMARY_LISTED
        named = lines[-listed:]
        if count > len(named):
            parts.append(Text(f"… {count - len(named)} more {what} before these", style="red"))
        parts.extend(Text(line, style="red") for line in named)
    return Group(*parts)


def tensor_strip_view(state: RunState, width: int) -> RenderableType | None:
    """The shared tensor's strip (imported late: :mod:`.tensor_strip` uses this module's
    neighbours only, and most runs have none)."""
    from mpscope.tui.views.tensor_strip import tensor_strip_view as view

    return view(state, width)
