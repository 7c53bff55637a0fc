"""One reusable poll set over a run's event pipes and process sentinels.

The engine thread waits on both at once, so a batch of events and a process's death are each
noticed as soon as they happen. ``multiprocessing.connection.wait`` (and ``Connection.poll``,
which calls it) builds and fills a new selector on every call; at tens of thousands of event
batches a second that cost more than handling the batches. A :class:`Watch` keeps one
``select.poll`` object for the whole run and changes it only when a pipe or process comes or
goes. It belongs to one thread (the engine's).
"""

from __future__ import annotations

import select
from typing import Any, Generic, TypeVar

P = TypeVar("P")

_EVENTS = select.POLLIN | select.POLLHUP | select.POLLERR


class Watch(Generic[P]):
    """Event pipes (``multiprocessing`` connections) and sentinels (fds owned by a ``P``)."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._pipes: dict[int, Any] = {}
        self._sentinels: dict[int, P] = {}

    def add_pipe(self, reader: Any) -> None:
        """Watch a connection's read end for batches."""
        fd = reader.fileno()
        self._pipes[fd] = reader
        self._poll.register(fd, _EVENTS)

    def add_sentinel(self, fd: int, owner: P) -> None:
        """Watch a process sentinel; ``owner`` is reported when it fires."""
        self._sentinels[fd] = owner
        self._poll.register(fd, _EVENTS)

    def remove_pipe(self, reader: Any) -> None:
        """Stop watching a pipe (closed, or at its end); closing it is the caller's."""
        for fd, known in list(self._pipes.items()):
            if known is reader:
                del self._pipes[fd]
                self._poll.unregister(fd)

    def remove_sentinel(self, owner: P) -> None:
        """Stop watching the sentinel of ``owner`` (its process has been reaped)."""
        for fd, known in list(self._sentinels.items()):
            if known is owner:
                del self._sentinels[fd]
                self._poll.unregister(fd)

    def watching(self, reader: Any) -> bool:
        """True while ``reader`` is watched (until it reached its end or was removed)."""
        return any(known is reader for known in self._pipes.values())

    def pipes(self) -> list[Any]:
        """The pipes still watched."""
        return list(self._pipes.values())

    def wait(self, timeout_s: float) -> tuple[list[Any], list[P]]:
        """Pipes with something to read (or at their end) and owners of fired sentinels;
        both empty after ``timeout_s`` (0 checks without waiting)."""
        pipes: list[Any] = []
        owners: list[P] = []
        for fd, _ in self._poll.poll(int(timeout_s * 1000)):
            reader = self._pipes.get(fd)
            if reader is not None:
                pipes.append(reader)
                continue
            owner = self._sentinels.get(fd)
            if owner is not None:
                owners.append(owner)
        return pipes, owners
