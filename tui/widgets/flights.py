"""Tokens that fly: when a task moves (taken, finished, collected), its token travels from
where it was drawn to where it goes next, so a viewer can follow one task end to end.

A flight is a one-line widget on the ``flights`` layer, positioned absolutely on the screen;
:meth:`Flights.step` moves every flight along an eased path each frame and removes the ones
that landed. At most ``MAX_FLIGHTS`` fly at once: at high task rates the rest just appear.

A token never covers what the screen says: at each frame it shows only where every cell under
it is blank or drawing (a border line, a timeline's blocks and dots), never over a letter or
digit of a label, a border title or another token, and never inside a queue's strip, where it
would read as queued (:func:`room_at`); elsewhere it flies hidden. A flight never outlasts
the step it shows: its length is capped (``cap`` seconds, the step's own time at this speed)
and a task's next event lands its flight at once (:meth:`Flights.land`).
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from textual.geometry import Offset, Region
from textual.screen import Screen
from textual.widgets import Static

from mpscope.tui.widgets.tokens import token_text

MAX_FLIGHTS = 4
BASE_SECONDS = 0.35
MIN_SECONDS = 0.12  # a step shorter than this (at this speed) flies nothing: too quick to see
STEP_SHARE = 0.8  # of the step it shows, at most: the token lands before the next event


def _is_drawing(char: str) -> bool:
    """Blank, a box-drawing or block character, or a timeline's idle dot: no words."""
    if char in " ·\u00a0":
        return True
    return 0x2500 <= ord(char) <= 0x259F or unicodedata.category(char).startswith("Z")


def room_at(screen: Screen[object], x: int, y: int, width: int) -> bool:
    """Whether a token ``width`` cells wide at (x, y) covers no text of what lies beneath it
    (the topmost widget there other than a flying token), nor touches any: a cell either
    side must be free too, or the token would read as part of a word or of a queue."""
    if x < 0 or y < 0 or x + width > screen.size.width or y >= screen.size.height:
        return False
    for cell_x in range(max(0, x - 1), min(screen.size.width, x + width + 1)):
        beneath = next(
            (
                (widget, region)
                for widget, region in screen.get_widgets_at(cell_x, y)
                if not isinstance(widget, Flight)
            ),
            None,
        )
        if beneath is None:
            continue
        widget, region = beneath
        if getattr(widget, "keeps_tokens_out", False):  # a queue: a token there reads as queued
            return False
        lines = widget.render_lines(Region(0, y - region.y, region.width, 1))
        text = lines[0].text if lines else ""
        offset = cell_x - region.x
        if offset < len(text) and not _is_drawing(text[offset]):
            return False
    return True


class Flight(Static):
    """One flying token."""


@dataclass(slots=True)
class _Trip:
    widget: Flight
    task: int
    width: int
    start: Offset
    end: Offset
    t0: float
    seconds: float


def _ease(x: float) -> float:
    return x * x * (3 - 2 * x)


class Flights:
    """Owns the flights on one screen: a small pool of token widgets, mounted once."""

    def __init__(self) -> None:
        self._trips: list[_Trip] = []
        self._idle: list[Flight] = []
        self._screen: Screen[object] | None = None

    @property
    def active(self) -> bool:
        """True while a token is in the air."""
        return bool(self._trips)

    def _widget(self, screen: Screen[object]) -> Flight | None:
        if screen is not self._screen:  # a new screen: a new pool
            self._screen, self._idle, self._trips = screen, [], []
            for _ in range(MAX_FLIGHTS):
                widget = Flight("")
                widget.styles.visibility = "hidden"
                screen.mount(widget)
                self._idle.append(widget)
        return self._idle.pop() if self._idle else None

    def launch(
        self,
        screen: Screen[object],
        task: int,
        label: str,
        ok: bool,
        start: Offset | None,
        end: Offset | None,
        speed: float,
        cap: float | None = None,
    ) -> bool:
        """Fly a token from ``start`` to ``end`` (screen cells) in at most ``cap`` seconds;
        False if it cannot fly (off the screen, no token free, a step too quick to show)."""
        self.land(task)  # the task moved on: its last flight is over
        if start is None or end is None:
            return False
        seconds = min(1.5, max(0.15, BASE_SECONDS / max(speed, 0.01)))
        if cap is not None:
            if cap * STEP_SHARE < MIN_SECONDS:
                return False
            seconds = min(seconds, cap * STEP_SHARE)
        widget = self._widget(screen)
        if widget is None:
            return False
        token = token_text(task, label, ok)
        widget.update(token)
        widget.styles.offset = (start.x, start.y)
        widget.styles.visibility = "hidden"  # the next step shows it where there is room
        trip = _Trip(widget, task, token.cell_len, start, end, time.monotonic(), seconds)
        self._trips.append(trip)
        return True

    def land(self, task: int) -> None:
        """Land the flight of ``task`` now, if it is in the air."""
        self.land_any((task,))

    def land_any(self, tasks: Collection[int]) -> None:
        """Land the flights of any of ``tasks`` in the air."""
        for trip in [t for t in self._trips if t.task in tasks]:
            trip.widget.styles.visibility = "hidden"
            self._idle.append(trip.widget)
            self._trips.remove(trip)

    def flying(self) -> list[tuple[int, Offset, bool]]:
        """Each flight in the air: its task, where it is, and whether it shows."""
        return [
            (
                trip.task,
                Offset(
                    int(trip.widget.styles.offset.x.value), int(trip.widget.styles.offset.y.value)
                ),
                trip.widget.styles.visibility == "visible",
            )
            for trip in self._trips
        ]

    def step(self) -> None:
        """Move every flight; land (hide) the ones that arrived."""
        now = time.monotonic()
        still: list[_Trip] = []
        for trip in self._trips:
            progress = (now - trip.t0) / trip.seconds
            if progress >= 1:
                trip.widget.styles.visibility = "hidden"
                self._idle.append(trip.widget)
                continue
            k = _ease(progress)
            x = round(trip.start.x + (trip.end.x - trip.start.x) * k)
            y = round(trip.start.y + (trip.end.y - trip.start.y) * k)
            if (x, y) != (trip.widget.styles.offset.x.value, trip.widget.styles.offset.y.value):
                trip.widget.styles.offset = (x, y)
            shown = self._screen is not None and room_at(self._screen, x, y, trip.width)
            visibility = "visible" if shown else "hidden"
            if trip.widget.styles.visibility != visibility:
                trip.widget.styles.visibility = visibility
            still.append(trip)
        self._trips = still

    def clear(self) -> None:
        """Land every flight at once (a new run starts)."""
        for trip in self._trips:
            trip.widget.styles.visibility = "hidden"
            self._idle.append(trip.widget)
        self._trips = []
