"""Real torchrun runs on gloo: ranks report to the viewer, every step's checksums agree, and a
straggler's wait shows in the state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mpscope.core.distributed.events import DistEvent, RankJoined, from_json, to_json
from mpscope.core.distributed.run import (
    DistSettings,
    failure_report,
    failure_summary,
    run_distributed,
)
from mpscope.core.distributed.state import DistState, fold
from mpscope.core.distributed.summary import root_cause


def _run(settings: DistSettings) -> tuple[str, DistState, list[DistEvent]]:
    events: list[DistEvent] = []
    outcome = run_distributed(settings, events.append)
    for event in events:
        assert from_json(to_json(event)) == event
    return outcome, fold(events), events


def _assert_agree_every_step(state: DistState, world: int, steps: int) -> None:
    assert sorted(state.checksums) == list(range(steps))
    for step, ranks in state.checksums.items():
        assert sorted(ranks) == list(range(world)), step
        assert len(set(ranks.values())) == 1, (step, ranks)
    assert state.checksums_agree() is True
    # the parameters change every step
    assert len({next(iter(r.values())) for r in state.checksums.values()}) == steps


def test_two_ranks_agree_and_the_straggler_holds_the_other() -> None:
    settings = DistSettings(world_size=2, steps=4, compute_time=0.01, slow_rank=1, slow_time=0.15)
    outcome, state, events = _run(settings)
    assert outcome == "completed", state.error
    assert sorted(state.lanes) == [0, 1]
    joined = [e for e in events if isinstance(e, RankJoined)]
    assert sorted(e.local_rank for e in joined) == [0, 1]
    assert len({e.pid for e in joined}) == 2 and all(e.pid > 0 for e in joined)
    assert all(lane.left == "closed" for lane in state.lanes.values())
    _assert_agree_every_step(state, 2, 4)
    fast, slow = state.lanes[0], state.lanes[1]
    assert [s.step for s in fast.steps] == [0, 1, 2, 3]
    # rank 0 waits inside every all-reduce for rank 1's extra 0.15 s of compute
    assert state.straggler() == 1
    assert fast.collective_ns > 2 * slow.collective_ns
    assert fast.collective_ns > 4 * 0.15e9 * 0.5
    assert fast.wait_fraction > slow.wait_fraction
    assert 0 < state.wait_fraction < 1


@pytest.mark.slow
def test_four_ranks_agree_after_every_step() -> None:
    settings = DistSettings(world_size=4, steps=3, compute_time=0.0)
    outcome, state, _events = _run(settings)
    assert outcome == "completed", state.error
    assert sorted(state.lanes) == [0, 1, 2, 3]
    assert sorted(lane.local_rank for lane in state.lanes.values()) == [0, 1, 2, 3]
    _assert_agree_every_step(state, 4, 3)


def test_a_killed_rank_ends_the_run_naming_the_signal() -> None:
    settings = DistSettings(world_size=2, steps=3, compute_time=0.0, kill_rank=0, fault_step=1)
    outcome, state, _events = _run(settings)
    assert outcome == "error"
    assert "SIGKILL" in state.error
    assert re.fullmatch(
        r"rank 0 \(local rank 0\), pid \d+: exitcode -9 \(SIGKILL\)", root_cause(state.error)
    )


SUMMARY = """\
noise before
=======================================================
mpscope.core.distributed.train FAILED
-------------------------------------------------------
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 11)  (SIGTERM)
-------------------------------------------------------
Root Cause (first observed failure):
[0]:
  rank      : 2 (local_rank: 2)
  exitcode  : -6 (pid: 12)  (SIGABRT)
  traceback : Signal 6 (SIGABRT) received by PID 12
======================================================="""


def test_the_error_of_a_rank_killed_by_a_signal_carries_its_last_stderr_lines(
    tmp_path: Path,
) -> None:
    rank_dir = tmp_path / "run_x" / "attempt_0" / "2"
    rank_dir.mkdir(parents=True)
    lines = [f"line {i}" for i in range(40)] + ["terminate called after throwing gloo"]
    (rank_dir / "stderr.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "run_x" / "attempt_0" / "0").mkdir()
    (tmp_path / "run_x" / "attempt_0" / "0" / "stderr.log").write_text("rank 0 said this\n")
    assert root_cause(SUMMARY) == "rank 2 (local rank 2), pid 12: exitcode -6 (SIGABRT)"
    report = failure_report(SUMMARY, tmp_path)
    assert report.startswith("=====")
    assert "noise before" not in report
    assert "local rank 2's stderr ended with:" in report
    assert report.endswith("terminate called after throwing gloo")
    assert "line 25" not in report and "line 26" in report  # the last 15 lines
    assert "rank 0 said this" not in report
    # no file for that rank (or no root cause named): the summary alone
    other = SUMMARY.replace("local_rank: 2", "local_rank: 3")
    assert failure_report(other, tmp_path) == failure_summary(other)
    assert failure_report("torchrun said nothing useful", tmp_path) == (
        "torchrun said nothing useful"
    )
