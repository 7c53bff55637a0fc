"""Tensor results through the pipeline: every start method, both sharing strategies, kept alive
until received (and no more than that), described in one line."""

from __future__ import annotations

import pytest

from mpscope.core.engine.tensors import SentKeeper, acknowledge
from mpscope.core.pipeline.events import TaskCollected
from tests.support import of_kind, run_engine, scenario

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("sharing", ["file_descriptor", "file_system"])
@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
@pytest.mark.parametrize("mode", ["collect-after", "pipeline"])
def test_tensor_results_are_collected(mode: str, start_method: str, sharing: str) -> None:
    sc = scenario(
        mode=mode,
        start_method=start_method,
        sharing=sharing,
        function="tensor",
        tensor_size=4096,
        count=5,
        work_time=0,
        collect_time=0,
    )
    events, state = run_engine(sc, timeout=90)
    assert state.outcome == "completed"
    assert (state.done, state.failed, state.lost, state.collected) == (5, 0, 0, 5)
    outputs = sorted(e.output for e in of_kind(events, TaskCollected))
    assert all(o.startswith("tensor float32[4096]") for o in outputs), outputs


def test_a_user_module_that_imports_torch_works_under_forkserver() -> None:
    sc = scenario(function="tests/fixtures/user_tasks.py:ones", count=4, work_time=0)
    _events, state = run_engine(sc, timeout=90)
    assert (state.outcome, state.collected, state.failed) == ("completed", 4, 0)


class _Counts(list[int]):
    """A stand-in for the shared int64 array."""


def test_the_keeper_holds_only_what_is_in_flight() -> None:
    received = _Counts([0, 0])
    keeper = SentKeeper(received, 1)
    for n in range(100):
        keeper.sent(f"value {n}")
        acknowledge(received, (n, 0, 1, True, None, 0, 0))
    assert keeper.held == 1  # the last one: released at the next send
    keeper.sent("one more")
    assert (keeper.held, keeper.unreceived) == (1, 1)
    acknowledge(received, (100, 0, 1, True, None, 0, 0))
    keeper.wait_until_received(lambda: False)
    assert (keeper.held, keeper.unreceived) == (0, 0)


def test_the_keeper_never_holds_more_than_its_limit() -> None:
    received = _Counts([0])
    keeper = SentKeeper(received, 0, limit=3)
    waits = 0

    def consumer_catches_up() -> bool:  # called while the keeper waits: the consumer takes one
        nonlocal waits
        waits += 1
        received[0] += 1
        return False

    for n in range(20):
        keeper.sent(n, consumer_catches_up)
        assert keeper.held <= 3
    assert waits == 17


def test_a_worker_started_again_counts_on_from_what_was_received() -> None:
    received = _Counts([7])
    keeper = SentKeeper(received, 0)
    keeper.sent("new")
    assert keeper.unreceived == 1 and keeper.held == 1


def test_a_tensor_is_described_in_one_line() -> None:
    import torch

    from mpscope.core.pipeline.values import describe_value

    assert describe_value(torch.ones(1000)) == "tensor float32[1000] 4.0 kB"
    assert describe_value(torch.ones(1000).share_memory_()) == "tensor float32[1000] 4.0 kB shared"
    assert describe_value(torch.zeros(2, 3, dtype=torch.int64)) == "tensor int64[2,3] 48 B"
    assert describe_value(torch.tensor(1.5)) == "tensor float32[] 4 B"
    pair = describe_value((torch.ones(1), 3))
    assert pair == "(tensor float32[1] 4 B, 3)"
    many = describe_value([torch.ones(1)] * 5)
    assert many.endswith("… 2 more]") and "\n" not in many
    assert describe_value("a  b") == "'a  b'"
    assert describe_value(list(range(3))) == "[0, 1, 2]"


def test_plain_output_shows_tensors_in_one_line_and_no_numpy_warning() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "mpscope.tui", "run", "--plain", "--mode", "task2",
         "--function", "tests/fixtures/user_tasks.py:ones", "--tasks", "3",
         "--work-time", "0", "--collect-time", "0"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "finished task 1 → tensor float32[1000] 4.0 kB" in done.stdout
    assert "tensor([" not in done.stdout and "1., 1." not in done.stdout
    assert "NumPy" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sharing", ["file_descriptor", "file_system"])
def test_what_crossed_is_the_pickled_handle_measured_and_the_summary_adds_it_up(
    sharing: str,
) -> None:
    from multiprocessing.reduction import ForkingPickler

    import torch

    from mpscope.core.pipeline.events import TaskDone
    from mpscope.core.pipeline.tensor_summary import tensor_results_line
    from mpscope.core.pipeline.values import size_text

    sc = scenario(function="tensor", tensor_size=4096, count=4, sharing=sharing, work_time=0)
    events, state = run_engine(sc, timeout=90)
    done = of_kind(events, TaskDone)
    assert len(done) == 4 and all(e.tensor_bytes == 4096 * 4 for e in done)
    # the same message, pickled here the way the worker pickles it: a handle, not the data
    # (under file_system that would start a torch_shm_manager in the test's own process)
    e = done[0]
    message = (e.task, e.attempt, e.worker, True, torch.zeros(4096), e.started, e.t)
    handle = len(bytes(ForkingPickler.dumps(message))) if sharing == "file_descriptor" else 0
    for e in done:  # names and counters in a handle differ by a few bytes between processes
        assert not handle or abs(e.crossed - handle) <= 24, (e.crossed, handle)
        assert e.crossed < 1000 < e.tensor_bytes
    assert state.tensor_crossed == sum(e.crossed for e in done)
    assert state.tensor_bytes == 4 * 4096 * 4
    line = tensor_results_line(state)
    assert line is not None and line.startswith(
        f"4 tensor results: 65.5 kB of tensor data crossed as {size_text(state.tensor_crossed)} "
        "of pickled handles"
    )
    assert f"sharing strategy {sharing}" in line
