"""What the engine does to the task queue besides feeding it.

- :func:`put_end_sentinels`: one end sentinel per live worker once the work has run out (or
  the run stops), put as the bounded queue takes them;
- :func:`lose_stranded`: tasks left in the queue (or waiting to be re-queued) when no worker
  can take them any more are reported lost, so every task still gets its one outcome;
- :func:`release_lock_died_holding`: the queue's read lock, released if a killed worker died
  holding it (see :mod:`.queue_take`).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.shared import POLL_S, TERM_WAIT_S, RunProcess, RunShared
from mpscope.core.pipeline.events import Event, Note


def put_end_sentinels(shared: RunShared, task_queue: Any, count: int) -> None:
    """One end sentinel per live worker; the bounded queue may take them one by one. Gives up
    when no worker is left to take one, or once a stop was asked for."""
    sent = 0
    while sent < count:
        try:
            task_queue.put(None, timeout=POLL_S)
            sent += 1
        except queue.Full:
            with shared.lock:
                if shared.all_workers_gone() or shared.stop_reason is not None:
                    return


def lose_stranded(
    shared: RunShared,
    outbox: Outbox,
    task_queue: Any,
    feeder: threading.Thread | None,
    reason: str,
) -> None:
    """Tasks left in the task queue (or never fed) when no worker can take them: the feeder
    is woken to see it should end, then what it queued and what waits to be re-queued is lost."""
    with shared.lock:
        shared.wake.notify_all()
    if feeder is not None:
        feeder.join(2.0)
    while True:
        try:
            message = task_queue.get(timeout=0.01)
        except queue.Empty:
            break
        if message is not None:
            with shared.lock:
                outbox.emit(shared.ledger.lose(shared.clock.now(), message[0], reason))
    with shared.lock:
        for task in shared.requeue:
            outbox.emit(shared.ledger.lose(shared.clock.now(), task, reason))
        shared.requeue.clear()


def release_locks_died_holding(
    task_queue: Any, fail_next: Any, dead: RunProcess, now: Callable[[], int]
) -> list[Event]:
    """The task queue's read lock and the injected-failure counter's lock, each released if
    the killed worker died holding it (see :func:`release_lock_died_holding`)."""
    counter_lock = fail_next.get_lock() if hasattr(fail_next, "get_lock") else None
    return [
        *release_lock_died_holding(task_queue, dead, now),
        *_release_if_stuck(counter_lock, "the injected-failure counter's lock", dead, now),
    ]


def _release_if_stuck(
    lock: Any, name: str, dead: RunProcess, now: Callable[[], int]
) -> list[Event]:
    """Release ``lock`` if it cannot be taken for :data:`TERM_WAIT_S` after ``dead`` died
    (live workers hold it only for an instant)."""
    if lock is None or lock.acquire(timeout=TERM_WAIT_S):
        if lock is not None:
            lock.release()
        return []
    with contextlib.suppress(ValueError):
        lock.release()
    return [Note(now(), "warning", f"released {name} that PID {dead.process.pid} died holding")]


def release_lock_died_holding(
    task_queue: Any, dead: RunProcess, now: Callable[[], int]
) -> list[Event]:
    """Release the task queue's read lock if a killed worker died holding it.

    Live workers hold that lock only to read a message already in the pipe (see
    :mod:`.queue_take`), so a lock that cannot be taken for a whole second after a
    death belongs to the dead worker. (The result queue's write lock is left alone: a live
    worker may rightly hold it for long while the pipe is full in Task 2.)
    """
    lock = getattr(task_queue, "_rlock", None)  # multiprocessing.Queue's, not ours
    if lock is None:
        return []
    if lock.acquire(timeout=TERM_WAIT_S):
        lock.release()
        return []
    with contextlib.suppress(ValueError):
        lock.release()
    return [
        Note(
            now(),
            "warning",
            f"released the task queue lock that PID {dead.process.pid} died holding",
        )
    ]
