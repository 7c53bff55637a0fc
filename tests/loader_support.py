"""Helper for tests that run a real DataLoader in a thread, as the DataLoader screen does."""

from __future__ import annotations

import threading

from mpscope.core.dataloader.controls import LoaderControl
from mpscope.core.dataloader.events import BatchReceived, LoaderEvent
from mpscope.core.dataloader.run import LoaderSettings, run_loader


def run_loader_in_thread(
    settings: LoaderSettings, control: LoaderControl, stop: threading.Event | None = None
) -> tuple[threading.Thread, list[LoaderEvent], threading.Event]:
    """Start ``run_loader`` on a thread; its events, and an event set at the first batch."""
    events: list[LoaderEvent] = []
    first = threading.Event()

    def emit(event: LoaderEvent) -> None:
        events.append(event)
        if isinstance(event, BatchReceived):
            first.set()

    runner = threading.Thread(
        target=run_loader, args=(settings, emit), kwargs={"control": control, "stop": stop}
    )
    runner.start()
    return runner, events, first
