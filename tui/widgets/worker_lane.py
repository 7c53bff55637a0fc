"""One lane per process: a compute worker (titled with its real PID), the collector, or the
main process collecting in Task 2. Two lines: who and what now; then its timeline (or, in
Task 1, the count it has printed)."""

from __future__ import annotations

from typing import Final

from rich.text import Text
from textual.geometry import Offset
from textual.widget import Widget

from mpscope.core.pipeline.events import COLLECTOR, MAIN
from mpscope.core.pipeline.lanes import Bar, Lane, LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.tui.views.renderables import STATUS_STYLE, timeline_row
from mpscope.tui.widgets.tokens import token_text

DOT = {
    LaneStatus.STARTING: "◌",
    LaneStatus.IDLE: "○",
    LaneStatus.BUSY: "●",
    LaneStatus.EXITING: "◍",
    LaneStatus.EXITED: "◌",
    LaneStatus.KILLED: "✖",
    LaneStatus.WAITING: "◔",
    LaneStatus.FINISHED: "◌",
}
#: A worker still exiting this long after its loop ended is held back by its queued results.
STUCK_EXITING_NS = 300_000_000

NICE_SPANS_S = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60)


def timeline_axis(first: int, now: int, final: bool = False) -> tuple[int, int]:
    """(start, span) in ns of the lanes' shared time axis.

    The span is the next "nice" length (1, 2, 3, 5, 10 … 60 s) that holds the run so far, so
    bars keep their place and only grow, instead of every timeline rescaling on every frame;
    past a minute the axis is the last 60 s. A finished run (``final``) fills the width.
    """
    elapsed = max(1, now - first)
    if final:
        return first, elapsed
    for seconds in NICE_SPANS_S:
        if elapsed <= seconds * 1_000_000_000:
            return first, seconds * 1_000_000_000
    return now - 60_000_000_000, 60_000_000_000


#: What a lane says, longest first: a narrow lane (80 columns) says it in fewer words, whole,
#: rather than cutting the sentence that teaches (the seed's join-before-drain).
STUCK_EXITING_WORDS: Final = (
    "loop done, cannot exit yet: its results wait to be read",
    "loop done, cannot exit: results unread",
    "done, cannot exit: results unread",
    "cannot exit: results unread",
)
WAITING_WORDS: Final = ("waits for every worker to finish", "waits for the workers")


def _fitting(words: tuple[str, ...], room: int) -> str:
    """The longest of ``words`` that fits in ``room`` cells (the shortest if none does)."""
    return next((said for said in words if len(said) <= room), words[-1])


class WorkerLane(Widget):
    """A process's lane; call :meth:`show` with the state each frame."""

    DEFAULT_CSS = """
    WorkerLane { height: 2; padding: 0 1; text-wrap: nowrap; text-overflow: clip; }
    WorkerLane.-odd { background: $boost; }
    WorkerLane.-killed { background: $error 15%; }
    """

    def __init__(
        self,
        worker: int,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._last_state: RunState | None = None
        self.worker = worker
        self._lines = (Text(), Text())
        self._token_x: int | None = None
        self._anchor_x = 0
        self._hand_task: int | None = None
        self._timeline_key: object = None
        self._timeline = Text()

    def on_resize(self) -> None:
        """Lay the lines out again for the new width."""
        if self._last_state is not None:
            self.show(self._last_state)

    def show(self, state: RunState) -> None:
        """Recompute both lines from the state; repaint only if they changed."""
        self._last_state = state
        lane = state.lanes.get(self.worker)
        if lane is None:
            return
        width = max(10, (self.content_region.width or self.size.width) or 80)
        first = self._headline(lane, state, width)
        second = self._detail(lane, state, width)
        if (lane.status == LaneStatus.KILLED) != self.has_class("-killed"):
            self.set_class(lane.status == LaneStatus.KILLED, "-killed")
        if (first, second) != self._lines:
            self._lines = (first, second)
            self.refresh()

    def _headline(self, lane: Lane, state: RunState, width: int) -> Text:
        counts = self._counts(lane, state)
        text = Text(no_wrap=True, overflow="ellipsis")
        style = STATUS_STYLE.get(lane.status, "")
        text.append(f"{DOT.get(lane.status, '·')} ", style=style)
        text.append(lane.title, style="bold")
        text.append("  ")
        verb = "collecting" if lane.worker in (COLLECTOR, MAIN) else "busy"
        self._anchor_x = text.cell_len + len(verb) + 1
        self._token_x, self._hand_task = None, None
        if lane.status == LaneStatus.BUSY and lane.task is not None:
            text.append(f"{verb} ", style=style)
            self._token_x, self._hand_task = text.cell_len, lane.task
            text.append_text(token_text(lane.task, lane.task_label))
            text.append(f" {max(0, state.now - lane.since) / 1e9:.2f}s", style="dim")
        elif lane.status == LaneStatus.KILLED:
            text.append(f"killed by {lane.signal}", style=style)
            if lane.fate:
                text.append(f" · {lane.fate}", style="bold yellow")
        elif lane.status == LaneStatus.EXITED:
            text.append(f"exited {lane.exitcode}", style=style)
        elif lane.status == LaneStatus.WAITING:
            text.append(_fitting(WAITING_WORDS, width - text.cell_len - counts.cell_len - 1), style)
        elif lane.status == LaneStatus.EXITING:
            if lane.worker >= 0 and state.now - lane.since > STUCK_EXITING_NS:
                # a process cannot exit before what it put on a queue is in the pipe: with
                # big results, not before somebody reads them (the seed's join-before-drain)
                room = width - text.cell_len - counts.cell_len - 1
                text.append(_fitting(STUCK_EXITING_WORDS, room), style=style)
            else:
                text.append("took the end sentinel", style=style)
        else:
            text.append(lane.status, style=style)
        room = width - counts.cell_len - 1
        if text.cell_len > room:
            text.truncate(max(0, room), overflow="ellipsis")
        text.append(" " * max(1, width - text.cell_len - counts.cell_len))
        text.append_text(counts)
        return text

    @staticmethod
    def _counts(lane: Lane, state: RunState) -> Text:
        text = Text()
        if lane.worker in (COLLECTOR, MAIN):
            text.append(f"collected {lane.done}", style="bold")
        else:
            text.append(f"done {lane.done}", style="bold")
            if lane.failed:
                text.append(f" · failed {lane.failed}", style="bold red")
        text.append(f" · util {lane.utilisation(state.now):.0%}", style="dim")
        return text

    def _detail(self, lane: Lane, state: RunState, width: int) -> Text:
        if state.mode == Mode.PRINT and lane.worker >= 0:
            count = state.scenario.print_count if state.scenario else 5
            text = Text("  ")
            text.append("▮" * min(lane.lines, count), style="green")
            text.append("▯" * max(0, count - lane.lines), style="grey35")
            text.append(f"  {lane.lines}/{count}   ", style="bold")
            text.append(lane.last_line, style="italic")
            return text
        columns = max(1, width - 2)
        start, span = timeline_axis(state.timeline_start(), state.now, state.finished)
        now_col = (state.now - start) * columns // span
        last = lane.bars[-1] if lane.bars else None
        key = (
            len(lane.bars),
            last,
            lane.status,
            lane.task,
            lane.since,
            columns,
            start,
            span,
            now_col,
        )
        if key != self._timeline_key:
            bars = list(lane.bars)
            if lane.status == LaneStatus.BUSY and lane.task is not None:
                bars.append(Bar(lane.task, lane.task_label, lane.since, state.now, True))
            # the future is blank, not idle; so is the time after the process is gone
            row = timeline_row(bars, start, span, columns, lane.lived_until(state.now))
            self._timeline_key, self._timeline = key, Text("  ").append_text(row)
        return self._timeline

    def render(self) -> Text:
        return Text("\n", no_wrap=True, overflow="crop").join(self._lines)

    def token_offset(self) -> Offset | None:
        """Screen position of the token of the task in hand, if any."""
        if self._token_x is None:
            return None
        region = self.content_region
        return Offset(region.x + self._token_x, region.y)

    def title_width(self) -> int:
        """Cells before the token of a task in hand (where an arriving token lands)."""
        return self._anchor_x

    @property
    def task_in_hand(self) -> int | None:
        """The task this lane shows in hand."""
        return self._hand_task
