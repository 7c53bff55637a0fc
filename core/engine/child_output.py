"""Keep what run processes print off the terminal, and turn it into events.

Inside a worker or collector, :func:`capture_process_output` points file descriptors 1 and 2
at a pipe that a thread of that process reads, so even C code writing straight to the file
descriptors reaches the engine as ``PrintedLine(stream="stderr")`` events, attributed to the
process, instead of being drawn over a full-screen app. (Python-level ``print`` is turned
into events directly; see :mod:`.worker`.) In the main process nothing is redirected:
Textual itself draws on stderr.

:func:`real_stderr` helps the main process start processes while a full-screen app has
replaced ``sys.stderr``: multiprocessing's resource tracker passes ``sys.stderr.fileno()`` to
the process it starts, which fails on a capture object without a file descriptor.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator


def _has_fileno(stream: object) -> bool:
    try:
        return int(stream.fileno()) >= 0  # type: ignore[attr-defined]
    except Exception:
        return False


@contextlib.contextmanager
def real_stderr() -> Iterator[None]:
    """Within this block ``sys.stderr`` has a real file descriptor (the original stderr)."""
    saved = sys.stderr
    if not _has_fileno(saved) and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


def capture_process_output(on_line: Callable[[str], None]) -> None:
    """In a run process: send whatever reaches fds 1 and 2 to ``on_line``, line by line."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as pipe:
            for line in pipe:
                on_line(line.rstrip("\n"))

    threading.Thread(target=pump, name="output", daemon=True).start()
