"""The session layer shared by the app and ``--plain``: one exit-code table, one pump, and
``--plain``'s signal policy (the app's is in test_quit_signals)."""

from __future__ import annotations

import signal
import time

import pytest

from mpscope.core.pipeline.events import Event, Note
from mpscope.tui.session import pump as pump_module
from mpscope.tui.session import signals as session_signals
from mpscope.tui.session.exit_codes import exit_code, signal_exit_code
from mpscope.tui.session.pump import pump_batches


@pytest.mark.parametrize(
    ("outcome", "signum", "code"),
    [
        ("completed", None, 0),
        ("stopped", None, 0),  # x in the app, or a replay of a stopped run
        ("error", None, 1),
        ("", None, 1),  # no outcome: the run never said how it ended
        (None, None, 1),
        ("stopped", signal.SIGINT, 130),  # --plain's Ctrl+C
        ("stopped", signal.SIGTERM, 143),
        ("stopped", signal.SIGHUP, 129),
    ],
)
def test_one_exit_code_table(outcome: str | None, signum: int | None, code: int) -> None:
    assert exit_code(outcome, signum) == code


def test_a_signal_ends_with_128_plus_its_number() -> None:
    assert signal_exit_code(signal.SIGPIPE) == 141


class _Batches:
    """Hands out the given batches, then None (the run is over)."""

    def __init__(self, *batches: list[Event]) -> None:
        self.batches = list(batches)
        self.timeouts: list[float | None] = []

    def next_batch(self, timeout: float | None = None) -> list[Event] | None:
        self.timeouts.append(timeout)
        return self.batches.pop(0) if self.batches else None


def test_the_pump_hands_every_batch_over_until_the_end_empty_ones_too() -> None:
    note = Note(1, "info", "hello")
    source = _Batches([note], [], [note, note])
    seen: list[list[Event]] = []
    assert pump_batches(source, seen.append, 0.05) is True
    assert seen == [[note], [], [note, note]]
    assert source.timeouts == [0.05] * 4


def test_the_pump_gives_up_at_its_deadline() -> None:
    class Endless:
        def next_batch(self, timeout: float | None = None) -> list[Event] | None:
            time.sleep(timeout or 0)
            return []

    started = time.monotonic()
    assert pump_batches(Endless(), lambda _batch: None, 0.01, time.monotonic() + 0.1) is False
    assert time.monotonic() - started < 1


class _FakeEngine:
    def __init__(self) -> None:
        self.stops: list[str] = []
        self.aborted = 0

    def stop(self, reason: str = "stopped by the user") -> None:
        self.stops.append(reason)

    def abort(self) -> None:
        self.aborted += 1


def test_plain_stops_in_order_on_each_signal_and_at_once_on_a_second_ctrl_c() -> None:
    engine = _FakeEngine()
    policy = session_signals.PlainSignals(engine)  # type: ignore[arg-type]
    policy(signal.SIGTERM, None)
    assert engine.stops == ["SIGTERM received"] and engine.aborted == 0
    policy(signal.SIGINT, None)  # a second signal, and a Ctrl+C: the processes go at once
    assert engine.stops == ["SIGTERM received", "SIGINT received"] and engine.aborted == 1
    assert policy.ending_signal("stopped") == signal.SIGTERM  # the first one ended it
    assert policy.ending_signal("completed") is None  # it ended on its own meanwhile


def test_a_first_ctrl_c_asks_for_an_ordered_stop_only() -> None:
    engine = _FakeEngine()
    policy = session_signals.PlainSignals(engine)  # type: ignore[arg-type]
    policy(signal.SIGINT, None)
    assert engine.stops == ["SIGINT received"] and engine.aborted == 0
    assert exit_code("stopped", policy.ending_signal("stopped")) == 130


def test_the_abort_goes_through_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    aborted: list[object] = []
    monkeypatch.setattr(session_signals, "abort_run", aborted.append)
    engine = _FakeEngine()
    policy = session_signals.PlainSignals(engine)  # type: ignore[arg-type]
    policy(signal.SIGINT, None)
    policy(signal.SIGINT, None)
    assert aborted == [engine] and engine.aborted == 0
    pump_module.abort_run(engine)  # type: ignore[arg-type]
    assert engine.aborted == 1


def test_handled_signals_puts_the_old_handler_back() -> None:
    before = signal.getsignal(signal.SIGHUP)

    def handler(_signum: int, _frame: object) -> None:
        pass

    with session_signals.handled_signals(handler, [signal.SIGHUP]):
        assert signal.getsignal(signal.SIGHUP) is handler
    assert signal.getsignal(signal.SIGHUP) is before
