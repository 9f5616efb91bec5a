"""The status board is written by the scoring consumer's threads and read by /status on
Faust's event loop; the lag /status shows is the one Prometheus scrapes."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from stream.observability.metrics import ConsumerLag
from stream.web.status import StatusBoard, lag_from
from tests.unit.test_web import letter


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond, so an unguarded read meets a write within a second."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_a_writer_thread_and_a_reader_never_meet_a_half_made_board(
    eager_thread_switches: None,
) -> None:
    board = StatusBoard(throughput_window_s=3600, max_dead_letters=10_000)
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        for n in range(20_000):
            board.record_batch(1)
            board.record_dead_letters([letter(n)])
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while not done.is_set():
            board.tweets_per_s()
            board.dead_letters()
    except RuntimeError as error:  # "deque mutated during iteration"
        failures.append(error)
    finally:
        writer.join()
    assert not failures, failures
    assert [d.offset for d in board.dead_letters()][:2] == [19_999, 19_998]


def test_status_reads_lag_from_the_consumers_as_a_scrape_does() -> None:
    lag = ConsumerLag()
    scoring = {("tweets.raw", 1): 7, ("tweets.raw", 0): 3}
    faust: dict[tuple[str, int], int] = {("tweets.feedback", 0): 0}
    lag.read_from(lambda: scoring, lambda: faust)
    assert [(e.topic, e.partition, e.lag) for e in lag_from(lag)] == [
        ("tweets.feedback", 0, 0),
        ("tweets.raw", 0, 3),
        ("tweets.raw", 1, 7),
    ]
    [family] = lag.collect()
    assert {(s.labels["topic"], s.labels["partition"], s.value) for s in family.samples} == {
        ("tweets.feedback", "0", 0),
        ("tweets.raw", "0", 3),
        ("tweets.raw", "1", 7),
    }
    scoring = {("tweets.raw", 0): 1}  # partition 1 was revoked: it drops out at once
    lag.read_from(lambda: scoring)
    assert [(e.partition, e.lag) for e in lag_from(lag)] == [(0, 1)]
