"""What the engine does for the whole program rather than for one run.

- :func:`import_torch_quietly`: torch is imported late (the UI paints first), and quietly;
- a registry of the engines still running, so that :func:`stop_all_engines` can stop them;
- :func:`stop_forkserver` and :func:`shutdown`, the program's last step, which an ``atexit``
  hook also runs (so no child process outlives the program, even when the UI crashes).

Callers look these functions up on this module when they call them (tests replace
``import_torch_quietly`` and ``shutdown`` here).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpscope.core.engine.run import Engine

_live_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def import_torch_quietly() -> None:
    """Import torch (here, not at module level: the UI paints before torch loads).

    Without NumPy, ``import torch`` warns "Failed to initialize NumPy"; in the main process we
    silence exactly that warning. Children filter it when they import torch (:mod:`.worker`).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        import torch.multiprocessing  # noqa: F401


def register(engine: Engine) -> None:
    """Count ``engine`` among those to stop at exit (it is forgotten once unreferenced)."""
    _live_engines.add(engine)


def stop_all_engines(timeout: float = 10.0) -> None:
    """Stop every engine still running and wait for its processes (used at exit)."""
    engines = list(_live_engines)
    for engine in engines:
        engine.stop("the program is exiting")
    deadline = time.monotonic() + timeout
    for engine in engines:
        engine.join(max(0.1, deadline - time.monotonic()))
        if engine.running:
            engine.abort()


#: How long the forkserver is given to end once asked, and again once SIGKILLed.
FORKSERVER_STOP_S = 2.0


def stop_forkserver(timeout_s: float = FORKSERVER_STOP_S) -> None:
    """End multiprocessing's forkserver now, at program exit, instead of a moment after it,
    and never wait for it without a bound.

    Does what the server's own ``ForkServer._stop_unlocked`` does (close its "alive" pipe,
    reap it, remove its socket), except that its ``os.waitpid`` has no bound: a forkserver
    that is stopped (SIGSTOP) or wedged would keep mpscope from exiting, even on SIGTERM. Here
    it gets ``timeout_s``, then SIGKILL and ``timeout_s`` more.
    """
    import multiprocessing.forkserver as forkserver
    from multiprocessing import util

    server = getattr(forkserver, "_forkserver", None)
    if server is None:
        return
    lock = getattr(server, "_lock", None)
    locked = lock is not None and lock.acquire(timeout=timeout_s)
    try:
        pid = getattr(server, "_forkserver_pid", None)
        if pid is None:
            return
        alive = getattr(server, "_forkserver_alive_fd", None)
        if alive is not None:
            with contextlib.suppress(OSError):
                os.close(alive)
            server._forkserver_alive_fd = None
        if not _reaped_within(pid, timeout_s):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _reaped_within(pid, timeout_s)
        server._forkserver_pid = None
        address = getattr(server, "_forkserver_address", None)
        if address is not None and not util.is_abstract_socket_namespace(address):
            with contextlib.suppress(OSError):
                os.unlink(address)
        server._forkserver_address = None
    finally:
        if locked and lock is not None:
            lock.release()


def _reaped_within(pid: int, timeout_s: float) -> bool:
    """Reap child ``pid`` if it ends within ``timeout_s``; True once it is gone."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped already, or not our child
            return True
        if done:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def dead_forkserver() -> int | None:
    """The PID of multiprocessing's forkserver if it was started and has died, else None."""
    import multiprocessing.forkserver as forkserver

    from mpscope.core.engine.shared import process_gone

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    return pid if isinstance(pid, int) and process_gone(pid) else None


def shutdown() -> None:
    """Stop every engine and the forkserver; the program's last step."""
    stop_all_engines()
    stop_forkserver()


atexit.register(shutdown)
