"""What the distributed screen draws: one lane per rank on a shared time line, the latest
steps across the world, and the run's verdicts (the straggler, checksums, dropped reports,
the error), from a :class:`.DistState` (Rich renderables; no Textual here).

The lanes show the last :data:`WINDOW_STEPS` steps: from the start of the oldest of them on any
rank to the latest report. Each cell is what the rank mostly did then: green ``█`` compute,
yellow ``░`` inside a collective (waiting, mostly, for the slowest rank), dim ``·`` between
steps. The straggler's lane is marked; a rank whose checksum disagrees is red.
"""

from __future__ import annotations

import io
from typing import Final

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from mpscope.core.distributed.state import DistState, Lane
from mpscope.core.distributed.summary import (
    BETWEEN,
    COLLECTIVE,
    COMPUTE,
    LEGEND,
    lane_cells,
    root_cause,
    step_complete,
    step_line,
)

WINDOW_STEPS: Final = 8
SHOWN_STEPS: Final = 6
CELL_STYLES: Final = {COMPUTE: "green", COLLECTIVE: "yellow", BETWEEN: "grey50"}
ERROR_LINES: Final = 14


def _window(state: DistState) -> tuple[int, int] | None:
    """The time the lanes show: the last few steps, up to the latest report."""
    numbers = sorted(state.by_step)[-WINDOW_STEPS:]
    if not numbers:
        return None
    steps = [s for number in numbers for _rank, s in state.by_step[number]]
    return min(s.begun for s in steps), max(s.ended for s in steps)


def _cells(lane: Lane, window: tuple[int, int] | None, width: int) -> Text:
    if window is None or not lane.steps:
        return Text("waiting for its first step…", style="grey50")
    text = Text()
    for cell in lane_cells(lane, window[0], window[1], width):
        text.append(cell, CELL_STYLES[cell])
    return text


def _title(state: DistState) -> Text:
    hosts = state.hosts()
    world = state.world_size or len(state.lanes)
    title = Text.assemble(("mpscope · distributed", "bold"), " · ")
    if state.launcher:
        title.append("torchrun, gloo · ")
    else:
        title.append(f"watching {state.address} · ", style="cyan")
    if not state.lanes:
        title.append("no rank yet")
    else:
        title.append(f"{len(state.lanes)} of {world or len(state.lanes)} ranks on ")
        title.append(f"{len(hosts)} host{'s' if len(hosts) != 1 else ''} ({', '.join(hosts)})")
    if state.torch_version:
        title.append(f" · torch {state.torch_version}", style="grey50")
    if state.settings is not None:
        done = min((len(lane.steps) for lane in state.lanes.values()), default=0)
        title.append(f" · step {done} of {state.settings.steps}")
    return title


def _lanes(state: DistState, width: int) -> Table:
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    table.add_column("rank", justify="right", style="bold")
    table.add_column("local", justify="right")
    table.add_column("pid", justify="right")
    table.add_column("host", max_width=14, no_wrap=True)
    cells = max(10, width - 66)
    table.add_column(f"the last {WINDOW_STEPS} steps", no_wrap=True, width=cells)
    table.add_column("step", justify="right")
    table.add_column("waiting", justify="right")
    table.add_column("checksum", no_wrap=True)
    window = _window(state)
    straggler = state.straggler()
    bad = set(state.disagreeing_steps())
    for rank in sorted(state.lanes):
        lane = state.lanes[rank]
        last = lane.steps[-1] if lane.steps else None
        mean = f"{lane.busy_ns / len(lane.steps) / 1e6:.1f} ms" if lane.steps else "-"
        checksum = Text(last.checksum if last and last.checksum else "-")
        if last is not None and last.step in bad:
            checksum = Text(f"{last.checksum} ✗ differs", style="bold red")
        elif last is not None and last.checksum and step_complete(state, last.step):
            checksum.append(" ✓", style="green")
        label = Text(str(rank))
        if rank == straggler:
            label = Text(f"◀ {rank}", style="bold yellow")
        if lane.left == "lost":
            checksum.append(" · gone", style="red")
        table.add_row(
            label,
            str(lane.local_rank),
            str(lane.pid),
            lane.host,
            _cells(lane, window, cells),
            mean,
            f"{lane.wait_fraction:.0%}",
            checksum,
        )
    return table


def _legend() -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    for word in LEGEND.split("  "):
        mark, _, what = word.partition(" ")
        parts += [(mark, CELL_STYLES[mark]), (f" {what}  ", "grey50")]
    return parts


def _steps(state: DistState, shown: int = SHOWN_STEPS) -> list[RenderableType]:
    everything = sorted(state.by_step)
    numbers: list[int] = []  # the latest complete steps, looked for from the end
    for step in reversed(everything):
        if len(numbers) >= shown:
            break
        if step in state.checksums and step_complete(state, step):  # a step that ended
            numbers.insert(0, step)
    if not numbers:  # none complete (a rank died first): the latest reported
        numbers = everything[-shown:] if shown > 0 else []
    lines: list[RenderableType] = []
    for step in numbers:
        line = step_line(state, step)
        lines.append(Text(line, style="red" if "DISAGREE" in line else ""))
    return lines


def _verdicts(state: DistState, error_lines: int = ERROR_LINES) -> list[RenderableType]:
    out: list[RenderableType] = []
    straggler = state.straggler()
    if straggler is not None:
        out.append(
            Text(
                f"◀ rank {straggler} is the straggler: every other rank waits for it inside "
                "the all-reduce",
                style="bold yellow",
            )
        )
    if any(lane.steps for lane in state.lanes.values()):
        out.append(Text(f"{state.wait_fraction:.0%} of all step time spent in collectives"))
    if state.dropped:
        counts = ", ".join(f"{n} {why}" for why, n in sorted(state.dropped.items()))
        out.append(Text(f"reports dropped: {counts} (last: {state.last_drop})", style="red"))
    if state.outcome:
        cause = root_cause(state.error)
        style = "bold red" if state.outcome == "error" else "bold green"
        out.append(Text(f"run {state.outcome}" + (f": {cause}" if cause else ""), style=style))
        if state.error and error_lines > 0:  # its end says most: the last lines, unwrapped
            for line in state.error.rstrip().splitlines()[-error_lines:]:
                out.append(Text(line, style="red", no_wrap=True, overflow="ellipsis"))
    return out


def dist_view(state: DistState, width: int, height: int = 40, hint: str = "") -> Group:
    """The whole screen's content for a terminal ``width`` by ``height``: on a short one
    fewer steps and error lines, so that the error's last line stays in sight."""
    title = _title(state)
    head = [title, *([Text(hint, style="cyan")] if hint else [])]
    used = len(title.wrap(_console(width), width)) + (hint.count("\n") + 1 if hint else 0)
    used += 1 + (len(state.lanes) + 1) + 1 + 1  # blank, lanes and header, legend, blank
    verdicts = _verdicts(state, error_lines=0)
    used += len(verdicts) + 2  # the footer, a spare line
    room = max(0, height - used)
    shown = min(SHOWN_STEPS, room // 3 if state.error else room - 2)
    steps = _steps(state, shown)
    room -= len(steps) + 2 if steps else 0
    parts: list[RenderableType] = [*head, Text("")]
    if state.lanes:
        parts += [_lanes(state, width), Text.assemble(" " * 31, *_legend()), Text("")]
    else:
        parts += [Text("waiting for the first rank to report…", style="grey50"), Text("")]
    if steps:
        parts += [Text("latest steps", style="bold"), *steps, Text("")]
    parts += _verdicts(state, error_lines=min(ERROR_LINES, max(3, room)))
    return Group(*parts)


def _console(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), color_system=None)
