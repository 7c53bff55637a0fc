"""One shared tensor, filled in place (``--function fill-shared``): the pure half.

The seed's other way of moving tensors between processes: the main process makes one tensor
with ``share_memory_()`` and hands it to every worker when it starts; task ``i`` fills slice
``i`` (``slice_elements`` elements) with its value in place, and sends back no data at all.
Once every worker has gone, the main process reads the whole tensor, which it was never sent,
checks it element by element and says who wrote each slice
(:class:`~.events.SharedTensorRead`). This module holds what the engine, the state and the
views share: the value of a slice, and the compact text of who wrote which slice. The torch
half is :mod:`mpscope.core.engine.shared_fill`.
"""

from __future__ import annotations

import string
from typing import Any, Final

FILL_SHARED: Final = "fill-shared"
#: At most this many slices (tasks): the view draws and the state keeps one cell each.
MAX_SLICES: Final = 10_000
#: A slice no worker wrote, in :func:`encode_writers`'s text.
UNWRITTEN: Final = "."
_ALPHABET: Final = string.digits + string.ascii_lowercase + string.ascii_uppercase + "+/"
_TOO_MANY: Final = "?"


def slice_value(payload: Any) -> float:
    """What a task writes into every element of its slice: the seed's square (the sum of the
    squares for a batch), as ``--function tensor`` computes it."""
    if isinstance(payload, list):
        return float(sum(v * v for v in payload))
    return float(payload * payload)


def encode_writers(writer_pids: list[int]) -> tuple[str, str]:
    """``([4603, 4604, 0, 4603])`` -> ``("4603 4604", "01.0")``: the distinct writers in order
    of their first slice, and one character per slice (0 = nobody wrote it)."""
    pids: list[int] = []
    cells = []
    for pid in writer_pids:
        if pid == 0:
            cells.append(UNWRITTEN)
            continue
        if pid not in pids:
            pids.append(pid)
        index = pids.index(pid)
        cells.append(_ALPHABET[index] if index < len(_ALPHABET) else _TOO_MANY)
    return " ".join(str(p) for p in pids), "".join(cells)


def decode_writers(pids: str, writers: str) -> list[int]:
    """The writer PID of each slice (0 for none) from :func:`encode_writers`'s text."""
    known = [int(p) for p in pids.split()]
    out = []
    for cell in writers:
        index = _ALPHABET.find(cell)
        out.append(known[index] if 0 <= index < len(known) else 0)
    return out
