"""Commit positions from out-of-order deliveries: only a partition's delivered prefix counts."""

from stream.kafka.offsets import OffsetTracker

RAW0, RAW1 = ("raw", 0), ("raw", 1)


def test_a_batch_delivered_ahead_of_an_earlier_one_waits_for_it() -> None:
    tracker = OffsetTracker()
    tracker.started(RAW0, 0, 9)
    tracker.started(RAW0, 10, 19)
    tracker.started(RAW0, 20, 29)
    assert tracker.delivered(RAW0, 10) is None  # offsets 0-9 may still be lost
    assert tracker.pending([RAW0]) == 3
    assert tracker.delivered(RAW0, 0) == 20  # both first batches are safe now
    assert tracker.delivered(RAW0, 20) == 30
    assert tracker.pending() == 0


def test_partitions_advance_independently() -> None:
    tracker = OffsetTracker()
    tracker.started(RAW0, 5, 5)
    tracker.started(RAW1, 100, 140)
    assert tracker.delivered(RAW1, 100) == 141
    assert tracker.pending([RAW0]) == 1 and tracker.pending([RAW1]) == 0


def test_forgotten_partitions_commit_nothing_later() -> None:
    tracker = OffsetTracker()
    tracker.started(RAW0, 0, 9)
    tracker.forget([RAW0])
    assert tracker.delivered(RAW0, 0) is None
    assert tracker.pending() == 0
