"""Every key of the mpscope app, pressed with Textual's pilot on LIVE runs of small scenarios.

Each test starts a real torch.multiprocessing run (or a replay), presses keys, checks what the
state, the screen and the processes show, and ends by quitting the app, so that no child
process is left (the autouse fixture in ``tests/conftest.py`` checks that). Every wait polls
with a timeout. Four tests pin bugs this file found, fixed in 904311b (see each docstring).
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, Static

import mpscope.core.engine.lifecycle
from mpscope.core.pipeline.events import RunFinished, RunStarted
from mpscope.core.pipeline.recording import is_complete, iter_recording, read_recording
from mpscope.core.pipeline.scenario import Scenario, make_scenario
from mpscope.tui.app import MpscopeApp
from mpscope.tui.screens.failure import FailureScreen
from mpscope.tui.screens.help import HelpScreen
from mpscope.tui.widgets.event_log import EventLog
from mpscope.tui.widgets.lanes_view import LanesView
from mpscope.tui.widgets.run_header import RunHeader
from mpscope.tui.widgets.summary_panel import SummaryPanel
from mpscope.tui.widgets.worker_lane import WorkerLane
from tests.app_support import recording, replay_app

pytestmark = pytest.mark.timeout(90)

SIZE = (120, 40)
SMALL: dict[str, Any] = {
    "count": 4,
    "workers": 2,
    "work_time": 0.15,
    "collect_time": 0.02,
    "print_count": 3,
    "print_delay": 0.05,
}


def scenario(**changes: Any) -> Scenario:
    """The small quick scenario, validated, with ``changes``."""
    made, notes = make_scenario(**{**SMALL, **changes})
    assert not notes
    return made


# -- helpers ---------------------------------------------------------------------------------


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 20, what: str = ""
) -> None:
    """Poll ``predicate`` every 50 ms; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.05)


@contextlib.asynccontextmanager
async def driving(app: MpscopeApp) -> AsyncIterator[Pilot[Any]]:
    """``app.run_test`` at 120x40; if a test fails half-way, still stop the run's processes."""
    async with app.run_test(size=SIZE) as pilot:
        try:
            yield pilot
        finally:
            if app.return_code is None:
                await app.action_quit()


async def quit_app(pilot: Pilot[Any], key: str = "q") -> None:
    """Press the quit key and wait until the app has exited (its run stopped and joined)."""
    await pilot.press(key)
    await wait_for(pilot, lambda: pilot.app.return_code is not None, what=f"{key} to exit")


def notifications(app: MpscopeApp) -> list[str]:
    """Collect the text of every notification the app raises from now on."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


def started(app: MpscopeApp) -> bool:
    """RunStarted has been applied (the state knows the mode)."""
    return app.state.mode != ""


def spawned(app: MpscopeApp, workers: int | None = None) -> bool:
    """Every compute worker of the run has a lane with its PID."""
    lanes = app.state.workers()
    wanted = workers if workers is not None else app.scenario.workers
    return len(lanes) == wanted and all(lane.pid for lane in lanes)


def busy(app: MpscopeApp) -> bool:
    """Some compute worker holds a task."""
    return any(lane.status == "busy" for lane in app.state.workers())


def finished_and_shown(app: MpscopeApp) -> bool:
    """The run is over and the summary panel is on screen."""
    return app.state.finished and app.query_one(SummaryPanel).has_class("-shown")


def settled_everything(app: MpscopeApp) -> bool:
    state = app.state
    return state.total is not None and state.done + state.failed + state.lost == state.total


def summary_text(app: MpscopeApp) -> str:
    """The summary panel's body as plain text."""
    body = app.query_one("#summary-body", Static)
    console = Console(record=True, width=SIZE[0], file=io.StringIO())
    console.print(body.content)
    return console.export_text()


def header_text(app: MpscopeApp) -> str:
    return app.query_one(RunHeader).render().plain


def lane_widgets(app: MpscopeApp) -> list[WorkerLane]:
    return list(app.query_one(LanesView).query(WorkerLane))


def live_pids(app: MpscopeApp) -> dict[int, int]:
    source = app.source
    assert source is not None and source.live
    return source.engine.pids()  # type: ignore[attr-defined]


def statuses(pids: dict[int, int]) -> set[str]:
    out = set()
    for pid in pids.values():
        try:
            out.add(psutil.Process(pid).status())
        except psutil.NoSuchProcess:
            out.add("gone")
    return out


# -- a default run to its end: summary, log, q --------------------------------------------


async def test_default_run_shows_summary_and_l_switches_log_and_summary() -> None:
    app = MpscopeApp(scenario())
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the summary")
        assert app.state.outcome == "completed"
        assert (app.state.done, app.state.failed, app.state.lost) == (4, 0, 0)
        text = summary_text(app)
        assert "done 4 + failed 0 + lost 0 = 4 tasks" in text
        assert "completed" in text
        log = app.query_one(EventLog)
        summary = app.query_one(SummaryPanel)
        assert log.has_class("-hidden") and summary.display
        # after the run, l switches between the log and the summary
        await pilot.press("l")
        assert not log.has_class("-hidden") and not summary.has_class("-shown")
        assert app.query_one("#dock").display
        await pilot.press("l")
        assert log.has_class("-hidden") and summary.has_class("-shown")
        # keys that need a live run or a failure only say so once the run is over
        await pilot.press("e")
        assert not isinstance(app.screen, FailureScreen)
        assert any("no task has failed" in note for note in seen)
        await pilot.press("k")
        assert any("no live run" in note for note in seen)
        for key in ("space", "x"):
            await pilot.press(key)
        assert app.state.outcome == "completed" and not app.state.paused
        await quit_app(pilot, "q")
    assert app.return_value == 0


# -- q and ctrl+c mid-run ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_quit_key_mid_run_stops_every_process(key: str) -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.3))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app) and busy(app), what="a busy worker")
        engine = app.source.engine  # type: ignore[union-attr]
        assert engine.pids()
        await quit_app(pilot, key)
        assert not engine.running and engine.pids() == {}


async def test_ctrl_c_quits_from_the_help_screen() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.3))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await quit_app(pilot, "ctrl+c")


# -- space: pause and resume ------------------------------------------------------------------


async def test_space_stops_the_processes_then_resumes_and_the_run_completes() -> None:
    app = MpscopeApp(scenario(count=16, work_time=0.3))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app) and busy(app), what="a busy worker")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.paused, what="RunPaused(True)")
        pids = live_pids(app)
        assert len(pids) == 3  # two workers and the collector
        await wait_for(
            pilot, lambda: statuses(pids) == {psutil.STATUS_STOPPED}, 5, "SIGSTOPped processes"
        )
        await wait_for(pilot, lambda: "❚❚ paused" in header_text(app), 5, "paused in header")
        await pilot.pause(0.2)  # results sent just before SIGSTOP may still arrive
        done = app.state.done
        await pilot.pause(0.5)
        assert app.state.done == done and not app.state.finished
        await pilot.press("space")
        await wait_for(pilot, lambda: not app.state.paused, what="RunPaused(False)")
        await wait_for(
            pilot,
            lambda: psutil.STATUS_STOPPED not in statuses(live_pids(app)),
            5,
            "SIGCONTinued processes",
        )
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        assert app.state.outcome == "completed"
        assert (app.state.done, app.state.lost) == (16, 0)
        await quit_app(pilot)


async def test_space_in_task_2_pauses_the_collection_too() -> None:
    """Regression (fixed in 904311b): the header said paused while Task 2's main process
    (a thread, not a stopped process) went on collecting results."""
    app = MpscopeApp(scenario(mode="collect-after", count=10, work_time=0.05, collect_time=0.4))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.state.collected >= 1, what="collecting started")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.paused, 5, "RunPaused(True)")
        await pilot.pause(0.2)
        before = app.state.collected
        await pilot.pause(1.0)
        after, paused = app.state.collected, app.state.paused
        await quit_app(pilot)
    assert paused and after == before, f"collected {before} -> {after} while paused"


@pytest.mark.parametrize("key", ["x", "q"])
async def test_stop_or_quit_while_paused(key: str) -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.3))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app) and busy(app), what="a busy worker")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.paused, what="RunPaused(True)")
        if key == "x":
            await pilot.press("x")
            await wait_for(pilot, lambda: app.state.finished, what="the stopped run")
            assert app.state.outcome == "stopped"
            assert not app.state.paused
            assert settled_everything(app)
        await quit_app(pilot)


# -- x: ordered stop --------------------------------------------------------------------------


async def test_x_stops_the_run_and_every_task_is_accounted_for() -> None:
    app = MpscopeApp(scenario(count=30, work_time=0.2))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: app.state.done >= 1, what="a first task done")
        await pilot.press("x")
        assert any("stopping" in note for note in seen)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the stopped run")
        state = app.state
        assert state.outcome == "stopped"
        assert state.total is not None and state.done < 30
        assert state.done + state.failed + state.lost == state.total
        assert f"= {state.total} tasks" in summary_text(app)
        assert "stopped" in header_text(app)
        await quit_app(pilot)
    assert app.return_value == 0


# -- r: restart -------------------------------------------------------------------------------


async def test_r_restarts_with_new_worker_processes() -> None:
    app = MpscopeApp(scenario(count=6))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the first run's workers")
        old_run = app.run_id
        old_pids = {lane.pid for lane in app.state.workers()}
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.run_id > old_run and spawned(app), what="the second run's workers"
        )
        kept = app.recorder.kept
        assert kept is not None and isinstance(kept[0], RunStarted)
        assert sum(isinstance(event, RunStarted) for event in kept) == 1
        new_pids = {lane.pid for lane in app.state.workers()}
        assert new_pids.isdisjoint(old_pids)
        assert not any(psutil.pid_exists(pid) for pid in old_pids)  # joined by the restart
        await wait_for(pilot, lambda: finished_and_shown(app), what="the second run's end")
        assert app.state.outcome == "completed" and app.state.done == 6
        await quit_app(pilot)


# -- 1 2 3: modes -----------------------------------------------------------------------------


async def test_1_2_3_switch_mode_and_restart() -> None:
    app = MpscopeApp(scenario())
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: started(app), what="the first run")
        assert app.state.mode == "pipeline"
        for key, mode in (("1", "print"), ("2", "collect-after"), ("3", "pipeline")):
            run = app.run_id
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda run=run, mode=mode: app.run_id > run and app.state.mode == mode,
                what=f"{mode} after {key}",
            )
            assert app.scenario.mode == mode
            assert app.state.scenario is not None and app.state.scenario.mode == mode
            await wait_for(pilot, lambda: spawned(app, 2), what=f"the {mode} workers")
            if mode == "print":
                await wait_for(
                    pilot, lambda: not app.query_one("#result-queue").display, 5, "no queues"
                )
        await wait_for(pilot, lambda: finished_and_shown(app), what="the pipeline run's end")
        assert app.state.outcome == "completed" and app.state.done == 4
        await quit_app(pilot)


async def test_task_1_runs_to_its_end_after_1() -> None:
    app = MpscopeApp(scenario())
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: started(app), what="the first run")
        await pilot.press("1")
        await wait_for(
            pilot, lambda: app.state.mode == "print" and finished_and_shown(app), what="Task 1"
        )
        assert app.state.outcome == "completed"
        assert [lane.lines for lane in app.state.workers()] == [3, 3]
        assert "done 2 + failed 0 + lost 0 = 2 tasks" in summary_text(app)
        await quit_app(pilot)


async def test_task_1_restarted_still_has_no_queues_whatever_arrives_first() -> None:
    # its first events may arrive before the new run's first frame is painted: hold the
    # frames back until they have, then look at the first one
    app = MpscopeApp(scenario(mode="print", print_count=30))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), what="Task 1")
        run = app.run_id
        paint = app._paint
        app._paint = lambda force=False: None  # type: ignore[method-assign]
        await pilot.press("r")
        await wait_for(pilot, lambda: app.run_id > run and app.state.mode == "print", what="r")
        app._paint = paint  # type: ignore[method-assign]
        await wait_for(pilot, lambda: app._painted == app.state.revision, what="a frame")
        assert not app.state.finished
        for box in ("#task-queue", "#result-queue", "#collector-box"):
            assert not app.query_one(box).display, box
        await quit_app(pilot)


# -- + and -: workers -------------------------------------------------------------------------


async def test_plus_minus_change_the_number_of_workers_clamped_at_one() -> None:
    app = MpscopeApp(scenario(count=6))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: spawned(app, 2), what="two workers")
        for key, workers in (("+", 3), ("-", 2), ("-", 1)):
            await pilot.press(key)
            await wait_for(
                pilot,
                lambda w=workers: (
                    app.scenario.workers == w and spawned(app, w) and len(lane_widgets(app)) == w
                ),
                what=f"{workers} worker lanes after {key}",
            )
            assert app.state.scenario is not None and app.state.scenario.workers == workers
        run = app.run_id
        await pilot.press("-")
        assert app.scenario.workers == 1 and app.run_id == run
        assert any("workers stay at 1" in note for note in seen)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the one-worker run's end")
        assert app.state.outcome == "completed" and app.state.done == 6
        assert len(lane_widgets(app)) == 1
        await quit_app(pilot)


# -- < > , . : speed; l during a run ----------------------------------------------------------


async def test_speed_keys_change_the_speed_of_a_live_run_and_l_toggles_the_log() -> None:
    app = MpscopeApp(scenario(count=80, work_time=0.2))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        assert app.speed == 1.0 and app.state.time_scale == 1.0
        for key, speed in ((">", 2.0), (",", 1.0), ("<", 0.5)):
            await pilot.press(key)
            assert app.speed == speed, key
            await wait_for(
                pilot,
                lambda s=speed: app.state.time_scale == pytest.approx(1 / s),
                5,
                f"SpeedChanged to x{speed} after {key}",
            )
        assert "×0.5 slow motion" in header_text(app)
        # l during a live run shows and hides the event log
        log = app.query_one(EventLog)
        assert not app.state.finished, app.state.outcome
        assert not log.has_class("-hidden")
        await pilot.press("l")
        assert log.has_class("-hidden") and not app.query_one("#dock").display
        await pilot.press("l")
        assert not log.has_class("-hidden") and app.query_one("#dock").display
        assert not app.state.finished, "the run should still be going at x0.5"
        await quit_app(pilot)


async def test_speed_keys_step_through_0_25_to_4_and_stop_at_the_ends() -> None:
    app = replay_app("task3")  # an idle app: many key presses are quick
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        steps = [
            ("<", 0.5),
            (",", 0.25),
            ("<", 0.25),
            (">", 0.5),
            (".", 1.0),
            ("greater_than_sign", 2.0),
            ("full_stop", 4.0),
            (">", 4.0),
            ("less_than_sign", 2.0),
        ]
        seen = notifications(app)
        for key, speed in steps:
            await pilot.press(key)
            assert app.speed == speed, key
            # the run shown is over: it went at ×1, and keeps saying so; the speed is the next's
            assert "×1 " in header_text(app), key
        assert any("×2 for the next run: press r" in note for note in seen)
        await pilot.press("r")
        await wait_for(pilot, lambda: "×2 fast" in header_text(app), 5, "the next run at ×2")
        await quit_app(pilot)


async def test_speed_keys_from_a_command_line_speed_go_to_the_nearest_step_and_say_the_limit() -> (
    None
):
    app = replay_app("task3")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        seen = notifications(app)
        app.speed = 100.0  # as --speed 100 starts it
        await pilot.press(">")
        assert app.speed == 100.0
        assert any("already the fastest" in text for text in seen)
        await pilot.press("<")
        assert app.speed == 4.0  # the fastest step below, not a jump to x2
        app.speed = 0.3
        await pilot.press("<")
        assert app.speed == 0.25
        await pilot.press("<")
        assert any("already the slowest" in text for text in seen)
        await quit_app(pilot)


async def test_speed_key_while_the_run_is_starting_applies_to_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression (fixed in 904311b): a speed key pressed before the engine had its shared time
    scale (during the first torch import) changed the header but the run went on at x1."""
    real_import = mpscope.core.engine.lifecycle.import_torch_quietly

    def slow_import() -> None:  # the first import of torch in a process takes seconds
        time.sleep(0.5)
        real_import()

    monkeypatch.setattr(mpscope.core.engine.lifecycle, "import_torch_quietly", slow_import)
    app = MpscopeApp(scenario())
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.source is not None, what="the live source")
        assert not app.state.workers()  # torch still importing: no process exists yet
        await pilot.press(">")
        assert app.speed == 2.0
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        await pilot.pause(0.3)
        time_scale = app.state.time_scale
        shared = app.source.engine._shared.mp.time_scale.value  # type: ignore[union-attr]
        await quit_app(pilot)
    assert time_scale == pytest.approx(0.5)  # what the screen knows
    assert shared == pytest.approx(0.5)  # what the workers sleep by


# -- k: kill a worker -------------------------------------------------------------------------


async def test_k_kills_a_worker_and_its_task_is_requeued() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.25))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: spawned(app) and busy(app), what="a busy worker")
        await pilot.press("k")
        assert any("sent SIGKILL" in note for note in seen)
        await wait_for(
            pilot,
            lambda: any(lane.status == "killed" for lane in app.state.workers()),
            what="a killed lane",
        )
        killed = [lane for lane in app.state.workers() if lane.status == "killed"]
        assert len(killed) == 1 and killed[0].signal == "SIGKILL"
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        state = app.state
        assert state.outcome == "completed"
        assert (state.done, state.failed, state.lost, state.total) == (20, 0, 0, 20)
        widget = app.query_one(f"#lane-{killed[0].worker}", WorkerLane)
        assert widget.has_class("-killed")
        assert "killed by SIGKILL" in widget.render().plain
        assert "done 20 + failed 0 + lost 0 = 20 tasks" in summary_text(app)
        await quit_app(pilot)


# -- f then e: a failing task and its traceback -----------------------------------------------


async def test_f_makes_the_next_task_fail_and_e_shows_its_traceback() -> None:
    app = MpscopeApp(scenario(count=24, work_time=0.25, queue_bound=1))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: app.state.started >= 1, what="a first task started")
        await pilot.press("f")
        assert any("InjectedFailure" in note for note in seen)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        state = app.state
        assert state.outcome == "completed"
        assert (state.failed, state.done, state.lost) == (1, 23, 0)
        assert len(state.failures) == 1 and "InjectedFailure" in state.failures[0].error
        assert sum(lane.failed for lane in state.workers()) == 1
        assert "done 23 + failed 1 + lost 0 = 24 tasks" in summary_text(app)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FailureScreen), 5, "FailureScreen")
        await pilot.pause(0.1)
        shown = "\n".join(
            str(static.content) + str(getattr(static.content, "code", ""))
            for static in app.screen.query(Static)
        )
        assert "InjectedFailure" in shown and "Traceback" in shown
        assert "InjectedFailure" in app.export_screenshot()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FailureScreen), 5, "closed")
        await quit_app(pilot)


# -- R: record, ctrl+s: screenshot ------------------------------------------------------------


@pytest.mark.parametrize("key", ["q", "r"])
async def test_a_recording_stopped_mid_run_by_quitting_or_restarting_ends_as_its_run_did(
    tmp_path: Path, key: str
) -> None:
    # the run's last words (stopped, the workers' exits, run finished) come after the app has
    # stopped listening to it: they must reach the file all the same
    path = tmp_path / "mid.jsonl"
    app = MpscopeApp(scenario(count=40, work_time=0.2), record=str(path))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.state.done >= 2, what="a run under way")
        await pilot.press(key)
        if key == "r":
            await wait_for(pilot, lambda: app.run_id > 1 and spawned(app), what="the new run")
            # --record FILE is the session's: the new run goes on in the same file
            assert app.recorder.writer is not None and "REC" in header_text(app)
            await quit_app(pilot)
        else:
            await wait_for(pilot, lambda: app.return_code is not None, what="q to exit")
    events = read_recording(path)
    assert isinstance(events[0], RunStarted)
    assert is_complete(events), type(events[-1]).__name__
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "stopped"
    first = next(i for i, e in enumerate(events) if isinstance(e, RunFinished))
    assert events[first].outcome == "stopped"  # the first run ended as it did, whole
    if key == "r":  # then what replaced it, then the second run from its start
        assert type(events[first + 1]).__name__ == "RunReplaced"
        assert isinstance(events[first + 2], RunStarted)


async def test_R_records_the_run_to_a_file_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = MpscopeApp(scenario(count=24, work_time=0.2))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        await pilot.press("R")
        assert app.recorder.writer is not None
        assert any("recording to mpscope-" in note for note in seen)
        await wait_for(pilot, lambda: "● REC" in header_text(app), 5, "REC in header")
        await pilot.press("R")
        assert any("already recording" in note for note in seen)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        assert app.recorder.writer is None
        files = sorted(tmp_path.glob("mpscope-*.jsonl"))
        assert len(files) == 1
        events = read_recording(files[0])
        assert isinstance(events[0], RunStarted)
        assert isinstance(events[-1], RunFinished) and is_complete(events)
        assert events[-1].outcome == "completed"
        assert len(events) == app.recorder.seen
        assert sum(1 for e in events if type(e).__name__ == "TaskDone") == 24
        await pilot.press("R")  # the finished run is recorded already: no second copy
        assert any("already recorded in mpscope-" in note for note in seen)
        assert len(list(tmp_path.glob("mpscope-*.jsonl"))) == 1
        await quit_app(pilot)


async def test_ctrl_s_saves_an_svg_screenshot_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = MpscopeApp(scenario())
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        await pilot.press("ctrl+s")
        shots = list(tmp_path.glob("*.svg"))
        assert len(shots) == 1
        assert "<svg" in shots[0].read_text(encoding="utf-8")
        await quit_app(pilot)


# -- g: the generator stepper -----------------------------------------------------------------


async def test_g_shows_the_stepper_whose_keys_win_while_it_has_focus() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.2))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        assert not any(panel.display for panel in app.query("#stepper"))
        await pilot.press("g")
        panel = app.query_one("#stepper")
        assert panel.has_class("-shown") and panel.display
        await wait_for(pilot, lambda: app.focused is panel, 5, "the stepper focused")
        # the footer starts with the way back (g Hide), so a narrow terminal still shows it
        shown = [key for key, b in app.screen.active_bindings.items() if b.binding.show]
        assert shown[0] == "g" and app.screen.active_bindings["g"].binding.description == "Hide"
        run = app.run_id
        await pilot.press("n")  # the stepper's next(), not anything of the app
        await wait_for(pilot, lambda: panel.last_shown is not None, 5, "a stepped generator")
        await pilot.press("r")  # the stepper's reset, not a restart of the run
        assert app.run_id == run
        await pilot.press("s")  # focus the send box: q types there, it does not quit
        assert isinstance(app.focused, Input)
        await pilot.press("q")
        assert app.focused.value == "q" and app.return_code is None
        await pilot.press("escape")
        assert app.focused is panel
        await pilot.press("g")
        assert not panel.has_class("-shown") and app.focused is None
        await pilot.press("r")  # the app's restart again
        await wait_for(pilot, lambda: app.run_id > run and started(app), what="a restart")
        await quit_app(pilot)


async def test_x_in_the_focused_stepper_does_not_stop_the_run() -> None:
    """Regression (fixed in 904311b): x (the stepper's give up) with no step running fell
    through to the app's Stop and stopped the live run."""
    app = MpscopeApp(scenario(count=100, work_time=0.2))
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        await pilot.press("g")
        panel = app.query_one("#stepper")
        await wait_for(pilot, lambda: app.focused is panel, 5, "the stepper focused")
        assert not panel.busy  # no step in progress: nothing to give up on
        await pilot.press("x")
        await pilot.pause(0.3)
        stopping = [note for note in seen if "stopping" in note]
        outcome = app.state.outcome
        await quit_app(pilot)
    assert stopping == [] and outcome != "stopped"


# -- ? and f1: help ---------------------------------------------------------------------------


async def test_question_mark_and_f1_open_the_help_and_escape_closes_it() -> None:
    app = MpscopeApp(scenario(count=20, work_time=0.2))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen), key
            assert "mpscope — keys" in str(app.screen.query_one(Markdown).source)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen), key
        assert app.return_code is None
        await quit_app(pilot)


# -- replays ----------------------------------------------------------------------------------


async def test_live_only_keys_do_nothing_in_an_instant_replay() -> None:
    app = replay_app("task3")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), what="the replayed run")
        done, workers, run = app.state.done, app.scenario.workers, app.run_id
        assert app.state.outcome == "completed" and done == 6
        assert "replay task3.jsonl" in header_text(app)
        recorded = 1 / app.state.scenario.time_scale if app.state.scenario else 0
        assert f"recorded at ×{recorded:g}" in header_text(app)  # the run's speed, not the replay's
        for key in ("k", "f", "1", "+", "equals_sign", "-"):  # hidden from the footer, too
            await pilot.press(key)
        await pilot.pause(0.2)
        assert app.run_id == run  # no mode switch or worker change restarted it
        for action in ("mode", "workers", "kill", "inject"):
            assert app.check_action(action, ()) is False, action
        assert app.scenario.workers == workers and app.state.mode == "pipeline"
        assert app.state.done == done and app.state.failed == 0
        run = app.run_id
        await pilot.press("r")
        await wait_for(pilot, lambda: app.run_id > run and finished_and_shown(app), 5, "replay")
        assert app.state.done == done and app.state.outcome == "completed"
        assert "done 6 + failed 0 + lost 0 = 6 tasks" in summary_text(app)
        await quit_app(pilot)


async def test_space_pauses_a_real_time_replay() -> None:
    app = MpscopeApp(replay=recording("task3"), replay_name="task3.jsonl")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: started(app), 5, "the replay's RunStarted")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.paused, 5, "the replay paused")
        await pilot.pause(0.1)
        revision, now = app.state.revision, app.state.now
        await pilot.pause(2.5)  # longer than the recorded run: nothing may arrive meanwhile
        assert (app.state.revision, app.state.now) == (revision, now)
        assert "paused" in header_text(app)
        await pilot.press("space")
        await wait_for(pilot, lambda: finished_and_shown(app), 10, "the replay's end")
        assert app.state.outcome == "completed" and app.state.done == 6
        assert not app.state.paused
        await quit_app(pilot)


async def test_x_on_a_replay_shows_it_stopped() -> None:
    """Regression (fixed in 904311b): a replay stopped half-way showed the recording's own
    end, "completed: every task has an outcome", with 0 tasks."""
    app = MpscopeApp(replay=recording("task3"), replay_name="task3.jsonl")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.state.done >= 1, 5, "the replay's first task done")
        await pilot.press("x")
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the stopped replay")
        outcome = app.state.outcome
        text = summary_text(app)
        seen = notifications(app)
        await pilot.press("e")  # no f in a replay: the note must not send the user there
        await quit_app(pilot)
    assert outcome == "stopped"
    # what was shown when it stopped is said as it is, never "does not add up": the tasks
    # without an outcome yet, or (a busy machine plays further before x lands) the results
    # not collected yet
    assert re.search(
        r"= \d+ of 6 tasks ✗ \d+ without an outcome|= 6 tasks ✗ collected \d of 6 results", text
    ), text
    assert any("no task has failed in this recording" in note for note in seen)


# -- bad input: keys before anything happened -------------------------------------------------


async def close_failure_screen(pilot: Pilot[Any]) -> bool:
    """If f already made a task fail, e opened its traceback: a modal that takes the keys."""
    if not isinstance(pilot.app.screen, FailureScreen):
        return False
    await pilot.press("escape")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, FailureScreen), 5, "closed")
    return True


async def test_keys_right_after_mount_do_not_crash() -> None:
    app = MpscopeApp(scenario(count=20))
    async with driving(app) as pilot:
        assert not started(app)
        for key in ("k", "f", "e", "space", "x"):
            await pilot.press(key)
        assert app.return_code is None
        if await close_failure_screen(pilot):
            await pilot.press("x")
        if app.state.paused:
            await pilot.press("space")
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        assert app.state.outcome in ("completed", "stopped")
        assert settled_everything(app)
        assert not app.state.paused
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await quit_app(pilot)


async def test_keys_while_the_engine_is_starting_do_not_crash() -> None:
    app = MpscopeApp(scenario(count=100))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.source is not None, 5, "the live source")
        for key in ("k", "f", "e", "space", "x"):
            await pilot.press(key)
        assert app.return_code is None
        if await close_failure_screen(pilot):
            await pilot.press("x")
        await wait_for(pilot, lambda: finished_and_shown(app), what="the end of the run")
        assert app.state.outcome == "stopped"
        assert settled_everything(app)
        assert not app.state.paused
        await quit_app(pilot)


# -- a replay: only what a replay can do --------------------------------------------------------


async def test_a_replay_hides_the_keys_only_a_live_run_obeys() -> None:
    app = replay_app("task3")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        shown = {key for key, b in app.screen.active_bindings.items() if b.binding.show}
        assert {"q", "g", "r", "space"} <= shown
        assert not shown & {"plus", "k", "f"}  # workers, kill, fail: nothing live to change
        await quit_app(pilot)


def test_the_header_clock_runs_on_between_events_and_stops_with_the_run() -> None:
    from mpscope.core.pipeline.state import RunState

    state = RunState()
    state.apply_all(recording("task3")[:3])
    header = RunHeader()
    header.show(state, live=False, speed=1, recording=None, now=state.now + 2_500_000_000)
    assert f"{(state.now + 2_500_000_000) / 1e9:5.1f}s" in header.render().plain
    state.apply_all(recording("task3")[3:])  # to the end: the last event's time, whatever now
    header.show(state, live=False, speed=1, recording=None, now=state.now + 9_000_000_000)
    assert f"{state.now / 1e9:5.1f}s" in header.render().plain


async def test_a_short_terminal_folds_the_empty_queues_away_for_the_summary() -> None:
    app = replay_app("task3")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        assert not app.query_one("#task-queue").display
        assert not app.query_one("#result-queue").display
        await pilot.resize_terminal(120, 40)  # room again: the queues come back
        await pilot.pause(0.1)
        assert app.query_one("#task-queue").display and app.query_one("#result-queue").display


async def test_on_a_narrow_terminal_the_stepper_takes_the_whole_width_and_g_goes_back() -> None:
    app = replay_app("task3")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        stepper = lambda: app.query_one("#stepper").region  # noqa: E731
        pipeline = lambda: app.query_one("#pipeline").region  # noqa: E731
        await pilot.press("g")
        await wait_for(pilot, lambda: stepper().width == 80, 5, "the stepper, whole width")
        assert not pipeline()  # the lanes wait behind it
        await pilot.press("g")
        await wait_for(pilot, lambda: pipeline().width == 80, 5, "the lanes back")
        await pilot.resize_terminal(140, 40)  # wide: side by side again
        await wait_for(pilot, lambda: pipeline().width == 140, 5, "the wider terminal")
        await pilot.press("g")
        await wait_for(pilot, lambda: 0 < stepper().width < 80, 5, "the stepper beside")
        assert pipeline().width > 60
        # resized while the stepper shows: it takes the whole width, then gives it back
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: stepper().width == 80, 5, "the stepper, whole width")
        assert not pipeline()
        await pilot.resize_terminal(140, 40)
        await wait_for(pilot, lambda: 0 < stepper().width < 80, 5, "the stepper beside again")
        assert pipeline().width > 60


async def test_ctrl_s_lands_the_tokens_in_the_air_before_the_picture_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = MpscopeApp(scenario(count=40, work_time=0.15))
    flying_when_saved: list[bool] = []
    save = app.save_screenshot

    def spy(*args: Any, **kwargs: Any) -> str:
        flying_when_saved.append(app.flights.active)
        return save(*args, **kwargs)

    monkeypatch.setattr(app, "save_screenshot", spy)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.flights.active, 20, "a token in the air")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(flying_when_saved), 5, "the screenshot")
        await quit_app(pilot)
    assert flying_when_saved == [False]
    assert len(list(tmp_path.glob("*.svg"))) == 1


async def test_a_paint_or_resize_that_fires_while_the_app_shuts_down_is_harmless() -> None:
    # a timer or a resize queued just before quitting can still run once the screens are gone
    app = replay_app("task3")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
    app._paint(force=True)
    app._sync_dock()
    app._frame()


async def test_tokens_take_off_and_move_in_the_frame_that_repaints_so_textual_lays_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # moving a token is a layout of the whole screen: one clock for painting, taking off and
    # flying keeps it to about one layout a frame (two clocks and take-offs on arrival made
    # twice as many, and the app's CPU at the 15% goal was half tokens). The test makes the
    # frames itself, each laid out before the next, then waits with no frame while events keep
    # arriving: nothing may be laid out then. A busy machine cannot merge or split frames here
    from textual.screen import Screen

    app = MpscopeApp(scenario(count=40, work_time=0.15))
    layouts = 0
    frame = app._frame
    refresh_layout = Screen._refresh_layout
    by_hand = False  # once tokens fly, the clock's frames do nothing

    def clock_frame() -> None:
        if not by_hand:
            frame()

    def counting_layout(screen: Screen[Any], *args: Any, **kwargs: Any) -> None:
        nonlocal layouts
        layouts += 1
        refresh_layout(screen, *args, **kwargs)

    monkeypatch.setattr(app, "_frame", clock_frame)
    monkeypatch.setattr(Screen, "_refresh_layout", counting_layout)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.flights.active, 20, "a token in the air")
        by_hand = True
        await pilot.pause()  # what the clock's last frame asked for is laid out first
        took_off = in_frames = between_frames = 0
        frames = 12
        for _ in range(frames):
            before = layouts
            frame()
            took_off += app.flights.active
            await pilot.pause()  # the frame's layout, and Textual's follow-ups of it
            await pilot.pause()
            in_frames += layouts - before
            before = layouts
            await pilot.pause(0.08)  # events arrive; only a frame may lay the screen out
            between_frames += layouts - before
        await quit_app(pilot)
    assert took_off  # tokens were flying meanwhile
    assert between_frames == 0, f"{between_frames} layouts between frames"
    # a frame lays out once; a token wider than the last, or the log's scroll bar, once more
    assert in_frames <= frames * 3, f"{in_frames} layouts in {frames} frames"


async def test_the_log_holds_lines_a_moment_so_batches_from_different_processes_read_in_order() -> (
    None
):
    from rich.text import Text
    from textual.app import App

    from mpscope.core.pipeline.log_order import HOLD_NS

    class LogApp(App[None]):
        def compose(self) -> Any:
            yield EventLog()

    ms = 1_000_000
    app = LogApp()
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(EventLog)
        log.add([(50 * ms, [Text("worker 1 took task 2")])])  # one process's batch
        log.add([(40 * ms, [Text("worker 0 took task 1")])])  # another's, with an earlier event
        log.add([(250 * ms, [Text("too new to show")])])
        log.flush(now=True, clock=200 * ms)
        await pilot.pause()
        assert log.lines_text == ["worker 0 took task 1", "worker 1 took task 2"]
        log.flush(now=True, clock=250 * ms + HOLD_NS)
        assert log.lines_text[-1] == "too new to show"
        log.add([(300 * ms, [Text("the run is over")])])
        log.flush(now=True, clock=None)  # over: everything shows
        assert log.lines_text[-1] == "the run is over"


async def test_messages_go_with_their_run_and_stay_out_of_screenshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = replay_app("task3")
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts drawn
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        app.notify("stalemessage")
        await wait_for(pilot, lambda: "stalemessage" in app.export_screenshot(), 5, "the toast")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(list(tmp_path.glob("*.svg"))), 5, "the screenshot")
        (shot,) = tmp_path.glob("*.svg")
        assert "stalemessage" not in shot.read_text()
        app.notify("stalemessage")
        await wait_for(pilot, lambda: "stalemessage" in app.export_screenshot(), 5, "the toast")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replay again")
        await pilot.pause()
        assert "stalemessage" not in app.export_screenshot()
        await quit_app(pilot)


async def test_the_help_screen_has_its_own_footer_and_ctrl_s_still_takes_a_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the footer beneath listed r, k, … which do nothing while help is open
    from textual.widgets import Footer

    monkeypatch.chdir(tmp_path)
    app = replay_app("task3")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
        assert app.screen.query(Footer)  # its own: Esc Close, ^s Screenshot
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(list(tmp_path.glob("*.svg"))), 5, "the screenshot")
        assert "mpscope — keys" in next(tmp_path.glob("*.svg")).read_text().replace("&#160;", " ")
        await pilot.press("escape")
        await quit_app(pilot)


async def test_R_in_a_replay_records_what_was_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = MpscopeApp(replay=recording("task3"), replay_name="task3.jsonl", instant=True)
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), 5, "the replayed run")
        await pilot.press("R")
        await wait_for(pilot, lambda: bool(list(tmp_path.glob("*.jsonl"))), 5, "the file")
        await quit_app(pilot)
    (path,) = tmp_path.glob("*.jsonl")
    assert read_recording(path) == recording("task3")


async def test_R_in_a_replay_of_a_file_reads_the_file_again_instead_of_keeping_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = Path(__file__).parent / "recordings" / "task3.jsonl"
    app = MpscopeApp(replay=lambda _following: iter_recording(source), replay_name="task3.jsonl")
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: app.recorder.seen > 10, 10, "some of the replay")
        assert app.recorder.kept is None  # nothing held: a big recording stays on disk
        await pilot.press("R")  # half way: the recording still starts at the run's start
        await wait_for(pilot, lambda: finished_and_shown(app), 20, "the replayed run")
        await wait_for(pilot, lambda: app.recorder.writer is None, 5, "the file closed")
        await quit_app(pilot)
    (path,) = tmp_path.glob("mpscope-*.jsonl")
    assert read_recording(path) == recording("task3")


async def test_a_replay_that_ends_before_its_run_did_still_shows_every_log_line() -> None:
    events = [e for e in recording("task3") if e.t <= 0.6e9]  # no RunFinished: cut short
    whole = MpscopeApp(replay=events, replay_name="cut.jsonl", instant=True)
    async with whole.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(whole.query_one(EventLog).lines_text), 5, "lines")
        await pilot.pause(0.3)
        expected = whole.query_one(EventLog).lines_text
    app = MpscopeApp(replay=events, replay_name="cut.jsonl")  # in its own time
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        await wait_for(pilot, lambda: log.lines_text == expected, 10, "the last lines")


def test_a_replays_header_names_the_speed_the_run_was_recorded_at() -> None:
    import dataclasses

    from mpscope.core.pipeline.state import RunState

    state = RunState()
    state.apply_all(recording("task3"))
    assert state.scenario is not None
    state.scenario = dataclasses.replace(state.scenario, time_scale=2.0)  # as --speed 0.5 ran
    header = RunHeader()
    header.show(state, live=False, speed=1, recording=None, now=state.now)
    assert "recorded at ×0.5" in header.render().plain
    header.show(state, live=True, speed=0.5, recording=None, now=state.now)
    assert "recorded at" not in header.render().plain  # a live run is not a recording
