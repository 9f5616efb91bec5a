"""Producers the project did not write, and input it cannot decode, on a real broker."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from stream.kafka.local import console_produce
from tests.support import Collector, WorkerProcess, produce

pytestmark = pytest.mark.integration

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
TWEETS_PER_BATCH = 8
FEEDBACK_PER_BATCH = 2


def tweet(tweet_id: str, french: bool = False) -> tuple[str, str]:
    """French ones are not ASCII, and stay as written (JSON carries them unescaped)."""
    text = (
        f"Vol {tweet_id} annulé, personne au comptoir, c'est une honte 😡"
        if french
        else f"boarding now, flight {tweet_id}"
    )
    return tweet_id, json.dumps({"id": tweet_id, "text": text}, ensure_ascii=False)


def feedback(tweet_id: str) -> tuple[str, str]:
    report = {
        "tweet_id": tweet_id,
        "verdict": "wrong",
        "predicted_label": "positive",
        "text": "not a compliment at all",
        "reporter": f"user-{tweet_id}",
    }
    return tweet_id, json.dumps(report)


def as_bytes(records: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(key.encode(), value.encode()) for key, value in records]


def ids(messages: list[dict], field: str = "tweet_id") -> set[str]:
    return {message[field] for message in messages}


def test_every_codec_from_librdkafka_and_from_kafkas_console_producer_is_read(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw, feedback_topic = unique_env["BADBUZZ_TOPIC_RAW"], unique_env["BADBUZZ_TOPIC_FEEDBACK"]
    started = time.monotonic()
    worker = start_worker(unique_env)
    sends: list[tuple[str, str, str, list[tuple[str, str]]]] = []  # client, codec, topic, records
    for client in ("librdkafka", "java"):
        for codec in CODECS:
            prefix = f"{client}-{codec}"
            tweets = [tweet(f"{prefix}-{n}", french=n % 2 == 1) for n in range(TWEETS_PER_BATCH)]
            sends.append((client, codec, raw, tweets))
            if client == "librdkafka":  # a JVM start per run: the Java client sends tweets only
                reports = [feedback(f"fb-{prefix}-{n}") for n in range(FEEDBACK_PER_BATCH)]
                sends.append((client, codec, feedback_topic, reports))

    def send(client: str, codec: str, topic: str, records: list[tuple[str, str]]) -> None:
        if client == "java":
            console_produce(bootstrap, topic, records, compression=codec)
        else:
            produce(bootstrap, topic, as_bytes(records), {"compression.type": codec})

    with ThreadPoolExecutor(max_workers=2) as pool:  # a JVM start is mostly one core's work
        list(pool.map(lambda args: send(*args), sends))
    produced_s = time.monotonic() - started

    tweet_ids = {key for _, _, topic, records in sends if topic == raw for key, _ in records}
    report_ids = {key for _, _, topic, records in sends if topic != raw for key, _ in records}
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    labelled = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_FEEDBACK_LABELLED"])
    got = events.poll_until(lambda m: ids(m) >= tweet_ids, timeout=90, alive=lambda: worker.alive)
    rows = labelled.poll_until(
        lambda m: ids(m) >= report_ids, timeout=30, alive=lambda: worker.alive
    )
    print(f"produced in {produced_s:.1f}s, all read {time.monotonic() - started:.1f}s after start")

    assert ids(got) == tweet_ids, worker.log_tail()
    sent = {
        key: json.loads(value)["text"]
        for _, _, topic, records in sends
        if topic == raw
        for key, value in records
    }
    read = {m["tweet_id"]: (m["text"], m["lang"]) for m in got}
    expected = {key: (text, "fr" if "annulé" in text else "en") for key, text in sent.items()}
    assert read == expected  # every client's UTF-8 read as written, French read as French
    assert ids(rows) == report_ids, worker.log_tail()
    dead_letters = {
        name: count
        for name, count in worker.metrics().items()
        if name.startswith("badbuzz_dead_letters_total{")
    }
    assert dead_letters and set(dead_letters.values()) == {0.0}, dead_letters
    events.close()
    labelled.close()


NO_CRAMJAM = """import sys

sys.modules["cramjam"] = None  # as if it were not installed: aiokafka then has no zstd
"""


def committed_offset(bootstrap: str, group: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        [committed] = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return int(committed.offset)
    finally:
        consumer.close()


def test_an_undecodable_batch_is_dead_lettered_and_the_records_around_it_are_processed(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw, feedback_topic = unique_env["BADBUZZ_TOPIC_RAW"], unique_env["BADBUZZ_TOPIC_FEEDBACK"]
    # One key for everything, so each topic's batches land in one partition, in this order,
    # and the worker's first fetch holds the valid batch before the poison and those after.
    batches = [("none", "before"), ("zstd", "poison"), ("gzip", "after-gzip"), ("none", "after")]
    for codec, name in batches:
        tweets = [(b"k", tweet(f"{name}-{n}")[1].encode()) for n in range(5)]
        produce(bootstrap, raw, tweets, {"compression.type": codec})
        reports = [(b"k", feedback(f"fb-{name}-{n}")[1].encode()) for n in range(2)]
        produce(bootstrap, feedback_topic, reports, {"compression.type": codec})
    fault = tmp_path / "no-cramjam"
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(NO_CRAMJAM)

    worker = start_worker(unique_env, python_path=[fault])
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    labelled = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_FEEDBACK_LABELLED"])
    letters = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_DEADLETTER"])
    # tweets.raw is read by librdkafka, which carries every codec itself: even the batch that
    # aiokafka could not decode here is scored; the feedback topic's is dead-lettered.
    valid = {f"{name}-{n}" for _, name in batches for n in range(5)}
    got = events.poll_until(lambda m: ids(m) >= valid, timeout=90, alive=lambda: worker.alive)
    rows = labelled.poll_until(lambda m: len(m) >= 6, timeout=30, alive=lambda: worker.alive)
    dead = letters.poll_until(lambda m: len(m) >= 1, timeout=30, alive=lambda: worker.alive)

    assert ids(got) == valid, worker.log_tail()
    valid_reports = {f"fb-{name}-{n}" for _, name in batches if name != "poison" for n in (0, 1)}
    assert ids(rows) == valid_reports, worker.log_tail()
    distinct = {(d["source_topic"], d["offset"], d["reason"], d["detail"]) for d in dead}
    partitions = {d["source_topic"]: d["partition"] for d in dead}
    expected = {(feedback_topic, 2, 3)}
    assert distinct == {
        (
            topic,
            first,
            "undecodable_batch",
            f"offsets {first}-{last} of {topic} partition {partitions[topic]} skipped: "
            "UnsupportedCodecError: Libraries for zstd compression codec not found",
        )
        for topic, first, last in expected
    }
    assert worker.alive
    # the consumer moved past the poison, and so do its commits
    deadline = time.monotonic() + 15
    group, topic = unique_env["BADBUZZ_APP_ID"], feedback_topic
    while committed_offset(bootstrap, group, topic, partitions[topic]) < 8:
        assert time.monotonic() < deadline, "the commit never moved past the undecodable batch"
        time.sleep(0.5)
    for collector in (events, labelled, letters):
        collector.close()
