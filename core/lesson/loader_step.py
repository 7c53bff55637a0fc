"""A lesson step's ``loader = { ... }``: the DataLoader run that key ``4`` shows, with settings
of the lesson's choosing, checked when the lesson is read.

Only the settings a lesson has reason to set are taken, each with the range that
``mpscope run --mode dataloader`` allows; they are names of
:class:`mpscope.core.dataloader.run.LoaderSettings` fields, which the player builds (so that
reading a lesson does not import torch). Times are at speed 1: the player divides them by the
lesson's speed, as it does a run's.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["LOADER_FIELDS", "TIMES", "loader_settings", "numbers_table"]

#: field → (type, lowest, highest)
LOADER_FIELDS: Final[dict[str, tuple[type, float, float]]] = {
    "samples": (int, 1, 100_000),
    "batch_size": (int, 1, 10_000),
    "num_workers": (int, 0, 64),
    "prefetch_factor": (int, 1, 1_000),
    "slow_every": (int, 0, 100_000),
    "seed": (int, 0, 2**31 - 1),
    "load_time": (float, 0, 60),
    "train_time": (float, 0, 60),
    "slow_time": (float, 0, 60),
    "jitter": (float, 0, 1),
}
#: the fields that are seconds (scaled by the lesson's speed)
TIMES: Final = frozenset({"load_time", "train_time", "slow_time"})


def numbers_table(
    where: str, name: str, raw: Any, fields: dict[str, tuple[type, float, float]], what: str
) -> tuple[tuple[str, int | float], ...]:
    """The checked ``(field, value)`` pairs of a step's table ``name`` of numeric settings
    (``fields``: field → (type, lowest, highest)); a mistake raises ValueError with one line
    naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: {name} must be a table of {what} settings")
    pairs: list[tuple[str, int | float]] = []
    for key, value in raw.items():
        if key not in fields:
            known = ", ".join(fields)
            raise ValueError(f"{where}: {name}: unknown setting {key!r} (known: {known})")
        kind, low, high = fields[key]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)):
            noun = "a whole number" if kind is int else "a number"
            raise ValueError(f"{where}: {name}.{key} must be {noun}, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{where}: {name}.{key} must be {low:g}..{high:g}, got {value:g}")
        pairs.append((key, kind(value)))
    return tuple(pairs)


def loader_settings(where: str, raw: Any) -> tuple[tuple[str, int | float], ...]:
    """The checked ``(field, value)`` pairs of a step's ``loader`` table; a mistake raises
    ValueError with one line naming ``where`` and the field."""
    pairs = numbers_table(where, "loader", raw, LOADER_FIELDS, "DataLoader")
    if dict(pairs).get("num_workers", 2) == 0:
        raise ValueError(f"{where}: loader.num_workers 0 has no worker lanes to show")
    return pairs
