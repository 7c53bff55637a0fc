"""The lesson's caption bar, wrapped as Chinese and English both read.

Rich and Textual wrap text at spaces; Chinese has none, so a Chinese caption with an English
word in it wraps as one long "word": pushed whole to the next line and chopped there, leaving
short lines and losing the end. :func:`break_offsets` lets a line break before any wide (CJK)
character too, except before closing punctuation (，。：) which stays with what it closes, and
between spaced words as usual; the bar draws the lines it made, so nothing wraps them again.
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

__all__ = ["CaptionBar", "break_offsets", "wrapped"]

CLOSING = frozenset("，。、：；！？）》」』”’")
"""Punctuation that never begins a line."""


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tokens(text: str) -> list[tuple[int, int]]:
    """Spans of the units a line may break between: a run of narrow non-space characters or
    one wide character, with the closing punctuation and the spaces after it."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i
        while j < n and text[j].isspace():  # only at the very start
            j += 1
        if j < n and _wide(text[j]):
            j += 1
        else:
            while j < n and not text[j].isspace() and not _wide(text[j]):
                j += 1
        while j < n and text[j] in CLOSING:
            j += 1
        while j < n and text[j].isspace():
            j += 1
        spans.append((i, j))
        i = j
    return spans


def break_offsets(text: str, width: int) -> list[int]:
    """Where ``text`` breaks into lines of at most ``width`` cells (character offsets)."""
    width = max(1, width)
    offsets: list[int] = []
    column = 0
    for start, end in _tokens(text):
        word = text[start:end]
        if column + cell_len(word.rstrip()) <= width:
            column += cell_len(word)
            continue
        if cell_len(word.rstrip()) <= width:  # on a line of its own
            if start:
                offsets.append(start)
            column = cell_len(word)
            continue
        if column and start:  # longer than a line: begin it on a new one, chopped
            offsets.append(start)
        column = 0
        for index in range(start, end):
            cells = cell_len(text[index])
            if column + cells > width and not text[index].isspace():
                offsets.append(index)
                column = 0
            column += cells
    return offsets


def wrapped(caption: Text, width: int) -> list[Text]:
    """``caption`` as lines of at most ``width`` cells, its styles kept."""
    lines = caption.divide(break_offsets(caption.plain, width))
    for line in lines:
        line.rstrip()
    return list(lines)


class CaptionBar(Widget):
    """The lesson's caption: which step, and what to look at."""

    DEFAULT_CSS = """
    CaptionBar {
        height: auto;
        max-height: 6;
        padding: 0 1;
        background: $boost;
        color: $text;
        border-top: tall $accent;
    }
    CaptionBar.-over-footer { dock: bottom; margin-bottom: 1; }
    """

    def __init__(self, caption: Text, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.caption = caption

    def show(self, caption: Text) -> None:
        """Say ``caption`` now (it may take more or fewer lines)."""
        self.caption = caption
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(wrapped(self.caption, width)))

    def render(self) -> Text:
        lines = wrapped(self.caption, self.content_region.width or 80)
        text = Text("\n").join(lines)
        text.no_wrap = True
        return text
