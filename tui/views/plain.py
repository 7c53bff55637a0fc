"""``--plain``: a run or replay without the full-screen app.

On a terminal: a Rich live view (a row per worker PID, queue depths, progress). Without one
(CI, pipes): a line per notable event. Then the summary with the per-worker timeline. Ctrl+C,
SIGTERM and SIGHUP ask the engine for an ordered stop; a second Ctrl+C kills the run's
processes at once. Either way no child process is left behind.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterable
from types import FrameType

from rich.console import Console
from rich.live import Live

from mpscope.core.pipeline.describe import describe
from mpscope.core.pipeline.events import Event, RunFinished
from mpscope.core.pipeline.log_order import HOLD_NS, LogOrder, take_in_order
from mpscope.core.pipeline.recording import RecordingWriter, is_complete
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.state import RunState
from mpscope.tui.views.renderables import live_view, summary_view

FRAME_S = 0.1
EXIT_CODES = {"completed": 0, "stopped": 130, "error": 1}


class _PlainConsole(Console):
    """Rich's console, except that a reader that went away (``| head``) is left to the caller
    (Rich would exit with 1, the code of a run that failed)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _console() -> Console:
    console = _PlainConsole(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = _PlainConsole(highlight=False, soft_wrap=False, width=110)
    return console


class _EventPrinter:
    """Folds events into a state and shows them the way the console can."""

    def __init__(self, console: Console, timeline_seconds: float | None = None) -> None:
        self.console = console
        self.timeline_seconds = timeline_seconds  # the Gantt's axis length, if fixed
        self.state = RunState()
        self.live: Live | None = None
        self._last_frame = 0.0
        self._held: list[tuple[int, str]] = []  # (sort key, line) not yet printed
        self._order = LogOrder()

    def feed(self, events: Iterable[Event], now: int | None = None) -> None:
        """Fold ``events`` and print their lines; ``now`` is the run's clock, so that held
        lines go out even when no newer event comes for a while."""
        for event in events:
            if self.live is None:
                line = describe(event, self.state)
                key = self._order.key(event)
                if line is not None:
                    self._held.append((key, f"{event.t / 1e9:8.3f}s  {line}"))
            self.state.apply(event)
        self._print_held(older_than=max(self.state.now, now or 0) - HOLD_NS)
        if self.live is not None and time.monotonic() - self._last_frame >= FRAME_S:
            self._last_frame = time.monotonic()
            self.live.update(live_view(self.state))

    def _print_held(self, older_than: int | None = None) -> None:
        """Print held lines in time order: each process reports in batches of its own, so a
        line waits until ``HOLD_NS`` of newer run time has arrived (all of them: at the end)."""
        for text in take_in_order(self._held, older_than):
            self.console.print(text, markup=False)

    def summary(self) -> None:
        self._print_held()
        lanes = self.state.process_lanes()
        label = max((len(lane.title) for lane in lanes), default=26) + 2  # and the column gap
        width = max(20, min(100, self.console.width - label))
        self.console.print()
        self.console.print(summary_view(self.state, width, timeline_seconds=self.timeline_seconds))


def run_plain(
    scenario: Scenario,
    notes: list[str],
    record: str | None,
    timeline_seconds: float | None = None,
) -> int:
    """Run ``scenario`` with the plain view; returns the exit code."""
    from mpscope.core.engine.run import Engine

    console = _console()
    for note in notes:  # on stderr at once; the run's log repeats them as events
        print(f"mpscope: note: {note}", file=sys.stderr)
    writer = RecordingWriter(record) if record else None
    engine = Engine(scenario, notes)
    printer = _EventPrinter(console, timeline_seconds)
    interrupts = 0
    received: list[str] = []
    pumped = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupts
        name = signal.Signals(signum).name
        received.append(name)
        interrupts += 1
        if signum == signal.SIGINT and interrupts > 1:
            engine._force_stop()
        engine.stop(f"{name} received")

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        engine.start()
        if console.is_terminal:
            with Live(
                live_view(printer.state), console=console, transient=True, refresh_per_second=10
            ) as live:
                printer.live = live
                _pump(engine, printer, writer)
            printer.live = None
        else:
            _pump(engine, printer, writer)
        pumped = True
    finally:
        from mpscope.core.engine.lifecycle import shutdown

        engine.stop("mpscope is exiting")
        if writer is not None and not pumped:  # (| head left) the recording still gets the end
            _drain(engine, writer, deadline=time.monotonic() + 15)
        engine.join(15)
        shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if writer is not None:
            writer.close()
    printer.summary()
    if writer is not None:
        console.print(f"recorded {writer.count} events to {writer.path}")
    if received and printer.state.outcome == "stopped":
        return 128 + signal.Signals[f"{received[0]}"].value
    return EXIT_CODES.get(printer.state.outcome, 1)


def _drain(engine: object, writer: RecordingWriter, deadline: float) -> None:
    """Write the rest of a stopping run's events, showing nothing (its reader went away)."""
    from mpscope.core.engine.run import Engine

    assert isinstance(engine, Engine)
    while time.monotonic() < deadline:
        batch = engine.next_batch(FRAME_S)
        if batch is None:
            return
        writer.write(batch)


def _pump(engine: object, printer: _EventPrinter, writer: RecordingWriter | None) -> None:
    from mpscope.core.engine.run import Engine

    assert isinstance(engine, Engine)
    while True:
        batch = engine.next_batch(FRAME_S)
        if batch is None:
            return
        if writer is not None:
            writer.write(batch)
        printer.feed(batch, engine.elapsed_ns())


def replay_plain(events: list[Event], timeline_seconds: float | None = None) -> int:
    """Show a recording: its notable events as lines (no terminal) and its summary."""
    console = _console()
    printer = _EventPrinter(console, timeline_seconds)
    if console.is_terminal:
        printer.state.apply_all(events)
    else:
        printer.feed(events)
    printer.summary()
    if not is_complete(events):
        console.print("note: the recording ends before the run did", style="yellow")
    finished = [e for e in events if isinstance(e, RunFinished)]
    return EXIT_CODES.get(finished[-1].outcome, 1) if finished else 1
