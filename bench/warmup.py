"""A freshly started broker is warmed before anything is measured.

Kafka runs on the JVM: the first seconds of a new traffic shape (small paced produce
requests, fetches that return a few records, consumer offsets) compile that code path, and the
first contender's paced phase measured the broker's compiler, not the contender
(docs/benchmark.md gives the figures). A production broker is warm, so the bench runs the same
shapes once, unmeasured: a paced producer, a relay that consumes, produces and commits, and a
reader.
"""

from __future__ import annotations

import threading
import uuid

from confluent_kafka import Consumer, Producer

from bench.data import PacedProducer, payloads
from bench.kafka_io import OutputReader
from stream.kafka import KafkaConnection
from stream.kafka.topics import ensure_topics


class _Relay(threading.Thread):
    """consume -> produce -> commit, the request mix every contender makes."""

    def __init__(self, kafka: KafkaConnection, source: str, target: str) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            kafka.librdkafka({"group.id": f"{source}-relay", "auto.offset.reset": "earliest"})
        )
        self.producer = Producer(kafka.librdkafka({"linger.ms": 2, "enable.idempotence": True}))
        self.source, self.target = source, target
        self.stopping = threading.Event()

    def run(self) -> None:
        self.consumer.subscribe([self.source])
        while not self.stopping.is_set():
            for message in self.consumer.consume(256, 0.02):
                if message.error() is None:
                    self.producer.produce(self.target, key=message.key(), value=message.value())
            self.producer.poll(0)
        self.producer.flush(30)
        self.consumer.close()


def warm_broker(
    kafka: KafkaConnection, partitions: int, texts: list[str], seconds: float, rate: float
) -> None:
    """`seconds` of paced traffic at `rate` tweets/s through a relay, on throwaway topics."""
    if seconds <= 0:
        return
    name = f"bench-warmup-{uuid.uuid4().hex[:6]}"
    source, target = f"{name}.raw", f"{name}.out"
    ensure_topics(kafka, [source, target], partitions)
    count = max(1, int(rate * seconds))
    messages = payloads([texts[i % len(texts)] for i in range(count)], "w")
    relay = _Relay(kafka, source, target)
    reader = OutputReader(kafka, target)
    producer = PacedProducer(kafka, source, messages, rate)
    relay.start()
    producer.start()
    while producer.is_alive():
        reader.catch_up()
        producer.join(0.25)
    relay.stopping.set()
    relay.join(60)
    reader.close()
