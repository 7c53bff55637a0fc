"""Reading an asciicast v2 file back as a terminal shows it: the header, the markers, and the
screen after each chunk of output (played through pyte, a terminal emulator)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyte


@dataclass
class Cast:
    header: dict[str, Any]
    markers: list[tuple[float, str]] = field(default_factory=list)
    frames: list[tuple[float, list[str]]] = field(default_factory=list)
    """(time, the screen's rows) after each output event."""

    @property
    def duration(self) -> float:
        return max([t for t, _ in self.frames] + [t for t, _ in self.markers] + [0.0])

    def frames_between(self, start: float, end: float) -> list[list[str]]:
        """The screens shown from ``start`` (inclusive) until ``end``."""
        return [rows for t, rows in self.frames if start <= t < end]


def squeezed(text: str) -> str:
    """``text`` without whitespace: a caption wrapped over rows (or between CJK characters,
    where no space was) still matches."""
    return "".join(text.split())


def shows(rows: list[str], text: str) -> bool:
    """Whether the screen ``rows`` show ``text`` (wrapped or not)."""
    return squeezed(text) in squeezed("".join(rows))


def read_cast(path: Path) -> Cast:
    """The cast at ``path``; its events must be in time order and of the codes "o" and "m"."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cast = Cast(json.loads(lines[0]))
    screen = pyte.Screen(int(cast.header["width"]), int(cast.header["height"]))
    stream = pyte.Stream(screen)
    last = 0.0
    for line in lines[1:]:
        t, code, data = json.loads(line)
        assert t >= last, f"events out of order at {t}"
        last = t
        if code == "m":
            cast.markers.append((t, data))
            continue
        assert code == "o", f"unknown event code {code!r}"
        stream.feed(data)
        cast.frames.append((t, list(screen.display)))
    return cast
