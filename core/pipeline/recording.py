"""Recordings: a run's events as JSON lines, written live and read back for replay.

The first line is a header naming the format and schema version; every further line is one
event (:func:`mpscope.core.pipeline.event_json.to_json`). Reading checks all of it and raises
:class:`RecordingError` with a one-line message naming the line, so a truncated or foreign
file is reported, never half-shown.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import IO, Final

from mpscope.core.pipeline.bulk import chunks
from mpscope.core.pipeline.event_json import EventDecodeError, from_json, to_json
from mpscope.core.pipeline.events import (
    READABLE_SCHEMAS,
    SCHEMA_VERSION,
    Event,
    RunFinished,
    RunStarted,
)

FORMAT: Final = "mpscope-recording"
#: the longest line a recording may have: an event line is at most a few KB (a traceback, a
#: printed line), so a longer one means the file is not a recording (``/dev/zero`` has none)
MAX_LINE_BYTES: Final = 4 * 1024 * 1024


class RecordingError(ValueError):
    """A recording that cannot be replayed; the message is one line."""


def header_line() -> str:
    """The first line of every recording."""
    return json.dumps({"format": FORMAT, "schema": SCHEMA_VERSION})


class RecordingWriter:
    """Appends events to a recording file as they happen (flushed per batch)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise RecordingError(f"cannot write recording {self.path}: {exc.strerror}") from None
        self._file.write(header_line() + "\n")
        self.count = 0

    def write(self, events: Iterable[Event]) -> None:
        """Write a batch of events and flush them to disk."""
        for event in events:
            self._file.write(to_json(event) + "\n")
            self.count += 1
        self._file.flush()

    @property
    def closed(self) -> bool:
        """True once closed (or given up after a write failed)."""
        return self._file.closed

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._file.closed:
            self._file.close()


class RunRecorder:
    """One run's events on their way to a recording, fed by the thread that reads the run.

    Until it records, it keeps the run's events (up to ``keep_at_most``), so that a recording
    started half-way still begins at the run's start; once it records, it writes every batch
    as it comes. Fed before the app sees a batch, it records what the run says after the app
    stopped listening too (a quit or a restart mid-run), so a recording ends as its run did.
    Thread-safe: fed from one thread, told to record or close from another.

    A run that is itself a replay is not kept a second time: ``reread`` opens its events
    again, and a recording started half-way begins with as many of them as were fed.
    """

    def __init__(
        self, keep_at_most: int, reread: Callable[[], Iterable[Event]] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._kept: list[Event] | None = [] if reread is None else None
        self._reread = reread
        self._keep_at_most = keep_at_most
        self._writer: RecordingWriter | None = None
        self._owns_writer = True  # a session's writer outlives its runs (see record_to)
        self.seen = 0  # events fed so far
        self.error: str | None = None  # why writing stopped early, if it did

    @property
    def writer(self) -> RecordingWriter | None:
        """The file being written, while recording."""
        return self._writer

    @property
    def keeps_the_start(self) -> bool:
        """True while the run's events are kept from its start (not recording, not too many),
        or can be read again."""
        return self._writer is None and (self._kept is not None or self._reread is not None)

    @property
    def kept(self) -> list[Event] | None:
        """The events kept so far; None once too many to keep, or once recording."""
        with self._lock:
            return None if self._kept is None else list(self._kept)

    def feed(self, events: list[Event]) -> None:
        """A batch of the run's events, in order."""
        with self._lock:
            self.seen += len(events)
            if self._writer is not None:
                self._write(events)
            elif self._kept is not None:
                self._kept.extend(events)
                if len(self._kept) > self._keep_at_most:
                    self._kept = None

    def record_to(self, writer: RecordingWriter, owns: bool = True) -> bool:
        """Write the kept events to ``writer``, then every later batch; False (and nothing
        written) when the run's start is no longer kept. A writer the recorder does not own
        (a session's, which goes on to the next run) stays open when it closes."""
        with self._lock:
            if self._writer is not None:
                return False
            self._owns_writer = owns
            if self._reread is not None:
                self._writer = writer
                again = itertools.islice(self._reread(), self.seen)
                for chunk in chunks(again, 5000):  # a bulk event counts its tasks
                    if self._writer is None:
                        break
                    self._write(chunk)
                self._reread = None
                return True
            if self._kept is None:
                return False
            self._writer = writer
            self._write(self._kept)
            self._kept = None
            return True

    def note(self, event: Event) -> None:
        """An event of the session's (not the run's) into the recording, if it records."""
        with self._lock:
            if self._writer is not None:
                self._write([event])

    def close(self) -> RecordingWriter | None:
        """Stop recording and close the file (if it owns it); the writer it wrote to, if any."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None and self._owns_writer:
            writer.close()
        return writer

    def _write(self, events: list[Event]) -> None:
        assert self._writer is not None
        try:
            self._writer.write(events)
        except OSError as exc:  # a full disk must not stop the run: the recording stops
            writer, self._writer = self._writer, None
            self.error = f"recording to {writer.path} stopped: {exc.strerror or exc}"
            with contextlib.suppress(OSError):  # closing flushes, and fails the same way
                writer.close()


def _text_lines(handle: IO[bytes], path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines decoded one by one, so a bad byte is reported on its own line; a line
    longer than :data:`MAX_LINE_BYTES` is an error (it is never read whole)."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            what = "is not an mpscope recording" if number == 1 else f"line {number}:"
            raise RecordingError(f"{path} {what} (a line longer than {MAX_LINE_BYTES:,} bytes)")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            what = (
                "is not an mpscope recording (not text)"
                if number == 1
                else (f"line {number}: not UTF-8 text")
            )
            raise RecordingError(f"{path} {what}") from None


def _open_regular_file(path: Path) -> IO[bytes]:
    """Open ``path`` for reading if it is a regular file. A FIFO would block the open (and then
    every read) until some writer came; a device such as ``/dev/zero`` never ends. Opened
    without blocking, then checked, so that the file checked is the file read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise RecordingError(f"cannot read {path}: it is {kind}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _check_header(first: str, path: Path) -> None:
    """The first line must name the format and this schema."""
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"{path} is not an mpscope recording (no header line)")
    if header.get("schema") not in READABLE_SCHEMAS:
        raise RecordingError(
            f"{path} uses schema {header.get('schema')!r}; this mpscope reads "
            + " and ".join(str(s) for s in READABLE_SCHEMAS)
        )


def iter_recording(path: str | Path) -> Generator[Event]:
    """Yield the events of a recording, checking the header and every line."""
    path = Path(path)
    with _open_regular_file(path) as handle:
        lines = _text_lines(handle, path)
        _check_header(next(lines, (1, ""))[1], path)
        for number, line in lines:
            if not line.endswith("\n"):
                raise RecordingError(f"{path} is truncated: line {number} is incomplete")
            if line.strip():
                try:
                    yield from_json(line)
                except EventDecodeError as exc:
                    raise RecordingError(f"{path} line {number}: {exc}") from None


def check_recording(path: str | Path) -> None:
    """Check what can be checked of a recording without reading it whole: a regular file with
    the header, a first event that starts a run, and a last line that is complete. A bad line
    in the middle is found when it is reached (see :func:`iter_recording`)."""
    path = Path(path)
    events = iter_recording(path)
    try:
        first = next(events, None)
    finally:
        events.close()
    with _open_regular_file(path) as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                raise RecordingError(f"{path} is truncated: its last line is incomplete")
    if not isinstance(first, RunStarted):
        raise RecordingError(f"{path} has no run in it (its first event is not run_started)")


def check_header(path: str | Path) -> None:
    """A recording's first line names this format and schema (all that can be checked of a
    recording still being written)."""
    path = Path(path)
    with _open_regular_file(path) as handle:
        first = handle.readline(MAX_LINE_BYTES + 1)
    _check_header(first.decode("utf-8", "replace"), path)


def follow_recording(
    path: str | Path, keep_following: Callable[[], bool], poll_s: float = 0.1
) -> Iterator[Event]:
    """The events of a recording that is still being written, as ``tail -f`` reads a file: at
    its end, wait for more (a line still being written is read once it is whole) until the
    run's end is read or ``keep_following()`` says no. The header is checked as by
    :func:`iter_recording`; an incomplete line is never an error here."""
    path = Path(path)
    with _open_regular_file(path) as handle:
        header = b""
        while not header.endswith(b"\n"):
            header += handle.readline(MAX_LINE_BYTES + 1)
            if not header.endswith(b"\n"):
                if not keep_following():
                    return
                time.sleep(poll_s)
        _check_header(header.decode("utf-8", "replace"), path)
        partial = b""
        number = 1
        while True:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                if not keep_following():
                    return
                time.sleep(poll_s)
                continue
            partial += raw
            if len(partial) > MAX_LINE_BYTES:
                raise RecordingError(
                    f"{path} line {number + 1}: longer than {MAX_LINE_BYTES:,} bytes"
                )
            if not partial.endswith(b"\n"):
                continue  # the writer is half way through this line
            number += 1
            line, partial = partial, b""
            if not line.strip():
                continue
            try:
                event = from_json(line.decode("utf-8"))
            except (EventDecodeError, UnicodeDecodeError) as exc:
                raise RecordingError(f"{path} line {number}: {exc}") from None
            yield event
            if isinstance(event, RunFinished):
                return


def read_recording(path: str | Path) -> list[Event]:
    """All events of a recording, checked: it must start a run, and should end it."""
    events = list(iter_recording(path))
    if not events or not isinstance(events[0], RunStarted):
        raise RecordingError(f"{path} has no run in it (its first event is not run_started)")
    return events


def is_complete(events: list[Event]) -> bool:
    """True if the recording ends with the run's end."""
    return bool(events) and isinstance(events[-1], RunFinished)
