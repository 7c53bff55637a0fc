"""DataLoader runs beyond one fork epoch: a second epoch's batches keep their own bars (with and
without persistent workers), spawn pickles the observing collate_fn, num_workers 0 is named."""

from __future__ import annotations

import pytest

from mpscope.core.dataloader.events import LoaderEvent
from mpscope.core.dataloader.report import summary_lines
from mpscope.core.dataloader.run import LoaderSettings, run_loader
from mpscope.core.dataloader.state import LoaderState, fold
from mpscope.core.engine.lifecycle import import_torch_quietly

import_torch_quietly()


def _run(settings: LoaderSettings) -> tuple[str, LoaderState]:
    events: list[LoaderEvent] = []
    outcome = run_loader(settings, events.append)
    return outcome, fold(events)


@pytest.mark.parametrize("persistent", [False, True])
def test_two_epochs_keep_every_batch(persistent: bool) -> None:
    settings = LoaderSettings(
        samples=8,
        batch_size=4,
        num_workers=2,
        epochs=2,
        persistent_workers=persistent,
        load_time=0.001,
        train_time=0.0,
    )
    outcome, state = _run(settings)
    assert outcome == "completed", state.error
    assert len(state.steps) == 4
    assert len(state.bars) == 4, sorted(state.bars)
    built = sorted(int(i) for b in state.bars.values() for i in b.indices.split(","))
    assert built == sorted(list(range(8)) * 2)


def test_spawn_pickles_the_observing_hooks() -> None:
    settings = LoaderSettings(
        samples=4,
        batch_size=2,
        num_workers=1,
        start_method="spawn",
        load_time=0.001,
        train_time=0.0,
    )
    outcome, state = _run(settings)
    assert outcome == "completed", state.error
    assert sorted(state.bars) == ["0:0", "0:1"]
    assert state.pids[0] != state.main_pid


def test_no_workers_loads_in_the_main_process() -> None:
    settings = LoaderSettings(samples=4, batch_size=2, num_workers=0, train_time=0.0)
    outcome, state = _run(settings)
    assert outcome == "completed", state.error
    lines = summary_lines(state)
    assert "num_workers 0: the main process loads in next()" in lines[0]
    assert "in flight" not in lines[0]
    assert any(line.startswith("main") and f"pid {state.main_pid}" in line for line in lines)
