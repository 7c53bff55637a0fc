"""The line protocol between a rank's reporter and the viewer: one JSON object per line.

rank → viewer: ``hello`` (token, rank, local_rank, world_size, pid, host), then a ``pong`` for
each ``ping`` (the rank's clock), then ``step`` reports (token, rank, step, begun, ended,
spans, checksum) and a last ``bye``. viewer → rank: ``ping`` (seq) a few times, then ``ready``
(the offset it measured). Every message from a rank carries the session's token; the viewer
checks each one with :func:`parse_report` and never trusts a field it has not checked.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any, Final

from mpscope.core.distributed.events import DistRecordError, Span, check_spans, is_int

MAX_LINE: Final = 64 * 1024
ADDRESS_ENV: Final = "MPSCOPE_ADDRESS"
TOKEN_ENV: Final = "MPSCOPE_TOKEN"


class BadReport(ValueError):
    """A report the viewer drops; ``reason`` is ``token`` or ``malformed``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hello:
    """A rank introducing itself."""

    rank: int
    local_rank: int
    world_size: int
    pid: int
    host: str


@dataclass(frozen=True, slots=True)
class Pong:
    """A rank's clock when it answered ping ``seq``."""

    seq: int
    clock: int


@dataclass(frozen=True, slots=True)
class Step:
    """One finished step on a rank, on the rank's clock."""

    rank: int
    step: int
    begun: int
    ended: int
    spans: list[Span]
    checksum: str


@dataclass(frozen=True, slots=True)
class Bye:
    """The rank is done."""

    rank: int


Report = Hello | Pong | Step | Bye

_FIELDS: Final[dict[str, dict[str, type]]] = {
    "hello": {"rank": int, "local_rank": int, "world_size": int, "pid": int, "host": str},
    "pong": {"seq": int, "clock": int},
    "step": {"rank": int, "step": int, "begun": int, "ended": int, "checksum": str},
    "bye": {"rank": int},
}


def encode(message: dict[str, Any]) -> bytes:
    """One line of compact JSON."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def parse_report(line: bytes, token: str) -> Report:
    """Check one line from a rank; :class:`BadReport` if it is not a valid, authentic report."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise BadReport("malformed", f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise BadReport("malformed", "not a JSON object")
    sent = data.get("token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), token.encode()):
        raise BadReport("token", "no token" if sent is None else "wrong token")
    kind = data.get("type")
    if kind not in _FIELDS:
        raise BadReport("malformed", f"unknown type {kind!r:.40}")
    values: dict[str, Any] = {}
    for name, wanted in _FIELDS[kind].items():
        value = data.get(name)
        ok = is_int(value) if wanted is int else isinstance(value, str) and len(value) <= 256
        if not ok:
            raise BadReport("malformed", f"{kind}.{name} should be {wanted.__name__}")
        values[name] = value
    if kind == "hello":
        return Hello(**values)
    if kind == "pong":
        return Pong(**values)
    if kind == "bye":
        return Bye(**values)
    try:
        spans = check_spans(data.get("spans"))
    except DistRecordError as exc:
        raise BadReport("malformed", str(exc)) from None
    return Step(spans=spans, **values)
