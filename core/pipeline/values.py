"""Values in one line: how a task's result is shown in events, --plain and the app.

A tensor is described, never dumped: ``tensor float32[1000] 4.0 kB shared`` (dtype, shape, the
bytes of its data, and whether its storage is in shared memory, as after crossing a
torch.multiprocessing queue). Containers describe their first few items; anything else is its
``repr`` with line breaks folded, clipped to an event's text length. No torch import here: a
tensor is recognised by its type's module, so describing plain values costs nothing.
"""

from __future__ import annotations

from typing import Any, Final

from mpscope.core.pipeline.events import MAX_TEXT, clip

SHOWN_ITEMS: Final = 3
#: values that are neither tensors nor hold any, and read as their ``repr`` (the quick path of
#: a trivial task's result, which every worker describes)
_SCALARS: Final = frozenset({int, float, bool, type(None)})


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch)."""
    kind = type(value)
    return kind.__module__.startswith("torch") and hasattr(value, "element_size")


def size_text(count: int) -> str:
    """``353 B``, ``4.0 kB``, ``1.0 MB``, ``256.0 MB`` (decimal units)."""
    if count < 1000:
        return f"{count} B"
    for unit in ("kB", "MB", "GB"):
        count_f = count / 1000
        if count_f < 1000 or unit == "GB":
            return f"{count_f:.1f} {unit}"
        count = int(count_f)
    return f"{count} B"  # pragma: no cover - the loop always returns


def tensor_bytes(value: Any) -> int:
    """The bytes of a tensor's elements."""
    return int(value.element_size()) * int(value.numel())


def shared_tensor_bytes(value: Any) -> int:
    """The bytes of tensor data ``value`` refers to (itself, or the tensors in a list, tuple or
    dict it holds), which torch's pickler sends as handles to shared storage, not as bytes."""
    if type(value) in _SCALARS:
        return 0
    if is_tensor(value):
        return tensor_bytes(value)
    if isinstance(value, list | tuple):
        return sum(tensor_bytes(v) for v in value if is_tensor(v))
    if isinstance(value, dict):
        return sum(tensor_bytes(v) for v in value.values() if is_tensor(v))
    return 0


def describe_tensor(value: Any) -> str:
    """``tensor float32[1000] 4.0 kB shared`` (``[]`` for a scalar, ``[2,3]`` for a matrix)."""
    dtype = str(value.dtype).removeprefix("torch.")
    shape = ",".join(str(n) for n in value.shape)
    where = "" if str(value.device) == "cpu" else f" {value.device}"
    shared = " shared" if value.is_shared() else ""
    return f"tensor {dtype}[{shape}]{where} {size_text(tensor_bytes(value))}{shared}"


def _describe(value: Any, depth: int) -> str:
    if is_tensor(value):
        return describe_tensor(value)
    if depth < 2 and isinstance(value, list | tuple) and any(map(is_tensor, value)):
        items = [_describe(v, depth + 1) for v in value[:SHOWN_ITEMS]]
        if len(value) > SHOWN_ITEMS:
            items.append(f"… {len(value) - SHOWN_ITEMS} more")
        inner = ", ".join(items)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if depth < 2 and isinstance(value, dict) and any(map(is_tensor, value.values())):
        pairs = list(value.items())
        items = [f"{k!r}: {_describe(v, depth + 1)}" for k, v in pairs[:SHOWN_ITEMS]]
        if len(pairs) > SHOWN_ITEMS:
            items.append(f"… {len(pairs) - SHOWN_ITEMS} more")
        return "{" + ", ".join(items) + "}"
    text = repr(value)
    return " ".join(line.strip() for line in text.splitlines()) if "\n" in text else text


def describe_value(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` in one line of at most ``limit`` characters."""
    if type(value) in _SCALARS:
        return clip(repr(value), limit)
    try:
        return clip(_describe(value, 0), limit)
    except Exception as exc:  # a user's __repr__ may raise anything; the run goes on
        return clip(f"<{type(value).__name__}: repr raised {type(exc).__name__}>", limit)
