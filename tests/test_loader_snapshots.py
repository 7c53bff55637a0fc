"""SVG snapshots of the DataLoader screen fed from recorded real DataLoader runs: a slow sample
holding back in-order delivery, a worker killed with ``k`` (``python -m
tests.recordings.make_recordings loader_killed``), and the screen's help."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mpscope.core.dataloader.report import read_recording
from mpscope.tui.loader_app import LoaderApp

Snap = Callable[..., bool]
TESTS = Path(__file__).parent
RECORDINGS = {
    "slow_sample": TESTS / "fixtures" / "dataloader_slow_sample.jsonl",
    "killed": TESTS / "recordings" / "loader_killed.jsonl",
}


async def _settle(pilot: Pilot[object]) -> None:
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(RECORDINGS))
def test_recorded_dataloader_run(snap_compare: Snap, name: str, size: tuple[int, int]) -> None:
    app = LoaderApp(events=read_recording(str(RECORDINGS[name])))
    assert snap_compare(app, terminal_size=size, run_before=_settle)


def test_the_dataloader_screens_help(snap_compare: Snap) -> None:
    async def show_help(pilot: Pilot[object]) -> None:
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    app = LoaderApp(events=read_recording(str(RECORDINGS["killed"])))
    assert snap_compare(app, terminal_size=(120, 40), run_before=show_help)
