"""Signals that arrive while the app already stops its processes: the handler runs inside the
code it interrupted, so stopping them again from there would wait forever on that code's lock
(the forkserver's). Each test lets a fake shutdown deliver the signal from inside itself."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

import mpscope.core.engine.lifecycle
from mpscope.tui.session import signals as session_signals


class _Exited(Exception):
    pass


class _FakeApp:
    quitting = True
    exit_code: int | None = None

    def run(self) -> int:
        return 0

    def call_later(self, *_args: Any) -> None:
        raise AssertionError("the signal was taken for a new request to quit")

    def action_quit(self) -> None:  # pragma: no cover - never called
        pass


@pytest.fixture
def shutdowns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replace the engine's shutdown by one that records its calls and, the first time, lets
    SIGTERM's handler run inside it; os._exit raises instead of leaving."""
    calls: list[str] = []

    def fake_shutdown() -> None:
        calls.append("shutdown")
        if len(calls) == 1:
            handler = signal.getsignal(signal.SIGTERM)
            assert callable(handler)
            handler(signal.SIGTERM, None)

    def fake_exit(code: int) -> None:
        calls.append(f"exit {code}")
        raise _Exited

    monkeypatch.setattr(mpscope.core.engine.lifecycle, "shutdown", fake_shutdown)
    monkeypatch.setattr(os, "_exit", fake_exit)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    yield calls
    for sig, handler in before.items():
        signal.signal(sig, handler)


def test_a_signal_while_the_app_leaves_its_run_does_not_stop_the_processes_twice(
    shutdowns: list[str],
) -> None:
    assert session_signals.run_app_session(_FakeApp()) == 0  # type: ignore[arg-type]
    assert shutdowns == ["shutdown"]


def test_a_second_signal_while_the_first_one_stops_the_processes_is_ignored(
    shutdowns: list[str],
) -> None:
    session_signals.STOPPING_PROCESSES.clear()
    session_signals.install_app_signal_handlers(_FakeApp())  # type: ignore[arg-type]
    with pytest.raises(_Exited):
        session_signals.hard_exit(signal.SIGHUP)
    assert shutdowns == ["shutdown", f"exit {128 + signal.SIGHUP}"]
