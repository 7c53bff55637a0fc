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
import shutil
import signal
import subprocess
import sys
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


@pytest.fixture(scope="session", autouse=True)
def private_tmux_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' tmux sessions live on a server of their own, kept up for the whole session.

    A server exits when its last session is killed, and a session made in that instant fails
    with "server exited unexpectedly" (seen in a full run: one test's kill-session, the next
    test's new-session). A session that only sleeps keeps this server up; and the tests never
    touch the tmux sessions of the developer who runs them."""
    if shutil.which("tmux") is None:
        yield
        return
    os.environ["TMUX_TMPDIR"] = str(tmp_path_factory.mktemp("tmux"))
    os.environ.pop("TMUX", None)  # inside tmux, commands would go to that server instead
    keep = ["tmux", "new-session", "-d", "-s", "mpscope-tests-keepalive", "sleep 86400"]
    subprocess.run(keep, capture_output=True, timeout=10)
    try:
        yield
    finally:
        subprocess.run(["tmux", "kill-server"], capture_output=True, timeout=10)


@pytest.fixture(autouse=True)
def no_dataloader_sigchld_handler() -> Iterator[None]:
    """Each test starts as a fresh process would, without torch's DataLoader SIGCHLD handler.

    A DataLoader iterated in the main thread installs it once for the whole process; a later
    test that runs its DataLoader in a thread (as the app does) and kills a worker would then
    have torch's error raised into whatever the main thread is doing (the test's event loop)."""
    yield
    handling = sys.modules.get("torch.utils.data._utils.signal_handling")
    if handling is not None and handling._SIGCHLD_handler_set:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        handling._SIGCHLD_handler_set = False


@pytest.fixture(autouse=True)
def no_child_process_left() -> Iterator[None]:
    """Fail the test if it leaves a process behind (and end that process, by its PID)."""
    yield
    left = leftover_children()
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    assert not left, f"child processes left behind: {[(p.pid, p.cmdline()) for p in left]}"


#: how long the interpreter may take to exit once the session is over before every thread's
#: stack is printed and the process ends (a hang at exit must fail CI quickly and say where)
EXIT_GRACE_S = 120


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Say what is still alive as the session ends (threads the interpreter will wait for,
    processes), and bound the interpreter's exit."""
    import faulthandler
    import threading

    waited_for = [t.name for t in threading.enumerate() if not t.daemon and t.is_alive()]
    waited_for = [name for name in waited_for if name != "MainThread"]
    alive = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            alive.append(f"{proc.pid} {proc.name()} {proc.status()}")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and (waited_for or alive):
        reporter.write_line(f"at the end: threads {waited_for}, processes {alive}")
    faulthandler.dump_traceback_later(EXIT_GRACE_S, exit=True)
