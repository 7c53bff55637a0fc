"""Events on their way from a process to the main one: each is an event itself or, on hot paths,
a record of its class and field values (:data:`Record`), which :func:`decode` turns back."""

from __future__ import annotations

from typing import Any

from mpscope.core.pipeline.events import Event

#: An event on the wire from a process: the event itself, or, on hot paths,
#: ``(EventClass, *fields)``, which costs a tenth of building and pickling the dataclass.
Record = Event | tuple[Any, ...]


def decode(record: Record) -> Event:
    """The event a wire record stands for."""
    if isinstance(record, tuple):
        event: Event = record[0](*record[1:])
        return event
    return record
