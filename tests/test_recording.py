"""Recordings: what the writer writes the reader reads back; anything else is one-line error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpscope.core.pipeline.event_json import to_json
from mpscope.core.pipeline.events import (
    SCHEMA_VERSION,
    Event,
    Note,
    PrintedLine,
    RunFinished,
    RunStarted,
    TaskDone,
    TaskFailed,
    TaskQueued,
    TaskStarted,
)
from mpscope.core.pipeline.recording import (
    FORMAT,
    MAX_LINE_BYTES,
    RecordingError,
    RecordingWriter,
    RunRecorder,
    header_line,
    is_complete,
    iter_recording,
    read_recording,
)
from mpscope.core.pipeline.scenario import Scenario


def _events() -> list[Event]:
    return [
        RunStarted(0, "pipeline", "fork", 3, Scenario().to_json(), 1234),
        TaskQueued(1, 1, "1"),
        TaskStarted(2, 1, 0),
        PrintedLine(3, 0, 'quote " backslash \\ tab \t unicode é 😀 \u2028 end', "stderr"),
        TaskFailed(4, 1, 0, 2, "ValueError: x", "Traceback (most recent call last):\n  x\n"),
        Note(5, "warning", "line one\nline two"),
        TaskDone(6, 2, 1, 5, "4"),
        RunFinished(7, "completed", "every task has an outcome"),
    ]


def _write(path: Path, events: list[Event], batches: int = 3) -> RecordingWriter:
    writer = RecordingWriter(path)
    step = max(1, len(events) // batches)
    for i in range(0, len(events), step):
        writer.write(events[i : i + step])
    writer.close()
    writer.close()  # idempotent
    return writer


def _error(path: Path) -> str:
    with pytest.raises(RecordingError) as caught:
        read_recording(path)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.strip() == message and message
    return message


# -- round trip -------------------------------------------------------------------------------


def test_writer_and_reader_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    events = _events()
    writer = _write(path, events)
    assert writer.count == len(events)
    assert read_recording(path) == events
    assert list(iter_recording(str(path))) == events
    assert is_complete(events)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == header_line()
    assert json.loads(lines[0]) == {"format": FORMAT, "schema": SCHEMA_VERSION}
    assert lines[-1] == ""  # every line ends with a newline
    assert len(lines) == len(events) + 2


def test_events_are_on_disk_after_each_write_before_close(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    writer = RecordingWriter(path)
    try:
        writer.write(_events()[:2])
        assert list(iter_recording(path)) == _events()[:2]
    finally:
        writer.close()


def test_an_unfinished_recording_reads_but_is_not_complete(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    _write(path, _events()[:-1])
    events = read_recording(path)
    assert events == _events()[:-1]
    assert not is_complete(events)
    assert not is_complete([])


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    body = "\n".join(to_json(e) for e in _events())
    path.write_text(header_line() + "\n\n" + body.replace("\n", "\n\n") + "\n", encoding="utf-8")
    assert read_recording(path) == _events()


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
EVENT_LISTS = st.lists(
    st.one_of(
        st.builds(Note, st.integers(0, 10**12), st.sampled_from(["info", "error"]), TEXT),
        st.builds(PrintedLine, st.integers(0, 10**12), st.integers(-2, 64), TEXT, TEXT),
        st.builds(
            TaskQueued, st.integers(0, 10**12), st.integers(0, 10**9), TEXT, st.integers(1, 2)
        ),
        st.builds(
            TaskFailed,
            st.integers(0),
            st.integers(0),
            st.integers(-2, 64),
            st.integers(0),
            TEXT,
            TEXT,
        ),
    ),
    max_size=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(EVENT_LISTS)
def test_any_events_round_trip_through_a_file(tmp_path: Path, events: list[Event]) -> None:
    path = tmp_path / "any.jsonl"
    run = [_events()[0], *events]
    _write(path, run)
    assert read_recording(path) == run


# -- errors: always a RecordingError of one line ----------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    message = _error(tmp_path / "missing.jsonl")
    assert "missing.jsonl" in message


def test_a_directory(tmp_path: Path) -> None:
    assert str(tmp_path) in _error(tmp_path)


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 64)
    assert "not an mpscope recording" in _error(path)


def test_binary_garbage_after_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "garbage2.bin"
    path.write_bytes((header_line() + "\n").encode() + b"\xff\xfe\x00\x81" * 5000 + b"\n")
    _error(path)


def test_foreign_json(tmp_path: Path) -> None:
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps({"name": "something else", "version": 1}) + "\n")
    assert "not an mpscope recording" in _error(path)


def test_a_json_array_header(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text("[1, 2, 3]\n")
    assert "not an mpscope recording" in _error(path)


def test_no_header_line(tmp_path: Path) -> None:
    path = tmp_path / "noheader.jsonl"
    path.write_text("".join(to_json(e) + "\n" for e in _events()), encoding="utf-8")
    assert "no header" in _error(path)


def test_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert "not an mpscope recording" in _error(path)


@pytest.mark.parametrize("schema", [SCHEMA_VERSION + 1, 0, "1", None])
def test_wrong_schema(tmp_path: Path, schema: object) -> None:
    path = tmp_path / "schema.jsonl"
    header = json.dumps({"format": FORMAT, "schema": schema})
    path.write_text(header + "\n" + "".join(to_json(e) + "\n" for e in _events()))
    message = _error(path)
    assert "schema" in message and str(SCHEMA_VERSION) in message


def test_missing_schema(tmp_path: Path) -> None:
    path = tmp_path / "noschema.jsonl"
    path.write_text(json.dumps({"format": FORMAT}) + "\n")
    assert "schema" in _error(path)


@pytest.mark.parametrize("cut", [1, 10, -1])
def test_truncated_last_line(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "truncated.jsonl"
    _write(path, _events())
    data = path.read_bytes()
    last_start = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last_start + cut] if cut > 0 else data[:-1])
    message = _error(path)
    assert "truncated" in message
    assert f"line {len(_events()) + 1}" in message


def test_a_bad_event_line_names_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [header_line(), *(to_json(e) for e in _events())]
    lines[4] = '{"kind":"task_done","t":1,"task":"one","worker":0,"started":0,"output":"x"}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _error(path)
    assert "line 5" in message and "task_done.task" in message


@pytest.mark.parametrize(
    "bad",
    [
        '{"kind":"nosuch","t":0}',
        "not json at all",
        "[1,2]",
        '{"kind":"note","t":0,"level":"info"}',
        '{"kind":"note","t":0,"level":"info","text":"x","extra":1}',
    ],
)
def test_every_kind_of_bad_line_is_reported_with_its_number(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [header_line(), to_json(_events()[0]), to_json(_events()[1]), bad]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "line 4" in _error(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    _error(path)


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.jsonl"
    path.write_text(header_line() + "\n")
    assert "no run" in _error(path)
    assert list(iter_recording(path)) == []


def test_a_recording_that_does_not_start_with_run_started(tmp_path: Path) -> None:
    path = tmp_path / "norun.jsonl"
    _write(path, _events()[1:])
    assert "run_started" in _error(path)


def test_writing_where_it_cannot_be_written(tmp_path: Path) -> None:
    for target in (tmp_path / "no" / "such" / "dir" / "x.jsonl", tmp_path):
        with pytest.raises(RecordingError) as caught:
            RecordingWriter(target)
        assert "\n" not in str(caught.value) and "cannot write" in str(caught.value)


def test_deeply_nested_json_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(header_line() + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    _error(path)


def test_a_huge_integer_in_an_event_line(tmp_path: Path) -> None:
    path = tmp_path / "bigint.jsonl"
    lines = [header_line(), to_json(_events()[0]), '{"kind":"source_exhausted","t":0,"total":']
    path.write_text("\n".join(lines) + "9" * 5000 + "}\n")
    _error(path)


def test_invalid_utf8_in_an_event_line_names_that_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    good = [header_line(), *(to_json(e) for e in _events()[:3])]
    data = (
        "\n".join(good) + "\n"
    ).encode() + b'{"kind":"note","t":0,"level":"info","text":"\xe9"}\n'
    path.write_bytes(data)
    assert "line 5" in _error(path)


# -- RunRecorder: a run's events on their way to a file ----------------------------------------


def _queued(n: int) -> list[Event]:
    return [TaskQueued(i, i, str(i + 1), 1) for i in range(n)]


def test_the_recorder_keeps_the_start_until_told_to_record_then_writes_every_batch(
    tmp_path: Path,
) -> None:
    recorder = RunRecorder(keep_at_most=10)
    recorder.feed(_queued(3))
    assert recorder.keeps_the_start and recorder.kept is not None and len(recorder.kept) == 3
    assert recorder.record_to(RecordingWriter(tmp_path / "r.jsonl"))
    assert not recorder.keeps_the_start  # nothing kept twice: it is in the file
    recorder.feed(_queued(5)[3:])
    writer = recorder.close()
    assert writer is not None and writer.count == 5 and recorder.writer is None
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert lines[0] == header_line()
    assert [json.loads(line)["task"] for line in lines[1:]] == [0, 1, 2, 3, 4]
    assert recorder.seen == 5


def test_the_recorder_stops_keeping_past_its_cap_and_then_cannot_record_from_the_start(
    tmp_path: Path,
) -> None:
    recorder = RunRecorder(keep_at_most=4)
    recorder.feed(_queued(5))
    assert not recorder.keeps_the_start and recorder.kept is None
    assert not recorder.record_to(RecordingWriter(tmp_path / "late.jsonl"))
    assert recorder.writer is None


def test_a_write_that_fails_stops_the_recording_not_the_run(tmp_path: Path) -> None:
    class FullDisk(RecordingWriter):
        def write(self, events: Iterable[Event]) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:  # closing flushes: it fails the same way
            super().close()
            raise OSError(28, "No space left on device")

    recorder = RunRecorder(keep_at_most=10)
    recorder.feed(_queued(1))
    recorder.record_to(FullDisk(tmp_path / "full.jsonl"))
    recorder.feed(_queued(2)[1:])  # does not raise: the run goes on
    assert recorder.writer is None and recorder.close() is None
    assert recorder.error is not None and "No space left on device" in recorder.error


@pytest.mark.timeout(10)
def test_a_fifo_with_no_writer_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    assert "not a regular file" in _error(fifo)


@pytest.mark.timeout(10)
def test_a_device_that_never_ends_is_an_error_not_gigabytes(tmp_path: Path) -> None:
    assert "not a regular file" in _error(Path("/dev/zero"))


@pytest.mark.timeout(20)
def test_a_line_too_long_is_an_error_and_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("wb") as out:
        out.write((header_line() + "\n").encode())
        out.write(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    message = _error(path)
    assert "line 2" in message and "longer than" in message
    first = tmp_path / "long-first.jsonl"
    first.write_bytes(b"y" * (MAX_LINE_BYTES + 1))
    assert "is not an mpscope recording" in _error(first)
