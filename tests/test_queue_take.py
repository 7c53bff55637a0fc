"""Taking from the task queue: a process that dies while it takes never leaves a bounded queue
short of room (its feeder would block for ever), and the message it did not read is still
there for the next taker."""

from __future__ import annotations

import multiprocessing
import os
import queue
from typing import Any

import pytest

from mpscope.core.engine.queue_take import QueueTaker

pytestmark = pytest.mark.timeout(60)


def _die_while_reading(q: Any) -> None:
    """Take from ``q``, dying just as the message would be read."""
    taker = QueueTaker(q)
    assert taker.ready(5)

    def killed(*_args: Any) -> bytes:
        os._exit(9)  # as SIGKILL would: no finally, no release

    q._reader.recv_bytes = killed
    taker.take()


def test_a_taker_killed_mid_take_leaves_the_queue_its_room() -> None:
    context = multiprocessing.get_context("fork")
    q = context.Queue(maxsize=1)
    q.put("task 1")
    taker = context.Process(target=_die_while_reading, args=(q,))
    taker.start()
    taker.join(10)
    assert taker.exitcode == 9
    q._rlock.release()  # what the engine does for a dead worker's lock (task_queue.py)
    q.put("task 2", timeout=2)  # room: the dead taker's slot came back (it used to be lost)
    mine = QueueTaker(q)
    got = []
    for _ in range(2):
        assert mine.ready(5)
        ok, message = mine.take()
        assert ok
        got.append(message)
    assert got == ["task 1", "task 2"]  # the unread message was not lost either
    with pytest.raises(queue.Empty):
        q.get(timeout=0.1)
    q.close()
    q.join_thread()
