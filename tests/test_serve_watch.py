"""``mpscope serve --watch``: a whole class on one machine. Every tab follows the one run the
presenter records, starts no worker process, and ends with the run's own summary."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import psutil
import pytest

from mpscope.core.pipeline.recording import header_line
from mpscope.tui.cli import main
from mpscope.tui.serve import parse_serve_args
from tests.serve_support import (
    Tab,
    assert_all_gone,
    descendants,
    free_port,
    mpscope_serve,
    stop_process,
    wait_listening,
)

WATCHERS = 10
SUMMARY = r"done (\d+) \+ failed (\d+) \+ lost (\d+) = (\d+) tasks ✓"


def test_watch_replays_the_recording_in_every_tab(tmp_path: Path) -> None:
    recording = tmp_path / "class.jsonl"
    recording.write_text(header_line() + "\n")
    options = parse_serve_args(["--watch", str(recording)])
    assert options.app_argv == ["replay", "--follow", str(recording)]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["serve", "--watch", "/etc/passwd"], "not an mpscope recording"),
        (["serve", "--watch", "/nonexistent.jsonl"], "cannot read"),
        (["serve", "--watch", "tests/recordings/task3.jsonl", "--workers", "2"], "leave out"),
    ],
)
def test_watch_of_bad_input_is_one_line_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and words in err, err


@pytest.mark.timeout(240)
def test_ten_watchers_follow_one_live_run_to_the_same_summary(tmp_path: Path) -> None:
    recording = tmp_path / "class.jsonl"
    recording.write_text(header_line() + "\n")  # the presenter has not started yet
    port = free_port()
    server = mpscope_serve(port, ["--watch", str(recording)], tmp_path)
    presenter: subprocess.Popen[bytes] | None = None
    try:
        wait_listening(port, server)

        async def scenario() -> list[str]:
            nonlocal presenter
            async with aiohttp.ClientSession() as session:
                tabs = [await Tab(port).open(session) for _ in range(WATCHERS)]
                await asyncio.gather(*(tab.wait_for(r"replay", 120) for tab in tabs))
                apps = [p for p in psutil.Process(server.pid).children() if p.is_running()]
                assert len(apps) == WATCHERS
                presenter = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mpscope.tui",
                        "run",
                        "--plain",
                        "--tasks",
                        "6",
                        "--work-time",
                        "0.1",
                        "--collect-time",
                        "0.02",
                        "--record",
                        str(recording),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                screens = await asyncio.gather(*(tab.wait_for(SUMMARY, 120) for tab in tabs))
                for app in apps:  # a watcher is a replay: it started no process of its own
                    assert not descendants(app.pid), descendants(app.pid)
                trees = [[app, *descendants(app.pid)] for app in apps]
                for tab in tabs:
                    await tab.close()
                await asyncio.to_thread(assert_all_gone, [p for t in trees for p in t], 60)
                return list(screens)

        screens = asyncio.run(scenario())
        summaries = {re.search(SUMMARY, screen).group(0) for screen in screens}  # type: ignore[union-attr]
        assert summaries == {"done 6 + failed 0 + lost 0 = 6 tasks ✓"}
        assert presenter is not None and presenter.wait(60) == 0
    finally:
        if presenter is not None:
            stop_process(presenter)  # type: ignore[arg-type]
        stop_process(server)
