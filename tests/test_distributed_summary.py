"""A distributed run in words, from made-up events (no processes): the step lines, the Gantt,
the straggler found step by step, steps a dead rank never finished, and the Perfetto export."""

from __future__ import annotations

from pathlib import Path

from mpscope.core.distributed.events import (
    DistEvent,
    DistFinished,
    DistStarted,
    RankJoined,
    StepReported,
    to_json,
)
from mpscope.core.distributed.state import fold
from mpscope.core.distributed.summary import (
    gantt_lines,
    lane_cells,
    live_lines,
    step_line,
    steps_span,
    summary_lines,
    unsaid_steps,
)
from mpscope.core.export.perfetto_dist import export_dist_recording
from tests.trace_checker import check_trace

MS = 1_000_000


def _step(rank: int, step: int, begun: int, compute: int, wait: int, checksum: str) -> StepReported:
    """A step of ``compute`` ms then ``wait`` ms inside the all-reduce, from ``begun`` ms."""
    a, b = (begun + compute) * MS, (begun + compute + wait) * MS
    spans = [("phase", "forward", begun * MS, a), ("collective", "all_reduce", a, b)]
    return StepReported(b, rank, step, begun * MS, spans, checksum)


def _run(steps: int = 3, warm_up_wait: bool = True) -> list[DistEvent]:
    """Two ranks, a step every 150 ms; rank 1 computes 30 ms a step, rank 0 10 ms and then
    waits 20 ms for it; in step 0 rank 0 starts late and rank 1 waits 100 ms for it instead."""
    events: list[DistEvent] = [DistStarted(0, "{}", "2.13", "127.0.0.1:1", "")]
    events += [RankJoined(1, r, r, 2, 100 + r, "h", 0, 1000) for r in (0, 1)]
    t = 0
    for step in range(steps):
        if step == 0 and warm_up_wait:
            events += [_step(0, 0, 120, 10, 0, "aa"), _step(1, 0, 0, 30, 100, "aa")]
        else:
            events += [_step(0, step, t, 10, 20, f"s{step}"), _step(1, step, t, 30, 0, f"s{step}")]
        t += 150
    return events


def test_each_step_is_said_once_every_rank_reported_it() -> None:
    events = _run()
    printed: set[int] = set()
    said = []
    state = fold([])
    for event in events:
        state.apply(event)
        said += live_lines(state, event, printed)
    assert said[0].startswith("rank 0 of 2 joined: local rank 0, pid 100, host h")
    steps = [line for line in said if line.startswith("step ")]
    assert [line.split(":")[0] for line in steps] == ["step 0", "step 1", "step 2"]
    assert steps[1] == "step 1: 30.0 ms across 2 ranks, 33% in collectives, checksums agree (s1)"


def test_disagreeing_checksums_are_named_rank_by_rank() -> None:
    events = _run(2)
    events[-1] = _step(1, 1, 150, 30, 0, "bad")
    state = fold(events)
    assert step_line(state, 1).endswith("checksums DISAGREE: rank 0 s1, rank 1 bad")
    assert "parameters DISAGREE after step(s) 1" in summary_lines(state)


def test_the_straggler_is_found_although_the_first_step_says_otherwise() -> None:
    state = fold(_run(4))
    # over the whole run rank 1 waited longer (100 ms) than rank 0 (3 x 20 ms)
    assert state.lanes[1].collective_ns > state.lanes[0].collective_ns
    assert state.straggler() == 1  # but in 3 of the 4 steps rank 0 waited for rank 1
    assert fold(_run(2)).straggler() is None  # 1 step of 2 is not most of them


def test_the_gantt_draws_compute_and_waiting_on_one_time_line() -> None:
    state = fold(_run(2, warm_up_wait=False))  # 180 ms; rank 0: 10 compute, 20 wait, 120 idle
    rows = gantt_lines(state, width=18)  # 10 ms a cell
    assert rows[0] == f"rank   0 |█░░{'·' * 12}█░░|"
    assert rows[1] == f"rank   1 |███{'·' * 12}███|"
    assert rows[2].strip().startswith("0 ms") and rows[2].endswith("180.0 ms")


def test_steps_a_dead_rank_never_finished_are_said_at_the_end() -> None:
    events = [*_run(2), _step(0, 2, 300, 10, 5, "x"), DistFinished(400 * MS, "error", "boom")]
    state = fold(events)
    printed = {0, 1}
    assert unsaid_steps(state, printed) == [
        f"{step_line(state, 2)} (only 1 of 2 ranks reported it)"
    ]
    lines = summary_lines(state)
    assert lines[-1] == "run error: boom"  # a one-line error, on the outcome's line


def test_the_export_draws_an_arrow_from_the_last_arrival_to_each_waiting_rank(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "d.jsonl"
    recording.write_text("".join(to_json(e) + "\n" for e in _run(3, warm_up_wait=False)))
    trace = tmp_path / "d.trace.json"
    assert export_dist_recording(recording, trace) == 9
    events = check_trace(trace)["traceEvents"]
    arrivals = [e for e in events if e.get("flow_out")]
    released = [e for e in events if e.get("flow_in")]
    assert len(arrivals) == len(released) == 3
    assert {e["pid"] for e in arrivals} == {101} and {e["pid"] for e in released} == {100}
    for out, into in zip(arrivals, released, strict=True):
        assert out["bind_id"] == into["bind_id"] and out["ts"] <= into["ts"]


def test_the_straggler_is_asked_again_once_more_steps_come() -> None:
    events = _run(4)
    state = fold(events[:7])  # the start, 2 joins, steps 0 and 1 of both ranks
    assert state.straggler() is None and state.straggler() is None  # asked twice: the same
    for event in events[7:]:
        state.apply(event)
    assert state.straggler() == 1  # the verdict follows the state, not the first answer


def test_the_lanes_draw_only_the_steps_in_their_window() -> None:
    state = fold(_run(4, warm_up_wait=False))
    lane = state.lanes[0]
    # the last step only (450..480 ms): compute 10 ms, then 20 ms in the all-reduce
    assert lane_cells(lane, 450 * MS, 480 * MS, 3) == "█░░"
    span = steps_span(state)
    assert span == (0, 480 * MS)
    assert lane_cells(lane, *span, 20) == gantt_lines(state, width=20)[0][10:-1]
