"""Short, safe reprs of live values for the generator stepper's locals and history.

The stepper shows values taken from a suspended generator's frame. Showing them must not run the
user's code, must not hang on a huge value and must not fail:

- containers of the built-in types are walked by :mod:`reprlib` with small limits (a few items,
  a few levels, long strings cut in the middle);
- an object whose class defines ``__repr__`` in Python is shown as ``<module.Class object>``
  without calling that ``__repr__``; reprs written in C (files, ranges, iterators...) are used;
- memory addresses (``at 0x7f...``) are dropped: they mean nothing to a learner and would make
  every run look different;
- any exception raised while building a repr is reported in place of the value.
"""

from __future__ import annotations

import builtins
import re
import reprlib
import types
from typing import Any

__all__ = ["safe_repr"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MAX_BYTES = 64


def _python_repr_owner(tp: type) -> type | None:
    """The class in ``tp``'s MRO whose ``__repr__`` is a Python function, if any wins."""
    for klass in tp.__mro__:
        if "__repr__" in vars(klass):
            method = vars(klass)["__repr__"]
            return klass if isinstance(method, types.FunctionType) else None
    return None


class _SafeRepr(reprlib.Repr):
    """A :class:`reprlib.Repr` that never calls a ``__repr__`` written in Python."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = 8
        self.maxlist = 8
        self.maxarray = 8
        self.maxdict = 6
        self.maxset = 6
        self.maxfrozenset = 6
        self.maxdeque = 6
        self.maxstring = max(width, 12)
        self.maxlong = max(width, 12)
        self.maxother = max(width, 12)

    def repr_int(self, x: int, level: int) -> str:
        """Whole ints up to a few hundred bits; beyond, the size instead of the digits."""
        if x.bit_length() > 256:
            digits = int(x.bit_length() * 0.30103) + 1
            return f"<int of about {digits} digits>"
        return self._cut(builtins.repr(x))

    def repr_bytes(self, x: bytes, level: int) -> str:
        """Bytes cut before ``repr`` so a huge buffer is never copied whole."""
        if len(x) <= _MAX_BYTES:
            return self._cut(builtins.repr(x))
        return self._cut(builtins.repr(x[:_MAX_BYTES])) + f"...(+{len(x) - _MAX_BYTES} bytes)"

    def repr_instance(self, x: Any, level: int) -> str:
        """Anything reprlib has no special method for."""
        tp = type(x)
        if isinstance(x, types.GeneratorType):
            return f"<generator object {x.__name__}>"
        if _python_repr_owner(tp) is not None:
            return f"<{tp.__module__}.{tp.__qualname__} object>"
        try:
            text = builtins.repr(x)
        except Exception as exc:
            return f"<repr failed: {type(exc).__name__}>"
        return self._cut(_ADDRESS.sub("", text))

    def _cut(self, text: str) -> str:
        """Cut ``text`` in the middle to at most ``maxother`` characters."""
        limit = self.maxother
        if len(text) <= limit:
            return text
        head = (limit - 3) // 2
        tail = limit - 3 - head
        return text[:head] + "..." + text[len(text) - tail :]


def safe_repr(value: object, width: int = 60) -> str:
    """A one-line repr of ``value`` of at most about ``width`` characters; never raises."""
    try:
        text = _SafeRepr(width).repr(value)
    except Exception as exc:  # a C repr deep inside a container may still fail
        text = f"<repr failed: {type(exc).__name__}>"
    text = text.replace("\n", "\\n")
    if len(text) > width:
        text = text[: max(width - 3, 1)] + "..."
    return text
