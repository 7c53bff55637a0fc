"""The distributed screen: Pilot tests and SVG snapshots fed from recorded real runs (a
straggler, a crashed rank), and the real command in a real terminal (tmux), quit mid-run."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from textual.pilot import Pilot

from mpscope.core.distributed.events import DistEvent, read_dist_recording
from mpscope.tui.dist_app import DistApp, recorded

Snap = Callable[..., bool]
FIXTURES = Path(__file__).parent / "fixtures"
STRAGGLER = FIXTURES / "dist_straggler.jsonl"
CRASH = FIXTURES / "dist_crash.jsonl"
MPSCOPE = Path(sys.executable).with_name("mpscope")


def _app(path: Path) -> DistApp:
    return DistApp(recorded(read_dist_recording(str(path))), hint=f"a recording: {path.name}")


async def _settle(pilot: Pilot[object]) -> None:
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("path", [STRAGGLER, CRASH], ids=lambda p: p.stem)
def test_recorded_distributed_run(snap_compare: Snap, path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_app(path), terminal_size=size, run_before=_settle)


def test_the_distributed_help(snap_compare: Snap) -> None:
    async def show_help(pilot: Pilot[object]) -> None:
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(_app(STRAGGLER), terminal_size=(120, 40), run_before=show_help)


def test_q_stops_the_source_and_the_app_waits_for_it() -> None:
    started, ended = threading.Event(), threading.Event()

    def source(emit: Callable[[DistEvent], None], stop: threading.Event) -> str:
        for event in read_dist_recording(str(STRAGGLER))[:6]:
            emit(event)
        started.set()
        stop.wait(30)  # a live run goes on until it is told to stop
        ended.set()
        return "stopped"

    async def scenario() -> None:
        app = DistApp(source)
        async with app.run_test(size=(120, 40)) as pilot:
            assert await asyncio.to_thread(started.wait, 10)
            await pilot.pause(0.3)
            assert sorted(app.dist_screen.state.lanes) == [0, 1, 2]
            await pilot.press("q")
            await pilot.pause(0.1)
        app.end()
        assert ended.is_set() and app.dist_screen.outcome == "stopped"

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"), reason="no tmux")
@pytest.mark.timeout(150)
def test_the_real_command_in_a_terminal_shows_the_ranks_and_q_ends_them(tmp_path: Path) -> None:
    session = f"mpscope-dist-{os.getpid()}"
    done = tmp_path / "exit-code"
    command = (
        f"cd {tmp_path} && {MPSCOPE} run --mode distributed --workers 2 --steps 2000 "
        f"--compute-time 0.01 --slow-rank 1 --slow-time 0.05; echo $? > {done}; sleep 30"
    )
    tmux = ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command]
    subprocess.run(tmux, check=True, timeout=10)
    try:
        pane = subprocess.run(
            ["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        shell = psutil.Process(int(pane.stdout))
        deadline, screen = time.monotonic() + 90, ""
        while time.monotonic() < deadline and "◀ rank 1 is the straggler" not in screen:
            time.sleep(0.3)
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        assert "◀ rank 1 is the straggler" in screen, screen
        assert "2 of 2 ranks on 1 host" in screen
        assert re.search(
            r"^\s+0\s+0\s+\d+\s+\S+\s+[█░·]+\s+[\d.]+ ms\s+\d+%\s+[0-9a-f]{8} ✓", screen, re.M
        ), screen
        assert "q Quit" in screen
        descendants = [p for p in shell.children(recursive=True) if "sleep" not in p.name()]
        assert any("torch.distributed.run" in " ".join(p.cmdline()) for p in descendants)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True, timeout=10)
        deadline = time.monotonic() + 40
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.read_text().strip() == "0"
        _gone, alive = psutil.wait_procs(descendants, timeout=10)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
