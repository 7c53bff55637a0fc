"""All Textual messages of the main app, in one place."""

from __future__ import annotations

from textual.message import Message

from mpscope.core.pipeline.events import Event


class EventsArrived(Message):
    """A batch of engine (or replay) events for the app to fold into its state."""

    def __init__(self, run_id: int, events: list[Event]) -> None:
        super().__init__()
        self.run_id = run_id
        self.events = events


class SourceEnded(Message):
    """The event source of run ``run_id`` has nothing more to say."""

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
