"""The app and ``--plain`` when the machine says no: a full disk, a read-only folder, and the
exit code of a run that follows one that ended in an error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_app_pilot import driving, notifications, quit_app, spawned, wait_for
from test_cli import _run, _summary_line

from mpscope.core.pipeline.scenario import make_scenario
from mpscope.tui.app import MpscopeApp

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import hostile_tasks

HOSTILE = "tests/fixtures/hostile_tasks.py"


@pytest.mark.timeout(60)
def test_plain_recording_to_a_full_disk_is_one_line_and_exit_1() -> None:
    result = _run(["run", "--plain", "--tasks", "3", "--work-time", "0", "--record", "/dev/full"])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("mpscope: error:")]
    assert errors == ["mpscope: error: recording to /dev/full stopped: No space left on device"]
    assert "done 3 + failed 0 + lost 0 = 3 tasks ✓" in _summary_line(result.stdout)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
async def test_ctrl_s_in_a_read_only_folder_says_so_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _screenshot_refused(tmp_path, monkeypatch, lambda: tmp_path.chmod(0o500))


async def test_ctrl_s_that_cannot_write_says_so_and_the_app_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(As root, a read-only folder is writable: the folder is a file's name instead.)"""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    await _screenshot_refused(blocker, monkeypatch, lambda: None)


async def _screenshot_refused(folder: Path, monkeypatch: pytest.MonkeyPatch, lock: object) -> None:
    sc, _ = make_scenario(count=20, work_time=0.05, workers=2)
    app = MpscopeApp(sc)
    if folder.is_dir():
        monkeypatch.chdir(folder)
        assert callable(lock)
        lock()
    async with driving(app) as pilot:
        seen = notifications(app)
        await wait_for(pilot, lambda: spawned(app), what="the workers")
        if folder.is_dir():
            await pilot.press("ctrl+s")
        else:
            app.action_screenshot(path=str(folder))
        said = "screenshot not saved"
        await wait_for(pilot, lambda: any(said in s for s in seen), 10, "the message")
        assert app.is_running
        await quit_app(pilot)
    if folder.is_dir():
        folder.chmod(0o700)
    assert not list(folder.parent.glob("**/*.svg"))


async def test_r_after_a_run_that_ended_in_an_error_then_q_mid_run_exits_0() -> None:
    died = Path(hostile_tasks.DIED_FILE)
    died.unlink(missing_ok=True)
    try:
        sc, _ = make_scenario(function=f"{HOSTILE}:dies_once", count=30, workers=1, work_time=0.2)
        app = MpscopeApp(sc)
        async with driving(app) as pilot:
            await wait_for(pilot, lambda: app.state.finished, 60, "the first run's end")
            assert app.state.outcome == "error"
            assert app.exit_code == 1
            first = app.run_id
            await pilot.press("r")
            await wait_for(pilot, lambda: app.run_id > first, 60, "the rerun")
            await quit_app(pilot)  # the new run has no error: the old one's code is gone
        assert app.return_code == 0
    finally:
        died.unlink(missing_ok=True)
