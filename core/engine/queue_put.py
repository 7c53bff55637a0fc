"""Putting on a ``multiprocessing.Queue`` from a thread of one's own, without its feeder thread.

``Queue.put()`` only appends the message to a buffer; a feeder thread in the same process
pickles it and writes it to the pipe. In the main process that thread competes for the GIL
with the engine's threads, and it loses: measured on 2 cores, up to 998 of the bounded
queue's 1,000 tasks sat in the buffer, not in the pipe, while the workers waited for work.
The engine's feeder is a thread of its own anyway, so :class:`QueuePutter` writes each task
itself: it takes a slot of the queue's bound (its semaphore, as ``put`` does), pickles the
message and writes it under the queue's write lock, waiting for room in the pipe with
``poll`` rather than in ``write`` so that a stop is noticed. The queue stays an ordinary
``multiprocessing.Queue`` for everyone else (``qsize``, ``full``, the workers' takes, the end
sentinels' ``put``). Like :mod:`.queue_take`, it reads CPython's Queue internals (``_sem``,
``_writer``, ``_wlock``), stable since Python 3.4.
"""

from __future__ import annotations

import select
import time
from typing import Any, Final

from mpscope.core.engine.result_channels import pickle_task

#: a write of at most this many bytes to a pipe that polls writable never blocks (POSIX)
PIPE_BUF: Final = select.PIPE_BUF


class QueuePutter:
    """Puts messages on one ``multiprocessing.Queue``, writing them to its pipe itself."""

    def __init__(self, q: Any) -> None:
        self._q = q
        self._poller = select.poll()
        self._poller.register(q._writer.fileno(), select.POLLOUT)

    def put(self, message: Any, timeout_s: float) -> bool:
        """Put ``message`` if the queue has room within ``timeout_s``; False if it had none.

        The message is in the pipe when this returns True (a reader may take it at once)."""
        q = self._q
        deadline = time.monotonic() + timeout_s
        if q._closed:  # the run is over: never room again (the caller looks why, and stops)
            time.sleep(timeout_s)
            return False
        if not q._sem.acquire(True, timeout_s):
            return False
        data = pickle_task(message)
        lock = q._wlock
        if lock is not None:
            lock.acquire()
        try:
            while len(data) <= PIPE_BUF - 8 and not self._poller.poll(0):  # (with its length)
                left = deadline - time.monotonic()
                if left <= 0 or not self._poller.poll(int(left * 1000) + 1):
                    q._sem.release()  # not put after all: its slot is free again
                    return False
            q._writer.send_bytes(data)  # (a bigger message may wait in write for readers)
        finally:
            if lock is not None:
                lock.release()
        return True
