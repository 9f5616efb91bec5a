"""Produces tweets from a CSV or JSONL file to `tweets.raw`, at a steady rate."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Producer

from stream.kafka import KafkaConnection


def open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def is_json_lines(path: Path) -> bool:
    return ".jsonl" in path.suffixes or ".ndjson" in path.suffixes


class UnusableInputFile(ValueError):
    """A file handed to the CLI that cannot be read as tweets; the message says why."""


def check_tweet_file(path: Path, text_column: str = "text") -> None:
    """Fails with one line a person can act on before a model loads or Kafka is dialled:
    missing or empty file, a CSV without the text column, text that is not UTF-8."""
    if not path.exists():
        raise UnusableInputFile(f"{path}: no such file")
    if not path.is_file():
        raise UnusableInputFile(f"{path}: not a file")
    try:
        bad_line = _first_line_not_utf8(path)
        if bad_line is not None:
            raise UnusableInputFile(
                f"{path}: line {bad_line} is not UTF-8 text; convert the file to UTF-8 "
                "(e.g. with iconv)"
            )
        with open_text(path) as handle:
            if is_json_lines(path):
                header = None
                has_rows = any(line.strip() for line in handle)
            else:
                header = next(csv.reader(handle), None)
                has_rows = header is not None
    except (OSError, EOFError) as error:
        raise UnusableInputFile(f"{path}: cannot be read ({error})") from error
    if not has_rows:
        raise UnusableInputFile(f"{path}: the file is empty")
    if header is not None and text_column not in header:
        found = ", ".join(repr(column) for column in header)
        raise UnusableInputFile(
            f"{path}: no column {text_column!r} (columns found: {found}); "
            "name the right one with --text-column"
        )


def _first_line_not_utf8(path: Path) -> int | None:
    """Line by line on the bytes: a newline byte never occurs inside a UTF-8 character."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def read_tweets(path: Path, text_column: str = "text") -> Iterator[dict[str, Any]]:
    """Rows as raw-tweet dicts; rows without an id get one made from the file and line."""
    name = path.name.split(".")[0]
    with open_text(path) as handle:
        if is_json_lines(path):
            rows: Iterator[dict[str, Any]] = (json.loads(line) for line in handle if line.strip())
        else:
            rows = ({**row, "text": row.get(text_column)} for row in csv.DictReader(handle))
        for number, row in enumerate(rows, start=1):
            row.setdefault("id", f"{name}-{number}")
            yield row


def replay(
    path: Path,
    kafka: KafkaConnection,
    topic: str,
    *,
    rate: float,
    limit: int | None = None,
    brand: str | None = None,
    live_timestamps: bool = True,
    text_column: str = "text",
) -> int:
    """Send up to `limit` tweets of a file at `rate` per second (0 = as fast as possible).

    With `live_timestamps`, `created_at` is the send time, so a replay looks like live
    traffic to the windows; without it, the file's own `created_at` is kept.
    """
    tweets = itertools.islice(read_tweets(path, text_column), limit)
    return produce_tweets(
        (_restamp(tweet, brand, live_timestamps) for tweet in tweets),
        kafka,
        topic,
        rate=rate,
    )


def _restamp(tweet: dict[str, Any], brand: str | None, live: bool) -> dict[str, Any]:
    if brand is not None:
        tweet["brand"] = brand
    if live:
        tweet["created_at"] = datetime.now(UTC).isoformat()
    return tweet


def produce_tweets(
    tweets: Iterable[dict[str, Any]], kafka: KafkaConnection, topic: str, *, rate: float
) -> int:
    """Produce raw-tweet dicts as JSON keyed by id, paced to `rate` per second."""
    producer = Producer(kafka.librdkafka({"linger.ms": 5}))
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    sent = 0
    for tweet in tweets:
        _produce(producer, topic, str(tweet["id"]).encode(), json.dumps(tweet).encode())
        sent += 1
        if interval:
            pause = started + sent * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    producer.flush(30)
    return sent


def _produce(producer: Producer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value)
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.1)
