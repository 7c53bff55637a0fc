"""A collector that fails is never a success: Task 3's collector process that raises or is
killed, Task 2's collecting thread that raises. Each run ends as an error (exit code 1), its
traceback can be read (``e`` in the app, ``--plain``'s output, a replay of its recording),
nothing reaches stderr, and the summary's check counts what was collected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_app_pilot import driving, finished_and_shown, quit_app, summary_text, wait_for
from test_cli import _run, _summary_line
from textual.widgets import Static

from mpscope.core.engine.monitor import SIGNAL_NOTE
from mpscope.core.engine.run import Engine
from mpscope.core.pipeline.events import COLLECTOR, MAIN, CollectorFailed, TaskCollected
from mpscope.core.pipeline.recording import read_recording
from mpscope.core.pipeline.scenario import Mode
from mpscope.core.pipeline.state import RunState
from mpscope.core.pipeline.summary import summarize
from mpscope.tui.app import MpscopeApp
from mpscope.tui.screens.failure import FailureScreen
from tests.support import of_kind, run_engine, scenario

UNREADABLE = "tests/fixtures/user_tasks.py:unreadable"
RAISED = "this result cannot be unpickled"


def _failed_with_its_traceback(state: RunState, worker: int) -> None:
    assert state.outcome == "error", state.outcome_message
    failure = state.collector_failure
    assert failure is not None and failure.worker == worker
    assert RAISED in failure.error and RAISED in state.outcome_message
    assert "Traceback" in failure.traceback and "_explode_on_load" in failure.traceback
    summary = summarize(state)
    assert not summary.balanced and "never collected" in summary.ledger_line


@pytest.mark.parametrize(
    ("mode", "worker"), [(Mode.PIPELINE, COLLECTOR), (Mode.COLLECT_AFTER, MAIN)]
)
def test_a_result_that_cannot_be_unpickled_fails_the_collector_and_the_run(
    mode: Mode, worker: int, capfd: pytest.CaptureFixture[str]
) -> None:
    events, state = run_engine(
        scenario(mode=mode, function=UNREADABLE, count=3, work_time=0, collect_time=0)
    )
    _failed_with_its_traceback(state, worker)
    assert len(of_kind(events, CollectorFailed)) == 1
    assert state.collected == 0 and state.done == 3
    assert capfd.readouterr().err == ""  # no "Exception in thread", no child's traceback


def test_an_exception_in_task_2s_collecting_thread_is_the_runs_failure(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import mpscope.core.engine.collecting as collecting

    real = collecting.collect_one
    calls: list[int] = []

    def collect_twice_then_raise(message: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(message[0])
        if len(calls) > 2:
            raise KeyError("the collecting thread broke")
        real(message, *args, **kwargs)

    monkeypatch.setattr(collecting, "collect_one", collect_twice_then_raise)
    _events, state = run_engine(
        scenario(mode=Mode.COLLECT_AFTER, count=5, work_time=0, collect_time=0)
    )
    assert state.outcome == "error"
    failure = state.collector_failure
    assert failure is not None and failure.worker == MAIN
    assert "KeyError" in failure.error and "collect_twice_then_raise" in failure.traceback
    assert state.collected == 2
    assert "collected 2 of 5 results: 3 never collected" in summarize(state).ledger_line
    assert "Exception in thread" not in capfd.readouterr().err


def test_a_sigkilled_collector_is_the_runs_failure_and_the_check_says_what_it_missed() -> None:
    def kill_after_one(engine: Engine, event: object, state: RunState) -> None:
        if isinstance(event, TaskCollected) and state.collected == 1:
            engine.kill_collector()

    _events, state = run_engine(
        scenario(count=6, work_time=0.01, collect_time=0.5), on_event=kill_after_one
    )
    assert state.outcome == "error"
    failure = state.collector_failure
    assert failure is not None and failure.worker == COLLECTOR
    assert "SIGKILL" in failure.error and failure.traceback == ""
    assert failure.explanation == SIGNAL_NOTE
    summary = summarize(state)
    assert summary.uncollected == summary.done + summary.failed - summary.collected > 0
    assert "✗" in summary.ledger_line


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["task2", "task3"])
def test_plain_shows_the_collectors_traceback_and_exits_1(mode: str, tmp_path: Path) -> None:
    record = tmp_path / "failed.jsonl"
    args = ["run", "--plain", "--mode", mode, "--function", UNREADABLE, "--tasks", "3"]
    result = _run([*args, "--work-time", "0", "--collect-time", "0", "--record", str(record)])
    assert result.returncode == 1, result.stdout
    assert result.stderr == ""
    out = result.stdout
    assert "FAILED: ResultUnreadable" in out and "Traceback (most recent call last)" in out
    assert f"RuntimeError: {RAISED}" in out and "_explode_on_load" in out
    assert "✗ collected 0 of 3 results: 3 never collected" in _summary_line(out)
    # the recording keeps it: its replay shows the same failure, traceback and all
    replayed = RunState().apply_all(read_recording(record))
    assert replayed.collector_failure is not None
    assert "_explode_on_load" in replayed.collector_failure.traceback


async def test_e_shows_the_collectors_traceback_in_the_app() -> None:
    sc = scenario(mode=Mode.PIPELINE, function=UNREADABLE, count=3, work_time=0, collect_time=0)
    app = MpscopeApp(sc)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 40, "the end of the run")
        assert app.state.outcome == "error"
        assert "never collected" in summary_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureScreen), 5, "FailureScreen")
        await pilot.pause(0.1)
        shown = "\n".join(
            str(static.content) + str(getattr(static.content, "code", ""))
            for static in app.screen.query(Static)
        )
        assert "ResultUnreadable" in shown and "Traceback" in shown and RAISED in shown
        assert isinstance(app.screen, FailureScreen)
        assert app.screen.title_text.startswith("the collector (PID")
        assert "ResultUnreadable" in app.export_screenshot()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FailureScreen), 5, "closed")
        assert app.exit_code == 1
        await quit_app(pilot)
