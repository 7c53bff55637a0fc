"""Keep child processes' stderr off the terminal and turn it into events.

A child started by spawn, forkserver or fork inherits file descriptor 2 from its parent. Before
its own code runs, a child may write there: ``import torch`` without NumPy warns in every
process. A full-screen app cannot have that drawn over it, so the engine starts its processes
inside :func:`capture_window`, which points fd 2 at a pipe for the moment of the start. One
daemon thread reads the pipe for the whole program (the forkserver keeps the pipe open) and
hands each line to whoever listens (the engine of the current run).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

Listener = Callable[[str], None]

_lock = threading.Lock()
_write_fd: int | None = None
_listener: Listener | None = None
_lines_without_listener: list[str] = []


def _reader(read_fd: int) -> None:
    with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as pipe:
        for raw in pipe:
            line = raw.rstrip("\n")
            with _lock:
                listener = _listener
                if listener is None:
                    _lines_without_listener.append(line)
                    del _lines_without_listener[:-50]
            if listener is not None:
                listener(line)


def _ensure_pipe() -> int:
    global _write_fd
    with _lock:
        if _write_fd is None:
            read_fd, _write_fd = os.pipe()
            threading.Thread(
                target=_reader, args=(read_fd,), name="mpscope-stderr", daemon=True
            ).start()
        return _write_fd


def set_listener(listener: Listener | None) -> None:
    """Route captured lines to ``listener`` (None: keep the last few for later)."""
    global _listener
    with _lock:
        _listener = listener


def orphan_lines() -> list[str]:
    """Lines captured while nobody listened (most recent last)."""
    with _lock:
        return list(_lines_without_listener)


@contextlib.contextmanager
def capture_window() -> Iterator[None]:
    """Within this block fd 2 is the capture pipe, so processes started here inherit it."""
    write_fd = _ensure_pipe()
    saved = os.dup(2)
    try:
        os.dup2(write_fd, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
