"""Screencasts without asciinema: run a command in a pseudo-terminal of a chosen size and write
what it draws as an asciicast v2 file (asciinema's format: a JSON header line, then one
``[seconds, "o", text]`` line per chunk of output, and ``[seconds, "m", label]`` markers, which
asciinema's player shows as chapters on its progress bar), which asciinema's player and
``asciinema play`` show as they were.

Markers come from the command itself, on a pipe of their own: the recorder opens it, names its
write end in the command's environment (:data:`MARKER_ENV`, a file descriptor number), and
stamps each line the command writes there as a marker when it arrives, in order with the
output read before it. :func:`marker_sink` is the command's side.

:func:`record_cast` starts the command, copies its output to the file (and to this terminal,
unless headless), forwards this terminal's keys to it, and returns its exit code. The command
is ended with it: SIGINT, SIGTERM and SIGHUP are passed on, and a command that does not end
after it was told to is killed.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO

__all__ = ["MARKER_ENV", "CastError", "CastWriter", "marker_sink", "parse_size", "record_cast"]

MARKER_ENV = "MPSCOPE_CAST_MARKERS"
"""The environment variable naming the file descriptor a recorded command writes markers to."""
MIN_SIZE = (40, 12)
MAX_SIZE = (400, 200)
GRACE_S = 5.0


class CastError(ValueError):
    """A cast that cannot be made; the text is one line."""


def parse_size(text: str) -> tuple[int, int]:
    """``"120x40"`` → (120, 40), within :data:`MIN_SIZE` and :data:`MAX_SIZE`."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise CastError(f"--size must be COLUMNSxROWS, e.g. 120x40; got {text!r}") from None
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise CastError(
            f"--size {width}x{height} is out of range "
            f"({MIN_SIZE[0]}x{MIN_SIZE[1]} to {MAX_SIZE[0]}x{MAX_SIZE[1]})"
        )
    return width, height


class CastWriter:
    """An asciicast v2 file, written as the output comes."""

    def __init__(self, path: str | Path, width: int, height: int, title: str) -> None:
        try:
            self._file: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise CastError(f"cannot write {path}: {exc.strerror}") from None
        self._start = time.monotonic()
        header = {
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": "xterm-256color"},
        }
        self._file.write(json.dumps(header, ensure_ascii=False) + "\n")

    def output(self, text: str) -> None:
        if text:
            self._event("o", text)

    def marker(self, label: str) -> None:
        """A marker (a chapter in asciinema's player) at this moment."""
        self._event("m", label)

    def _event(self, code: str, data: str) -> None:
        t = time.monotonic() - self._start
        self._file.write(json.dumps([round(t, 6), code, data], ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._file.close()


def marker_sink() -> Callable[[str], None] | None:
    """In a command being recorded: a function that adds a marker labelled with its text (one
    line), or None when nothing records markers. The pipe is kept from the command's own
    children."""
    name = os.environ.pop(MARKER_ENV, "")
    if not name.isdigit():
        return None
    fd = int(name)
    try:
        os.set_inheritable(fd, False)
        sink = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
    except OSError:
        return None

    def mark(label: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the recorder has gone: no markers
            sink.write(" ".join(label.split()) + "\n")

    return mark


class _Markers:
    """The recorder's end of the marker pipe: complete lines become markers."""

    def __init__(self, fd: int, writer: CastWriter) -> None:
        self.fd: int | None = fd
        self._writer = writer
        self._pending = b""

    def read(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:  # every writer has closed it
            os.close(self.fd)
            self.fd = None
            return
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self._writer.marker(line.decode("utf-8", "replace"))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _set_size(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


@contextlib.contextmanager
def _raw(fd: int | None) -> Iterator[None]:
    """This terminal in raw mode while keys go to the command (restored after)."""
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def record_cast(
    argv: Sequence[str], path: str | Path, size: tuple[int, int], title: str, headless: bool
) -> int:
    """Run ``argv`` in a pseudo-terminal of ``size`` and record it to ``path``; its exit code."""
    width, height = size
    writer = CastWriter(path, width, height, title)
    marker_read, marker_write = os.pipe()
    pid, master = pty.fork()
    if pid == 0:  # the command, in the pseudo-terminal
        try:
            _set_size(0, width, height)  # the pseudo-terminal is its standard input now
            os.environ["TERM"] = "xterm-256color"
            os.environ["COLUMNS"], os.environ["LINES"] = str(width), str(height)
            os.close(marker_read)
            os.set_inheritable(marker_write, True)
            os.environ[MARKER_ENV] = str(marker_write)
            os.execvp(argv[0], list(argv))
        finally:
            os._exit(127)
    os.close(marker_write)
    markers = _Markers(marker_read, writer)
    _set_size(master, width, height)
    keys = 0 if not headless and os.isatty(0) else None
    shown = None if headless else sys.stdout
    told_at: list[float] = []

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        told_at.append(time.monotonic())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    previous = {
        s: signal.signal(s, pass_on) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    status: int | None = None
    try:
        with _raw(keys):
            status = _copy(master, keys, markers, writer, shown, decoder, pid, told_at)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        writer.output(decoder.decode(b"", final=True))
        writer.close()
        markers.close()
        os.close(master)
    if status is None:
        _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _copy(
    master: int,
    keys: int | None,
    markers: _Markers,
    writer: CastWriter,
    shown: IO[str] | None,
    decoder: codecs.IncrementalDecoder,
    pid: int,
    told_at: list[float],
) -> int | None:
    """Copy the command's output until it ends (killing it if it outstays a signal); its wait
    status if it was reaped here."""
    while True:
        if told_at and time.monotonic() - told_at[0] > GRACE_S:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        watched = [master] + [fd for fd in (keys, markers.fd) if fd is not None]
        try:
            ready, _, _ = select.select(watched, [], [], 0.2)
        except InterruptedError:
            continue
        if markers.fd is not None and markers.fd in ready:  # a step begins: before its frames
            markers.read()
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal (it ended)
                return None
            if not data:
                return None
            text = decoder.decode(data)
            writer.output(text)
            if shown is not None:
                shown.write(text)
                shown.flush()
        if keys is not None and keys in ready:
            data = os.read(keys, 1024)
            if data:
                os.write(master, data)
        if not ready:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
