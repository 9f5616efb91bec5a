"""Batches handled side by side come out in the order they were read."""

from __future__ import annotations

import threading

import pytest

from stream.kafka.scoring.batches import BatchWork, HandledBatch, InputBatch
from stream.kafka.scoring.handlers import HandlerPool
from stream.records import Outgoing, RawRecord, UndecodableBatch


def batch(offset: int) -> InputBatch:
    record = RawRecord("tweets.raw", 0, offset, None, b"{}")
    return InputBatch([record], [], {("tweets.raw", 0): (offset, offset)})


def test_a_later_batch_handled_first_still_comes_out_second() -> None:
    first_may_finish = threading.Event()

    def handle(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
        def work() -> HandledBatch:
            if records[0].offset == 0:
                assert first_may_finish.wait(5)
            return HandledBatch([Outgoing("out", None, str(records[0].offset).encode())])

        return work

    pool = HandlerPool(handle, threads=2)
    pool.submit(batch(0))
    pool.submit(batch(1))
    assert pool.full
    assert pool.next_done(wait=False) is None  # the oldest is not done: nothing yet
    first_may_finish.set()
    out = [pool.next_done(wait=True), pool.next_done(wait=True)]
    assert [(h.outgoing[0].value, ranges) for h, ranges in out] == [  # type: ignore[union-attr]
        (b"0", {("tweets.raw", 0): (0, 0)}),
        (b"1", {("tweets.raw", 0): (1, 1)}),
    ]
    assert not pool.busy
    pool.shutdown()


def test_a_handlers_exception_comes_out_with_its_batch() -> None:
    def broken(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
        def work() -> HandledBatch:
            raise RuntimeError("a bug")

        return work

    pool = HandlerPool(broken, threads=2)
    pool.submit(batch(0))
    with pytest.raises(RuntimeError, match="a bug"):
        pool.next_done(wait=True)
    pool.shutdown()


def test_the_handler_is_called_in_read_order_on_the_callers_thread() -> None:
    """What must follow the read order (the model a batch takes) is decided there; with one
    thread, the work runs there too."""
    called: list[tuple[str, int]] = []
    worked: list[str] = []

    def handle(records: list[RawRecord], undecodable: list[UndecodableBatch]) -> BatchWork:
        called.append((threading.current_thread().name, records[0].offset))

        def work() -> HandledBatch:
            worked.append(threading.current_thread().name)
            return HandledBatch([])

        return work

    here = threading.current_thread().name
    pool = HandlerPool(handle, threads=1)
    pool.submit(batch(0))
    pool.submit(batch(1))
    assert (called, worked) == ([(here, 0), (here, 1)], [here, here])
    assert pool.next_done(wait=False) is not None
