"""Pause, speed and kill for a DataLoader run: the run's clock, shared with its workers.

:class:`LoaderClock` is the run's time in nanoseconds with every pause left out, and its speed:
two shared values that the DataLoader's workers read (the wrapped dataset and ``collate_fn``
carry the clock into them, pickled with the dataset under spawn and forkserver). A pause
freezes the clock and SIGSTOPs the workers; on resume the pause is added to the time left out
before the workers get SIGCONT, so no bar, wait or sample's load time counts it.

:class:`LoaderControl` is what a screen calls (the app never signals a process itself): it
knows the workers' PIDs from their ``worker_init_fn`` reports, and signals only processes that
are still this process's children, or its forkserver's (a PID of a worker that ended may
belong to another process by then).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from mpscope.core.engine.orphans import multiprocessing_helpers, proc_info

SPEEDS: Final = (0.25, 0.5, 1.0, 2.0, 4.0)
#: the longest a simulated sleep waits before it looks at the clock again
_TICK_S: Final = 0.05


class LoaderClock:
    """The run's clock (pauses left out) and speed; picklable into DataLoader workers."""

    def __init__(self, context: Any, start_ns: int | None = None) -> None:
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self._left_out = context.RawValue("q", 0)  # ns of pauses that ended
        self._paused_at = context.RawValue("q", 0)  # monotonic ns a pause began; 0: running
        self._speed = context.RawValue("d", 1.0)

    def now(self) -> int:
        """Nanoseconds since the run started, pauses left out (frozen while paused)."""
        paused_at = self._paused_at.value
        moment = paused_at if paused_at else time.monotonic_ns()
        return int(moment - self.start_ns - self._left_out.value)

    @property
    def speed(self) -> float:
        """×0.25 (slow motion) … ×4: the simulated load and training times are divided by it."""
        return float(self._speed.value)

    @speed.setter
    def speed(self, value: float) -> None:
        self._speed.value = float(value)

    @property
    def paused(self) -> bool:
        """True while the clock is frozen."""
        return bool(self._paused_at.value)

    def freeze(self) -> None:
        """Stop the clock (a pause begins)."""
        if not self._paused_at.value:
            self._paused_at.value = time.monotonic_ns()

    def thaw(self) -> None:
        """Start the clock again, the pause left out."""
        paused_at = self._paused_at.value
        if paused_at:
            self._left_out.value += time.monotonic_ns() - paused_at
            self._paused_at.value = 0

    def sleep(self, seconds: float) -> None:
        """Take ``seconds`` ÷ speed of this clock's time: a pause in the middle adds to it."""
        if seconds <= 0:
            return
        target = self.now() + int(seconds * 1e9 / max(self.speed, 1e-3))
        while (left := target - self.now()) > 0:
            time.sleep(min(left / 1e9, _TICK_S))


class LoaderControl:
    """The screen's handle on a DataLoader run: pause, resume, speed, kill a worker."""

    def __init__(self) -> None:
        self.clock: LoaderClock | None = None
        self.pids: dict[int, int] = {}
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.running.set()
        self.wanted_speed = 1.0
        self.on_kill: Callable[[int, int, int], None] | None = None

    def attach(self, clock: LoaderClock, on_kill: Callable[[int, int, int], None]) -> None:
        """The run's clock, once it exists, and what to call with ``(t, worker, pid)`` when a
        worker is killed (:func:`~mpscope.core.dataloader.run.run_loader` emits an event)."""
        with self.lock:
            self.clock, self.on_kill = clock, on_kill
            clock.speed = self.wanted_speed
            if not self.running.is_set():
                clock.freeze()

    def worker_up(self, worker: int, pid: int) -> None:
        """A worker reported its PID; one that starts while paused is paused at once."""
        with self.lock:
            self.pids[worker] = pid
            if not self.running.is_set():
                self._signal(pid, signal.SIGSTOP)

    @property
    def paused(self) -> bool:
        return not self.running.is_set()

    def pause(self) -> None:
        """Freeze the clock, SIGSTOP every worker; the loop stops before its next step."""
        with self.lock:
            self.running.clear()
            if self.clock is not None:
                self.clock.freeze()
            for pid in self.pids.values():
                self._signal(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Leave the pause out of the clock, SIGCONT every worker, let the loop go on."""
        with self.lock:
            if self.clock is not None:
                self.clock.thaw()
            for pid in self.pids.values():
                self._signal(pid, signal.SIGCONT)
            self.running.set()

    def toggle_pause(self) -> bool:
        """Pause or resume; True if now paused."""
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def set_speed(self, speed: float) -> None:
        """Divide the simulated load and training times by ``speed`` from now on."""
        with self.lock:
            self.wanted_speed = speed
            if self.clock is not None:
                self.clock.speed = speed

    def step_speed(self, direction: int) -> float:
        """One step slower (-1) or faster (+1) along :data:`SPEEDS`; the new speed."""
        here = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.wanted_speed))
        speed = SPEEDS[max(0, min(len(SPEEDS) - 1, here + direction))]
        self.set_speed(speed)
        return speed

    def kill(self, worker: int) -> int | None:
        """SIGKILL DataLoader worker ``worker``; its PID, or None if it is not running."""
        with self.lock:
            pid = self.pids.get(worker)
            if pid is None or not self._signal(pid, signal.SIGKILL):
                return None
            on_kill, clock = self.on_kill, self.clock
        if on_kill is not None and clock is not None:
            on_kill(clock.now(), worker, pid)
        return pid

    def wait_running(self, stop: threading.Event | None) -> None:
        """Block while paused (the loop's gate), until resumed or ``stop`` is set."""
        while not self.running.wait(0.1):
            if stop is not None and stop.is_set():
                return

    def release(self) -> None:
        """The run is over: nothing stays stopped (a stopped worker cannot shut down)."""
        self.resume()

    @staticmethod
    def _signal(pid: int, sig: int) -> bool:
        info = proc_info(pid)
        if info is None or info.ppid not in {os.getpid(), *multiprocessing_helpers()}:
            return False  # ended (or a zombie), or not ours (forkserver's are): another's PID
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            return True
        return False
