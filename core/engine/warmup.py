"""Warming the forkserver while the app's first frame shows.

A run's first workers wait for the forkserver: a fresh Python process that imports torch
(through the worker module it preloads) before it can fork a single worker. Started the moment
the app opens, on a thread of its own, that second or two overlaps the engine's own import of
torch instead of following it; every later run (``r``, ``2``, ``3``) finds it running. The
forkserver is the one every run of this program uses, and :mod:`.lifecycle` stops it at exit.
"""

from __future__ import annotations

import contextlib
import threading

from mpscope.core.engine.processes import WORKER_MODULE


def _warm() -> None:
    import multiprocessing
    import multiprocessing.forkserver as forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload([WORKER_MODULE])
    with contextlib.suppress(Exception):  # a run that needs it starts it again, and says why
        forkserver.ensure_running()


def warm_forkserver() -> threading.Thread:
    """Start the forkserver (with the worker module preloaded) on a daemon thread."""
    thread = threading.Thread(target=_warm, name="mpscope-forkserver-warmup", daemon=True)
    thread.start()
    return thread
