"""Peer: the loop a user would write with confluent-kafka (consume 64, score, produce,
flush, commit). It reuses the worker's validate/score/serialize step, so only the
transport differs. Usage: python -m bench.plain_loop RAW OUT GROUP BATCH (the broker and its
security come from the settings' environment, as for the worker)."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime

from confluent_kafka import Consumer, Message, Producer

from model import SentimentModel
from stream.kafka import KafkaConnection
from stream.pipeline.labelshift import label_shift_from
from stream.pipeline.scoring import process_batch
from stream.records import RawRecord
from stream.settings import Settings

MAX_PAYLOAD = 16_384


def record(message: Message) -> RawRecord:
    return RawRecord(
        topic=message.topic() or "",
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        timestamp=message.timestamp()[1] / 1000,
        value=message.value(),
    )


def main(raw: str, out: str, group: str, batch: int) -> None:
    settings = Settings()
    model = SentimentModel.load()
    shift = label_shift_from(settings, model)
    kafka = KafkaConnection.from_settings(settings)
    consumer = Consumer(
        kafka.librdkafka(
            {"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False}
        )
    )
    producer = Producer(kafka.librdkafka({"linger.ms": 5}))
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.clear())
    consumer.subscribe([raw])
    while running:
        messages = [m for m in consumer.consume(batch, timeout=0.05) if m.error() is None]
        if not messages:
            continue
        outcome = process_batch(
            [record(m) for m in messages],
            model,
            shift,
            max_payload_bytes=MAX_PAYLOAD,
            deadletter_payload_bytes=0,
            now=datetime.now(UTC),
            event_time_max_ahead_s=settings.event_time_max_ahead_s,
        )
        for event in outcome.events:
            producer.produce(out, key=event.tweet_id.encode(), value=event.model_dump_json())
        producer.flush()
        consumer.commit(asynchronous=True)
    consumer.close()


if __name__ == "__main__":
    main(*sys.argv[1:4], int(sys.argv[4]))
