"""Traces for Perfetto: every recording exports to a trace the checker passes, and a long
recording exports in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from mpscope.core.export.perfetto import TraceError, TraceWriter, export_events
from mpscope.core.pipeline.event_json import to_json
from mpscope.core.pipeline.events import (
    RunFinished,
    RunStarted,
    TaskCollected,
    TaskDone,
    TaskFailed,
    TaskQueued,
    TaskStarted,
    WorkerExited,
    WorkerSpawned,
)
from mpscope.core.pipeline.recording import header_line, iter_recording, read_recording
from mpscope.core.pipeline.scenario import Scenario
from mpscope.tui.cli import main
from tests.trace_checker import check_trace

RECORDINGS = Path(__file__).parent / "recordings"
#: the engine's recordings (``loader_*`` are DataLoader runs: their own format, tested below)
ALL = sorted(p.stem for p in RECORDINGS.glob("*.jsonl") if not p.stem.startswith("loader_"))


def _export(name: str, tmp_path: Path) -> dict[str, object]:
    out = tmp_path / f"{name}.json"
    export_events(iter_recording(RECORDINGS / f"{name}.jsonl"), out)
    return check_trace(out)


@pytest.mark.parametrize("name", ALL)
def test_every_recording_exports_to_a_trace_the_checker_passes(name: str, tmp_path: Path) -> None:
    events = read_recording(RECORDINGS / f"{name}.jsonl")
    trace = _export(name, tmp_path)["traceEvents"]
    assert isinstance(trace, list)
    work = [e for e in trace if e["ph"] == "X" and e["name"].startswith("task ")]
    assert len(work) == sum(isinstance(e, TaskDone | TaskFailed) for e in events)
    collected = [e for e in trace if e["ph"] == "X" and e["name"].startswith("collect task")]
    assert len(collected) == sum(isinstance(e, TaskCollected) for e in events)
    assert sum(1 for e in trace if e.get("flow_in")) == len(collected)
    names = {e["args"]["name"] for e in trace if e["ph"] == "M" and e["name"] == "process_name"}
    spawned = {e.worker for e in events if isinstance(e, WorkerSpawned) and e.worker >= 0}
    assert {f"worker {w}" for w in spawned} <= names


def test_a_failed_task_carries_its_traceback(tmp_path: Path) -> None:
    trace = _export("failure", tmp_path)["traceEvents"]
    assert isinstance(trace, list)
    failed = [e for e in trace if e["ph"] == "X" and e["name"].endswith("failed")]
    assert failed and "Traceback" in failed[0]["args"]["traceback"]
    assert failed[0]["cname"] == "terrible"


def test_a_killed_worker_is_an_instant_on_its_track(tmp_path: Path) -> None:
    events = read_recording(RECORDINGS / "killed.jsonl")
    killed = next(e for e in events if isinstance(e, WorkerExited) and e.signal)
    trace = _export("killed", tmp_path)["traceEvents"]
    assert isinstance(trace, list)
    instants = [e for e in trace if e["ph"] == "i" and e["pid"] == killed.pid]
    assert any(e["name"] == f"killed by {killed.signal}" for e in instants)


def test_task1_printed_lines_are_instants(tmp_path: Path) -> None:
    trace = _export("task1", tmp_path)["traceEvents"]
    assert isinstance(trace, list)
    lines = [e for e in trace if e["ph"] == "i" and "PID=" in e["name"]]
    assert lines, "no printed line in the trace"


def test_an_unwritable_path_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot write trace"):
        TraceWriter(tmp_path / "no" / "such" / "folder.json")


def _long_recording(path: Path, tasks: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(header_line() + "\n")
        sc = Scenario(count=tasks, workers=2)
        out.write(to_json(RunStarted(0, "pipeline", "fork", 2, sc.to_json(), 1)) + "\n")
        for w, pid in ((0, 11), (1, 12), (-1, 13)):
            out.write(to_json(WorkerSpawned(1, w, pid, "collector" if w < 0 else "worker")) + "\n")
        t = 10
        for task in range(tasks):
            w = task % 2
            out.write(to_json(TaskQueued(t, task, str(task))) + "\n")
            out.write(to_json(TaskStarted(t + 1, task, w)) + "\n")
            out.write(to_json(TaskDone(t + 5, task, w, t + 1, str(task * task))) + "\n")
            out.write(to_json(TaskCollected(t + 9, task, -1, t + 6, w, 1, True, "")) + "\n")
            t += 10
        for w, pid in ((0, 11), (1, 12), (-1, 13)):
            out.write(to_json(WorkerExited(t, w, pid, 0, "", "done")) + "\n")
        out.write(to_json(RunFinished(t + 1, "completed", "every task has an outcome")) + "\n")


def test_a_long_recording_exports_in_bounded_memory(tmp_path: Path) -> None:
    """Memory does not grow with the recording: 40,000 tasks peak like 4,000."""
    peaks = []
    for tasks in (4_000, 40_000):
        recording = tmp_path / f"long-{tasks}.jsonl"
        _long_recording(recording, tasks)
        tracemalloc.start()
        export_events(iter_recording(recording), tmp_path / f"long-{tasks}.json")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    trace = check_trace(tmp_path / "long-40000.json")["traceEvents"]
    assert isinstance(trace, list)
    assert sum(1 for e in trace if e.get("flow_in")) == 40_000
    assert peaks[1] < peaks[0] * 2 + 1_000_000, (
        peaks
    )  # ten times the work, not ten times the memory
    counters = [e for e in trace if e["ph"] == "C"]
    assert len(counters) < 40_000 // 2  # sampled, not one per change
    assert json.loads((tmp_path / "long-40000.json").read_text())  # one valid JSON document


def test_a_dataloader_recording_exports_with_a_track_per_worker_and_a_flow_per_batch(
    tmp_path: Path,
) -> None:
    recording, trace = tmp_path / "loader.jsonl", tmp_path / "loader.trace.json"
    run = [sys.executable, "-m", "mpscope.tui", "run", "--mode", "dataloader", "--plain"]
    argv = [*run, "--num-workers", "2", "--record", str(recording)]
    subprocess.run(argv, capture_output=True, timeout=120, check=True)
    assert main(["export", str(recording), "-o", str(trace)]) == 0
    checked = check_trace(trace)
    events = checked["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "process_name"}
    assert {n.split(" (PID")[0] for n in names} == {
        "training loop (main process)",
        "DataLoader worker 0",
        "DataLoader worker 1",
    }
    built = [e for e in events if e.get("ph") == "X" and e["name"].startswith("batch ")]
    received = [e for e in events if e.get("flow_in")]
    assert built and len(received) == len(built)  # every batch built reached the loop


def test_a_dataloader_worker_killed_with_k_is_an_instant_on_its_track(tmp_path: Path) -> None:
    trace = tmp_path / "loader_killed.trace.json"
    assert main(["export", str(RECORDINGS / "loader_killed.jsonl"), "-o", str(trace)]) == 0
    events = check_trace(trace)["traceEvents"]
    assert isinstance(events, list)
    (killed,) = [e for e in events if e.get("ph") == "i" and e["name"] == "killed by mpscope"]
    tracks = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    assert tracks[killed["pid"]].startswith("DataLoader worker 0")
    assert killed["args"] == {"worker": 0, "signal": "SIGKILL"}
