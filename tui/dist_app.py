"""The distributed mode's screen: ``mpscope run --mode distributed`` and ``mpscope watch`` in a
terminal. One lane per rank (rank, local rank, PID, host) on a shared time line, the latest
steps across the world, the straggler and any disagreeing checksum, the run's error.

The run is a source in :mod:`mpscope.core.distributed` (torchrun's ranks, or a listener for a
user's own) on a thread of its own; this app starts and ends no process: ``q`` (or SIGTERM,
SIGHUP) sets the source's stop, and once the screen is gone the source ends what it started
before the command returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import ClassVar, TextIO

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from mpscope.core.distributed.events import DistEvent, to_json
from mpscope.core.distributed.state import DistState
from mpscope.tui.session.exit_codes import exit_code
from mpscope.tui.views.dist import dist_view

#: runs the ranks (or listens for them), sends every event to ``emit``, ends when ``stop`` is
#: set or the run is over; returns the outcome
Source = Callable[[Callable[[DistEvent], None], threading.Event], str]
JOIN_TIMEOUT = 40.0

DIST_HELP = """\
# The distributed screen — keys

| key | what it does |
|---|---|
| `q` | quit: the ranks are ended first (torchrun's group, then whatever has the run's token) |
| `?` `F1` | this help |
| `ctrl+s` | save a screenshot (SVG) |

# Reading the screen

- **one lane per rank**: its rank, local rank, real PID and host. The lanes share one time line
  over the last 8 steps: green `█` the rank computes (forward and backward), yellow `░` it is
  inside a collective (the gradient all-reduce), grey `·` between steps.
- An all-reduce ends for every rank when the last one arrives, so the yellow is mostly waiting.
  **◀** marks the **straggler**: in most steps it spends the least time waiting and every other
  rank at least twice as long (`--slow-rank R` makes one).
- **step** is the rank's mean step time, **waiting** the share of it inside collectives.
- **checksum**: a CRC-32 of the rank's parameters after its last step; ✓ when every rank's
  agrees, red **✗ differs** when they do not (data-parallel ranks must stay identical).
- **latest steps**: each step across the world, from the first rank's start to the last rank's
  end. When a rank fails, torchrun ends the others; its failure summary and the root-cause rank
  are shown at the bottom.
"""


class DistApp(App[None]):
    """The ranks of one distributed run (or of ``watch``) as lanes, live."""

    TITLE = "mpscope · distributed"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False),
    ]

    def __init__(self, source: Source, record: str | None = None, hint: str = "") -> None:
        super().__init__()
        self.source = source
        self.hint = hint
        self.state = DistState()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.outcome = ""
        self.sink: TextIO | None = open(record, "w", encoding="utf-8") if record else None  # noqa: SIM115
        self.runner = threading.Thread(target=self._run, name="distributed", daemon=True)

    def compose(self) -> ComposeResult:
        yield Static(id="dist")
        yield Footer()

    def on_mount(self) -> None:
        self.runner.start()
        self.redraw()
        self.set_interval(0.1, self.redraw)

    def _run(self) -> None:
        try:
            self.outcome = self.source(self._fold, self.stop)
        finally:
            if self.sink is not None:
                with self.lock:
                    self.sink.close()
                    self.sink = None

    def _fold(self, event: DistEvent) -> None:
        with self.lock:
            self.state.apply(event)
            if self.sink is not None:
                self.sink.write(to_json(event) + "\n")
                self.sink.flush()

    def redraw(self) -> None:
        with self.lock:
            view = dist_view(self.state, max(60, self.size.width - 2), self.size.height, self.hint)
        self.query_one("#dist", Static).update(view)

    def action_quit(self) -> None:  # type: ignore[override]
        self.stop.set()
        self.exit()

    def action_help(self) -> None:
        from mpscope.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(DIST_HELP))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        from mpscope.tui.screens.modal import save_screenshot_or_say

        self.call_after_refresh(save_screenshot_or_say, self, filename, path)

    def end(self) -> None:
        """Stop the source and wait for it to end what it started."""
        self.stop.set()
        self.runner.join(timeout=JOIN_TIMEOUT)


def recorded(events: list[DistEvent]) -> Source:
    """A source that gives a recording's events at once (a replay: nothing runs)."""

    def source(emit: Callable[[DistEvent], None], _stop: threading.Event) -> str:
        outcome = ""
        for event in events:
            emit(event)
            outcome = getattr(event, "outcome", outcome)
        return outcome or "completed"

    return source


def run_dist_app(source: Source, record: str | None = None, hint: str = "") -> int:
    """Show the run until ``q`` (or the user's signal); then end it; the exit code."""
    app = DistApp(source, record, hint)
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        app.stop.set()
        app.exit()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        app.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if app.runner.is_alive():
            print("mpscope: ending the ranks…", flush=True)
        app.end()
    return exit_code(app.outcome or "stopped", caught[0] if caught else None)
