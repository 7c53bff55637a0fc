"""Counts in words for what the app, the plain output and the log say: "1 worker", "3 workers"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one (``plural`` when adding "s" is wrong)."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {plural or noun + 's'}"
