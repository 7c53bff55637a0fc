"""The forkserver warms up on a thread of its own and does not outlive the program."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

SCRIPT = """
import multiprocessing.forkserver as forkserver
import mpscope.core.engine.lifecycle  # its atexit stops the forkserver
from mpscope.core.engine.warmup import warm_forkserver

thread = warm_forkserver()
thread.join(60)
print(forkserver._forkserver._forkserver_pid)
"""


@pytest.mark.timeout(90)
def test_warming_starts_the_forkserver_and_exit_stops_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=80
    )
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.strip())  # a number: the server was running when warming ended
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
