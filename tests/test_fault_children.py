"""What a task starts (a subprocess, a fork) does not outlive its worker, nor the run."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from support import assert_balanced, run_engine, scenario

from mpscope.core.pipeline.scenario import Mode

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import hostile_tasks

HOSTILE = "tests/fixtures/hostile_tasks.py"


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _end_noted(children: Path) -> None:
    """End (by PID) what a hostile task noted it started, whatever the test found."""
    with contextlib.suppress(FileNotFoundError, ValueError):
        for line in children.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line), signal.SIGKILL)
    children.unlink(missing_ok=True)


@pytest.mark.parametrize("function", ["spawns", "forks", "escapes", "daemonizes"])
@pytest.mark.parametrize("mode", [Mode.PIPELINE, Mode.COLLECT_AFTER])
def test_a_tasks_child_processes_end_with_the_run(function: str, mode: Mode) -> None:
    children = Path(hostile_tasks.CHILDREN_FILE)
    children.unlink(missing_ok=True)
    try:
        _events, state = run_engine(
            scenario(mode=mode, function=f"{HOSTILE}:{function}", work_time=0, count=4),
            timeout=30,
        )
        assert state.outcome == "completed", state.outcome_message
        assert_balanced(state)
        pids = [int(line) for line in children.read_text().split()]
        assert len(pids) == 1
        assert _gone(pids[0]), f"PID {pids[0]}, started by a task, outlived the run"
    finally:
        _end_noted(children)


@pytest.mark.parametrize("function", ["escapes", "daemonizes"])
def test_a_child_in_its_own_session_ends_with_a_worker_that_is_killed(function: str) -> None:
    """The worker dies first: what it started comes back to the main process (a subreaper),
    which ends it when it reaps the worker."""
    children = Path(hostile_tasks.CHILDREN_FILE)
    children.unlink(missing_ok=True)
    killed: list[int] = []

    def kill_after_start(engine: Any, event: Any, state: Any) -> None:
        if not killed and children.exists() and children.read_text().strip():
            lane = next(lane for lane in state.workers() if lane.pid)
            killed.append(lane.pid)
            engine.kill_worker(lane.worker)

    try:
        _events, state = run_engine(
            scenario(function=f"{HOSTILE}:{function}", work_time=0.3, count=4, workers=1),
            timeout=30,
            on_event=kill_after_start,
        )
        assert killed, "no worker was killed"
        assert_balanced(state)
        [pid] = [int(line) for line in children.read_text().split()]
        assert _gone(pid), f"PID {pid}, started in its own session, outlived its killed worker"
    finally:
        _end_noted(children)


def test_strangers_are_only_what_a_run_process_left() -> None:
    """Children of ours that carry a run process's mark are strangers once the engine does
    not know them; an unmarked child (a tmux server that came back to us, a DataLoader's
    worker) and a known one are never touched."""
    import subprocess

    from mpscope.core.engine import orphans

    marked = {**os.environ, orphans.RUN_MARK: str(os.getpid())}
    plain = subprocess.Popen(["sleep", "30"], start_new_session=True)
    left = subprocess.Popen(["sleep", "30"], start_new_session=True, env=marked)
    known = subprocess.Popen(["sleep", "30"], env=marked)
    try:
        time.sleep(0.1)
        ended = orphans.end_strangers({known.pid})
        assert ended == [left.pid]
        assert plain.poll() is None and known.poll() is None
        assert _gone(left.pid)  # killed and reaped (it is ours now: no zombie left)
    finally:
        for proc in (plain, left, known):
            proc.kill()
            proc.wait(5)


def _is_subreaper() -> bool:
    import ctypes

    flag = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
    return flag.value == 1


def test_the_main_process_is_a_subreaper_only_while_a_run_goes() -> None:
    """So that what it starts between runs and daemonizes (tmux's server) goes to init."""
    seen: list[bool] = []
    run_engine(scenario(count=2), timeout=30, on_event=lambda *_: seen.append(_is_subreaper()))
    assert any(seen)
    assert not _is_subreaper()


def test_a_torch_shm_manager_that_came_back_is_spared_and_reaped_when_it_ends(
    tmp_path: Path,
) -> None:
    """torch's file_system helper is never a stranger (killing it would break later runs and
    leave its memory behind); once it ends by itself it is reaped, not left a zombie."""
    from mpscope.core.engine import orphans

    helper = tmp_path / "torch_shm_manager"  # the kernel names it "torch_shm_manag"
    helper.symlink_to("/bin/sleep")
    marked = {**os.environ, orphans.RUN_MARK: str(os.getpid())}
    alive = os.posix_spawn(str(helper), [str(helper), "30"], marked)
    quick = os.posix_spawn(str(helper), [str(helper), "0"], marked)
    try:
        deadline = time.monotonic() + 5
        while orphans.proc_info(quick) is not None and time.monotonic() < deadline:
            time.sleep(0.02)  # until it is a zombie
        assert orphans.end_strangers(set()) == []
        assert orphans.proc_info(alive) is not None
        with pytest.raises(ChildProcessError):
            os.waitpid(quick, os.WNOHANG)  # already reaped
    finally:
        os.kill(alive, signal.SIGKILL)
        os.waitpid(alive, 0)
