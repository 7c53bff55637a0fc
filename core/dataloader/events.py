"""The records of one DataLoader run: plain values, one JSON object per line in recordings.

``t`` fields are nanoseconds since the run started (``time.monotonic_ns()`` is shared by every
process of the machine). Batches are named by ``key`` = ``"<worker>:<n>"``: the n-th batch that
DataLoader worker built.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final


@dataclass(slots=True)
class LoaderEvent:
    """Base of the DataLoader run's events."""

    kind: ClassVar[str] = ""
    t: int


@dataclass(slots=True)
class LoaderStarted(LoaderEvent):
    """The run began; ``settings`` is the JSON of :class:`.LoaderSettings`."""

    kind: ClassVar[str] = "loader_started"
    settings: str
    main_pid: int
    torch_version: str


@dataclass(slots=True)
class WorkerUp(LoaderEvent):
    """A DataLoader worker ran ``worker_init_fn``."""

    kind: ClassVar[str] = "worker_up"
    worker: int
    pid: int


@dataclass(slots=True)
class BatchBegun(LoaderEvent):
    """A worker started loading the first sample of a batch."""

    kind: ClassVar[str] = "batch_begun"
    worker: int
    key: str
    first_index: int


@dataclass(slots=True)
class BatchBuilt(LoaderEvent):
    """A worker's ``collate_fn`` returned: the batch is built (``t`` is the end of collate)."""

    kind: ClassVar[str] = "batch_built"
    worker: int
    key: str
    begun: int
    indices: str
    slowest_ns: int


@dataclass(slots=True)
class BatchReceived(LoaderEvent):
    """``next()`` on the iterator returned this batch; the loop waited since ``asked``."""

    kind: ClassVar[str] = "batch_received"
    key: str
    asked: int


@dataclass(slots=True)
class StepDone(LoaderEvent):
    """The training step on a batch finished (it began at ``begun``)."""

    kind: ClassVar[str] = "step_done"
    step: int
    key: str
    begun: int


@dataclass(slots=True)
class WorkerKilled(LoaderEvent):
    """mpscope sent SIGKILL to this DataLoader worker (key ``k``): what follows is torch's."""

    kind: ClassVar[str] = "worker_killed"
    worker: int
    pid: int


@dataclass(slots=True)
class LoaderFinished(LoaderEvent):
    """The run ended: ``outcome`` is completed, stopped or error; ``error`` as torch said it."""

    kind: ClassVar[str] = "loader_finished"
    outcome: str
    error: str


EVENT_TYPES: Final[dict[str, type[LoaderEvent]]] = {
    cls.kind: cls
    for cls in (
        LoaderStarted,
        WorkerUp,
        BatchBegun,
        BatchBuilt,
        BatchReceived,
        StepDone,
        WorkerKilled,
        LoaderFinished,
    )
}


class LoaderRecordError(ValueError):
    """A line that is not a DataLoader run's event."""


def to_json(event: LoaderEvent) -> str:
    """One line of JSON (no newline)."""
    data: dict[str, Any] = {"kind": event.kind, **dataclasses.asdict(event)}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def from_json(line: str) -> LoaderEvent:
    """Inverse of :func:`to_json`, checking the kind and every field's type."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise LoaderRecordError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("kind") not in EVENT_TYPES:
        raise LoaderRecordError("not a DataLoader event")
    cls = EVENT_TYPES[data.pop("kind")]
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    if set(data) != set(fields):
        raise LoaderRecordError(f"{cls.kind} has fields {sorted(data)}, wants {sorted(fields)}")
    for name, type_name in fields.items():
        value = data[name]
        expected = {"int": int, "str": str}[str(type_name)]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise LoaderRecordError(f"{cls.kind}.{name} should be {type_name}, got {value!r}")
    return cls(**data)


def is_loader_recording(path: str) -> bool:
    """True if the file's first line is a DataLoader run's first event (regular files only:
    reading a FIFO or a device here would block; ``replay`` itself says what they are). Here,
    not in :mod:`.report`, so that checking a recording does not import torch."""
    try:
        if not Path(path).is_file():
            return False
        with Path(path).open(encoding="utf-8") as lines:
            return '"kind":"loader_started"' in lines.readline(4096)
    except (OSError, UnicodeDecodeError):
        return False
