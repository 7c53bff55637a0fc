"""Helpers for the app's tests: recorded runs, an app that shows them at once."""

from __future__ import annotations

from pathlib import Path

from mpscope.core.pipeline.events import Event
from mpscope.core.pipeline.recording import read_recording
from mpscope.tui.app import MpscopeApp

RECORDINGS = Path(__file__).parent / "recordings"


def recording(name: str) -> list[Event]:
    """The events of ``tests/recordings/NAME.jsonl``."""
    return read_recording(RECORDINGS / f"{name}.jsonl")


def replay_app(name: str) -> MpscopeApp:
    """An app that shows the final picture of a recorded run at once (no timing, no flights)."""
    return MpscopeApp(replay=recording(name), replay_name=f"{name}.jsonl", instant=True)


def midrun_app(name: str, seconds: float) -> MpscopeApp:
    """An app showing a recorded run as it stood ``seconds`` into it (instantly)."""
    events = [e for e in recording(name) if e.t <= seconds * 1e9]
    return MpscopeApp(replay=events, replay_name=f"{name}.jsonl", instant=True)
