"""One shared tensor filled in place (--function fill-shared): the main process makes it with
share_memory_(), every worker fills its tasks' slices, nothing of it crosses a queue, and the
main process reads it back, checked element by element, with every slice's writer PID."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.core.engine.lifecycle import import_torch_quietly
from mpscope.core.engine.shared_fill import SharedFill
from mpscope.core.pipeline.events import SharedTensorRead, TaskDone
from mpscope.core.pipeline.recording import RecordingWriter, iter_recording
from mpscope.core.pipeline.scenario import MAX_TENSOR_SIZE, make_scenario
from mpscope.core.pipeline.shared_fill import (
    MAX_SLICES,
    decode_writers,
    encode_writers,
    slice_value,
)
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.tensor_summary import shared_read_lines, slice_writers
from tests.support import of_kind, run_engine, scenario

pytestmark = pytest.mark.timeout(120)


def test_writers_round_trip_through_their_text() -> None:
    pids, writers = encode_writers([4603, 4604, 0, 4603, 4605])
    assert (pids, writers) == ("4603 4604 4605", "01.02")
    assert decode_writers(pids, writers) == [4603, 4604, 0, 4603, 4605]
    many = list(range(1000, 1070))  # more writers than characters: still no crash
    assert decode_writers(*encode_writers(many))[:64] == many[:64]


def _fill(slices: int, size: int) -> SharedFill:
    import_torch_quietly()
    sc = scenario(function="fill-shared", count=slices, tensor_size=size)
    fill = SharedFill.for_scenario(sc)
    assert fill is not None
    return fill


def test_the_read_checks_every_element_and_finds_one_off() -> None:
    sc = scenario(function="fill-shared", count=4, tensor_size=50)
    fill = _fill(4, 50)
    for task, payload in enumerate(range(1, 5)):
        fill.write(task, payload)
    read = fill.read_back(sc, 7)
    assert (read.right, read.wrong, read.unwritten, read.slices) == (4, 0, 0, 4)
    assert read.nbytes == 4 * 50 * 4 and read.t == 7
    fill.data[2 * 50 + 17] = -1.0  # one element of slice 2 (task value 3, so 9.0) is off
    fill.writers[3] = 0  # and slice 3 was never signed
    read = fill.read_back(sc, 8)
    assert (read.right, read.wrong, read.unwritten) == (2, 1, 1)
    assert read.detail == "slice 2 element 17: -1, expected 9"


def test_fill_shared_is_capped_to_what_one_tensor_can_hold() -> None:
    sc, notes = make_scenario(function="fill-shared", count=MAX_SLICES + 5)
    assert sc.count == MAX_SLICES and "capped at" in notes[0]
    sc, notes = make_scenario(function="fill-shared", count=100, tensor_size=MAX_TENSOR_SIZE)
    assert sc.tensor_size * 100 <= MAX_TENSOR_SIZE and "a slice" in notes[0]


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_workers_fill_the_main_process_tensor_in_place(start_method: str) -> None:
    sc = scenario(
        function="fill-shared",
        start_method=start_method,
        count=7,
        workers=2,
        tensor_size=3000,
        work_time=0.02,
        collect_time=0,
    )
    events, state = run_engine(sc, timeout=90)
    assert state.outcome == "completed", state.outcome_message
    (read,) = of_kind(events, SharedTensorRead)
    # every element of every slice holds its task's value (checked by the main process)
    assert (read.slices, read.right, read.wrong, read.unwritten) == (7, 7, 0, 0)
    assert read.nbytes == 7 * 3000 * 4
    # each slice was written by the PID whose worker reported its task
    pid_of = {w: lane.pid for w, lane in state.lanes.items()}
    reported = {e.task: pid_of[e.worker] for e in of_kind(events, TaskDone)}
    in_tensor = decode_writers(read.pids, read.writers)
    assert in_tensor == [reported[task] for task in range(7)]
    assert len(set(in_tensor)) >= 1 and 0 not in in_tensor
    # no data crossed: every result carried no tensor, its message only says which task is done
    assert all(e.tensor_bytes == 0 and 0 < e.crossed < 100 for e in of_kind(events, TaskDone))
    lines = shared_read_lines(state)
    assert lines[0].startswith("the main process read 84.0 kB it was never sent: 7 slices")
    assert "0 B of tensor data" in lines[0]
    assert lines[1].endswith("✓") and lines[2].endswith("agrees with the lanes ✓")


def test_a_failed_task_leaves_its_slice_unwritten_and_the_summary_says_so() -> None:
    sc = scenario(function="fill-shared", count=4, fail_on=(2,), work_time=0, collect_time=0)
    events, state = run_engine(sc, timeout=90)
    (read,) = of_kind(events, SharedTensorRead)
    assert (read.right, read.wrong, read.unwritten) == (3, 0, 1)
    assert read.writers[1] == "."  # task value 2 is slice 1
    assert "1 never written (their tasks failed or were lost) ✗" in shared_read_lines(state)[1]


def test_a_recording_keeps_what_the_strip_and_the_summary_need(tmp_path: Path) -> None:
    sc = scenario(function="fill-shared", count=5, work_time=0.01, collect_time=0)
    events, state = run_engine(sc, timeout=90)
    path = tmp_path / "fill.jsonl"
    writer = RecordingWriter(path)
    writer.write(events)
    writer.close()
    replayed = RunState().apply_all(iter_recording(path))
    assert replayed.shared_read == state.shared_read
    assert slice_writers(replayed) == slice_writers(state)
    assert shared_read_lines(replayed) == shared_read_lines(state)


def test_slice_value_is_the_seed_square() -> None:
    assert slice_value(3) == 9.0 and slice_value([1, 2]) == 5.0
