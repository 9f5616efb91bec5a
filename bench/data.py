"""Benchmark payloads: Sentiment140 texts as raw-tweet JSON, preloaded or paced into Kafka."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from confluent_kafka import Producer

from stream.kafka import KafkaConnection
from training.data import csv_rows

SAMPLE = Path("sentiment140") / "train_sample_100k.csv.gz"  # inside the training data folder
FRENCH = Path("french") / "deft2017_task1_train.csv"  # French tweets, in the same folder
Message = tuple[bytes, bytes]


def load_texts(data_dir: Path, path: Path = SAMPLE) -> list[str]:
    """The texts of a file of the folder `Settings.training_data_dir` names: the Sentiment140
    sample, or DEFT-2017's French tweets (`FRENCH`, docs/languages.md)."""
    return [row["text"] for row in csv_rows(data_dir / path) if row["text"].strip()]


def mixed(
    english: list[str], french: list[str], french_share: float
) -> tuple[list[str], list[str]]:
    """As many texts as `english`, French spread evenly at `french_share` (0.5: every other),
    and each one's language."""
    langs = [
        "fr" if int((n + 1) * french_share) > int(n * french_share) else "en"
        for n in range(len(english))
    ]
    texts = [
        french[n % len(french)] if lang == "fr" else text
        for n, (text, lang) in enumerate(zip(english, langs, strict=True))
    ]
    return texts, langs


def tweet_texts(texts: list[str], count: int) -> list[str]:
    """The sample cycled to `count` texts, so every contender scores the same ones."""
    return [texts[i % len(texts)] for i in range(count)]


def payloads(texts: list[str], prefix: str, brands: int = 1) -> list[Message]:
    """Unique ids (the cycle repeats texts, never ids), keyed by id as upstream does; about
    one brand, or spread over `brands` brands in turn."""
    out: list[Message] = []
    for i, text in enumerate(texts):
        tweet_id = f"{prefix}{i}"
        brand = "airparadis" if brands == 1 else f"brand-{i % brands}"
        value = json.dumps({"id": tweet_id, "text": text, "brand": brand})
        out.append((tweet_id.encode(), value.encode()))
    return out


def preload(kafka: KafkaConnection, topic: str, messages: list[Message]) -> None:
    """Bulk-produce with large batches: this is setup, not the thing being measured."""
    producer = Producer(kafka.librdkafka({"linger.ms": 20, "batch.size": 1_000_000}))
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError(f"preload of {topic} was not fully acknowledged")


class PacedProducer(threading.Thread):
    """Offers `rate` tweets/s in 10 ms ticks while a contender runs; linger 1 ms so the
    raw CreateTime is close to when the broker has the tweet."""

    def __init__(self, kafka: KafkaConnection, topic: str, messages: list[Message], rate: float):
        super().__init__(daemon=True)
        self.producer = Producer(kafka.librdkafka({"linger.ms": 1}))
        self.topic = topic
        self.messages = messages
        self.rate = rate
        self.sent = 0
        self.elapsed_s = 0.0

    def run(self) -> None:
        started = time.perf_counter()
        for key, value in self.messages:
            due = started + self.sent / self.rate
            pause = due - time.perf_counter()
            if pause > 0.01:
                self.producer.poll(pause)
            self.producer.produce(self.topic, key=key, value=value)
            self.producer.poll(0)
            self.sent += 1
        self.elapsed_s = time.perf_counter() - started
        self.producer.flush(30)
