"""The demo: a broker, a worker, replayed tweets and a few bad inputs, shown as they flow."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from stream.kafka import KafkaConnection
from stream.replay import produce_tweets, read_tweets
from stream.settings import Settings
from stream.tail import tail
from stream.topics import ensure_badbuzz_topics

DEMO_DIR = Path("var/demo")
BURST_FILE = Path(__file__).resolve().parents[1] / "data" / "demo" / "burst.csv"
DEMO_BRAND = "airparadis"
BURST_SIZE = 60
BAD_INPUTS = (
    b'{"id": "bad-json", "text": "unterminated',
    b'{"id": "bad-encoding", "text": "caf\xe9"}',
    b'{"id": "no-text"}',
    b'{"id": "empty-text", "text": "   "}',
)


def run_demo(settings: Settings, tweets: Path, rate: float, settle_s: float = 20.0) -> int:
    with ExitStack() as stack:
        if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
            kafka = KafkaConnection.from_settings(settings)
        else:
            kafka = KafkaConnection(stack.enter_context(_local_broker()))
        ensure_badbuzz_topics(settings, kafka)
        worker = stack.enter_context(_worker_process(kafka.bootstrap_servers))
        counts: Counter[str] = Counter()
        stop = threading.Event()

        def show(topic: str, line: str) -> None:
            counts[topic] += 1
            print(line, flush=True)

        watcher = threading.Thread(
            target=tail,
            args=(kafka, list(settings.output_topics)),
            kwargs={"from_beginning": True, "keep_going": lambda: not stop.is_set(), "emit": show},
            daemon=True,
        )
        watcher.start()
        print(f"replaying {tweets}: the last 20 minutes of ordinary traffic ...", flush=True)
        sent = produce_tweets(backdated(tweets, span_s=1200), kafka, settings.topic_raw, rate=rate)
        _produce_bad_inputs(kafka, settings.topic_raw)
        print(f"injecting a bad buzz: {BURST_SIZE} angry tweets now ...", flush=True)
        sent += produce_tweets(burst(BURST_SIZE), kafka, settings.topic_raw, rate=rate * 2)
        expected = sent + len(BAD_INPUTS)
        deadline = time.monotonic() + settle_s
        while (
            _outputs(counts, settings) < expected or not counts[settings.topic_alerts]
        ) and time.monotonic() < deadline:
            if worker.poll() is not None:
                print("the worker exited; see var/demo/worker.log", flush=True)
                break
            time.sleep(0.5)
        stop.set()
        watcher.join(5)
        print(
            f"\nsummary: {sent} tweets + {len(BAD_INPUTS)} bad inputs replayed; "
            f"{counts[settings.topic_sentiment]} sentiment events, "
            f"{counts[settings.topic_deadletter]} dead letters, "
            f"{counts[settings.topic_alerts]} alerts",
            flush=True,
        )
        complete = _outputs(counts, settings) >= expected and counts[settings.topic_alerts] > 0
        return 0 if complete else 1


def backdated(path: Path, span_s: float) -> list[dict[str, Any]]:
    """The file's tweets spread evenly over the last `span_s` seconds, as if they had been
    tweeted then: the alert windows see ordinary history before the burst."""
    tweets = list(read_tweets(path))
    start = datetime.now(UTC) - timedelta(seconds=span_s)
    for n, tweet in enumerate(tweets):
        tweet["brand"] = DEMO_BRAND
        tweet["created_at"] = (start + timedelta(seconds=span_s * n / len(tweets))).isoformat()
    return tweets


def burst(size: int) -> Iterator[dict[str, Any]]:
    angry = list(read_tweets(BURST_FILE))
    for n in range(size):
        tweet = angry[n % len(angry)]
        yield {
            "id": f"{tweet['id']}-{n}",
            "text": tweet["text"],
            "brand": DEMO_BRAND,
            "created_at": datetime.now(UTC).isoformat(),
        }


def _outputs(counts: Counter[str], settings: Settings) -> int:
    return counts[settings.topic_sentiment] + counts[settings.topic_deadletter]


def _produce_bad_inputs(kafka: KafkaConnection, topic: str) -> None:
    producer = Producer(kafka.librdkafka())
    for payload in BAD_INPUTS:
        producer.produce(topic, value=payload)
    producer.flush(10)


@contextmanager
def _local_broker() -> Iterator[str]:
    from stream.localkafka import LocalKafka, free_port

    shutil.rmtree(DEMO_DIR / "kafka", ignore_errors=True)
    kafka = LocalKafka(DEMO_DIR / "kafka", port=free_port())
    print("starting a local Kafka broker ...", flush=True)
    bootstrap = kafka.start()
    try:
        yield bootstrap
    finally:
        kafka.stop()


@contextmanager
def _worker_process(bootstrap: str) -> Iterator[subprocess.Popen[bytes]]:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BADBUZZ_DATA_DIR": str(DEMO_DIR / "worker"),
    }
    with (DEMO_DIR / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stream.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        print(f"worker started (pid {process.pid}, log {DEMO_DIR / 'worker.log'})", flush=True)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
