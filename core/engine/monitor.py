"""The engine thread's eyes: event pipes and process sentinels, watched together.

A :class:`ProcessMonitor` waits on every process's event pipe and sentinel at once (as
``concurrent.futures.process`` waits on its result queue and sentinels), so a batch of events
and a killed worker are each noticed as soon as they happen. It passes the batches through the
ledger to the :class:`~.outbox.Outbox`, and reaps a process whose sentinel fired: it reads
what the process sent before it died, reports its exit, and settles the task it held (re-queued
once, then lost). It belongs to the engine thread.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any, Final

from mpscope.core.engine.lifecycle import dead_forkserver
from mpscope.core.engine.orphans import end_strangers, kill_tree
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.result_channels import ResultsDrained, salvage
from mpscope.core.engine.shared import (
    TERM_WAIT_S,
    RunProcess,
    RunShared,
    process_gone,
)
from mpscope.core.engine.task_queue import release_locks_died_holding
from mpscope.core.engine.unsent import results_drained, worker_reaped
from mpscope.core.engine.watch import Watch
from mpscope.core.pipeline.events import (
    COLLECTOR,
    CollectorFailed,
    Event,
    Note,
    TaskDone,
    WorkerExited,
    WorkerLoopEnded,
)
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.wire import decode

#: What a collector a signal ended says in place of a traceback.
SIGNAL_NOTE: Final = "a signal ends a process where it stands: it leaves no traceback"

#: At most this many rounds of batches are handled before the engine looks at exits again.
DRAIN_ROUNDS: Final = 64


def signal_name(exitcode: int) -> str:
    """The name of the signal that killed a process ("" if it exited by itself)."""
    if exitcode >= 0:
        return ""
    with contextlib.suppress(ValueError):
        return signal.Signals(-exitcode).name
    return f"signal {-exitcode}"


class ProcessMonitor:
    """Receives the run's events and reaps its processes (the engine thread only)."""

    def __init__(self, shared: RunShared, outbox: Outbox) -> None:
        self._shared = shared
        self._outbox = outbox
        self.watch: Watch[RunProcess] = Watch()  # event pipes and sentinels
        self._owner_of_pipe: dict[int, RunProcess] = {}  # id(reader) -> its process

    def watch_process(self, proc: RunProcess) -> None:
        """Watch a process just started: its event pipe and its sentinel."""
        self.watch.add_pipe(proc.reader)
        self.watch.add_sentinel(proc.process.sentinel, proc)
        self._owner_of_pipe[id(proc.reader)] = proc

    def wait(self, timeout_s: float) -> list[RunProcess]:
        """Wait for events or a process exit; handle the events; return processes that ended."""
        pipes, ended = self.watch.wait(timeout_s)
        self.receive(pipes)
        self.drain_events()
        for proc in ended:
            if proc.exited:  # given up by kill_every_process (another thread): stop watching it
                self.watch.remove_sentinel(proc)
        return [proc for proc in ended if not proc.exited] + self._ended_unreported(ended)

    def _ended_unreported(self, ended: list[RunProcess]) -> list[RunProcess]:
        """Processes whose event pipe ended a while ago and that are gone, though their
        sentinel never fired: a stopped or wedged forkserver reports no exit."""
        now = time.monotonic()
        return [
            p
            for p in self._owner_of_pipe.values()
            if not p.exited
            and p.pipe_closed_at
            and now - p.pipe_closed_at > TERM_WAIT_S
            and p not in ended
            and process_gone(p.process.pid)
        ]

    def drain_events(self) -> None:
        """Handle every batch already waiting in the event pipes (a bounded number of rounds,
        so that a flood of events cannot keep the engine from noticing an exit)."""
        for _ in range(DRAIN_ROUNDS):
            pipes, _ended = self.watch.wait(0)
            if not pipes:
                return
            self.receive(pipes)

    def receive(self, pipes: list[Any]) -> None:
        """Take one batch from each pipe, pass them through the ledger, and hand the result
        to the consumer in one piece (one wake-up of the consumer per round, not per pipe)."""
        batches: list[list[Any]] = []
        for reader in pipes:
            try:
                batches.append(reader.recv())
            except (EOFError, OSError):
                self.watch.remove_pipe(reader)
                reader.close()
                owner = self._owner_of_pipe.get(id(reader))
                if owner is not None:
                    owner.pipe_closed_at = time.monotonic()
        if not batches:
            return
        shared = self._shared
        probe = shared.latency_probe
        if probe is not None:
            received = shared.clock.now()
            probe.extend(
                received - r[1]
                for batch in batches
                for r in batch
                if isinstance(r, tuple) and r[0] is TaskDone
            )
        accept, procs = shared.ledger.accept, shared.procs
        with shared.lock:
            out: list[Event] = []
            for batch in batches:
                for record in batch:
                    if type(record) is tuple and record[0] is ResultsDrained:
                        out.extend(results_drained(shared, record[2]))
                        continue
                    event = decode(record)
                    if type(event) is WorkerLoopEnded and event.worker in procs:
                        procs[event.worker].loop_ended = True
                    elif type(event) is CollectorFailed:
                        shared.collector_error = shared.collector_error or event.error
                    out.extend(accept(event))
            self._outbox.emit(out)

    def _drain_pipe_of(self, proc: RunProcess) -> None:
        """Take everything a process that ended sent before it died (its pipe is finite now:
        the bounded :meth:`drain_events` may have left batches in it)."""
        while self.watch.watching(proc.reader):
            try:
                ready = proc.reader.poll(0)
            except (EOFError, OSError):
                ready = True  # receive sees the same error and lets the pipe go
            if not ready:
                return
            self.receive([proc.reader])

    def reap(self, proc: RunProcess) -> None:
        """A process's sentinel fired: report its exit and settle the task it held."""
        shared, now = self._shared, self._shared.clock.now
        proc.process.join(TERM_WAIT_S)
        kill_tree(proc.process.pid)  # what its tasks started ends with it
        # and what it left when it died (orphans come back to this subreaper): see .orphans
        end_strangers({p.process.pid for p in list(shared.procs.values())})
        self._drain_pipe_of(proc)  # its last events (the end of its loop) come first
        unreported = proc.process.exitcode is None  # its forkserver did not say
        code = -9 if unreported else proc.process.exitcode
        sig = "" if unreported else signal_name(code)
        clean_exit = proc.loop_ended and (code == 0 or unreported)
        server = self._dead_forkserver(code) if not clean_exit else None
        if clean_exit:
            reason = "finished its loop"
        elif server is not None:
            reason = f"ended with the forkserver (PID {server}), which died"
        elif unreported:
            reason = "ended (its exit status never came: is the forkserver stopped?)"
        elif sig:
            reason = f"killed by {sig}"
        else:
            reason = f"exited with code {code}"
        if clean_exit:
            code = 0
        died_abnormally = proc.worker >= 0 and not clean_exit
        repaired = (
            release_locks_died_holding(
                shared.require_mp().task_queue, shared.require_mp().fail_next, proc, now
            )
            if died_abnormally
            else []
        )
        self.watch.remove_sentinel(proc)
        if died_abnormally:
            self._salvage_results_of(proc)
        with shared.lock:
            proc.exited = True
            events: list[Event] = list(repaired)
            exited = WorkerExited(now(), proc.worker, proc.process.pid, code, sig, reason)
            if died_abnormally:
                events.extend(self._settle_task_of_dead(proc, reason))
            if proc.worker >= 0:
                events.extend(worker_reaped(shared, proc))
            events.append(exited)  # last: what the dead worker held is settled first
            self._outbox.emit(events)
            shared.wake.notify_all()
        if server is not None and not clean_exit:
            with shared.lock:
                if shared.stop_reason is None:
                    shared.stop_reason = (
                        "error",
                        f"the forkserver (PID {server}) died, and every process it started "
                        "with it; the results collected are kept",
                    )
        if proc.worker == COLLECTOR and not clean_exit:
            self._collector_died(proc, reason)

    def _collector_died(self, proc: RunProcess, reason: str) -> None:
        """The collector ended without finishing its loop: the run's failure. A collector that
        raised has said why (``CollectorFailed``, with its traceback); one a signal ended
        could not, so it is said here."""
        shared, pid = self._shared, proc.process.pid
        with shared.lock:
            error = shared.collector_error
            if not error:
                error = shared.collector_error = reason
                self._outbox.emit(
                    [CollectorFailed(shared.clock.now(), COLLECTOR, pid, reason, "", SIGNAL_NOTE)]
                )
            if shared.stop_reason is None:
                shared.stop_reason = (
                    "error",
                    f"the collector (PID {pid}) failed: {error}; the results it collected are kept",
                )

    def _dead_forkserver(self, code: int) -> int | None:
        """The forkserver's PID if it has died (a forkserver's process that "exited with
        code 255" has lost it: the server's pipe closes a moment before it is a zombie)."""
        if self._shared.scenario.start_method != "forkserver":
            return None
        deadline = time.monotonic() + (TERM_WAIT_S if code == 255 else 0)
        while (server := dead_forkserver()) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return server

    def _salvage_results_of(self, proc: RunProcess) -> None:
        """Task 2, before the main process collects: read what a dead worker's channel still
        holds now (nobody else reads it yet), so that what died unsent is known (and run
        again) while the other workers are still there."""
        shared = self._shared
        if shared.scenario.mode != Mode.COLLECT_AFTER or shared.main_collecting:
            return
        conn = shared.require_mp().results.pop(proc.worker, None)
        if conn is None:
            return
        kept = salvage(proc.worker, conn)
        with shared.lock:
            shared.salvaged.extend(kept)
            proc.results_drained = True

    def _settle_task_of_dead(self, proc: RunProcess, reason: str) -> list[Event]:
        """The task a dead worker held goes back on the task queue once, or is lost (under the
        lock; the shared slot says which task it held even if its last events died with it)."""
        shared, now = self._shared, self._shared.clock.now
        ledger = shared.ledger
        events = ledger.release_held(now(), everything=True)
        held = int(shared.require_mp().slots[proc.worker])
        label = ledger.label(held)
        if shared.scenario.mode == Mode.PRINT:  # Task 1: no queue to put its count back on
            died = ledger.lose(now(), held, f"its worker was {reason}")
            requeue: list[int] = []
        else:
            died, requeue = ledger.worker_died(now(), proc.worker, held)
        events.extend(died)
        shared.requeue.extend(requeue)
        where = (
            f"; task {label} went back on the task queue"
            if requeue
            else (f"; task {label} is lost" if died else "")
        )
        events.append(
            Note(now(), "warning", f"worker {proc.worker} (PID {proc.process.pid}) {reason}{where}")
        )
        return events

    def close_pipes(self) -> None:
        """Stop watching the event pipes and close them (the run is over)."""
        for reader in self.watch.pipes():
            self.watch.remove_pipe(reader)
            reader.close()
