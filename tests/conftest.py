"""Shared fixtures: every test must leave no child process behind.

The forkserver and the resource tracker are multiprocessing's own long-lived helpers (one per
test session). ``torch_shm_manager`` is torch's, for ``file_system`` sharing: this process
stays its client once it has received such a tensor, so it lives until this process ends, and
(the main process being a subreaper while a run goes) it is this process's child by then.
Killing it would break every later run forked from here, so it is neither counted nor ended.
Everything else a test starts (workers, collectors, CLI subprocesses) must be
gone when it ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import psutil
import pytest

HELPERS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")
#: ``torch_shm_manager`` as psutil names it (the kernel keeps 15 characters)
TORCH_HELPER = "torch_shm_manag"


def _helper(proc: psutil.Process, me: int) -> bool:
    """The forkserver, resource tracker or torch_shm_manager itself (a direct child), not what
    it forked."""
    try:
        cmdline = " ".join(proc.cmdline())
        parent = proc.ppid()
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return True
    if parent != me:
        return False
    return name.startswith(TORCH_HELPER) or any(helper in cmdline for helper in HELPERS)


def leftover_children(wait: float = 5.0) -> list[psutil.Process]:
    """Descendants of this process other than multiprocessing's helpers, after ``wait`` s."""
    me = psutil.Process(os.getpid())
    deadline = time.monotonic() + wait
    while True:
        left = []
        for child in me.children(recursive=True):
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    continue
            except psutil.NoSuchProcess:
                continue
            if not _helper(child, me.pid):
                left.append(child)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def no_child_process_left() -> Iterator[None]:
    """Fail the test if it leaves a process behind (and end that process, by its PID)."""
    yield
    left = leftover_children()
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    assert not left, f"child processes left behind: {[(p.pid, p.cmdline()) for p in left]}"
