"""A lesson step's ``distributed = { ... }``: the torchrun run the distributed screen shows,
with settings of the lesson's choosing, checked when the lesson is read.

The fields are those of :class:`mpscope.core.distributed.run.DistSettings` a lesson has reason
to set, each with the range ``mpscope run --mode distributed`` allows (the player builds the
settings; reading a lesson imports no torch). Times are at speed 1: the player divides them by
the lesson's speed, as it does a run's.
"""

from __future__ import annotations

from typing import Any, Final

from mpscope.core.lesson.loader_step import numbers_table

__all__ = ["DIST_FIELDS", "DIST_TIMES", "distributed_settings"]

#: field → (type, lowest, highest)
DIST_FIELDS: Final[dict[str, tuple[type, float, float]]] = {
    "world_size": (int, 1, 16),
    "steps": (int, 1, 100_000),
    "slow_rank": (int, -1, 15),
    "crash_rank": (int, -1, 15),
    "kill_rank": (int, -1, 15),
    "fault_step": (int, 0, 100_000),
    "seed": (int, 0, 2**31 - 1),
    "compute_time": (float, 0, 60),
    "slow_time": (float, 0, 60),
}
#: the fields that are seconds (scaled by the lesson's speed)
DIST_TIMES: Final = frozenset({"compute_time", "slow_time"})


def distributed_settings(where: str, raw: Any) -> tuple[tuple[str, int | float], ...]:
    """The checked ``(field, value)`` pairs of a step's ``distributed`` table; a mistake raises
    ValueError with one line naming ``where`` and the field."""
    pairs = numbers_table(where, "distributed", raw, DIST_FIELDS, "torchrun")
    chosen = dict(pairs)
    world = int(chosen.get("world_size", 2))
    for rank in ("slow_rank", "crash_rank", "kill_rank"):
        if chosen.get(rank, -1) >= world:
            raise ValueError(f"{where}: distributed.{rank} must be below world_size {world}")
    steps = int(chosen.get("steps", 10))
    if chosen.get("fault_step", 1) >= steps:
        raise ValueError(f"{where}: distributed.fault_step must be below steps {steps}")
    return pairs
