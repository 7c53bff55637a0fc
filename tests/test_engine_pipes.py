"""The engine reads everything a process sent before it reaps it, and stops watching
processes given up by another thread (no real processes: a pipe and a stand-in)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from mpscope.core.engine.monitor import DRAIN_ROUNDS
from mpscope.core.engine.run import Engine
from mpscope.core.engine.shared import RunProcess
from mpscope.core.pipeline.events import Note, PrintedLine, WorkerExited, WorkerLoopEnded
from mpscope.core.pipeline.scenario import make_scenario


class EndedProcess:
    """Stands in for a ``multiprocessing.Process`` that has exited with code 0."""

    def __init__(self, sentinel: int) -> None:
        self.pid = 4242
        self.exitcode = 0
        self.sentinel = sentinel

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False


def _engine_with_pipe() -> tuple[Engine, RunProcess, Any, Any]:
    sc, _ = make_scenario(count=1, workers=1, work_time=0, collect_time=0)
    engine = Engine(sc)
    reader, writer = multiprocessing.Pipe(duplex=False)
    sentinel_r, sentinel_w = multiprocessing.Pipe(duplex=False)
    proc = RunProcess(0, EndedProcess(sentinel_r.fileno()), reader)
    engine._shared.procs[0] = proc
    engine._supervisor.monitor.watch.add_pipe(reader)
    engine._supervisor.monitor.watch.add_sentinel(sentinel_r.fileno(), proc)
    return engine, proc, writer, (sentinel_r, sentinel_w)


def _events(engine: Engine) -> list[Any]:
    out: list[Any] = []
    while batch := engine.next_batch(0):
        out.extend(batch)
    return out


def test_a_process_is_reaped_only_after_its_last_batch_is_read() -> None:
    engine, proc, writer, keep = _engine_with_pipe()
    # more small batches than one bounded drain takes, the end of the loop in the last one
    for i in range(DRAIN_ROUNDS * 3):
        writer.send([(PrintedLine, i, 0, f"line {i}", "stdout")])
    writer.send([(WorkerLoopEnded, 10_000, 0, "took the end sentinel")])
    writer.close()
    engine._supervisor.monitor.drain_events()  # bounded: leaves batches behind
    assert not proc.loop_ended
    engine._supervisor.monitor.reap(proc)
    events = _events(engine)
    printed = [e for e in events if isinstance(e, PrintedLine)]
    assert len(printed) == DRAIN_ROUNDS * 3
    exited = [e for e in events if isinstance(e, WorkerExited)]
    assert [e.reason for e in exited] == ["finished its loop"]
    assert not [e for e in events if isinstance(e, Note) and e.level == "warning"]
    assert not engine._supervisor.monitor.watch.watching(proc.reader)
    for end in keep:
        end.close()


def test_a_process_given_up_elsewhere_is_no_longer_watched() -> None:
    engine, proc, writer, (sentinel_r, sentinel_w) = _engine_with_pipe()
    sentinel_w.close()  # the sentinel is now readable for good, as a dead process's is
    proc.exited = True  # what abort() does from another thread
    assert engine._supervisor.monitor.wait(0) == []
    # the fired sentinel was dropped: waiting again returns at once with nothing, and the
    # Watch no longer reports it (no busy loop on a sentinel nobody will reap)
    _pipes, ended = engine._supervisor.monitor.watch.wait(0)
    assert ended == []
    writer.close()
    sentinel_r.close()
