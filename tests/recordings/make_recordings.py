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


def main(names: list[str]) -> None:
    """Record the recordings named (every one without names: then every snapshot changes)."""
    for name in names or list(RECORDINGS):
        record(name, **RECORDINGS[name])


if __name__ == "__main__":
    main(sys.argv[1:])
