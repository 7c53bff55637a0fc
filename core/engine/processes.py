"""Making a run's processes, and killing them all at once.

The engine thread imports torch only once the run has started (the screen can say what is
coming meanwhile), then makes the run's multiprocessing objects in one step
(:func:`make_process_shared`) and starts the processes (:class:`ProcessStarter`), each with
its own event pipe, under the watch of the :class:`~.monitor.ProcessMonitor`.
:func:`kill_every_process` is the last resort (:meth:`~.run.Engine.abort`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
from collections.abc import Callable
from typing import Any, Final

from mpscope.core.engine import lifecycle
from mpscope.core.engine.child_output import real_stderr
from mpscope.core.engine.monitor import ProcessMonitor
from mpscope.core.engine.orphans import kill_tree
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.shared import (
    TERM_WAIT_S,
    ProcessShared,
    RunProcess,
    RunShared,
)
from mpscope.core.engine.shared_fill import SharedFill
from mpscope.core.engine.tensors import set_sharing_strategy
from mpscope.core.pipeline.events import COLLECTOR, WorkerSpawned
from mpscope.core.pipeline.scenario import Mode

#: The module the run processes run, which forkserver preloads (it imports only what they need).
WORKER_MODULE: Final = "mpscope.core.engine.worker"


def make_process_shared(shared: RunShared) -> ProcessShared:
    """Import torch, make the run's multiprocessing objects and publish them as ``shared.mp``.

    The shared values start from what was asked for meanwhile (the speed, injected failures,
    the run's start moved on by a pause) and are made under the lock, so that no request made
    in between is lost.
    """
    lifecycle.import_torch_quietly()  # looked up now: tests replace it
    import torch.multiprocessing as mp

    gc.freeze()  # torch's objects need no scanning by every later garbage collection
    sc = shared.scenario
    set_sharing_strategy(sc.sharing)
    ctx = mp.get_context(sc.start_method)
    if sc.start_method == "forkserver":
        ctx.set_forkserver_preload([WORKER_MODULE])
    with real_stderr():  # creating queues may start the resource tracker
        task_queue = ctx.Queue(maxsize=sc.queue_bound)
    slots = ctx.Array("q", [-1] * sc.workers, lock=False)
    received = ctx.Array("q", [0] * sc.workers, lock=False)  # see tensors.SentKeeper
    fill = SharedFill.for_scenario(sc)  # made here, before any worker: each gets it at start
    with shared.lock:
        time_scale = ctx.Value("d", shared.time_scale, lock=False)
        run_start = ctx.Value("q", shared.clock.start_ns, lock=False)
        # a plain lock, not the default RLock: only a plain one can be released by another
        # process (the engine, when a worker died holding it; see task_queue)
        fail_next = ctx.Value("i", shared.failures_requested, lock=ctx.Lock())
        shared.clock.share(run_start)
        made = ProcessShared(
            ctx, task_queue, {}, slots, time_scale, run_start, fail_next, received, fill
        )
        shared.mp = made
    return made


class ProcessStarter:
    """Starts the scenario's processes and puts each under the monitor's watch."""

    def __init__(
        self, shared: RunShared, outbox: Outbox, monitor: ProcessMonitor, mp: ProcessShared
    ) -> None:
        self._shared = shared
        self._outbox = outbox
        self._monitor = monitor
        self._mp = mp

    def start_all(self) -> None:
        """The compute workers (Task 1's counting workers), then Task 3's collector; no more
        once a stop was asked for."""
        from mpscope.core.engine import worker as worker_module  # torch is imported by now

        sc = self._shared.scenario
        target = (
            worker_module.print_worker if sc.mode == Mode.PRINT else worker_module.compute_worker
        )
        if self._mp.fill is not None:
            self._outbox.note(
                "info",
                f"the main process made one tensor, {self._mp.fill.describe()}, with "
                "share_memory_(); each worker gets it as it starts and fills its tasks' "
                "slices in place",
            )
        with real_stderr():
            for i in range(sc.workers):
                if self._shared.stop_reason is not None:
                    break
                self.start(i, target)
            if sc.mode == Mode.PIPELINE and self._shared.stop_reason is None:
                self.start(COLLECTOR, worker_module.collector_process)

    def start(self, worker: int, target: Callable[..., None]) -> None:
        """Start one process running ``target`` (one of :mod:`.worker`'s entry points)."""
        from mpscope.core.engine.worker import ProcessContext

        mp, shared = self._mp, self._shared
        reader, writer = mp.context.Pipe(duplex=False)
        results_writer: Any = None
        if worker == COLLECTOR:  # every worker's channel (the workers start first)
            results: Any = dict(mp.results)
        else:  # its own result channel
            mp.results[worker], results_writer = mp.context.Pipe(duplex=False)
            results = results_writer
        process_ctx = ProcessContext(
            worker,
            shared.scenario,
            mp.run_start,
            mp.task_queue,
            results,
            writer,
            mp.slots,
            mp.time_scale,
            mp.fail_next,
            mp.received,
            mp.fill,
            os.getpid(),
        )
        role = "collector" if worker == COLLECTOR else "worker"
        name = f"mpscope-{role}-{worker}" if worker >= 0 else "mpscope-collector"
        process = mp.context.Process(target=target, args=(process_ctx,), name=name, daemon=True)
        process.start()
        writer.close()  # the child has its copy; ours would hide the child's death from us
        if results_writer is not None:
            results_writer.close()  # likewise: its channel ends when it dies
        with shared.lock:
            proc = shared.procs[worker] = RunProcess(worker, process, reader)
            if shared.paused:  # paused while the run was starting: this one waits too
                os.kill(process.pid, signal.SIGSTOP)
        self._monitor.watch_process(proc)
        self._outbox.emit([WorkerSpawned(shared.clock.now(), worker, process.pid, role)])


def kill_every_process(shared: RunShared) -> None:
    """SIGKILL every process of the run and give each up (any thread; no lock taken, so that
    a signal handler can call it)."""
    for proc in list(shared.procs.values()):
        if not proc.exited:
            with contextlib.suppress(ProcessLookupError, AttributeError):
                os.kill(proc.process.pid, signal.SIGKILL)
                kill_tree(proc.process.pid)
            with contextlib.suppress(Exception):
                proc.process.join(TERM_WAIT_S)
            proc.exited = True
