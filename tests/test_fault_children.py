"""What a task starts (a subprocess, a fork) does not outlive its worker, nor the run."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

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


@pytest.mark.parametrize("function", ["spawns", "forks"])
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
        with contextlib.suppress(FileNotFoundError, ValueError):
            for line in children.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(line), signal.SIGKILL)
        children.unlink(missing_ok=True)
