"""The shared tensor of a ``--function fill-shared`` run as a strip: one cell per slice,
coloured by the PID that wrote it, with a legend of each PID's slices. Rich only (used by
``--plain`` and by the app's :class:`~mpscope.tui.widgets.tensor_strip.TensorStrip`)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.tensor_summary import SliceWriters, slice_writers
from mpscope.core.pipeline.values import size_text
from mpscope.core.words import counted

#: One colour per worker (by worker number), unlike the tasks' colours, so that a strip of
#: slices reads as "who wrote it".
WRITER_COLOURS = ("#e8d25a", "#48c9c0", "#e15f8c", "#8fb3ff", "#f07a5a", "#9bd67e", "#b38cf0")
UNWRITTEN_STYLE = "grey35"
#: Slices a legend line names one by one before it counts the rest.
NAMED_SLICES = 8


def writer_colour(worker: int) -> str:
    """The colour of a worker's slices."""
    return WRITER_COLOURS[worker % len(WRITER_COLOURS)]


def _worker_of(state: RunState) -> dict[int, int]:
    return {lane.pid: worker for worker, lane in state.lanes.items() if lane.pid and worker >= 0}


def strip_row(writers: SliceWriters, worker_of: dict[int, int], width: int) -> Text:
    """One cell per slice when they fit (wider cells when there is room), else each column
    the first of the slices it stands for: █ in its writer's colour, · not written (yet)."""
    pids = writers.pids
    slices = len(pids)
    text = Text()
    if not slices:
        return text
    if slices <= width // 2:  # room for every slice, with a gap between neighbours
        cell = width // slices
        for pid in pids:
            char, style = _cell(pid, worker_of)
            text.append(char * (cell - 1), style=style)
            text.append(" ")
        return text
    columns = min(width, slices)
    for col in range(columns):
        text.append(*_cell(pids[col * slices // columns], worker_of))
    return text


def _cell(pid: int, worker_of: dict[int, int]) -> tuple[str, str]:
    """█ in its writer's colour; · for a slice nobody wrote (yet)."""
    if not pid:
        return "·", UNWRITTEN_STYLE
    worker = worker_of.get(pid)
    return "█", writer_colour(worker) if worker is not None else "white"


def _named(slices: list[int]) -> str:
    shown = " ".join(str(s) for s in slices[:NAMED_SLICES])
    return shown if len(slices) <= NAMED_SLICES else f"{shown} … +{len(slices) - NAMED_SLICES}"


def legend(writers: SliceWriters, state: RunState) -> list[Text]:
    """A line per writing PID: its colour, its worker, how many slices and which."""
    worker_of = _worker_of(state)
    lines = []
    by_pid: dict[int, list[int]] = {}
    for index, pid in enumerate(writers.pids):
        by_pid.setdefault(pid, []).append(index)
    for worker, lane in sorted(state.lanes.items()):
        if worker < 0 or not lane.pid:
            continue
        mine = by_pid.get(lane.pid, [])
        line = Text()
        line.append("█ ", style=writer_colour(worker))
        line.append(f"PID {lane.pid} (worker {worker}): ", style="bold")
        line.append(f"{counted(len(mine), 'slice')}" + (f" {_named(mine)}" if mine else ""))
        lines.append(line)
    strangers = {pid for pid in by_pid if pid and pid not in worker_of}
    for pid in sorted(strangers):
        lines.append(Text(f"█ PID {pid}: no lane of this run has it", style="red"))
    return lines


def strip_title(writers: SliceWriters, state: RunState) -> str:
    """``shared tensor float32[8×25000] 800.0 kB · 5 of 8 slices written``."""
    scenario = state.scenario
    elements = scenario.tensor_size if scenario is not None else 0
    slices = len(writers.pids)
    written = sum(1 for pid in writers.pids if pid)
    whose = "as the tensor records it" if writers.by_tensor is not None else "as reported"
    return (
        f"shared tensor float32[{slices}×{elements}] {size_text(slices * elements * 4)} · "
        f"{written} of {counted(slices, 'slice')} written, {whose}"
    )


def tensor_strip_view(state: RunState, width: int = 60) -> RenderableType | None:
    """The strip, its title and legend; None for a run without a shared tensor."""
    writers = slice_writers(state)
    if writers is None or not writers.pids:
        return None
    title = Text(strip_title(writers, state), style="bold")
    return Group(title, strip_row(writers, _worker_of(state), width), *legend(writers, state))
