"""The event log pane: notable events in words, newest last; can be hidden."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from core.describe import describe
from core.events import Event, Note, PrintedLine, TaskFailed, TaskLost
from core.state import RunState

MAX_LINES = 2000


class EventLog(RichLog):
    """A RichLog fed with events (described against the state before they apply)."""

    DEFAULT_CSS = """
    EventLog { height: 8; border: round $primary 60%; background: $surface;
               overflow-x: hidden; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, markup=False, highlight=False,
                         auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self.border_title = "event log"

    def describe_lines(self, events: list[Event], state: RunState) -> list[Text]:
        """Lines for ``events``; call before applying them to ``state``."""
        lines = []
        for event in events:
            line = describe(event, state)
            if line is None:
                continue
            style = ""
            if isinstance(event, TaskFailed | TaskLost) or (
                isinstance(event, Note) and event.level == "error"
            ):
                style = "red"
            elif isinstance(event, Note):
                style = "yellow"
            elif isinstance(event, PrintedLine):
                style = "italic"
            text = Text(f"{event.t / 1e9:7.2f}s ", style="dim")
            text.append(line, style=style)
            lines.append(text)
        return lines
