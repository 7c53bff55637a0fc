"""The feeder's own writes into the task queue: in order, within the bound, never stuck."""

from __future__ import annotations

import multiprocessing
import time

from mpscope.core.engine.queue_put import QueuePutter
from mpscope.core.engine.queue_take import QueueTaker


def _queue(bound: int) -> multiprocessing.queues.Queue[object]:
    return multiprocessing.get_context("fork").Queue(maxsize=bound)


def test_puts_arrive_in_order_and_count_against_the_bound() -> None:
    q = _queue(3)
    putter, taker = QueuePutter(q), QueueTaker(q)
    for task in range(3):
        assert putter.put((task, 1, task * 2, False), 1.0)
    assert q.qsize() == 3 and q.full()
    assert [taker.take() for _ in range(3)] == [(True, (t, 1, t * 2, False)) for t in range(3)]
    assert q.qsize() == 0
    q.close()


def test_a_full_queue_makes_put_give_up_after_its_timeout() -> None:
    q = _queue(1)
    putter = QueuePutter(q)
    assert putter.put((0, 1, 0, False), 1.0)
    began = time.monotonic()
    assert not putter.put((1, 1, 1, False), 0.05)
    assert 0.04 <= time.monotonic() - began < 2.0
    assert q.qsize() == 1  # the one that went in
    q.close()


def test_a_full_pipe_makes_put_give_up_and_free_the_slot_it_took() -> None:
    """Messages bigger than the bound lets the pipe hold: put waits for room in the pipe, not
    in write (so a stop is seen), and a message it could not write leaves the bound as it was."""
    q = _queue(10_000)
    putter = QueuePutter(q)
    payload = "x" * 3000  # under PIPE_BUF: written whole or not at all
    sent = 0
    while putter.put((sent, 1, payload, False), 0.05):
        sent += 1
        assert sent < 1000, "the pipe never filled"
    assert q.qsize() == sent
    taker = QueueTaker(q)
    ok, first = taker.take()
    assert ok and first[0] == 0
    assert putter.put((sent, 1, payload, False), 1.0)  # room again
    q.close()


def test_a_closed_queue_makes_put_say_no_without_raising() -> None:
    q = _queue(2)
    putter = QueuePutter(q)
    q.close()
    assert not putter.put((0, 1, 0, False), 0.01)


def test_a_tensor_payload_still_travels_through_torchs_reductions() -> None:
    from mpscope.core.engine.lifecycle import import_torch_quietly

    import_torch_quietly()
    import torch

    q = _queue(2)
    putter, taker = QueuePutter(q), QueueTaker(q)
    assert putter.put((0, 1, torch.arange(4), False), 1.0)
    ok, message = taker.take()
    assert ok and torch.equal(message[2], torch.arange(4))
    q.close()


def test_a_result_goes_straight_in_or_through_the_thread_and_keeps_its_order() -> None:
    """Small results are written in the worker's own thread while the pipe has room; once it
    is full they queue for the sender's thread, and later small ones wait behind them."""
    from mpscope.core.engine.result_channels import ResultSender, pickle_result

    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    sender = ResultSender(writer)
    big = pickle_result((0, 1, 0, True, "y" * 200_000, 0, 0))  # bigger than the pipe holds
    messages = [pickle_result((1, 1, 0, True, 1, 0, 0)), big]
    messages += [pickle_result((t, 1, 0, True, t, 0, 0)) for t in range(2, 50)]
    for data in messages:
        sender.put(data)  # returns at once, even with the pipe full
    got = [reader.recv_bytes() for _ in messages]
    assert got == messages
    sender.close(lambda: True, 0.1)
    reader.close()
