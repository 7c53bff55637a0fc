"""``--plain``: a run or replay without the full-screen app.

On a terminal: a Rich live view (a row per worker PID, queue depths, progress). Without one
(CI, pipes): a line per notable event. Then the summary with the per-worker timeline. The run
is read, its signals are handled and its exit code is chosen by the session layer
(:mod:`mpscope.tui.session`): Ctrl+C, SIGTERM and SIGHUP ask the engine for an ordered stop; a
second Ctrl+C kills the run's processes at once. Either way no child process is left behind.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.live import Live

from mpscope.core.pipeline.bulk import chunks
from mpscope.core.pipeline.describe import describe, traceback_lines
from mpscope.core.pipeline.events import (
    SESSION_EVENTS,
    CollectorFailed,
    Event,
    RunFinished,
    RunReplaced,
)
from mpscope.core.pipeline.log_order import HOLD_NS, HeldInOrder, LogOrder
from mpscope.core.pipeline.recording import RecordingWriter
from mpscope.core.pipeline.scenario import Scenario
from mpscope.core.pipeline.session import one_run
from mpscope.core.pipeline.state import RunState
from mpscope.tui.session.exit_codes import exit_code
from mpscope.tui.session.pump import pump_batches
from mpscope.tui.session.signals import PLAIN_SIGNALS, PlainSignals, handled_signals
from mpscope.tui.views.renderables import live_view, summary_view

if TYPE_CHECKING:  # the engine module is imported only when a run starts
    from mpscope.core.engine.run import Engine

FRAME_S = 0.1


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

    def __init__(
        self, console: Console, timeline_seconds: float | None = None, hold_ns: int = HOLD_NS
    ) -> None:
        self.console = console
        self.hold_ns = hold_ns  # how long a line waits for earlier ones still to come
        self.timeline_seconds = timeline_seconds  # the Gantt's axis length, if fixed
        self.state = RunState()
        self.live: Live | None = None
        self.was_live = False  # the run was shown live: its lines were never printed
        self._last_frame = 0.0
        self._held: HeldInOrder[str] = HeldInOrder()  # lines not printed yet
        self._order = LogOrder()

    def feed(self, events: Iterable[Event], now: int | None = None) -> None:
        """Fold ``events`` and print their lines; ``now`` is the run's clock, so that held
        lines go out even when no newer event comes for a while."""
        for event in events:
            if self.live is None:
                line = describe(event, self.state)
                key = self._order.key(event)
                if line is not None:
                    if isinstance(event, CollectorFailed):  # the run's failure: whole
                        line = "\n".join([line, *traceback_lines(event)])
                    self._held.put(key, f"{event.t / 1e9:8.3f}s  {line}")
            self.state.apply(event)
        self._print_held(older_than=max(self.state.now, now or 0) - self.hold_ns)
        if self.live is not None and time.monotonic() - self._last_frame >= FRAME_S:
            self._last_frame = time.monotonic()
            self.live.update(live_view(self.state))

    def _print_held(self, older_than: int | None = None) -> None:
        """Print held lines in time order: each process reports in batches of its own, so a
        line waits until ``HOLD_NS`` of newer run time has arrived (all of them: at the end).

        A line that is printable text and fits the width goes to the file as it is: Rich's
        print would do the same with it, at some thirty times the cost (most of a big
        replay's time). Anything else (control characters, a long line) goes through Rich,
        which strips and wraps."""
        lines = self._held.take(older_than)
        if not lines:
            return
        width = self.console.width
        out = self.console.file
        plain: list[str] = []
        for text in lines:
            if text.isprintable() and (len(text) if text.isascii() else cell_len(text)) < width:
                plain.append(text)
                continue
            if plain:
                out.write("\n".join(plain) + "\n")
                plain.clear()
            self.console.print(text, markup=False)
        if plain:
            out.write("\n".join(plain) + "\n")

    def summary(self) -> None:
        self._print_held()
        lanes = self.state.process_lanes()
        label = max((len(lane.title) for lane in lanes), default=26) + 2  # and the column gap
        width = max(20, min(100, self.console.width - label))
        self.console.print()
        self.console.print(summary_view(self.state, width, timeline_seconds=self.timeline_seconds))
        failure = self.state.collector_failure
        if failure is not None and failure.traceback and self.was_live:
            self.console.print(f"the traceback of {failure.who}:", style="red")
            self.console.print(failure.traceback.rstrip("\n"), markup=False, highlight=False)


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
    writer = _Recording(RecordingWriter(record)) if record else None
    engine = Engine(scenario, notes)
    printer = _EventPrinter(console, timeline_seconds)
    signals = PlainSignals(engine)

    def show(batch: list[Event]) -> None:
        if writer is not None:
            writer.write(batch)
        printer.feed(batch, engine.elapsed_ns())

    pumped = False
    try:
        with handled_signals(signals, PLAIN_SIGNALS):
            try:
                engine.start()
                with _live_view(printer):
                    pump_batches(engine, show, FRAME_S)
                pumped = True
            finally:
                # (| head left) a recording still gets the rest of the run, up to its end
                _end_run(engine, writer if not pumped else None)
    finally:
        if writer is not None:
            writer.close()
    printer.summary()
    outcome = printer.state.outcome
    code = exit_code(outcome, signals.ending_signal(outcome))
    if writer is not None and writer.error:
        print(f"mpscope: error: {writer.error}", file=sys.stderr)
        return max(code, 1)
    if writer is not None:
        console.print(f"recorded {writer.file.count} events to {writer.file.path}")
    return code


class _Recording:
    """``--record``'s file: a write that fails (a full disk) stops the recording, not the
    run; ``error`` then says why, in one line."""

    def __init__(self, file: RecordingWriter) -> None:
        self.file = file
        self.error = ""

    def write(self, events: list[Event]) -> None:
        if self.error:
            return
        try:
            self.file.write(events)
        except OSError as exc:
            self.error = f"recording to {self.file.path} stopped: {exc.strerror or exc}"
            self.close()

    def close(self) -> None:
        try:
            self.file.close()
        except OSError as exc:  # closing flushes, and fails the same way
            if not self.error:
                self.error = f"recording to {self.file.path} stopped: {exc.strerror or exc}"


@contextmanager
def _live_view(printer: _EventPrinter) -> Iterator[None]:
    """On a terminal, the Rich live view while the run goes on (it goes when the run ends)."""
    console = printer.console
    if not console.is_terminal:
        yield
        return
    view = live_view(printer.state)
    with Live(view, console=console, transient=True, refresh_per_second=10) as live:
        printer.live = live
        printer.was_live = True
        yield
    printer.live = None


def _end_run(engine: Engine, writer: _Recording | None) -> None:
    """Stop the run (if it still goes), write the rest of its events to ``writer`` (showing
    nothing: its reader went away) and wait for every process of mpscope's runs."""
    from mpscope.core.engine.lifecycle import shutdown

    engine.stop("mpscope is exiting")
    if writer is not None:
        pump_batches(engine, writer.write, FRAME_S, deadline=time.monotonic() + 15)
    engine.join(15)
    shutdown()


REPLAY_CHUNK = 2000
"""Events folded between two prints of held lines in a plain replay: lines go out as the
recording is read."""
REPLAY_HOLD_NS = 500_000_000
"""How long a replayed line waits for earlier ones: a recording holds the batches in the order
they reached the main process, which a loaded machine delays by more than a live run waits."""


def replay_plain(events: Iterable[Event], timeline_seconds: float | None = None) -> int:
    """Show a recording, read as it goes, run by run (a session's recording holds several):
    each run's notable events as lines (no terminal) and its summary. Memory holds one run's
    state, not the recording. The exit code is the last run's."""
    console = _console()
    stream = iter(events)
    code, number = 0, 0
    while True:
        run = one_run(stream)
        first = next(run, None)
        if first is None:
            return code
        number += 1
        if number > 1:
            console.rule(f"run {number}")
        code = _replay_run(console, chain((first,), run), timeline_seconds)


def _replay_run(console: Console, run: Iterator[Event], timeline_seconds: float | None) -> int:
    printer = _EventPrinter(console, timeline_seconds, REPLAY_HOLD_NS)
    finished: RunFinished | None = None
    replaced: RunReplaced | None = None
    for chunk in chunks(run, REPLAY_CHUNK):  # a bulk event counts its tasks
        for event in chunk:
            if isinstance(event, RunFinished):
                finished = event
            elif isinstance(event, RunReplaced):
                replaced = event
        chunk = [event for event in chunk if type(event) not in SESSION_EVENTS]
        if console.is_terminal:
            printer.state.apply_all(chunk)
        else:
            printer.feed(chunk)
    printer.summary()
    if finished is None:
        console.print("note: the recording ends before the run did", style="yellow")
    if replaced is not None:
        console.print(f"then: {replaced.why}", style="dim")
    return exit_code(finished.outcome if finished else None)
