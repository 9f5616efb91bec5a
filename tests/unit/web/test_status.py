"""The status board: recent throughput, the last dead letters and the open alerts, bounded;
written by the scoring consumer's threads and read by /status on Faust's event loop; the lag
/status shows is the one Prometheus scrapes."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from schemas import AlertKind, AlertStatus, DeadLetter
from stream.observability.metrics import ConsumerLag
from stream.web.status import StatusBoard, lag_from
from tests.support import sample_alert

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throughput_counts_the_recent_window_only() -> None:
    clock = FakeClock()
    board = StatusBoard(clock=clock, throughput_window_s=10)
    assert board.tweets_per_s() == 0.0
    clock.now += 2
    board.record_batch(100)
    assert board.tweets_per_s() == 50.0  # 2 s since start, shorter than the window
    clock.now += 8
    board.record_batch(100)
    assert board.tweets_per_s() == 20.0
    clock.now += 9
    assert board.tweets_per_s() == 10.0  # the first batch left the window
    clock.now += 30
    assert board.tweets_per_s() == 0.0


def letter(offset: int) -> DeadLetter:
    return DeadLetter(
        source_topic="tweets.raw",
        partition=1,
        offset=offset,
        reason="malformed_json",
        detail="Expecting value",
        payload_base64="",
        payload_size=0,
        payload_truncated=False,
        rejected_at=NOW,
    )


def test_the_last_dead_letters_are_kept_newest_first_and_bounded() -> None:
    board = StatusBoard(max_dead_letters=3)
    board.record_dead_letters([letter(n) for n in range(5)])
    assert [d.offset for d in board.dead_letters()] == [4, 3, 2]
    assert board.dead_letters()[0].reason == "malformed_json"


def test_an_alert_is_open_from_raised_until_resolved_and_the_list_is_bounded() -> None:
    board = StatusBoard(max_open_alerts=2)
    board.record_alerts([sample_alert(AlertStatus.RAISED, scope="a")])
    board.record_alerts(
        [sample_alert(AlertStatus.RAISED, kind=AlertKind.NEGATIVE_FEEDBACK, scope="a")]
    )
    assert [(a.scope, a.kind) for a in board.open_alerts()] == [
        ("a", AlertKind.NEGATIVE_FEEDBACK),
        ("a", AlertKind.NEGATIVE_SENTIMENT),
    ]
    board.record_alerts([sample_alert(AlertStatus.RESOLVED, scope="a")])
    assert [a.kind for a in board.open_alerts()] == [AlertKind.NEGATIVE_FEEDBACK]
    board.record_alerts(
        [sample_alert(AlertStatus.RAISED, scope="b"), sample_alert(AlertStatus.RAISED, scope="c")]
    )
    assert [a.scope for a in board.open_alerts()] == ["c", "b"]
