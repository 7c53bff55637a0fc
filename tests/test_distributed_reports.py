"""The viewer's listener against reporters and hostile peers, without torch: the clock offset,
unauthenticated and malformed reports dropped and counted, the viewer still serving."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from mpscope.core.distributed.events import (
    DistEvent,
    RankJoined,
    ReportDropped,
    StepReported,
)
from mpscope.core.distributed.listener import Listener, new_token
from mpscope.core.distributed.report import Reporter
from mpscope.core.distributed.state import fold
from mpscope.core.distributed.wire import MAX_LINE


@pytest.fixture
def viewer() -> Iterator[tuple[Listener, list[DistEvent]]]:
    events: list[DistEvent] = []
    listener = Listener(new_token(), events.append, time.monotonic_ns())
    listener.start()
    yield listener, events
    listener.close(timeout=2)


def _wait_for(events: list[DistEvent], kind: type[DistEvent], count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while sum(isinstance(e, kind) for e in events) < count:
        assert time.monotonic() < deadline, f"no {kind.__name__} in {events}"
        time.sleep(0.01)


def _connect(listener: Listener) -> socket.socket:
    host, port = listener.address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def test_a_skewed_clock_is_corrected_by_the_pings(viewer: tuple[Listener, list[DistEvent]]) -> None:
    listener, events = viewer
    skew = 3_600 * 10**9  # this "host" is an hour ahead

    def skewed() -> int:
        return time.monotonic_ns() + skew

    reporter = Reporter(listener.address, listener.token, rank=1, local_rank=1, clock=skewed)
    before = time.monotonic_ns() - listener.start_ns
    with reporter.step(0), reporter.collective("all_reduce"):
        time.sleep(0.01)
    after = time.monotonic_ns() - listener.start_ns
    reporter.close()
    _wait_for(events, StepReported)
    joined = next(e for e in events if isinstance(e, RankJoined))
    assert abs(joined.offset_ns - skew) < 50_000_000
    step = next(e for e in events if isinstance(e, StepReported))
    # on the viewer's time line, not an hour off
    assert before - 50_000_000 <= step.begun <= step.t <= after + 50_000_000
    assert step.spans[0][0:2] == ("collective", "all_reduce")


def test_reports_without_the_token_are_dropped_and_counted(
    viewer: tuple[Listener, list[DistEvent]],
) -> None:
    listener, events = viewer
    with _connect(listener) as sock:
        sock.sendall(
            b'{"type":"hello","rank":0,"local_rank":0,"world_size":1,"pid":1,"host":"x"}\n'
        )
        sock.settimeout(5)
        assert sock.recv(100) == b""  # the viewer hung up
    with _connect(listener) as sock:
        hello = {"type": "hello", "token": "guess", "rank": 0, "local_rank": 0}
        sock.sendall(json.dumps(hello).encode() + b"\n")
    _wait_for(events, ReportDropped, 2)
    state = fold(events)
    assert state.dropped == {"token": 2}
    assert not state.lanes


def test_malformed_reports_never_stop_the_viewer(viewer: tuple[Listener, list[DistEvent]]) -> None:
    listener, events = viewer
    reporter = Reporter(listener.address, listener.token, rank=0)
    assert reporter.sock is not None
    token = listener.token
    bad = [
        b"not json at all",
        b"[1, 2, 3]",
        json.dumps({"token": token, "type": "step", "rank": "zero"}).encode(),
        json.dumps({"token": token, "type": "launch", "rank": 0}).encode(),
        json.dumps(
            {
                "token": token,
                "type": "step",
                "rank": 0,
                "step": 0,
                "begun": 1,
                "ended": 2,
                "spans": [["nap", "x", 1, 2]],
                "checksum": "",
            }
        ).encode(),
        json.dumps(
            {
                "token": token,
                "type": "step",
                "rank": 5,
                "step": 0,
                "begun": 1,
                "ended": 2,
                "spans": [],
                "checksum": "",
            }
        ).encode(),
        b"\xff\xfe\x00",
        json.dumps({"token": "wrong", "type": "bye", "rank": 0}).encode(),
    ]
    for line in bad:
        reporter.sock.sendall(line + b"\n")
    with reporter.step(7):
        pass
    reporter.close()
    _wait_for(events, StepReported)
    _wait_for(events, ReportDropped, len(bad))
    state = fold(events)
    assert state.dropped == {"malformed": len(bad) - 1, "token": 1}
    assert [s.step for s in state.lanes[0].steps] == [7]
    # a line too long ends that connection only; a new reporter is still served
    with _connect(listener) as sock:
        sock.sendall(b"x" * (MAX_LINE + 10))
        sock.settimeout(5)
        assert sock.recv(100) == b""
    again = Reporter(listener.address, listener.token, rank=3)
    again.close()
    _wait_for(events, RankJoined, 2)
    assert fold(events).dropped["malformed"] == len(bad)


def test_without_an_address_the_reporter_is_silent() -> None:
    reporter = Reporter(None, "", rank=0)
    with reporter.step(0), reporter.phase("forward"):
        pass
    assert not reporter.active
    reporter.close()
