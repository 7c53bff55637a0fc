"""The engine thread: starts a run's processes, supervises them, and ends the run.

Like ``concurrent.futures.process``'s manager thread, the :class:`Supervisor` receives its
collaborators when it is made and owns every process it starts, from start to join. It first
announces the run, imports torch and makes the multiprocessing objects
(:mod:`.processes`), starts the processes and the feeder; then :meth:`Supervisor._supervise`
loops over named steps: wait for events or exits and reap what ended (:mod:`.monitor`),
release reports held too long, stop in order if asked (:mod:`.shutdown`), send the end
sentinels once the work has run out, start Task 2's collecting thread once every worker left
its loop, and finish once nobody is left. Whatever happens, the run ends with one
``RunFinished``, every task having exactly one outcome.
"""

from __future__ import annotations

import contextlib
import os
import threading

from mpscope.core.engine.controls import RunControls
from mpscope.core.engine.feeder import Feeder
from mpscope.core.engine.main_collector import MainCollector, nobody_collects
from mpscope.core.engine.monitor import ProcessMonitor
from mpscope.core.engine.orphans import subreaping
from mpscope.core.engine.outbox import Outbox
from mpscope.core.engine.pitfalls import shm_warning
from mpscope.core.engine.processes import ProcessStarter, kill_every_process, make_process_shared
from mpscope.core.engine.shared import POLL_S, ProcessShared, RunShared
from mpscope.core.engine.shared_fill import read_back_shared_tensor
from mpscope.core.engine.shutdown import OrderedStop
from mpscope.core.engine.task_queue import lose_stranded, put_end_sentinels
from mpscope.core.pipeline.events import (
    MAIN,
    RunFinished,
    RunStarted,
    SourceExhausted,
    SpeedChanged,
    TaskLost,
    WorkerReady,
    WorkerSpawned,
)
from mpscope.core.pipeline.scenario import Mode

#: What a run's end says when nothing went wrong: (outcome, message).
COMPLETED = ("completed", "every task has an outcome")


class Supervisor(threading.Thread):
    """The engine thread of one run (see the module)."""

    def __init__(
        self,
        shared: RunShared,
        outbox: Outbox,
        controls: RunControls,
        notes: list[str],
        owner: object,
    ) -> None:
        super().__init__(name="mpscope-engine", daemon=True)
        #: the engine that made this thread, held until the run is over (as a thread holds its
        #: target): :mod:`.lifecycle` holds engines weakly and must find a running one at exit
        self._owner: object | None = owner
        self._shared = shared
        self._outbox = outbox
        self._controls = controls
        self._notes = list(notes)
        if (shm := shm_warning(shared.scenario)) is not None:  # each run, restarts too
            self._notes.append(shm)
        self.monitor = ProcessMonitor(shared, outbox)
        self._feeder: Feeder | None = None
        self._main_collector: MainCollector | None = None
        self._sentinels_sent = False
        self._end_of_results_sent = False
        #: the outcome of a run that ended on its own before its work was done (every worker died)
        self._ended_early: tuple[str, str] | None = None

    def run(self) -> None:
        shared = self._shared
        outcome, message = "error", "the engine failed"
        try:
            with subreaping():  # what a dead run process leaves comes back here: .orphans
                outcome, message = self._start_and_supervise()
        except BaseException as exc:  # the engine must always end its run cleanly
            message = f"engine error: {type(exc).__name__}: {exc}"
            self._give_up(message)
        finally:
            shared.outcome = outcome
            self._outbox.emit([RunFinished(shared.clock.now(), outcome, message)])
            shared.finished.set()
            self._outbox.close()
            self._owner = None

    def _start_and_supervise(self) -> tuple[str, str]:
        """Start the run, then supervise it to its end; its (outcome, message)."""
        sc = self._shared.scenario
        self._announce_run()
        mp = make_process_shared(self._shared)  # imports torch: after RunStarted, on purpose
        if sc.mode == Mode.PRINT:
            self._book_counting_jobs()
        ProcessStarter(self._shared, self._outbox, self.monitor, mp).start_all()
        if sc.mode == Mode.COLLECT_AFTER:
            self._outbox.emit([WorkerSpawned(self._shared.clock.now(), MAIN, os.getpid(), "main")])
        if sc.mode != Mode.PRINT:
            self._feeder = Feeder(self._shared, self._outbox, mp.task_queue)
            self._feeder.start()
        return self._supervise(mp)

    # -- starting ------------------------------------------------------------------------------

    def _announce_run(self) -> None:
        """``RunStarted`` (and the speed, if it changed meanwhile), then the notes: the screen
        can say what is coming while torch imports."""
        shared, sc = self._shared, self._shared.scenario
        with shared.lock:
            self._outbox.emit(
                [RunStarted(0, sc.mode, sc.start_method, sc.workers, sc.to_json(), os.getpid())]
            )
            shared.run_started = True
            if shared.time_scale != sc.time_scale:  # the speed changed while we started
                self._outbox.emit([SpeedChanged(shared.clock.now(), shared.time_scale)])
        for text in self._notes:
            self._outbox.note("warning", text)

    def _book_counting_jobs(self) -> None:
        """Task 1: each worker's counting job is its one task (there is no task source)."""
        shared, sc = self._shared, self._shared.scenario
        with shared.lock:
            for i in range(sc.workers):
                shared.ledger.add(i, None, f"print 1..{sc.print_count}", False)
                self._outbox.emit(shared.ledger.announce(shared.clock.now(), i))
            shared.source_done = True
            self._outbox.emit([SourceExhausted(shared.clock.now(), sc.workers)])

    # -- supervising ---------------------------------------------------------------------------

    def _supervise(self, mp: ProcessShared) -> tuple[str, str]:
        """The loop of the engine thread, until the run's end; its (outcome, message)."""
        shared = self._shared
        while True:
            self._reap_what_ended()
            self._release_held_reports()
            if shared.stop_reason is not None:
                return self._stop_in_order(mp)
            if shared.scenario.mode == Mode.PRINT:
                if shared.all_workers_gone():
                    return self._finish_counting()
                continue
            self._send_end_sentinels_once_work_ran_out(mp)
            self._start_main_collector_once_workers_left_their_loop(mp)
            if shared.all_workers_gone():
                self._end_results_once(mp)
                if nobody_collects(shared, self._main_collector):
                    self.monitor.drain_events()
                    return self._finish()

    def _reap_what_ended(self) -> None:
        """Wait a little for events or exits; handle the events, reap the processes."""
        for proc in self.monitor.wait(POLL_S):
            self.monitor.reap(proc)

    def _release_held_reports(self) -> None:
        """Collector reports that waited too long for their worker's own go out anyway."""
        with self._shared.lock:
            self._outbox.emit(self._shared.ledger.release_held(self._shared.clock.now()))

    def _stop_in_order(self, mp: ProcessShared) -> tuple[str, str]:
        """A stop was asked for: stop everything in order, then finish."""
        OrderedStop(
            self._shared,
            self._outbox,
            self.monitor,
            self._controls,
            mp,
            self._feeder,
            self._main_collector,
        ).run()
        return self._finish()

    def _finish_counting(self) -> tuple[str, str]:
        """Task 1: every worker has gone; the run ends (in error if none finished counting)."""
        if not any(p.loop_ended for p in self._shared.procs.values()):
            self._ended_early = (
                "error",
                "no worker was left: every worker died before it finished counting",
            )
        return self._finish()

    def _send_end_sentinels_once_work_ran_out(self, mp: ProcessShared) -> None:
        """Once nothing is left to feed, queued or in hand, one end sentinel per live worker
        (from a thread: the bounded queue may take them one by one)."""
        if self._sentinels_sent:
            return
        shared = self._shared
        with shared.lock:
            workers = shared.live_workers()
            idle = all(int(mp.slots[p.worker]) == -1 for p in workers)
            # a dead worker's results may yet prove unsent (and come back to be run again)
            unsettled = any(
                p.exited and not p.results_drained for w, p in shared.procs.items() if w >= 0
            )
            work_left = (
                unsettled
                or not shared.source_done
                or shared.requeue
                or shared.in_hand
                or mp.task_queue.qsize() > 0
                or not idle
            )
        if work_left or not workers:
            return
        self._sentinels_sent = True
        threading.Thread(
            target=put_end_sentinels,
            args=(shared, mp.task_queue, len(workers)),
            name="mpscope-sentinels",
            daemon=True,
        ).start()

    def _start_main_collector_once_workers_left_their_loop(self, mp: ProcessShared) -> None:
        """Task 2: the main process collects only once every worker left its loop."""
        if (
            self._shared.scenario.mode == Mode.COLLECT_AFTER
            and self._main_collector is None
            and all(p.loop_ended or p.exited for w, p in self._shared.procs.items() if w >= 0)
        ):
            self._start_main_collector(mp)

    def _start_main_collector(self, mp: ProcessShared) -> None:
        self._main_collector = MainCollector(self._shared, self._outbox, mp.results, mp.time_scale)
        self._outbox.emit([WorkerReady(self._shared.clock.now(), MAIN, os.getpid())])
        self._shared.main_collecting = True
        self._main_collector.start()

    def _end_results_once(self, mp: ProcessShared) -> None:
        """Every worker has gone: what is left is lost (once); the collector ends once it
        has read every worker's result channel to its end."""
        if self._end_of_results_sent:
            return
        self._end_of_results_sent = True
        shared, reason = self._shared, "no worker was left to run it"
        with shared.lock:
            work_left = not shared.source_done or shared.ledger.unfinished() > 0
        if work_left:  # no worker is left, and tasks still wanted one
            self._ended_early = (
                "error",
                "no worker was left: every worker died before the work ran out",
            )
        lose_stranded(shared, self._outbox, mp.task_queue, self._feeder, reason)
        with shared.lock:
            self._outbox.emit(shared.ledger.lose_unfinished(shared.clock.now(), reason))
        if shared.scenario.mode == Mode.COLLECT_AFTER and self._main_collector is None:
            self._start_main_collector(mp)

    # -- ending --------------------------------------------------------------------------------

    def _finish(self) -> tuple[str, str]:
        """Settle every task still without an outcome, close the queues; the run's outcome."""
        shared = self._shared
        with shared.lock:
            ledger, now = shared.ledger, shared.clock.now
            self._outbox.emit(ledger.release_held(now(), everything=True))
            events = ledger.lose_unfinished(now(), "the run ended before it finished")
            uncollected = ledger.forget_uncollected()
            self._outbox.emit(events)
        # every worker has gone: the main process reads the tensor they filled (fill-shared)
        self._outbox.emit(read_back_shared_tensor(shared.mp, shared.scenario, shared.clock.now()))
        self._close_queues()
        outcome = shared.stop_reason or self._ended_early or COMPLETED
        lost = [shared.ledger.label(e.task) for e in events if isinstance(e, TaskLost)]
        if uncollected:
            self._outbox.note(
                "warning",
                f"{len(uncollected)} finished results were never collected: " + _some(uncollected),
            )
        if outcome == COMPLETED and (uncollected or lost):
            # done, failed and lost must add up to what was collected: a run where they do
            # not has lost results, whatever else went well
            return "error", _unreconciled(uncollected, lost)
        return outcome

    def _give_up(self, message: str) -> None:
        """After an engine error: kill every process, lose every task without an outcome."""
        shared = self._shared
        self._outbox.note("error", message)
        kill_every_process(shared)
        with contextlib.suppress(Exception):
            with shared.lock:
                self._outbox.emit(shared.ledger.lose_unfinished(shared.clock.now(), message))
            self._close_queues()

    def _close_queues(self) -> None:
        mp = self._shared.mp
        if mp is not None:
            mp.task_queue.cancel_join_thread()
            mp.task_queue.close()
            for reader in list(mp.results.values()):
                reader.close()
        self.monitor.close_pipes()


def _some(labels: list[str], limit: int = 10) -> str:
    """The first ``limit`` labels, and how many more."""
    shown = ", ".join(labels[:limit])
    return shown if len(labels) <= limit else f"{shown} and {len(labels) - limit} more"


def _unreconciled(uncollected: list[str], lost: list[str]) -> str:
    """The sentence of a run whose outcomes do not add up to its collected results."""
    parts = []
    if uncollected:
        parts.append(f"the results of tasks {_some(uncollected)} were never collected")
    if lost:
        parts.append(f"tasks {_some(lost)} ended without an outcome")
    return "; ".join(parts)
