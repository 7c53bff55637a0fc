"""Events as JSON: one object per line, every field's type checked on the way back.

A recording is a header and then one :func:`to_json` line per event; :func:`from_json` reads
a line back or raises :class:`EventDecodeError` saying what is wrong with it. Bulk events
(:mod:`.bulk`) carry their columns as JSON arrays.
"""

from __future__ import annotations

import dataclasses
import json
from array import array
from typing import Any, Final

from mpscope.core.pipeline.bulk import BULK_TYPES
from mpscope.core.pipeline.events import SINGLE_EVENT_TYPES, Event

EVENT_TYPES: Final[dict[str, type[Event]]] = {
    cls.kind: cls for cls in (*SINGLE_EVENT_TYPES, *BULK_TYPES)
}

#: a field's declared type -> the JSON type that carries it
_JSON_TYPE: Final[dict[str, type]] = {
    "int": int,
    "str": str,
    "bool": bool,
    "float": float,
    "array[int]": array,
    "tuple[str, ...]": tuple,
}

_FIELD_TYPES: Final[dict[str, dict[str, type]]] = {
    kind: {f.name: _JSON_TYPE[str(f.type)] for f in dataclasses.fields(cls)}
    for kind, cls in EVENT_TYPES.items()
}

_OPTIONAL: Final[dict[str, frozenset[str]]] = {
    kind: frozenset(f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING)
    for kind, cls in EVENT_TYPES.items()
}


class EventDecodeError(ValueError):
    """A line that is not an mpscope event of this schema."""


def to_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready mapping with its ``kind`` first."""
    out: dict[str, Any] = {"kind": event.kind}
    for name, expected in _FIELD_TYPES[event.kind].items():
        value = getattr(event, name)
        if expected is array:
            value = value.tolist()
        elif expected is tuple:
            value = list(value)
        out[name] = value
    return out


def _column(kind: str, name: str, expected: type, value: Any) -> Any:
    """A bulk event's column from its JSON array."""
    if not isinstance(value, list):
        raise EventDecodeError(f"{kind}.{name} should be a list, got {value!r}"[:200])
    if expected is tuple:
        if not all(type(item) is str for item in value):
            raise EventDecodeError(f"{kind}.{name} should hold only strings")
        return tuple(value)
    if not all(type(item) is int for item in value):  # not True for 1, nor 1.0
        raise EventDecodeError(f"{kind}.{name} should hold only integers")
    try:
        return array("q", value)
    except OverflowError:
        raise EventDecodeError(f"{kind}.{name} should hold only 64-bit integers") from None


def from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :func:`to_dict`'s output, checking every field's type."""
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        raise EventDecodeError(f"unknown event kind {kind!r}")
    types = _FIELD_TYPES[kind]
    values: dict[str, Any] = {}
    for name, expected in types.items():
        if name not in data:
            if name in _OPTIONAL[kind]:
                continue  # fields with defaults may be absent
            raise EventDecodeError(f"{kind} event lacks field {name!r}")
        value = data[name]
        if expected is array or expected is tuple:
            values[name] = _column(kind, name, expected, value)
            continue
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
            value = float(value)
        if not ok:
            raise EventDecodeError(f"{kind}.{name} should be {expected.__name__}, got {value!r}")
        values[name] = value
    extra = set(data) - set(types) - {"kind"}
    if extra:
        raise EventDecodeError(f"{kind} event has unknown fields {sorted(extra)}")
    event = EVENT_TYPES[kind](**values)
    check = getattr(event, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            raise EventDecodeError(str(exc)) from None
    return event


def to_json(event: Event) -> str:
    """One line of JSON for the event (no newline)."""
    return json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":"))


def from_json(line: str) -> Event:
    """Parse one line written by :func:`to_json`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, or [[[[…]]]] nesting
        raise EventDecodeError(f"not a usable JSON value: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise EventDecodeError("a line is not a JSON object")
    return from_dict(data)
