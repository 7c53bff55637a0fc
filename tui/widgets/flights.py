"""Tokens that fly: when a task moves (taken, finished, collected), its token travels from
where it was drawn to where it goes next, so a viewer can follow one task end to end.

A flight is a one-line widget on the ``flights`` layer, positioned absolutely on the screen;
:meth:`Flights.step` moves every flight along an eased path each frame and removes the ones
that landed. At most ``MAX_FLIGHTS`` fly at once: at high task rates the rest just appear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.geometry import Offset
from textual.screen import Screen
from textual.widgets import Static

from mpscope.tui.widgets.tokens import token_text

MAX_FLIGHTS = 4
BASE_SECONDS = 0.35


class Flight(Static):
    """One flying token."""


@dataclass(slots=True)
class _Trip:
    widget: Flight
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
    ) -> bool:
        """Fly a token from ``start`` to ``end`` (screen cells); False if it cannot fly."""
        if start is None or end is None:
            return False
        widget = self._widget(screen)
        if widget is None:
            return False
        widget.update(token_text(task, label, ok))
        widget.styles.offset = (start.x, start.y)
        widget.styles.visibility = "visible"
        seconds = min(1.5, max(0.15, BASE_SECONDS / max(speed, 0.01)))
        self._trips.append(_Trip(widget, start, end, time.monotonic(), seconds))
        return True

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
            still.append(trip)
        self._trips = still

    def clear(self) -> None:
        """Land every flight at once (a new run starts)."""
        for trip in self._trips:
            trip.widget.styles.visibility = "hidden"
            self._idle.append(trip.widget)
        self._trips = []
