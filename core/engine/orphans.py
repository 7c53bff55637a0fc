"""What a task starts must not outlive the run, even when it leaves the worker's session.

Each run process leads a session and process group of its own (:mod:`.worker`), and the
engine ends that group with it. A task's child that calls ``setsid()`` (``subprocess.Popen(...,
start_new_session=True)``, a daemon's double fork) leaves the group, so ending the group
misses it. Two Linux "child subreapers" (``prctl(PR_SET_CHILD_SUBREAPER)``) keep track of it:

- each run process is one, so whatever its tasks started, however it was orphaned inside,
  stays in its tree of descendants while it lives: it ends that tree itself when its loop
  ends (:func:`end_own_descendants`), and the engine ends it with the process
  (:func:`signal_with_tree` before the process is signalled, :func:`kill_tree` after);
- the main process is one while a run goes (:func:`subreaping`), so what a run process
  leaves behind when it dies comes back to the main process as its child, not to init:
  :func:`end_strangers` ends those children that carry the mark every run process puts in
  its environment (:data:`RUN_MARK`, the main process's PID), which what its tasks exec
  inherits, and that the engine did not start itself. Nothing else that comes back to the
  main process (a tmux server, say) is touched; a fork that never exec'd is not recognised.

``torch_shm_manager`` (torch's helper for ``file_system`` sharing, which leaves the session of
the process that started it) is left alone: it ends by itself once nobody uses it, and
killing it would leave its shared memory behind. The main process stays its client once it
has received such a tensor, so a manager a worker started comes back to the main process
and lives as long as it: it is reaped when it ends (:func:`reap_ended_helpers`), never killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Collection, Iterator
from typing import Final, NamedTuple

PR_SET_CHILD_SUBREAPER: Final = 36
#: the environment variable each run process sets to the main process's PID
RUN_MARK: Final = "MPSCOPE_RUN_OF"
#: ``/proc/PID/stat``'s name for torch's shared-memory manager (15 characters at most)
SPARED: Final = ("torch_shm_manag",)


class ProcInfo(NamedTuple):
    """What ``/proc/PID/stat`` says of a process."""

    ppid: int
    name: str


def mark_as_run_process(main_pid: int) -> None:
    """Mark this process, and what it starts from now on, as a run process of ``main_pid``."""
    if main_pid > 0:
        os.environ[RUN_MARK] = str(main_pid)


def _marked_for(pid: int, main_pid: int) -> bool:
    """True if ``pid``'s environment carries the mark of ``main_pid``'s runs."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return f"{RUN_MARK}={main_pid}".encode() in environ.read().split(b"\0")
    except OSError:
        return False


def become_subreaper(on: bool = True) -> bool:
    """Make this process a child subreaper (Linux), or no longer one; False where that
    cannot be done."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


_runs_going = 0
_runs_lock = threading.Lock()


@contextlib.contextmanager
def subreaping() -> Iterator[None]:
    """This process is a subreaper while any run is going (runs nest, threads share it), and
    no longer once the last has ended: what else it starts that daemonizes (a tmux server, in
    tests) then goes to init as usual, never to this process."""
    global _runs_going
    with _runs_lock:
        _runs_going += 1
        if _runs_going == 1:
            become_subreaper(True)
    try:
        yield
    finally:
        with _runs_lock:
            _runs_going -= 1
            if _runs_going == 0:
                become_subreaper(False)


def _stat(pid: int) -> tuple[str, int, str] | None:
    """``pid``'s state letter, parent and name from ``/proc/PID/stat``; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    name, _, rest = text.partition(" (")[2].rpartition(")")
    fields = rest.split()  # state, ppid, ...
    if len(fields) < 2:
        return None
    return fields[0], int(fields[1]), name


def proc_info(pid: int) -> ProcInfo | None:
    """``pid``'s parent and name, or None if it is gone (or a zombie)."""
    stat = _stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return None
    return ProcInfo(stat[1], stat[2])


def _stats() -> Iterator[tuple[int, tuple[str, int, str]]]:
    """Every process's PID and ``/proc/PID/stat`` (state, parent, name), zombies included."""
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                yield int(entry), stat


def _every_process() -> dict[int, ProcInfo]:
    """Every living process (no zombies) and its parent and name."""
    return {
        pid: ProcInfo(ppid, name)
        for pid, (state, ppid, name) in _stats()
        if state not in ("Z", "X")
    }


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``, children first, but the spared (:data:`SPARED`),
    from one read of ``/proc``."""
    every = _every_process()
    children: dict[int, list[int]] = {}
    for child, info in every.items():
        children.setdefault(info.ppid, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if every[child].name not in SPARED:
                found.append(child)
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def kill_tree(pid: int) -> None:
    """SIGKILL the process group ``pid`` leads and every descendant of ``pid``, in its group or
    not (``pid`` itself only through its group: the caller ends the process it started)."""
    below = descendants(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for child in below:
        _kill(child)


def signal_with_tree(pid: int, sig: int) -> None:
    """Send ``sig`` to ``pid`` and SIGKILL every descendant it had just before (found first:
    once ``pid`` is dead, what it started is no longer below it). Raises ProcessLookupError
    as ``os.kill`` does."""
    below = descendants(pid)
    os.kill(pid, sig)
    for child in below:
        _kill(child)


def end_own_descendants() -> None:
    """SIGKILL every descendant of this process (a run process at its end: it is a subreaper,
    so all that its tasks started and left running is below it)."""
    for child in descendants(os.getpid()):
        _kill(child)


def multiprocessing_helpers() -> set[int]:
    """The PIDs of multiprocessing's forkserver and resource tracker, if they run: never
    strangers, whatever session they are in."""
    import multiprocessing.forkserver as forkserver
    import multiprocessing.resource_tracker as resource_tracker

    pids = (
        getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None),
        getattr(getattr(resource_tracker, "_resource_tracker", None), "_pid", None),
    )
    return {pid for pid in pids if isinstance(pid, int)}


def end_strangers(known: Collection[int]) -> list[int]:
    """SIGKILL and reap the children of this process that a dead run process left behind:
    marked as this process's runs', not in ``known`` (the run's own processes), not spared.
    Returns their PIDs."""
    me = os.getpid()
    known = {*known, *multiprocessing_helpers()}
    strangers = [
        pid
        for pid, info in _every_process().items()
        if info.ppid == me and pid not in known and info.name not in SPARED and _marked_for(pid, me)
    ]
    for pid in strangers:
        for below in descendants(pid):
            _kill(below)
        _kill(pid)
        _reap(pid)
    reap_ended_helpers()
    return strangers


def reap_ended_helpers() -> list[int]:
    """Reap the spared helpers (:data:`SPARED`) that came back to this process and have since
    ended by themselves, so they stay no zombies; returns their PIDs."""
    me = os.getpid()
    ended = [
        pid
        for pid, (state, ppid, name) in _stats()
        if ppid == me and state == "Z" and name in SPARED
    ]
    for pid in ended:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return ended


def _reap(pid: int, timeout_s: float = 1.0) -> None:
    """Wait (bounded) for a child of ours that was SIGKILLed, so it leaves no zombie."""
    deadline = time.monotonic() + timeout_s
    with contextlib.suppress(ChildProcessError, OSError):
        while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)
