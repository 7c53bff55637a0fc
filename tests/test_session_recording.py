"""A recording that spans a session: ``--record FILE`` keeps every run (restarts, mode switches)
and the stepper's calls; a replay plays them in order, on the app, in ``--plain`` and as a
trace."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mpscope.core.export.perfetto import export_recording
from mpscope.core.pipeline.event_json import from_json, to_json
from mpscope.core.pipeline.events import (
    SCHEMA_VERSION,
    RunFinished,
    RunReplaced,
    RunStarted,
    StepperCalled,
    TaskDone,
    TaskQueued,
)
from mpscope.core.pipeline.recording import header_line, is_complete, iter_recording, read_recording
from mpscope.core.pipeline.scenario import MODE_TITLES, Mode
from mpscope.core.pipeline.session import (
    StepperCall,
    one_run,
    parse_call,
    session_timeline,
    skip_runs,
    split_session,
)
from mpscope.core.pipeline.state import RunState
from mpscope.tui.app import MpscopeApp
from mpscope.tui.stepper.panel import StepperPanel
from mpscope.tui.views.plain import replay_plain
from tests.app_support import recording
from tests.test_app_pilot import (
    driving,
    finished_and_shown,
    header_text,
    quit_app,
    scenario,
    spawned,
    wait_for,
)
from tests.trace_checker import check_trace

pytestmark = pytest.mark.timeout(120)


def _session(*runs: list[Any], why: str = "restart") -> list[Any]:
    """Recorded runs joined as a session records them: a run_replaced after each but the last."""
    joined: list[Any] = []
    for number, run in enumerate(runs):
        joined.extend(run)
        if number < len(runs) - 1:
            joined.append(RunReplaced(run[-1].t + 1_000_000, why))
    return joined


def _new_workers(events: list[Any]) -> list[Any]:
    """``events`` as a later run of the same session: the same main process, new workers."""
    return [
        dataclasses.replace(e, pid=e.pid + 1000) if isinstance(getattr(e, "pid", None), int) else e
        for e in events
    ]


def _write(path: Path, events: list[Any]) -> Path:
    path.write_text(header_line() + "\n" + "".join(to_json(e) + "\n" for e in events))
    return path


# -- reading a session -----------------------------------------------------------------------


def test_a_session_reads_run_by_run_from_one_stream() -> None:
    task2, task3 = recording("task2"), recording("task3")
    stream = iter(_session(task2, task3))
    first = list(one_run(stream))
    assert first[:-1] == task2 and isinstance(first[-1], RunReplaced)
    assert list(one_run(stream)) == task3
    assert list(one_run(stream)) == []
    again = skip_runs(iter(_session(task2, task3)), 1)
    assert list(again) == task3


def test_session_events_change_no_runs_state_and_round_trip() -> None:
    task3 = recording("task3")
    plain = RunState().apply_all(task3)
    noted = [*task3[:5], StepperCalled(task3[4].t, "next"), *task3[5:]]
    noted.append(StepperCalled(task3[-1].t + 10**9, "send 10"))
    with_calls = RunState().apply_all(noted)
    assert (with_calls.now, with_calls.revision) == (plain.now, plain.revision)
    for event in (StepperCalled(5, "throw ValueError bad value"), RunReplaced(7, "restart")):
        assert from_json(to_json(event)) == event
    kept, calls, replaced = split_session([*noted[:8], RunReplaced(9, "restart")])
    assert calls == ["next"] and replaced and kept == task3[:7]


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("next", StepperCall("next")),
        ("send 10", StepperCall("send", "10")),
        ("send 'a b'", StepperCall("send", "'a b'")),
        ("open running_average", StepperCall("open", "running_average")),
        ("throw ValueError no good", StepperCall("throw", "ValueError no good")),
        ("give up", StepperCall("give up")),
        ("hide", StepperCall("hide")),
        ("send", None),  # what to send is missing
        ("open  ", None),
        ("dance", None),  # a newer mpscope's call: left out, not guessed
        ("nextx", None),
    ],
)
def test_stepper_calls_read_back(text: str, call: StepperCall | None) -> None:
    assert parse_call(text) == call
    if call is not None:
        assert call.text == text
    assert StepperCall("throw", "KeyError k").exception == ("KeyError", "k")


def test_a_trace_of_a_session_puts_its_runs_one_after_another(tmp_path: Path) -> None:
    task2, task3 = recording("task2"), _new_workers(recording("task3"))
    source = _write(tmp_path / "session.jsonl", _session(task2, task3))
    timeline = list(session_timeline(iter_recording(source)))
    second = timeline[len(task2) + 1 :]
    assert isinstance(second[0], RunStarted) and second[0].t > task2[-1].t
    first_ids = {e.task for e in timeline[: len(task2)] if isinstance(e, TaskQueued)}
    second_ids = {e.task for e in second if isinstance(e, TaskQueued)}
    assert first_ids and second_ids and not first_ids & second_ids
    out = tmp_path / "session.json"
    export_recording(source, out)
    trace = check_trace(out)["traceEvents"]
    assert isinstance(trace, list)
    work = [e for e in trace if e["ph"] == "X" and e["name"].startswith("task ")]
    assert len(work) == sum(isinstance(e, TaskDone) for e in [*task2, *task3])


def test_plain_replay_shows_each_run_of_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(recording("task2"), recording("task3"), why="switched to Task 3")
    assert replay_plain(iter(session)) == 0
    out = capsys.readouterr().out
    assert out.count("done 6 + failed 0 + lost 0 = 6 tasks ✓") == 2, out
    assert "then: switched to Task 3" in out and "run 2" in out


# -- recording a session in the app, and playing it back ---------------------------------------


def _calls(path: Path) -> list[str]:
    return [e.call for e in iter_recording(path) if isinstance(e, StepperCalled)]


async def test_record_keeps_every_run_and_the_steppers_calls(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    app = MpscopeApp(scenario(count=3, work_time=0.05), record=str(path))
    async with driving(app) as pilot:
        await wait_for(pilot, lambda: finished_and_shown(app), what="the first run")
        await pilot.press("g")
        panel = app.query_one("#stepper", StepperPanel)
        await wait_for(pilot, lambda: app.focused is panel, 5, "the stepper focused")
        for _ in range(2):
            await pilot.press("n")
            await wait_for(pilot, lambda: not panel.busy, 5, "next() back")
        await pilot.press("g")
        await pilot.press("r")  # the run's restart: the session's recording goes on
        await wait_for(pilot, lambda: app.run_id > 1 and spawned(app), what="the second run")
        assert app.recorder.writer is not None and "REC" in header_text(app)
        await wait_for(pilot, lambda: finished_and_shown(app), what="the second run's end")
        await pilot.press("2")  # a mode switch is another run of the session
        await wait_for(pilot, lambda: app.run_id > 2 and spawned(app), what="Task 2")
        await wait_for(pilot, lambda: finished_and_shown(app), what="Task 2's end")
        await quit_app(pilot)
    events = read_recording(path)
    assert is_complete(events)
    starts = [e for e in events if isinstance(e, RunStarted)]
    assert [s.mode for s in starts] == ["pipeline", "pipeline", "collect-after"]
    replaced = [e.why for e in events if isinstance(e, RunReplaced)]
    assert replaced == ["restart", f"switched to {MODE_TITLES[Mode.COLLECT_AFTER]}"]
    calls = _calls(path)
    assert calls[0] == "show" and calls[1].startswith("open ")
    assert calls[2:] == ["next", "next", "hide"]
    stream = iter(events)
    runs = [list(one_run(stream)) for _ in range(3)]
    assert all(isinstance(run[0], RunStarted) for run in runs) and not list(stream)
    assert sum(isinstance(e, RunFinished) for e in events) == 3
    # a replay plays the three runs in order, and the stepper's calls on the stepper
    replay = MpscopeApp(replay=lambda _following: iter_recording(path), replay_name=path.name)
    replay.speed = 8.0
    async with driving(replay) as pilot:
        await wait_for(pilot, lambda: replay.query("#stepper"), 30, "the stepper replayed")
        stepper = replay.query_one("#stepper", StepperPanel)
        await wait_for(
            pilot,
            lambda: stepper.last_shown is not None and stepper.last_shown.index == 2,
            30,
            "two next() calls replayed",
        )
        await wait_for(
            pilot,
            lambda: replay.tape.run_index == 2 and finished_and_shown(replay),
            60,
            "the third run replayed",
        )
        assert replay.state.mode == "collect-after" and not stepper.has_class("-shown")
        await wait_for(pilot, lambda: "session.jsonl · run 3" in header_text(replay), 5)
        await quit_app(pilot)


def test_a_recording_of_one_run_is_a_session_of_one(tmp_path: Path) -> None:
    source = tmp_path / "one.jsonl"
    _write(source, recording("task3"))
    assert [type(e).__name__ for e in one_run(iter_recording(source))][-1] == "RunFinished"
    header = json.loads(source.read_text().splitlines()[0])
    assert header["schema"] == SCHEMA_VERSION
