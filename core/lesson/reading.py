"""How long a caption takes to read: its hold when a step gives none.

Subtitle guides time captions by characters per second: about 15 for English and about 9 for
Chinese (whose characters carry more each), for dialogue. A lesson's captions carry code and
numbers, and a moving picture competes for the eye, so they are timed at 5/6 of those rates:
12.5 and 7.5. A caption in Chinese holds code and numbers too (``send(10)``,
``squares_gen(5)``), which read at the Latin rate, so each character is counted at its own
script's rate. A caption is held at least :data:`MIN_HOLD_S`, so a short one
still registers, and at most :data:`MAX_READ_S`.
"""

from __future__ import annotations

import unicodedata

__all__ = ["CJK_CPS", "LATIN_CPS", "MAX_READ_S", "MIN_HOLD_S", "reading_seconds"]

LATIN_CPS = 12.5
CJK_CPS = 7.5
MIN_HOLD_S = 2.5
MAX_READ_S = 20.0


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def reading_seconds(text: str) -> float:
    """Seconds to read ``text`` once: its wide characters at :data:`CJK_CPS`, the rest at
    :data:`LATIN_CPS`, between :data:`MIN_HOLD_S` and :data:`MAX_READ_S`."""
    wide = sum(1 for char in text if _wide(char))
    seconds = wide / CJK_CPS + (len(text) - wide) / LATIN_CPS
    return round(min(MAX_READ_S, max(MIN_HOLD_S, seconds)), 1)
