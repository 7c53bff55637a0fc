"""Results a dead worker never delivered: re-queued once, else lost.

A worker hands each result to its sending thread and goes on (see :mod:`.result_channels`),
so a worker killed at the wrong moment takes with it results it had finished but not yet
written, and the events that said so. Two facts together prove which: the worker has been
reaped (nothing more will come from it), and its collector has read its result channel to the
end (:class:`~.result_channels.ResultsDrained`; everything it collected from that worker was
reported before). Whichever comes second settles the worker's tasks that still have no
collected result (:meth:`~mpscope.core.pipeline.ledger.Ledger.results_never_arrived`): each
goes back on the task queue once, or is lost if it already had its second try.

Called under the run's lock, by the engine thread (a reap, or a collector process's report)
or by Task 2's collecting thread.
"""

from __future__ import annotations

from mpscope.core.engine.shared import RunProcess, RunShared
from mpscope.core.pipeline.events import Event, Note, TaskLost


def results_drained(shared: RunShared, worker: int) -> list[Event]:
    """The collector read everything ``worker`` sent; settle now if it has been reaped."""
    proc = shared.procs.get(worker)
    if proc is None or proc.results_drained:
        return []
    proc.results_drained = True
    return settle_unsent(shared, proc) if proc.exited else []


def worker_reaped(shared: RunShared, proc: RunProcess) -> list[Event]:
    """``proc`` was reaped; settle now if its collector already read its channel to the end."""
    return settle_unsent(shared, proc) if proc.results_drained else []


def settle_unsent(shared: RunShared, proc: RunProcess) -> list[Event]:
    """Re-queue (once) or lose the tasks of a finished worker whose results never arrived."""
    now = shared.clock.now()
    delivered = frozenset(m[0] for m in shared.salvaged if m[2] == proc.worker)
    events, requeue = shared.ledger.results_never_arrived(now, proc.worker, delivered)
    if not events:
        return []
    shared.requeue.extend(requeue)
    shared.wake.notify_all()  # the feeder puts the re-queued tasks back
    lost = [e.task for e in events if isinstance(e, TaskLost)]
    parts = []
    if requeue:
        parts.append(f"{_tasks(shared, requeue)} went back on the task queue")
    if lost:
        parts.append(f"{_tasks(shared, lost)} lost")
    text = (
        f"worker {proc.worker} (PID {proc.process.pid}) died before it sent "
        f"{len(requeue) + len(lost)} finished result(s): {'; '.join(parts)}"
    )
    return [*events, Note(now, "warning", text)]


def _tasks(shared: RunShared, tasks: list[int]) -> str:
    return ("task " if len(tasks) == 1 else "tasks ") + ", ".join(
        shared.ledger.label(t) for t in tasks
    )
