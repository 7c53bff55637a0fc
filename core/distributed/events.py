"""The records of one distributed run: plain values, one JSON object per line in recordings.

``t`` and every span's times are nanoseconds since the viewer started, on the viewer's clock:
each rank's own clock is corrected by the offset measured when it connected (round-trip pings).
A step's ``spans`` are ``(kind, name, start, end)``: kind ``collective`` (time inside a
collective such as the gradient all-reduce) or ``phase`` (a named part of the step's compute).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

Span = tuple[str, str, int, int]
SPAN_KINDS: Final = ("collective", "phase")


@dataclass(slots=True)
class DistEvent:
    """Base of the distributed run's events."""

    kind: ClassVar[str] = ""
    t: int


@dataclass(slots=True)
class DistStarted(DistEvent):
    """The viewer listens at ``address``; ``settings`` is the JSON of :class:`.DistSettings`
    (``{}`` for ``mpscope watch``); ``launcher`` is the command that starts the ranks."""

    kind: ClassVar[str] = "dist_started"
    settings: str
    torch_version: str
    address: str
    launcher: str


@dataclass(slots=True)
class RankJoined(DistEvent):
    """A rank connected with the session's token; its clock is ``offset_ns`` ahead of the
    viewer's (measured over the best of the pings, whose round trip took ``rtt_ns``)."""

    kind: ClassVar[str] = "rank_joined"
    rank: int
    local_rank: int
    world_size: int
    pid: int
    host: str
    offset_ns: int
    rtt_ns: int


@dataclass(slots=True)
class StepReported(DistEvent):
    """A rank finished a step (``begun``..``t``) with these spans and parameter checksum."""

    kind: ClassVar[str] = "step_reported"
    rank: int
    step: int
    begun: int
    spans: list[Span]
    checksum: str


@dataclass(slots=True)
class RankLeft(DistEvent):
    """A rank's connection closed (``reason``: ``closed`` after its goodbye, ``lost`` if not)."""

    kind: ClassVar[str] = "rank_left"
    rank: int
    reason: str


@dataclass(slots=True)
class ReportDropped(DistEvent):
    """A report the viewer refused: ``reason`` is ``token`` (missing or wrong) or ``malformed``;
    ``detail`` says what was wrong, ``peer`` where it came from."""

    kind: ClassVar[str] = "report_dropped"
    reason: str
    detail: str
    peer: str


@dataclass(slots=True)
class DistFinished(DistEvent):
    """The run ended: ``outcome`` completed, stopped or error; ``error`` as torchrun said it."""

    kind: ClassVar[str] = "dist_finished"
    outcome: str
    error: str


EVENT_TYPES: Final[dict[str, type[DistEvent]]] = {
    cls.kind: cls
    for cls in (DistStarted, RankJoined, StepReported, RankLeft, ReportDropped, DistFinished)
}


class DistRecordError(ValueError):
    """A line that is not a distributed run's event."""


def to_json(event: DistEvent) -> str:
    """One line of JSON (no newline)."""
    data: dict[str, Any] = {"kind": event.kind, **dataclasses.asdict(event)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def is_int(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_spans(value: object) -> list[Span]:
    """``value`` as a list of spans, or :class:`DistRecordError` saying what is wrong."""
    if not isinstance(value, list) or len(value) > 256:
        raise DistRecordError("spans should be a list of at most 256 spans")
    spans: list[Span] = []
    for item in value:
        if (
            not isinstance(item, list | tuple)
            or len(item) != 4
            or item[0] not in SPAN_KINDS
            or not isinstance(item[1], str)
            or len(item[1]) > 64
            or not (is_int(item[2]) and is_int(item[3]))
        ):
            raise DistRecordError(f"a span should be [kind, name, start, end], got {item!r:.80}")
        spans.append((item[0], item[1], item[2], item[3]))
    return spans


def from_json(line: str) -> DistEvent:
    """Inverse of :func:`to_json`, checking the kind and every field's type."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise DistRecordError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("kind") not in EVENT_TYPES:
        raise DistRecordError("not a distributed run's event")
    cls = EVENT_TYPES[data.pop("kind")]
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    if set(data) != set(fields):
        raise DistRecordError(f"{cls.kind} has fields {sorted(data)}, wants {sorted(fields)}")
    for name, type_name in fields.items():
        value = data[name]
        if type_name == "list[Span]":
            data[name] = check_spans(value)
        elif (type_name == "int" and not is_int(value)) or (
            type_name == "str" and not isinstance(value, str)
        ):
            raise DistRecordError(f"{cls.kind}.{name} should be {type_name}, got {value!r:.80}")
    return cls(**data)


def is_dist_recording(path: str) -> bool:
    """True if the file's first line is a distributed run's first event (regular files only)."""
    try:
        if not Path(path).is_file():
            return False
        with Path(path).open(encoding="utf-8") as lines:
            return '"kind":"dist_started"' in lines.readline(4096)
    except (OSError, UnicodeDecodeError):
        return False


def read_dist_recording(path: str) -> list[DistEvent]:
    """The events of a distributed run's recording; :class:`DistRecordError` names a bad
    line (and its number)."""
    events = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                events.append(from_json(line))
            except DistRecordError as exc:
                raise DistRecordError(f"{path} line {number}: {exc}") from None
    return events
