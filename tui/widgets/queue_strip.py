"""A queue drawn as a strip of task tokens: the task queue (with its source and feeder) or
the result queue. Remembers where it drew each token, so a flight can start or land there."""

from __future__ import annotations

from typing import Final

from rich.text import Text
from textual.geometry import Offset
from textual.widget import Widget

from mpscope.core.pipeline.lanes import LaneStatus
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.words import counted
from mpscope.tui.widgets.tokens import token_text

TOKEN_GAP = 1


#: What a run's processes wait for while they start, by start method.
STARTING_HOW: Final = {
    "forkserver": " (the forkserver loads torch once, then forks them)",
    "spawn": " (each imports torch)",
}


class QueueStrip(Widget):
    """Tokens in queue order (the next to be taken first), with a one-line caption."""

    keeps_tokens_out = True  # a flying token over the strip would read as one in the queue

    DEFAULT_CSS = """
    QueueStrip { height: 3; border: round $primary 60%; padding: 0 1; text-wrap: nowrap;
                 text-overflow: clip; }
    QueueStrip.-blocked { border: round $warning; }
    """

    def __init__(
        self,
        which: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._last_state: RunState | None = None
        self.which = which  # "task" or "result"
        self._tokens: list[tuple[int, str, bool]] = []
        self._caption = Text()
        self._positions: dict[int, int] = {}
        self._shown_key: object = None
        self._leaving = 0

    def on_resize(self) -> None:
        """Lay the lines out again for the new width."""
        if self._last_state is not None:
            self.show(self._last_state)

    def show(self, state: RunState) -> None:
        """Take the queue's contents from the state; repaint only on change."""
        self._last_state = state
        if self.which == "task":
            tokens = [(task, label, True) for task, label in state.task_queue.items()]
            bound = state.scenario.queue_bound if state.scenario else 0
            # The queue never holds more than its bound: the oldest tokens past it have been
            # taken by a worker whose report is still on its way (a few ms); draw them leaving.
            self._leaving = max(0, len(tokens) - bound) if bound else 0
            shown = len(tokens) - self._leaving
            title = f"task queue · {shown}/{bound}" if bound else "task queue"
            caption = self._feeder_caption(state)
            blocked = state.feeder_blocked
        else:
            tokens = [(task, label, ok) for task, (label, ok) in state.result_queue.items()]
            title = f"result queue · {len(tokens)}"
            self._leaving = 0
            waiting = bool(tokens) and state.collector_waiting
            caption = Text(
                "results wait until every worker is done" if waiting else "",
                style="yellow",
            )
            blocked = False
        key = (tokens, caption.plain, title, self.size.width)
        if key == self._shown_key:
            return
        self._shown_key = key
        self._tokens = tokens
        self._caption = caption
        if title != self.border_title:
            self.border_title = title
        if blocked != self.has_class("-blocked"):
            self.set_class(blocked, "-blocked")
        self.refresh()

    @staticmethod
    def _feeder_caption(state: RunState) -> Text:
        if state.mode == Mode.PRINT:
            return Text("Task 1 has no queues: each process prints 1..N", style="dim")
        if state.feeder_blocked:
            return Text(
                f"◀ feeder blocked: queue full, holding {state.feeder_label}", style="bold yellow"
            )
        if state.total is not None:
            tasks = counted(state.total, "task")
            what = (
                "source exhausted"
                if state.source_exhausted
                else ("source raised" if state.source_error else "feeder stopped")
            )
            return Text(f"◀ {what} after {tasks}", style="dim")
        if state.mode:
            if all(lane.status == LaneStatus.STARTING for lane in state.workers()):
                method = state.scenario.start_method if state.scenario else ""
                how = STARTING_HOW.get(method, "")
                return Text(f"◀ feeder pulling; worker processes starting{how}…", style="dim")
            return Text("◀ feeder pulling from the generator", style="dim")
        return Text()

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        caption_width = min(len(self._caption), max(0, width // 2))
        room = max(0, width - caption_width - 1)
        text = Text(no_wrap=True, overflow="crop")
        self._positions = {}
        for shown, (task, label, ok) in enumerate(self._tokens):
            token = token_text(task, label, ok)
            if shown < self._leaving:
                token.stylize("dim")
            more = len(self._tokens) - shown - 1
            reserve = len(f" +{more}") if more else 0
            if text.cell_len + token.cell_len + reserve > room:
                text.append(f"+{len(self._tokens) - shown}", style="bold")
                break
            self._positions[task] = text.cell_len
            text.append_text(token)
            text.append(" " * TOKEN_GAP)
        if not self._tokens:
            text.append("empty", style="dim italic")
        pad = max(1, width - text.cell_len - self._caption.cell_len)
        text.append(" " * pad)
        text.append_text(self._caption)
        return text

    def token_offset(self, task: int) -> Offset | None:
        """Screen position of ``task``'s token if it is drawn here now."""
        x = self._positions.get(task)
        if x is None:
            return None
        region = self.content_region
        return Offset(region.x + x, region.y)

    def entry_offset(self) -> Offset:
        """Where a token arriving now would be drawn (after the last one)."""
        region = self.content_region
        x = 0
        for task, label, ok in self._tokens:
            if task in self._positions:
                x = self._positions[task] + token_text(task, label, ok).cell_len + TOKEN_GAP
        return Offset(region.x + x, region.y)
