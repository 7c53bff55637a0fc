"""The event log pane: notable events in words, newest last; can be hidden and scrolled.

Built on Textual's line API: it keeps the last ``MAX_LINES`` lines as Rich ``Text`` and draws
only the rows on screen, once per frame (``flush``), however many events arrive. (A
``RichLog`` renders every line as it is written, which measured about 0.3 ms a line: the main
cost of absorbing a fast run.)
"""

from __future__ import annotations

import time
from collections import deque

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mpscope.core.pipeline.describe import describe
from mpscope.core.pipeline.events import (
    CollectorFailed,
    Event,
    Note,
    PrintedLine,
    TaskFailed,
    TaskLost,
)
from mpscope.core.pipeline.log_order import HOLD_NS, HeldInOrder
from mpscope.core.pipeline.state import RunState

MAX_LINES = 2000
FLUSH_EVERY_S = 0.25  # a log is read, not watched: four updates a second are plenty


class EventLog(ScrollView, can_focus=True):
    """Lines describing events (described against the state before they apply)."""

    DEFAULT_CSS = """
    EventLog { height: 8; border: round $primary 60%; background: $surface;
               overflow-x: hidden; }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.border_title = "event log"
        # each entry: [the line, its rendered strip once drawn at ``_strips_width``]
        self._entries: deque[list[Text | Strip | None]] = deque(maxlen=MAX_LINES)
        self._strips_width = 0
        self._held: HeldInOrder[list[Text]] = HeldInOrder()  # lines not shown yet
        self._pending = False
        self._follow = True
        self._last_flush = 0.0

    def clear(self) -> None:
        """Forget every line (a new run starts)."""
        self._entries.clear()
        self._held.clear()
        self._pending = True
        self.flush(now=True)

    def add(self, keyed: list[tuple[int, list[Text]]]) -> None:
        """Lines to show under their sort keys (:class:`LogOrder`): they show at
        a :meth:`flush` once the run's clock is ``HOLD_NS`` past them, in key order."""
        for key, lines in keyed:
            if lines:
                self._held.put(key, lines)

    def _release(self, clock: int | None) -> bool:
        """Move the held lines up to ``clock - HOLD_NS`` (all with no clock) into the log."""
        taken = self._held.take(None if clock is None else clock - HOLD_NS)
        for lines in taken:
            self._entries.extend([line, None] for line in lines)
        return bool(taken)

    def flush(self, now: bool = False, clock: int | None = None) -> None:
        """Show what was added (at most every ``FLUSH_EVERY_S``), following the newest line;
        ``clock`` is the run's present (None once it is over: every line shows)."""
        if self._follow and self.display and self.scroll_offset.y < self.max_scroll_y:
            self._scroll_to_newest()  # the view grew, or could not scroll yet last time
        if not (self._pending or self._held):
            return
        moment = time.monotonic()
        if not now and moment - self._last_flush < FLUSH_EVERY_S:
            return
        self._last_flush = moment
        if self._release(clock):  # hidden or not: the held lines must not pile up
            self._pending = True
        if not self._pending or not self.display:
            return
        self._pending = False
        self.virtual_size = Size(self.size.width, len(self._entries))
        if self._follow:
            self._scroll_to_newest()
        self.refresh()

    def _scroll_to_newest(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Follow the newest line while the view is at the bottom; stop if scrolled up."""
        super().watch_scroll_y(old_value, new_value)
        self._follow = new_value >= self.max_scroll_y - 1

    def pending_scroll_to_end(self) -> None:
        """Once laid out again, show the newest lines."""
        self._pending = True
        self.call_after_refresh(self._to_end)

    def _to_end(self) -> None:
        self._follow = True
        self.virtual_size = Size(self.size.width, len(self._entries))
        self._scroll_to_newest()
        self.refresh()

    @property
    def lines_text(self) -> list[str]:
        """The lines as plain text (for tests)."""
        return [entry[0].plain for entry in self._entries if isinstance(entry[0], Text)]

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self._entries):
            return Strip.blank(width, self.rich_style)
        if width != self._strips_width:
            for entry in self._entries:
                entry[1] = None
            self._strips_width = width
        entry = self._entries[index]
        strip = entry[1]
        if not isinstance(strip, Strip):
            text = entry[0]
            assert isinstance(text, Text)
            base = self.rich_style
            segments = text.render(self.app.console)
            strip = Strip(
                [
                    Segment(s.text, base + s.style if s.style else base)
                    for s in segments
                    if "\n" not in s.text
                ]
            ).crop_extend(0, width, base)
            entry[1] = strip
        return strip

    def describe_lines(self, events: list[Event], state: RunState) -> list[Text]:
        """Lines for ``events``; call before applying them to ``state``."""
        lines = []
        for event in events:
            line = describe(event, state)
            if line is None:
                continue
            style = ""
            if isinstance(event, TaskFailed | TaskLost | CollectorFailed) or (
                isinstance(event, Note) and event.level == "error"
            ):
                style = "red"
            elif isinstance(event, Note):
                style = "yellow"
            elif isinstance(event, PrintedLine):
                style = "italic"
            text = Text(f"{event.t / 1e9:7.2f}s ", style="dim", no_wrap=True)
            text.append(line, style=style)
            lines.append(text)
        return lines


__all__ = ["EventLog"]
