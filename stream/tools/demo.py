"""The demo: a broker, a worker, replayed tweets and a few bad inputs, shown as they flow."""

from __future__ import annotations

import json
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
from stream.kafka.local import free_port
from stream.kafka.topics import ensure_badbuzz_topics
from stream.settings import Settings
from stream.tools.notification_sink import NotificationSink
from stream.tools.replay import produce_tweets, read_tweets
from stream.tools.tail import format_line, tail

DEMO_DIR = Path("var/demo")
BURST_FILE = Path(__file__).resolve().parents[2] / "data" / "demo" / "burst.csv"
DEMO_BRAND = "airparadis"
BURST_SIZE = 60
BAD_INPUTS = (
    b'{"id": "bad-json", "text": "unterminated',
    b'{"id": "bad-encoding", "text": "caf\xe9"}',
    b'{"id": "no-text"}',
    b'{"id": "empty-text", "text": "   "}',
)


def run_demo(settings: Settings, tweets: Path, rate: float, settle_s: float = 20.0) -> int:
    tally = DemoTally(settings)
    with ExitStack() as stack:
        if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
            kafka = KafkaConnection.from_settings(settings)
        else:
            kafka = KafkaConnection(stack.enter_context(_local_broker()))
        ensure_badbuzz_topics(settings, kafka)
        worker = stack.enter_context(_badbuzz_process("worker", kafka.bootstrap_servers))
        sink = stack.enter_context(NotificationSink(clock=lambda: datetime.now(UTC)))
        stack.enter_context(
            _badbuzz_process(
                "notify",
                kafka.bootstrap_servers,
                BADBUZZ_ALERTMANAGER_URL=sink.url,
                BADBUZZ_NOTIFY_METRICS_PORT=str(free_port()),
            )
        )
        stop = threading.Event()
        watcher = threading.Thread(
            target=tail,
            args=(kafka, list(settings.output_topics)),
            kwargs={
                "from_beginning": True,
                "keep_going": lambda: not stop.is_set(),
                "render": tally.render,
            },
            daemon=True,
        )
        watcher.start()
        print(f"replaying {tweets}: the last 20 minutes of ordinary traffic ...", flush=True)
        ordinary = produce_tweets(
            backdated(tweets, span_s=1200), kafka, settings.topic_raw, rate=rate
        )
        _produce_bad_inputs(kafka, settings.topic_raw)
        print(f"injecting a bad buzz: {BURST_SIZE} angry tweets now ...", flush=True)
        angry = produce_tweets(burst(BURST_SIZE), kafka, settings.topic_raw, rate=rate * 2)
        expected = ordinary + angry + len(BAD_INPUTS)
        deadline = time.monotonic() + settle_s
        while not (tally.complete(expected) and sink.received) and time.monotonic() < deadline:
            if worker.poll() is not None:
                print(f"the worker exited; see {DEMO_DIR / 'worker.log'}", flush=True)
                break
            time.sleep(0.5)
        stop.set()
        watcher.join(5)
        print("\nstopping the worker, the notifier and the broker ...", flush=True)
    print(tally.summary(ordinary, angry, len(BAD_INPUTS)), flush=True)
    print(
        f"  notifications:    {len(sink.received)} received by the local stand-in for "
        "Alertmanager (docs/notifications.md: routing them to e-mail and chat)",
        flush=True,
    )
    return 0 if tally.complete(expected) and sink.received else 1


class DemoTally:
    """What came out of the worker, for the demo's closing summary."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.labels: Counter[str] = Counter()
        self.dead_letter_reasons: Counter[str] = Counter()
        self.alerts: list[str] = []

    def render(self, topic: str, value: bytes) -> str:
        """Counts the message and returns the line `badbuzz tail` would print for it."""
        line = format_line(topic, value)
        try:
            message = json.loads(value)
        except ValueError:
            return line
        if topic == self.settings.topic_sentiment:
            self.labels[str(message.get("label"))] += 1
        elif topic == self.settings.topic_deadletter:
            self.dead_letter_reasons[str(message.get("reason"))] += 1
        elif topic == self.settings.topic_alerts:
            self.alerts.append(describe_alert(message))
        return line

    def complete(self, expected_outputs: int) -> bool:
        """Every input came out (as an event or a dead letter) and the burst raised an alert."""
        outputs = self.labels.total() + self.dead_letter_reasons.total()
        return outputs >= expected_outputs and bool(self.alerts)

    def summary(self, ordinary: int, angry: int, bad_inputs: int) -> str:
        lines = [
            "summary",
            f"  sent:             {ordinary} ordinary tweets, {angry} angry tweets, "
            f"{bad_inputs} bad inputs",
            f"  sentiment events: {self.labels.total()} ({_counts(self.labels)})",
            f"  dead letters:     {self.dead_letter_reasons.total()} "
            f"({_counts(self.dead_letter_reasons)})",
            f"  alerts:           {len(self.alerts)}",
            *(f"    {alert}" for alert in self.alerts),
            "  the worker and the broker are stopped",
        ]
        return "\n".join(lines)


def describe_alert(alert: dict[str, Any]) -> str:
    """One line a person can act on: what, where, and the numbers behind it."""
    return (
        f"{alert['status']} {alert['kind']} for {alert['scope']}: {alert['count']} of "
        f"{alert['total']} tweets ({alert['share']:.0%}) in the window; rule: {alert['threshold']}"
    )


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items())) or "none"


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


def _produce_bad_inputs(kafka: KafkaConnection, topic: str) -> None:
    producer = Producer(kafka.librdkafka())
    for payload in BAD_INPUTS:
        producer.produce(topic, value=payload)
    producer.flush(10)


@contextmanager
def _local_broker() -> Iterator[str]:
    from stream.kafka.local import LocalKafka

    shutil.rmtree(DEMO_DIR / "kafka", ignore_errors=True)
    kafka = LocalKafka(DEMO_DIR / "kafka", port=free_port())
    print("starting a local Kafka broker ...", flush=True)
    bootstrap = kafka.start()
    try:
        yield bootstrap
    finally:
        kafka.stop()


@contextmanager
def _badbuzz_process(
    command: str, bootstrap: str, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`badbuzz worker` or `badbuzz notify`, logging to var/demo/<command>.log."""
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BADBUZZ_DATA_DIR": str(DEMO_DIR / command),
        # a demo's tweets are all on time: decide windows seconds after they end
        "BADBUZZ_ALERT_LATENESS_S": "5",
        "BADBUZZ_ALERT_STEP_S": "10",
        "BADBUZZ_ALERT_IDLE_GRACE_S": "5",
        **settings,
    }
    log_path = DEMO_DIR / f"{command}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stream.cli", command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        print(f"{command} started (pid {process.pid}, log {log_path})", flush=True)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
