"""The raw partitions' lag, measured on an interval, and dropped at once for a partition
the consumer no longer owns."""

from __future__ import annotations

from confluent_kafka import TopicPartition

from stream.kafka.scoring.lag import RawLag

RAW0, RAW1 = ("tweets.raw", 0), ("tweets.raw", 1)


class Positions:
    """A consumer's positions and high watermarks, and how often it was asked."""

    def __init__(self) -> None:
        self.position_of = {0: 10, 1: -1001}  # partition 1: nothing read yet
        self.watermarks = {0: (0, 25), 1: (0, 0)}
        self.asked = 0

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        self.asked += 1
        return [
            TopicPartition(tp.topic, tp.partition, self.position_of[tp.partition])
            for tp in partitions
        ]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        return self.watermarks[tp.partition]


def test_lag_is_measured_once_per_interval() -> None:
    now = [100.0]
    lag = RawLag(interval_s=5.0, clock=lambda: now[0])
    consumer = Positions()
    lag.measure_when_due(consumer, {RAW0, RAW1})  # type: ignore[arg-type]
    assert lag.latest == {RAW0: 15, RAW1: 0}  # an empty partition is caught up
    consumer.position_of[0] = 25
    now[0] += 4.9
    lag.measure_when_due(consumer, {RAW0, RAW1})  # type: ignore[arg-type]
    assert (consumer.asked, lag.latest[RAW0]) == (1, 15)
    now[0] += 0.1
    lag.measure_when_due(consumer, {RAW0, RAW1})  # type: ignore[arg-type]
    assert (consumer.asked, lag.latest[RAW0]) == (2, 0)


def test_a_rebalance_drops_a_lost_partition_now_and_measures_again_next() -> None:
    lag = RawLag(interval_s=5.0, clock=lambda: 100.0)
    consumer = Positions()
    lag.measure_when_due(consumer, {RAW0, RAW1})  # type: ignore[arg-type]
    lag.changed({RAW1})
    assert lag.latest == {RAW1: 0}
    lag.measure_when_due(consumer, {RAW1})  # type: ignore[arg-type]
    assert consumer.asked == 2
