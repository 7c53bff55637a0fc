"""Regenerate the small recordings the snapshot tests are fed from.

    python -m tests.recordings.make_recordings [NAME ...]

Each is a real run (real processes, real PIDs) recorded with :class:`RecordingWriter`; the
snapshot tests replay them instantly, so the pictures are the same on every machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.events import TaskStarted
from mpscope.core.pipeline.recording import RecordingWriter
from mpscope.core.pipeline.scenario import make_scenario

HERE = Path(__file__).parent
SMALL: dict[str, Any] = dict(workers=3, count=6, work_time=0.15, collect_time=0.05)


def record(name: str, kill_worker: int | None = None, **settings: Any) -> None:
    scenario, _ = make_scenario(**{**SMALL, **settings})
    engine = Engine(scenario)
    writer = RecordingWriter(HERE / f"{name}.jsonl")
    engine.start()
    killed = False
    while (batch := engine.next_batch(5)) is not None:
        writer.write(batch)
        for event in batch:
            if (
                kill_worker is not None
                and not killed
                and isinstance(event, TaskStarted)
                and event.worker == kill_worker
            ):
                killed = engine.kill_worker(kill_worker)
    writer.close()
    print(f"{name}: {writer.count} events")


RECORDINGS: dict[str, dict[str, Any]] = {
    "task3": {},
    "task2": dict(mode="collect-after"),
    "task1": dict(mode="print", print_count=3, print_delay=0.05),
    "failure": dict(fail_on=(3,)),
    "killed": dict(kill_worker=1, work_time=0.3),
    "tensor": dict(function="tensor", tensor_size=4096),
    "fill_shared": dict(function="fill-shared", count=12, tensor_size=1000),
}


def record_loader_killed(name: str = "loader_killed") -> None:
    """A real DataLoader run (2 workers) in which worker 0 is killed after the third batch."""
    from mpscope.core.dataloader.controls import LoaderControl
    from mpscope.core.dataloader.events import BatchReceived, LoaderEvent, to_json
    from mpscope.core.dataloader.run import LoaderSettings, run_loader

    control = LoaderControl()
    events: list[LoaderEvent] = []

    def emit(event: LoaderEvent) -> None:
        events.append(event)
        received = sum(isinstance(e, BatchReceived) for e in events)
        if isinstance(event, BatchReceived) and len(control.pids) == 2 and received == 3:
            control.kill(0)

    settings = LoaderSettings(samples=48, batch_size=4, load_time=0.02, train_time=0.02)
    run_loader(settings, emit, control=control)
    text = "".join(to_json(event) + "\n" for event in events)
    (HERE / f"{name}.jsonl").write_text(text, encoding="utf-8")
    print(f"{name}: {len(events)} events")


#: recordings of a DataLoader run (their own format), made by their own function
LOADER_RECORDINGS = {"loader_killed": record_loader_killed}


def main(names: list[str]) -> None:
    """Record the recordings named (every one without names: then every snapshot changes)."""
    for name in names or [*RECORDINGS, *LOADER_RECORDINGS]:
        if name in LOADER_RECORDINGS:
            LOADER_RECORDINGS[name](name)
        else:
            record(name, **RECORDINGS[name])


if __name__ == "__main__":
    main(sys.argv[1:])
