"""``mpscope watch``: listen for the reports of a training script the user launches themselves.

:func:`watch_reports` opens a :class:`.Listener` (127.0.0.1 and an ephemeral port unless told
otherwise) with a new token, says where it listens (a :class:`.DistStarted` whose settings are
``{}`` and whose launcher is empty: the user starts the ranks), and passes every report on
until ``stop`` is set. The user's script imports :mod:`.report`; its ranks find the viewer
through ``MPSCOPE_ADDRESS`` and ``MPSCOPE_TOKEN``, which :func:`launch_hint` spells out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mpscope.core.distributed.events import DistEvent, DistFinished, DistStarted
from mpscope.core.distributed.listener import Listener, new_token
from mpscope.core.distributed.run import torch_version
from mpscope.core.distributed.wire import ADDRESS_ENV, TOKEN_ENV


def launch_hint(address: str, token: str) -> str:
    """The environment a user's ranks need, as a shell prefix to their torchrun command."""
    return f"{ADDRESS_ENV}={address} {TOKEN_ENV}={token}"


def open_listener(
    emit: Callable[[DistEvent], None], host: str = "127.0.0.1", port: int = 0
) -> Listener:
    """A listener with a fresh token, its :class:`.DistStarted` already emitted; raises
    :class:`OSError` when the address cannot be had (a port in use, a host not this one's)."""
    start = time.monotonic_ns()
    listener = Listener(new_token(), emit, start, host=host, port=port)
    listener.emit(DistStarted(0, "{}", torch_version(), listener.address, ""))
    return listener


def watch_reports(listener: Listener, stop: threading.Event) -> str:
    """Accept reports until ``stop`` is set; the outcome (``stopped``)."""
    listener.start()
    try:
        stop.wait()
    finally:
        listener.close(timeout=1.0)
    listener.emit(DistFinished(listener.now(), "stopped", ""))
    return "stopped"
