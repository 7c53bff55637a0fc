"""The one bridge between an event source and the app: a live engine run or a recording.

Both sources read their events on a daemon thread and hand them to the app in batches with
``post``, at most ``MAX_POSTS_PER_S`` messages a second however fast events arrive (a batch
waits a little and grows instead). The app never touches processes: it asks the live source,
which asks :class:`mpscope.core.engine.run.Engine`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from mpscope.core.pipeline.bulk import weight
from mpscope.core.pipeline.events import (
    Event,
    Note,
    PrintedLine,
    RunFinished,
    RunPaused,
    TaskStarted,
)
from mpscope.core.pipeline.recording import RecordingError
from mpscope.core.pipeline.scenario import Scenario
from mpscope.tui.session.pump import pump_batches

MAX_POSTS_PER_S = 20
STARTUP_KEPT_NS = 200_000_000  # --trim-start keeps 0.2 s before each start-up event
Post = Callable[[list[Event] | None], None]
#: What a replay plays: the events, or a function that opens a stream of them (given a
#: function that says whether to keep following a recording that is still growing)
Replay = Sequence[Event] | Callable[[Callable[[], bool]], Iterable[Event]]


class EventSource(Protocol):
    """What the app can ask of whatever feeds it."""

    live: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def set_paused(self, paused: bool) -> bool: ...
    def set_speed(self, factor: float) -> None: ...
    def kill_worker(self, worker: int) -> bool: ...
    def inject_failure(self) -> bool: ...
    def join(self, timeout: float) -> bool: ...
    def batch_taken(self) -> None:
        """The app has folded one posted batch (a replay waits for it: see ReplaySource)."""

    def elapsed_ns(self) -> int:
        """Run time now (the header's clock between events)."""
        ...


class LiveSource:
    """Runs a scenario on the engine and posts its events."""

    live = True

    def __init__(self, scenario: Scenario, notes: list[str], post: Post) -> None:
        from mpscope.core.engine.run import (
            Engine,  # no torch here: the engine imports it in its thread
        )

        self.engine = Engine(scenario, notes)
        self._post = post
        self._thread = threading.Thread(target=self._pump, name="mpscope-bridge", daemon=True)

    def start(self) -> None:
        self.engine.start()
        self._thread.start()

    def _pump(self) -> None:
        pending: list[Event] = []
        last_post = 0.0

        def gather(batch: list[Event]) -> None:  # a batch waits a little and grows
            nonlocal pending, last_post
            pending.extend(batch)
            if pending and time.monotonic() - last_post >= 1 / MAX_POSTS_PER_S:
                self._post(pending)
                pending, last_post = [], time.monotonic()

        pump_batches(self.engine, gather, 1 / MAX_POSTS_PER_S)
        if pending:
            self._post(pending)
        self._post(None)

    def stop(self) -> None:
        self.engine.stop("stopped by the user")

    def set_paused(self, paused: bool) -> bool:
        return self.engine.set_paused(paused)

    def set_speed(self, factor: float) -> None:
        self.engine.set_time_scale(1 / factor)

    def kill_worker(self, worker: int) -> bool:
        return self.engine.kill_worker(worker)

    def inject_failure(self) -> bool:
        return self.engine.inject_failure()

    def elapsed_ns(self) -> int:
        return self.engine.elapsed_ns()

    def batch_taken(self) -> None:
        pass  # a live run's batches grow while the app is busy (the pump gathers them)

    def join(self, timeout: float) -> bool:
        if not self.engine.join(timeout):
            return False
        self._thread.join(timeout)
        return True


class ReplaySource:
    """Plays a recording back in its own time (scaled by the speed), pausable.

    ``events`` may be a list, or a function that opens a stream of them read as it goes, on
    the replay's own thread (:func:`iter_recording`, or :func:`follow_recording` for a
    recording still being written, which it hands :meth:`following` so that it gives up when
    the replay stops): nothing is read ahead of the replay's clock but the next event, so a
    recording of any size starts at once. A bad line met on the way ends the replay as an
    error, saying which line."""

    live = False

    def __init__(
        self,
        events: Replay,
        post: Post,
        speed: float = 1.0,
        instant: bool = False,
        in_flight: int | None = None,
    ) -> None:
        self._events = events
        self._post = post
        # at most so many batches posted and not yet taken (batch_taken): a recording of
        # quick tasks holds more events a second than the app folds, and a replay that ran
        # ahead would pile them up in the app's message queue (memory, and a slow q)
        self._in_flight = threading.BoundedSemaphore(in_flight) if in_flight else None
        self._speed = speed
        self._instant = instant
        self._clock = 0.0  # the replayed run time reached so far, in ns
        self._paused = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._play, name="mpscope-replay", daemon=True)
        self.trim_start = False  # skip the recorded start-up's waits (set before start)

    def start(self) -> None:
        self._thread.start()

    def following(self) -> bool:
        """False once the replay is stopped: a follower of a growing file gives up then."""
        return not self._stopped.is_set()

    def _play(self) -> None:
        last_t = 0
        try:
            last_t = self._play_events()
        except RecordingError as exc:  # a bad line part way through a streamed recording
            message = str(exc)
            self._post([Note(last_t, "error", message), RunFinished(last_t, "error", message)])
        self._post(None)

    def _play_events(self) -> int:
        """Post the events as the replay's clock reaches them; the last event's time."""
        events = iter(self._events(self.following) if callable(self._events) else self._events)
        if self._instant:  # the final picture at once (tests, screenshots)
            everything = list(events)
            self._clock = float(everything[-1].t) if everything else 0.0
            self._post(everything)
            return int(self._clock)
        clock = 0.0  # replayed run time, in ns
        starting = self.trim_start  # --trim-start: the start-up's waits are skipped
        last = time.monotonic()
        pending = next(events, None)
        first = True
        last_t = 0
        while pending is not None and not self._stopped.is_set():
            now = time.monotonic()
            if not self._paused.is_set():
                clock += (now - last) * 1e9 * self._speed
                self._clock = clock
            last = now
            if starting and pending is not None:
                if isinstance(pending, (TaskStarted, PrintedLine)):
                    starting = False  # the first work: from here on, the recorded time
                clock = max(clock, float(pending.t) - STARTUP_KEPT_NS)
                self._clock = clock
            batch: list[Event] = []
            held = 0  # tasks' worth in the batch (a bulk event counts its tasks)
            while pending is not None and (pending.t <= clock or first) and held < 5000:
                batch.append(pending)
                held += weight(pending)
                last_t, first = pending.t, False
                pending = next(events, None)
            if batch:
                self._post_when_taken(batch)
            time.sleep(1 / MAX_POSTS_PER_S)
        if self._stopped.is_set() and pending is not None:
            self._post([RunFinished(last_t, "stopped", f"replay stopped at {last_t / 1e9:.2f}s")])
        return last_t

    def _post_when_taken(self, batch: list[Event]) -> None:
        """Post ``batch`` once the app has taken enough of the earlier ones (or the replay
        stopped: then the batch is dropped)."""
        if self._in_flight is not None:
            while not self._in_flight.acquire(timeout=0.05):
                if self._stopped.is_set():
                    return
        self._post(batch)

    def batch_taken(self) -> None:
        if self._in_flight is not None:
            with contextlib.suppress(ValueError):  # a batch it did not wait for (a pause's)
                self._in_flight.release()

    def stop(self) -> None:
        self._stopped.set()

    def set_paused(self, paused: bool) -> bool:
        if paused == self._paused.is_set():
            return False
        if paused:
            self._paused.set()
        else:
            self._paused.clear()
        t = 0
        self._post([RunPaused(t, paused)])
        return True

    def set_speed(self, factor: float) -> None:
        self._speed = factor

    def kill_worker(self, worker: int) -> bool:
        return False

    def inject_failure(self) -> bool:
        return False

    def elapsed_ns(self) -> int:
        return int(self._clock)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()
