"""End to end: the real ``mpscope`` in a real terminal (tmux), read back with capture-pane."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

TMUX = shutil.which("tmux")
MPSCOPE = Path(sys.executable).with_name("mpscope")
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(TMUX is None and not os.environ.get("CI"), reason="tmux not installed"),
]


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _wait_for(session: str, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(session)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} did not appear; the screen was:\n{screen}")


def _not_sleep(proc: psutil.Process) -> bool:
    """Everything but the ``sleep`` that keeps the tmux pane open."""
    try:
        return "sleep" not in proc.cmdline()
    except psutil.NoSuchProcess:
        return False


def test_the_real_app_runs_task3_and_quits_leaving_no_process(tmp_path: Path) -> None:
    session = f"mpscope-e2e-{os.getpid()}"
    done = tmp_path / "exit-code"
    command = (
        f"cd {tmp_path} && {MPSCOPE} --tasks 6 --work-time 0.1 --collect-time 0.02; "
        f"echo $? > {done}; sleep 30"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        shell_pid = int(_tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        _wait_for(session, r"■ completed", timeout=60)
        time.sleep(1.0)  # let the last flying tokens land
        screen = _screen(session)
        descendants = psutil.Process(shell_pid).children(recursive=True)
        assert any("mpscope" in " ".join(p.cmdline()) for p in descendants)
        assert "done 6 + failed 0 + lost 0 = 6 tasks ✓" in screen
        pids = re.findall(r"worker (\d) · PID (\d+)", screen)
        assert [w for w, _pid in pids[:3]] == ["0", "1", "2"]
        assert len({pid for _w, pid in pids}) == 3
        assert re.search(r"collector · PID \d+", screen)
        assert "collected 6" in screen
        _tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 30
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
        _gone, alive = psutil.wait_procs([p for p in descendants if _not_sleep(p)], timeout=5)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


def test_closing_the_terminal_ends_the_app_and_its_processes(tmp_path: Path) -> None:
    """tmux kill-session hangs the terminal up (SIGHUP): nothing of mpscope may survive."""
    session = f"mpscope-hup-{os.getpid()}"
    command = f"cd {tmp_path} && exec {MPSCOPE} --tasks 200 --work-time 0.2"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        app_pid = int(_tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        _wait_for(session, r"worker \d · PID \d+  busy", timeout=60)
        app = psutil.Process(app_pid)
        everything = [app, *app.children(recursive=True)]
        assert len(everything) >= 4  # the app, the forkserver, workers, the collector
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
    _gone, alive = psutil.wait_procs(everything, timeout=15)
    for proc in alive:  # end what we started, by PID, before failing
        proc.kill()
    assert not alive, [(p.pid, p.cmdline()) for p in alive]


def test_replay_follow_keeps_up_with_a_recording_being_written(tmp_path: Path) -> None:
    """What a watcher of a live run sees (mpscope serve --watch runs this in each tab): the
    replay starts while the recording is still being written and shows the run to its end."""
    recording = tmp_path / "live.jsonl"
    whole = (Path(__file__).parent / "recordings" / "task3.jsonl").read_text().splitlines()
    recording.write_text("\n".join(whole[:3]) + "\n")  # the header and the run's first events
    session = f"mpscope-follow-{os.getpid()}"
    command = f"cd {tmp_path} && {MPSCOPE} replay --follow {recording}; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        shell_pid = int(_tmux("display-message", "-p", "-t", session, "#{pane_pid}").strip())
        _wait_for(session, r"task queue", timeout=30)
        with recording.open("a") as out:  # the presenter's run goes on
            for line in whole[3:]:
                out.write(line + "\n")
                out.flush()
                time.sleep(0.02)
        screen = _wait_for(session, r"■ completed", timeout=30)
        assert "replay" in screen
        descendants = psutil.Process(shell_pid).children(recursive=True)
        _tmux("send-keys", "-t", session, "q")
        _gone, alive = psutil.wait_procs([p for p in descendants if _not_sleep(p)], timeout=15)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


@pytest.mark.parametrize(
    "command",
    [
        "--mode dataloader -n 48 --load-time 0.03 --train-time 0.02",
        "-s fork --tasks 12 --work-time 0.3 --speed 1",
    ],
    ids=["dataloader", "fork-run"],
)
def test_pausing_in_the_real_terminal_harms_no_task(tmp_path: Path, command: str) -> None:
    """In a real terminal Textual handles SIGCONT (for Ctrl+Z); a child forked from the app
    once ran that handler when a pause ended, and every task or batch in hand failed."""
    session = f"mpscope-pause-{os.getpid()}"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"{MPSCOPE} run {command}")
    try:
        _wait_for(session, r"worker 1 (·|pid) ?(PID )?\d+", timeout=60)
        for _ in range(2):
            _tmux("send-keys", "-t", session, "space")
            time.sleep(0.4)
            _tmux("send-keys", "-t", session, "space")
            time.sleep(0.4)
        # the pause and resume notes cover the right of the screen for a few seconds: wait for
        # the words themselves (a failed run never shows them, and the wait says what it shows)
        if "--tasks" in command:
            screen = _wait_for(session, r"done 12 \+ failed 0 \+ lost 0 = 12 tasks ✓", timeout=60)
        else:
            screen = _wait_for(session, r"finished: completed", timeout=60)
        assert "RuntimeError" not in screen
        _tmux("send-keys", "-t", session, "q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)


@pytest.mark.parametrize(
    ("command", "expected", "exit_code"),
    [
        # stdin is the terminal, stdout a pipe: the seed's `mpscope --tasks 2 | head`
        ("--tasks 2 --work-time 0 --collect-time 0 2>&1 | head -40 > out", "done 2 + failed", 0),
        # stdout is the terminal, stdin not: the stepper could not read a key
        ("gen running_average < /dev/null 2> out", "the stepper needs a terminal", 2),
    ],
    ids=["run-into-a-pipe", "gen-from-dev-null"],
)
def test_half_a_terminal_never_starts_the_full_screen_app(
    tmp_path: Path, command: str, expected: str, exit_code: int
) -> None:
    """In a real terminal with one end redirected, mpscope does not draw the full-screen app
    into the pipe (nor wait for keys that cannot come): it falls back, or says why, and ends."""
    session = f"mpscope-half-{os.getpid()}"
    code = tmp_path / "code"
    script = f"cd {tmp_path} && {MPSCOPE} {command}; echo ${{PIPESTATUS[0]}} > {code}; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", f"bash -c '{script}'")
    try:
        deadline = time.monotonic() + 60
        while not code.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert code.exists(), f"it did not end; the screen was:\n{_screen(session)}"
        text = (tmp_path / "out").read_text(encoding="utf-8", errors="replace")
        assert expected in text, text
        assert "\x1b[?1049h" not in text  # no full-screen app was drawn into the pipe
        assert code.read_text().strip() == str(exit_code)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
