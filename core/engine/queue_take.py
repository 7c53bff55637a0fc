"""Taking from a ``multiprocessing.Queue`` without holding its lock while waiting.

``Queue.get()`` takes the queue's cross-process read lock and *then* waits for data. A worker
killed while it waits leaves the lock taken forever, and every other worker hangs; that is why
``concurrent.futures`` declares a pool broken when one of its processes dies. mpscope lets the
user kill a worker on purpose, so its processes wait *outside* the lock: they poll the pipe,
and take the lock only to read a message that is already there. A cheap ``select.poll`` object
is reused for every check (``Connection.poll`` builds a selector each call, which cost about
25 µs a task). This reads CPython's Queue internals (``_reader``, ``_rlock``, ``_sem``), which
have been stable since Python 3.4.
"""

from __future__ import annotations

import contextlib
import select
from multiprocessing.reduction import ForkingPickler
from typing import Any

GRAB_S = 0.05


class QueueTaker:
    """Takes messages from one ``multiprocessing.Queue`` in one process."""

    def __init__(self, q: Any) -> None:
        self._q = q
        self._poller = select.poll()
        self._poller.register(q._reader.fileno(), select.POLLIN)

    def ready(self, timeout_s: float) -> bool:
        """True if a message is waiting (it may still be taken by another process first)."""
        return bool(self._poller.poll(max(0, int(timeout_s * 1000))))

    def take(self) -> tuple[bool, Any]:
        """``(True, message)`` if one could be taken now, else ``(False, None)``; never waits
        for data while holding the lock."""
        q = self._q
        if not q._rlock.acquire(timeout=GRAB_S):
            return False, None
        try:
            if not self._poller.poll(0):
                return False, None
            # the room first: a process killed from here on leaves the queue one slot roomier
            # than it is (its message is still in the pipe, for whoever takes the lock next),
            # never one short; short for ever, a bounded queue's put() would block for ever
            with contextlib.suppress(ValueError):  # all its room is free: a dead taker's
                q._sem.release()  # early release gave this message's slot back already
            data = q._reader.recv_bytes()
        finally:
            q._rlock.release()
        return True, ForkingPickler.loads(data)
