"""The distributed run's screen: one lane per rank, from a source in
:mod:`mpscope.core.distributed` (torchrun's ranks, a listener for a user's own, or a recording)
that runs on a thread of its own; its events fold into a :class:`.DistState` under a lock and
the screen redraws ten times a second with :func:`.dist_view`.

This screen starts and ends no process: leaving it (``q``, Escape) sets the source's stop, and
the source ends what it started (:meth:`DistScreen.end_run` waits for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar, TextIO

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from mpscope.core.distributed.events import DistEvent, to_json
from mpscope.core.distributed.state import DistState
from mpscope.tui.views.dist import dist_view

#: runs the ranks (or listens for them), sends every event to ``emit``, ends when ``stop`` is
#: set or the run is over; returns the outcome
Source = Callable[[Callable[[DistEvent], None], threading.Event], str]
JOIN_TIMEOUT = 40.0

DIST_HELP = """\
# The distributed screen — keys

| key | what it does |
|---|---|
| `q` `Esc` | leave: the ranks are ended first (torchrun's group, then all with the run's token) |
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


class DistScreen(Screen[None]):
    """The ranks of one distributed run (or of ``watch``, or a recording) as lanes."""

    OWNS_THE_KEYS = True  # the app's run keys do not apply here (see MpscopeApp)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "back", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        Binding("ctrl+s", "screenshot", "Screenshot", show=False),
    ]

    def __init__(self, source: Source, record: str | None = None, hint: str = "") -> None:
        super().__init__()
        self.source = source
        self.hint = hint
        self.state = DistState()
        self.fold_lock = threading.Lock()
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
            with self.fold_lock:
                if self.sink is not None:
                    self.sink.close()
                    self.sink = None

    def _fold(self, event: DistEvent) -> None:
        with self.fold_lock:
            self.state.apply(event)
            if self.sink is not None:
                self.sink.write(to_json(event) + "\n")
                self.sink.flush()

    def finished(self) -> bool:
        """True once the run (or the recording) has its end."""
        with self.fold_lock:
            return bool(self.state.outcome)

    def redraw(self) -> None:
        width, height = max(60, self.size.width - 2), self.size.height
        with self.fold_lock:
            view = dist_view(self.state, width, height, self.hint)
        self.query_one("#dist", Static).update(view)

    def end_run(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop the source and wait for it to end what it started."""
        self.stop.set()
        if self.runner.is_alive():
            self.runner.join(timeout=timeout)

    def action_back(self) -> None:
        self.stop.set()  # the source starts ending its processes now; on_unmount waits
        self.dismiss()

    def on_unmount(self) -> None:
        self.end_run()

    def action_help(self) -> None:
        from mpscope.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(DIST_HELP))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        from mpscope.tui.screens.modal import save_screenshot_or_say

        self.call_after_refresh(save_screenshot_or_say, self.app, filename, path)
