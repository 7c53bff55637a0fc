"""No wait of mpscope's is unbounded: a forkserver that does not end cannot keep it alive."""

from __future__ import annotations

import contextlib
import multiprocessing.forkserver as forkserver
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psutil
from support import run_engine, scenario

from mpscope.core.engine import lifecycle


def _forkserver_pid() -> int:
    server = forkserver._forkserver  # type: ignore[attr-defined]
    pid = server._forkserver_pid
    assert pid is not None, "the run did not start a forkserver"
    return int(pid)


def test_stopping_a_stopped_forkserver_is_bounded_and_ends_it() -> None:
    _events, state = run_engine(scenario(count=2, work_time=0, start_method="forkserver"))
    assert state.outcome == "completed"
    pid = _forkserver_pid()
    os.kill(pid, signal.SIGSTOP)  # a forkserver that cannot answer its "alive" pipe
    stopper = threading.Thread(target=lifecycle.stop_forkserver, args=(0.5,), daemon=True)
    began = time.monotonic()
    stopper.start()
    stopper.join(15)
    try:
        assert not stopper.is_alive(), "stopping the forkserver waited without a bound"
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        assert time.monotonic() - began < 10
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # old code: let the stuck wait end
        stopper.join(5)
    # a later run starts a forkserver of its own
    _events, state = run_engine(scenario(count=2, work_time=0, start_method="forkserver"))
    assert state.outcome == "completed"
    assert _forkserver_pid() != pid


def _forkserver_of(proc: psutil.Process, timeout: float) -> psutil.Process:
    """The forkserver of ``proc``, once it has forked the run's three processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in proc.children():
            with contextlib.suppress(psutil.Error):
                if "forkserver" in " ".join(child.cmdline()) and len(child.children()) >= 3:
                    return child
        time.sleep(0.02)
    raise AssertionError("no forkserver with the run's processes appeared")


def test_mpscope_exits_even_when_its_forkserver_is_stopped() -> None:
    """``--plain`` to its end with a SIGSTOPped forkserver: the exit is bounded."""
    mpscope = os.path.join(os.path.dirname(sys.executable), "mpscope")
    run = subprocess.Popen(
        [mpscope, "run", "--plain", "--tasks", "8", "--work-time", "0.4", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server: psutil.Process | None = None
    try:
        server = _forkserver_of(psutil.Process(run.pid), 60)
        server.suspend()
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
        if server is not None:
            with contextlib.suppress(psutil.Error):
                server.kill()


def test_a_killed_forkserver_is_named_as_the_cause_not_the_collector() -> None:
    from mpscope.core.engine.run import Engine
    from mpscope.core.pipeline.events import Note, TaskStarted, WorkerExited

    killed: list[int] = []

    def kill_forkserver(engine: Engine, event: object, state: object) -> None:
        if isinstance(event, TaskStarted) and not killed:
            killed.append(_forkserver_pid())
            os.kill(killed[0], signal.SIGKILL)

    events, state = run_engine(
        scenario(count=20, work_time=0.3, start_method="forkserver"),
        timeout=40,
        on_event=kill_forkserver,
    )
    assert killed
    assert state.outcome == "error"
    assert f"the forkserver (PID {killed[0]}) died" in state.outcome_message
    assert "collector" not in state.outcome_message.split(";")[0]
    exits = [e for e in events if isinstance(e, WorkerExited)]
    assert exits and all("forkserver" in e.reason for e in exits)
    assert not any("code 255" in n.text for n in events if isinstance(n, Note))
    _events, state = run_engine(scenario(count=2, work_time=0, start_method="forkserver"))
    assert state.outcome == "completed"  # the next run has a forkserver of its own


def _hold_forever(counter: Any) -> None:
    counter.get_lock().acquire()
    time.sleep(300)


def test_a_counter_lock_a_killed_worker_held_is_released_at_its_reap() -> None:
    """The injected-failure counter's lock, taken by a worker killed in that instant, would
    block every later ``f`` for good; the reap releases it."""
    import multiprocessing as mp

    from mpscope.core.engine.shared import RunProcess
    from mpscope.core.engine.task_queue import release_locks_died_holding

    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0, lock=ctx.Lock())  # as the engine makes it
    holder = ctx.Process(target=_hold_forever, args=(counter,), daemon=True)
    holder.start()
    try:
        deadline = time.monotonic() + 10
        while counter.get_lock().acquire(timeout=0.01):  # until the child has it
            counter.get_lock().release()
            assert time.monotonic() < deadline
        holder.kill()
        holder.join(5)
        assert not counter.get_lock().acquire(timeout=0.2)  # held by the dead
        notes = release_locks_died_holding(None, counter, RunProcess(0, holder, None), lambda: 1)
        assert [n.text for n in notes] == [
            f"released the injected-failure counter's lock that PID {holder.pid} died holding"
        ]
        assert counter.get_lock().acquire(timeout=1)
        counter.get_lock().release()
    finally:
        holder.kill()
        holder.join(5)
