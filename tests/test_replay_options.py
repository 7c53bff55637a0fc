"""``mpscope replay`` for screencasts: --speed, --trim-start (the recorded start-up's waits
skipped) and --exit-after (the replay ends by itself), and their bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpscope.tui.cli import main


async def test_a_replay_trims_its_start_up_and_ends_by_itself() -> None:
    from mpscope.core.pipeline.recording import iter_recording
    from mpscope.tui.app import MpscopeApp

    path = Path(__file__).parent / "recordings" / "task3.jsonl"
    whole = list(iter_recording(path))
    first_work = next(e.t for e in whole if type(e).__name__ == "TaskStarted")
    assert first_work > 500_000_000  # the recording has start-up to trim
    app = MpscopeApp(replay=lambda _following: iter_recording(path), replay_name=path.name)
    app.speed, app.trim_start, app.exit_after = 4.0, True, 0.2
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if app.quitting:
                break
        assert app.quitting, "the replay ends by itself"
        collected = sum(type(e).__name__ == "TaskCollected" for e in whole)
        assert app.state.finished and app.state.collected == collected


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--speed", "fast"], "--speed must be a number"),
        (["--speed", "0"], "--speed must be from"),
        (["--exit-after", "soon"], "--exit-after must be a number of seconds"),
        (["--exit-after", "-1"], "--exit-after must be from 0"),
    ],
)
def test_bad_replay_options_are_one_line_and_exit_2(
    option: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mpscope.tui.replay_command.has_terminal", lambda: True)
    assert main(["replay", "tests/recordings/task3.jsonl", *option]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err
