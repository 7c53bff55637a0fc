"""Pause, speed and kill of a real DataLoader run through its LoaderControl: the workers are
really stopped, the clock leaves the pause out, the speed divides the simulated times, a
killed worker ends the run with the DataLoader's own error, and only our children are signalled."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import psutil
import pytest

from mpscope.core.dataloader.controls import LoaderClock, LoaderControl
from mpscope.core.dataloader.events import BatchReceived, LoaderEvent
from mpscope.core.dataloader.run import LoaderSettings, run_loader
from mpscope.core.dataloader.state import fold
from mpscope.core.engine.lifecycle import import_torch_quietly
from tests.loader_support import run_loader_in_thread

import_torch_quietly()
pytestmark = pytest.mark.timeout(120)


def test_the_clock_stands_still_while_paused_and_sleeps_by_its_speed() -> None:
    clock = LoaderClock(multiprocessing.get_context("fork"))
    clock.freeze()
    frozen = clock.now()
    time.sleep(0.2)
    assert clock.now() == frozen and clock.paused
    clock.thaw()
    assert clock.now() - frozen < 50_000_000  # the 0.2 s pause is left out
    clock.speed = 4.0
    began = time.monotonic()
    clock.sleep(0.4)
    assert 0.09 < time.monotonic() - began < 0.3  # 0.4 s ÷ 4


def test_pause_stops_the_workers_and_no_time_counts_it() -> None:
    control = LoaderControl()
    settings = LoaderSettings(samples=24, batch_size=4, load_time=0.01, train_time=0.01)
    runner, events, first = run_loader_in_thread(settings, control)
    try:
        assert first.wait(30)
        control.pause()
        time.sleep(0.3)  # a worker reports up before its first batch: all are known by now
        pids = list(control.pids.values())
        assert len(pids) == 2
        assert all(psutil.Process(pid).status() == psutil.STATUS_STOPPED for pid in pids)
        steps_then = sum(1 for e in events if isinstance(e, BatchReceived))
        time.sleep(1.2)
        assert sum(1 for e in events if isinstance(e, BatchReceived)) == steps_then
    finally:
        control.resume()
        runner.join(60)
    state = fold(events)
    assert state.outcome == "completed" and len(state.steps) == 6
    # unpaused it takes ~0.2 s; the 1.5 s pause is in no time shown
    assert state.now < 1_000_000_000, state.now
    assert state.wait_ns < 1_000_000_000


def test_slow_motion_divides_the_load_time() -> None:
    control = LoaderControl()
    control.set_speed(0.25)
    events: list[LoaderEvent] = []
    settings = LoaderSettings(samples=4, batch_size=2, num_workers=1, load_time=0.02, train_time=0)
    assert run_loader(settings, events.append, control=control) == "completed"
    slowest = min(bar.slowest_ns for bar in fold(events).bars.values())
    assert slowest >= 75_000_000  # 0.02 s × 4


def test_killing_a_worker_ends_the_run_with_the_dataloaders_error() -> None:
    control = LoaderControl()
    settings = LoaderSettings(samples=400, batch_size=4, load_time=0.01, train_time=0.01)
    runner, events, first = run_loader_in_thread(settings, control)
    try:
        assert first.wait(30)
        pid = control.kill(0)
        assert pid is not None
    finally:
        runner.join(60)
    state = fold(events)
    assert state.outcome == "error" and state.killed == {0: pid}
    # torch's own words: its worker check ("DataLoader worker (pid(s) N) exited unexpectedly")
    # or, when the batch on its way from the dead worker is noticed first, the lost connection
    # its shared memory came through
    assert f"(pid(s) {pid})" in state.error or "ConnectionResetError" in state.error
    assert control.kill(0) is None  # it is gone: nothing more to kill


def test_a_pid_that_is_not_our_child_is_never_signalled() -> None:
    control = LoaderControl()
    control.worker_up(0, os.getppid())
    assert control.kill(0) is None
    control.pause()  # would SIGSTOP our parent if it were not checked
    assert psutil.Process(os.getppid()).status() != psutil.STATUS_STOPPED
    control.resume()


def test_ending_a_paused_run_resumes_it_so_it_shuts_down() -> None:
    control = LoaderControl()
    stop = threading.Event()
    settings = LoaderSettings(samples=400, batch_size=4, load_time=0.01, train_time=0.01)
    runner, events, first = run_loader_in_thread(settings, control, stop)
    assert first.wait(30)
    control.pause()
    stop.set()
    control.release()
    runner.join(30)
    assert not runner.is_alive()
    assert fold(events).outcome == "stopped"
