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


def stop_forkserver() -> None:
    """End multiprocessing's forkserver now, at program exit, instead of a moment after it.

    Uses the server's own stop method (``ForkServer._stop``, there since Python 3.8), which
    closes its "alive" pipe and waits for it, so it does not outlive the program even briefly.
    """
    import multiprocessing.forkserver as forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()


def shutdown() -> None:
    """Stop every engine and the forkserver; the program's last step."""
    stop_all_engines()
    stop_forkserver()


atexit.register(shutdown)
