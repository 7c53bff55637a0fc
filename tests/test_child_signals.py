"""A child forked from the app must not run the app's Python signal handlers: Textual's SIGCONT
handler, inherited by fork, raised "no running event loop" into every task and sample when a
pause ended. Here the parent installs a handler that raises, as Textual's does, and a run is
paused and resumed: every task and every batch still succeeds."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support import run_engine, scenario

from mpscope.core.dataloader.controls import LoaderControl
from mpscope.core.dataloader.run import LoaderSettings
from mpscope.core.dataloader.state import fold
from mpscope.core.engine.child_signals import drop_inherited_handlers
from mpscope.core.engine.lifecycle import import_torch_quietly
from mpscope.core.pipeline.events import TaskDone
from tests.loader_support import run_loader_in_thread

import_torch_quietly()
pytestmark = pytest.mark.timeout(120)
APP_SIGNALS = (signal.SIGCONT, signal.SIGWINCH)


def _apps_handler(signum: int, frame: Any) -> None:
    raise RuntimeError("no running event loop")  # what Textual's handler raises in a child


@pytest.fixture
def app_handlers() -> Iterator[None]:
    """Handlers that raise, as the app's would in a forked child (here they never fire)."""
    before = {sig: signal.signal(sig, _apps_handler) for sig in APP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_inherited_python_handlers_are_dropped_but_keyboard_interrupt_is_kept(
    app_handlers: None,
) -> None:
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        dropped = drop_inherited_handlers()
        assert set(APP_SIGNALS) <= set(dropped)
        assert all(signal.getsignal(sig) == signal.SIG_DFL for sig in APP_SIGNALS)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, old_int)


def test_a_paused_fork_run_resumes_without_the_apps_handler(app_handlers: None) -> None:
    paused: list[bool] = []

    def pause_twice(engine: Any, event: Any, _state: Any) -> None:
        if isinstance(event, TaskDone) and len(paused) < 2:
            for _ in range(2):
                assert engine.set_paused(True)
                time.sleep(0.1)
                assert engine.set_paused(False)
            paused.append(True)

    sc = scenario(start_method="fork", count=8, work_time=0.05)
    _events, state = run_engine(sc, timeout=60, on_event=pause_twice)
    assert paused and state.outcome == "completed"
    assert (state.done, state.failed, state.collected) == (8, 0, 8)


def test_a_paused_dataloader_resumes_without_the_apps_handler(app_handlers: None) -> None:
    control = LoaderControl()
    settings = LoaderSettings(samples=32, batch_size=4, load_time=0.02, train_time=0.01)
    runner, events, first = run_loader_in_thread(settings, control)
    try:
        assert first.wait(30)
        for _ in range(3):
            control.pause()
            time.sleep(0.1)
            control.resume()
    finally:
        control.release()
        runner.join(60)
    state = fold(events)
    assert state.outcome == "completed", state.error
    assert len(state.steps) == 8
