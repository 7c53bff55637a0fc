"""A real torch DataLoader observed through public hooks: both delivery orders, head-of-line
waiting from the state, verdicts, a killed worker, user datasets, recording and replay, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.core.dataloader.events import LoaderEvent, from_json, to_json
from mpscope.core.dataloader.report import read_recording, summary_lines
from mpscope.core.dataloader.run import LoaderSettings, has_in_order, run_loader
from mpscope.core.dataloader.state import LoaderState, fold
from mpscope.core.engine.lifecycle import import_torch_quietly
from mpscope.tui.cli import main
from tests.fixtures.loader_datasets import KillsItself, SlowFirst

import_torch_quietly()
FIXTURE = Path(__file__).parent / "fixtures" / "loader_datasets.py"


def _run(settings: LoaderSettings, dataset: object = None) -> tuple[str, LoaderState]:
    events: list[LoaderEvent] = []
    outcome = run_loader(settings, events.append, dataset=dataset)
    for event in events:
        assert from_json(to_json(event)) == event
    return outcome, fold(events)


def test_two_workers_in_order_head_of_line_waiting() -> None:
    settings = LoaderSettings(batch_size=4, num_workers=2, train_time=0.0, in_order=True)
    outcome, state = _run(settings, SlowFirst(16, slow=0.5))
    assert outcome == "completed"
    assert sorted(state.pids) == [0, 1] and len(set(state.pids.values())) == 2
    assert [key for _a, _g, key in state.waits] == ["0:0", "1:0", "0:1", "1:1"]
    first = state.bars["0:0"]
    assert first.indices == "0,1,2,3" and first.slowest_ns >= 400_000_000
    # batch 1:0 was built long before 0:0 and held back until 0:0 came
    assert state.bars["1:0"].built < first.built - 200_000_000
    assert state.bars["1:0"].received >= first.received
    assert state.head_of_line_ns >= 200_000_000
    assert "in-order delivery held back" in state.verdict()


@pytest.mark.skipif(not has_in_order(), reason="DataLoader in_order needs torch >= 2.6")
def test_two_workers_out_of_order_no_head_of_line() -> None:
    settings = LoaderSettings(batch_size=4, num_workers=2, train_time=0.0, in_order=False)
    outcome, state = _run(settings, SlowFirst(16, slow=0.5))
    assert outcome == "completed"
    order = [key for _a, _g, key in state.waits]
    assert sorted(order) == ["0:0", "0:1", "1:0", "1:1"]
    assert order[0] == "1:0"  # the ready batch came first, not the slow one
    assert state.head_of_line_ns < 100_000_000


def test_data_bound_and_compute_bound_verdicts() -> None:
    _o, data = _run(LoaderSettings(samples=32, batch_size=4, load_time=0.02, train_time=0.0))
    assert "data-bound" in data.verdict()
    _o, compute = _run(LoaderSettings(samples=32, batch_size=4, load_time=0.0005, train_time=0.15))
    assert "compute-bound" in compute.verdict()
    assert len(compute.steps) == 8 and compute.step_ns >= 1_100_000_000


def test_killed_worker_is_the_dataloaders_own_error() -> None:
    outcome, state = _run(LoaderSettings(batch_size=4, num_workers=2), KillsItself())
    assert outcome == "error"
    # torch's own words: "... (pid N) is killed by signal: Killed." or "(pid(s) N) exited
    # unexpectedly", whichever of its checks notices first; the PID is the dead worker's
    assert "DataLoader worker (pid" in state.error
    assert "killed by signal" in state.error or "exited unexpectedly" in state.error
    assert any(str(pid) in state.error for pid in state.pids.values())


def test_recording_replays_to_the_same_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "loader.jsonl"
    code = main(
        [
            "run",
            "--mode",
            "dataloader",
            "--plain",
            "-n",
            "16",
            "--slow-every",
            "5",
            "--slow-time",
            "0.1",
            "--record",
            str(record),
        ]
    )
    live = capsys.readouterr().out
    assert code == 0
    assert "verdict: the loop waited for data" in live
    assert "worker 0 " in live and "worker 1 " in live and "loop " in live
    assert "pin_memory off" in live
    assert main(["replay", str(record), "--plain"]) == 0
    assert capsys.readouterr().out == live
    assert summary_lines(fold(read_recording(str(record)))) == live.rstrip("\n").split("\n")


def test_user_iterable_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--mode", "dataloader", "--plain", "--dataset", f"{FIXTURE}:counting"])
    out = capsys.readouterr().out
    assert code == 0
    assert "outcome: completed" in out and "steps" in out


def test_user_dataset_raising_in_getitem_is_a_failed_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "--mode", "dataloader", "--plain", "--dataset", f"{FIXTURE}:raises_at_5"])
    out = capsys.readouterr().out
    assert code == 1
    assert "outcome: error" in out
    assert "sample 5 is corrupt" in out and "DataLoader worker process" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--dataset", f"{FIXTURE}:broken"], "the factory raised RuntimeError: no data here"),
        (["--dataset", f"{FIXTURE}:not_a_dataset"], "returned int, not a Dataset"),
        (["--dataset", "/nope/missing.py:f"], "missing.py"),
        (["--batch-size", "0"], "--batch-size must be 1..10000, got 0"),
        (["--num-workers", "0", "--persistent-workers"], "--persistent-workers needs"),
        (["--start-method", "thread"], "--start-method must be one of"),
        (["--jitter", "2"], "--jitter must be 0..1"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--mode", "dataloader", "--plain", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err


def test_a_recording_that_cannot_be_written_is_said_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "x.jsonl"
    assert main(["run", "--mode", "dataloader", "--record", str(missing)]) == 2
    assert f"no folder {missing.parent}" in capsys.readouterr().err
    assert main(["run", "--mode", "dataloader", "--plain", "--record", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
