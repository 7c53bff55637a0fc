"""Replays read as they play: a stream starts at once, a growing recording is followed as it
is written, and a bad line found on the way ends the replay as an error."""

from __future__ import annotations

import re
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from benchmarks.big_recording import quick_run, write_quick_run
from mpscope.core.pipeline.event_json import to_json
from mpscope.core.pipeline.events import Event, Note, RunFinished, RunStarted, TaskQueued
from mpscope.core.pipeline.recording import (
    RecordingError,
    check_recording,
    follow_recording,
    header_line,
    iter_recording,
)
from mpscope.core.pipeline.scenario import Scenario
from mpscope.tui.session.bridge import ReplaySource
from mpscope.tui.views.plain import replay_plain

RECORDINGS = Path(__file__).parent / "recordings"


def _start() -> str:
    return to_json(RunStarted(0, "pipeline", "fork", 1, Scenario().to_json(), 1))


class _Collect:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ended = threading.Event()

    def __call__(self, batch: list[Event] | None) -> None:
        if batch is None:
            self.ended.set()
        else:
            self.events.extend(batch)


@pytest.mark.timeout(20)
def test_a_growing_recording_is_followed_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(header_line() + "\n" + _start() + "\n")
    sink = _Collect()
    source = ReplaySource(lambda following: follow_recording(path, following, 0.01), sink)
    source.start()
    with path.open("a") as out:
        for task in range(5):
            line = to_json(TaskQueued(1000 + task, task, str(task))) + "\n"
            out.write(line[:7])  # a line half written: read only once it is whole
            out.flush()
            time.sleep(0.03)
            out.write(line[7:])
            out.flush()
            time.sleep(0.03)
        out.write(to_json(RunFinished(9000, "completed", "done")) + "\n")
    assert sink.ended.wait(10)
    assert [type(e).__name__ for e in sink.events] == ["RunStarted"] + ["TaskQueued"] * 5 + [
        "RunFinished"
    ]


@pytest.mark.timeout(20)
def test_following_gives_up_when_the_replay_stops(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(header_line() + "\n" + _start() + "\n")  # no end: still being written
    sink = _Collect()
    source = ReplaySource(lambda following: follow_recording(path, following, 0.01), sink)
    source.start()
    time.sleep(0.2)
    source.stop()
    assert source.join(5)
    assert sink.ended.is_set()


@pytest.mark.timeout(20)
def test_a_bad_line_part_way_ends_the_replay_as_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(header_line() + "\n" + _start() + "\n" + "{not json}\n")
    sink = _Collect()
    ReplaySource(lambda _following: iter_recording(path), sink, speed=100).start()
    assert sink.ended.wait(10)
    last = sink.events[-1]
    assert isinstance(last, RunFinished) and last.outcome == "error" and "line 3" in last.message
    assert any(isinstance(e, Note) and e.level == "error" for e in sink.events)


def test_the_cheap_check_catches_what_it_can_without_reading_the_file_whole(
    tmp_path: Path,
) -> None:
    check_recording(RECORDINGS / "task3.jsonl")
    cut = tmp_path / "cut.jsonl"
    cut.write_text((RECORDINGS / "task3.jsonl").read_text()[:-3])
    with pytest.raises(RecordingError, match="truncated"):
        check_recording(cut)
    no_run = tmp_path / "no-run.jsonl"
    no_run.write_text(header_line() + "\n" + to_json(TaskQueued(1, 1, "1")) + "\n")
    with pytest.raises(RecordingError, match="no run"):
        check_recording(no_run)


def test_a_streamed_replay_holds_one_event_not_the_file(tmp_path: Path) -> None:
    """Reading 40,000 lines as they play peaks like reading 4,000: memory does not grow with
    the recording's length."""
    peaks = []
    for lines in (4_000, 40_000):
        path = tmp_path / f"r{lines}.jsonl"
        with path.open("w") as out:
            out.write(header_line() + "\n" + _start() + "\n")
            for task in range(lines):
                out.write(to_json(TaskQueued(task + 1, task, str(task))) + "\n")
        tracemalloc.start()
        count = sum(1 for _ in iter_recording(path))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == lines + 1
    assert peaks[1] < peaks[0] * 2, peaks


def test_a_replay_posts_no_more_than_the_app_has_taken() -> None:
    """A recording of quick tasks holds more events a second than the app folds: the replay
    waits for the app (batch_taken) instead of piling batches up in its message queue."""
    posted: list[list[Event]] = []
    events = list(quick_run(20_000))
    source = ReplaySource(events, lambda batch: posted.append(batch or []), 1000.0, False, 2)
    source.start()
    deadline = time.monotonic() + 10
    while len(posted) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # time enough to post many more, if it did not wait
    assert len(posted) == 2
    source.batch_taken()
    deadline = time.monotonic() + 10
    while len(posted) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(posted) == 3
    source.stop()  # it is waiting for the app: stopping ends it at once, all the same
    assert source.join(5)


def _plain_replay_peak(
    path: Path, tasks: int, capfd: pytest.CaptureFixture[str], bulk: bool = True
) -> int:
    """Replay a recording of ``tasks`` quick tasks (in bulk as a run records them, or one
    event at a time as older recordings hold them) with --plain's printer; its peak memory."""
    write_quick_run(path, tasks, bulk, every_ns=1_000_000)  # lines wait 0.5 s: 500 tasks' worth
    tracemalloc.start()
    try:
        code = replay_plain(iter_recording(path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    out = capfd.readouterr().out
    assert code == 0
    assert f"done {tasks} + failed 0 + lost 0 = {tasks} tasks ✓" in out
    in_bulk = sum(int(n) for n in re.findall(r"collected (\d+) quick tasks", out))
    assert out.count("collected task") + in_bulk == tasks  # every line, none held or lost
    assert (in_bulk > 0) == bulk
    return peak


@pytest.mark.parametrize(
    ("bulk", "smaller", "bigger"),
    # in bulk a task takes a third of the bytes, and what the printer keeps (a chunk of a few
    # bulks, the sort keys of the last 4,096 tasks) fills up over the first tens of thousands
    # of tasks and then stays (measured: 1.8, 2.5 and 2.7 MB at 20,000, 100,000 and 300,000
    # tasks): both files past most of that, three times apart
    [(True, 40_000, 120_000), (False, 4_000, 20_000)],
    ids=["in bulk", "one event at a time"],
)
def test_a_plain_replay_of_a_big_recording_holds_the_state_not_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], bulk: bool, smaller: int, bigger: int
) -> None:  # capfd: what it prints goes to a file, not into the memory measured
    _plain_replay_peak(tmp_path / "warm.jsonl", 100, capfd, bulk)  # what it imports, first
    small = _plain_replay_peak(tmp_path / "small.jsonl", smaller, capfd, bulk)
    big = _plain_replay_peak(tmp_path / "big.jsonl", bigger, capfd, bulk)
    size = (tmp_path / "big.jsonl").stat().st_size
    assert big < small * 1.5 and big < size / 2, (small, big, size)  # not growing with it
