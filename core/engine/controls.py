"""The live controls of a run: pause, speed, an injected failure, killing one process.

Any thread may use them while the run goes (the UI's, a signal handler's; the engine thread
resumes a paused run before it stops it). Each takes the run's lock. The speed and injected
failures may be asked for before the processes exist (torch still importing): the request is
kept in :class:`~.shared.RunShared` and the shared values are made from it
(:func:`~.processes.make_process_shared`).
"""

from __future__ import annotations

import contextlib
import os
import signal

from mpscope.core.engine.orphans import signal_with_tree
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.shared import TERM_WAIT_S, RunShared
from mpscope.core.pipeline.events import RunPaused, SpeedChanged


class RunControls:
    """What can be changed in a run while it goes."""

    def __init__(self, shared: RunShared, outbox: Outbox) -> None:
        self._shared = shared
        self._outbox = outbox

    def kill(self, worker: int) -> bool:
        """SIGKILL one process of the run; False if none such is alive."""
        with self._shared.lock:
            proc = self._shared.procs.get(worker)
            if proc is None or proc.exited or not proc.process.is_alive():
                return False
            try:
                signal_with_tree(proc.process.pid, signal.SIGKILL)  # see .orphans
            except ProcessLookupError:
                return False
            return True

    def inject_failure(self) -> bool:
        """Make the next task a worker takes raise inside it; False if no worker can take one.

        A counter in shared memory: the first worker to start a task after this takes one
        off and fails that task, whether it was queued before or after.
        """
        shared = self._shared
        with shared.lock:
            mp = shared.mp
            if mp is None or shared.finished.is_set():
                shared.failures_requested += 1  # before the processes exist: used when they do
                return not shared.finished.is_set()
        lock = mp.fail_next.get_lock()  # not under the run's lock: it may take a while
        if not lock.acquire(timeout=TERM_WAIT_S):  # a worker died holding it (the engine
            return False  # releases it when it reaps that worker)
        try:
            mp.fail_next.get_obj().value += 1  # (``.value`` would take the lock again)
        finally:
            lock.release()
        return True

    def set_time_scale(self, scale: float) -> None:
        """Change the speed control live: later work sleeps ``scale`` times its base time.

        Before the processes exist (torch still importing) the value is kept and used when
        the shared value is made.
        """
        shared = self._shared
        with shared.lock:
            if shared.finished.is_set():
                return
            shared.time_scale = scale
            if shared.mp is not None:
                shared.mp.time_scale.value = scale
            if shared.run_started:
                self._outbox.emit([SpeedChanged(shared.clock.now(), scale)])

    def set_paused(self, paused: bool) -> bool:
        """Suspend (SIGSTOP) or resume (SIGCONT) every process of the run."""
        shared = self._shared
        with shared.lock:
            if paused == shared.paused or shared.finished.is_set() or not shared.procs:
                return False
            if paused and shared.stop_reason is not None:  # stopping: it must not stall the stop
                return False
            shared.paused = paused
            shared.wake.notify_all()
            if paused:
                shared.clock.pause()
            else:  # before the processes go on: their clock must not count the pause
                shared.clock.resume()
            for proc in shared.procs.values():
                if not proc.exited:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)
            self._outbox.emit([RunPaused(shared.clock.now(), paused)])
            return True
