"""Helpers shared by tests: worker processes, producing and collecting, hostile inputs, and
stand-ins for the confluent-kafka clients."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from hypothesis import strategies as st

from schemas import Alert, AlertExample, AlertKind, AlertStatus, AlertTerm
from stream.kafka import KafkaConnection

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# the first rows of each training set, laid out as the full data folder (tests/fixtures/SOURCE.md)
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
TRAINING_DATA = FIXTURES / "data"


def french_polar_rows() -> list[dict[str, str]]:
    """Human-labelled French tweets (text, label negative/positive, source): fixtures/SOURCE.md."""
    with open(FIXTURES / "french_polar.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connection(kafka: KafkaConnection | str) -> KafkaConnection:
    """Tests on the shared plaintext broker pass its bootstrap string; secured ones a
    connection."""
    return kafka if isinstance(kafka, KafkaConnection) else KafkaConnection(kafka)


FAST_ALERTS = {
    # windows are decided once the input watermark is the lateness past their end: a short
    # lateness and step, so a live alert comes within seconds, not the default's minutes
    "BADBUZZ_ALERT_LATENESS_S": "5",
    "BADBUZZ_ALERT_STEP_S": "5",
    "BADBUZZ_ALERT_IDLE_GRACE_S": "5",
}


# the alert tests' worker: a floor of 15 (complaint weight), one alert per scope in ten minutes
ALERT_ENV = {
    "BADBUZZ_ALERT_MIN_NEGATIVES": "15",
    "BADBUZZ_ALERT_COOLDOWN_S": "600",
    **FAST_ALERTS,
}
ANGRY_TWEETS = [
    "worst airline ever, flight cancelled and no refund, disgusting",
    "lost my luggage again, rude staff, never flying with them again",
    "delayed 6 hours, no food, no information, terrible service",
    "awful experience, dirty plane and the crew was so rude",
]


def now_iso(offset_s: float = 0.0) -> str:
    """A created_at `offset_s` seconds from now."""
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


def burst(
    prefix: str, count: int, brand: str, created_at: str | None = None, first: int = 0
) -> list[tuple[bytes, bytes]]:
    """`count` angry tweets about `brand`, ids `prefix-first`, `prefix-first+1`..."""
    return [
        tweet_payload(
            f"{prefix}-{n}",
            ANGRY_TWEETS[n % len(ANGRY_TWEETS)],
            brand=brand,
            created_at=created_at or now_iso(),
        )
        for n in range(first, first + count)
    ]


ALERT_T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample_alert(
    status: AlertStatus = AlertStatus.RAISED, at: datetime = ALERT_T0, **extra: object
) -> Alert:
    """An alert as the notifier receives it, with an example and a term that need escaping."""
    fields = {
        "alert_id": "a1",
        "kind": AlertKind.NEGATIVE_SENTIMENT,
        "status": status,
        "scope": "airparadis",
        "window_start": at - timedelta(minutes=5),
        "window_end": at,
        "count": 28,
        "total": 40,
        "share": 0.7,
        "threshold": "28 negatives >= 3.0x the usual 3.6",
        "examples": [AlertExample(tweet_id="1", text="flight <b>cancelled</b>\x1b[2J " * 5)],
        "terms": [AlertTerm(term="cancelled", z_score=3.1, count=7)],
        "raised_at": at,
        **extra,
    }
    return Alert.model_validate(fields)


def topic_env(bootstrap: str, suffix: str) -> dict[str, str]:
    """One test's own topics and group, with alerts decided quickly."""
    return {
        **FAST_ALERTS,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BADBUZZ_APP_ID": f"badbuzz-test-{suffix}",
        "BADBUZZ_TOPIC_RAW": f"raw-{suffix}",
        "BADBUZZ_TOPIC_SENTIMENT": f"sentiment-{suffix}",
        "BADBUZZ_TOPIC_FEEDBACK": f"feedback-{suffix}",
        "BADBUZZ_TOPIC_FEEDBACK_LABELLED": f"labelled-{suffix}",
        "BADBUZZ_TOPIC_ALERTS": f"alerts-{suffix}",
        "BADBUZZ_TOPIC_DEADLETTER": f"deadletter-{suffix}",
        "BADBUZZ_TOPIC_MODELS": f"models-{suffix}",
        "BADBUZZ_TOPIC_MODEL_BUNDLES": f"bundles-{suffix}",
    }


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    workers: list[WorkerProcess],
    what: str = "the condition",
) -> float:
    """Seconds until `condition` held, with the workers' logs if it never did."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            tails = "\n".join(w.log_tail(15) for w in workers)
            raise AssertionError(f"timed out waiting for {what}:\n{tails}")
        assert all(w.alive for w in workers), "a worker died"
        time.sleep(0.2)
    return time.monotonic() - started


class WorkerProcess:
    """`badbuzz worker` (or another long-running command) in a child process, as operators
    run it."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        *,
        cwd: Path | None = None,
        python_path: Sequence[Path] = (),
        command: str = "worker",
    ) -> None:
        """`cwd`: run there with the default data dir instead of one under `workdir`.
        `python_path`: folders imported ahead of the project's, e.g. a fault-injecting
        `sitecustomize.py` that runs in the worker process only. `command`: e.g. "notify",
        whose /metrics is then on `web_port` too."""
        self.command = command
        self.env = env
        self.workdir = workdir
        self.cwd = cwd
        self.python_path = [*python_path, PROJECT_ROOT]
        self.process: subprocess.Popen[bytes] | None = None
        self.web_port = free_port()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **self.env,
            "BADBUZZ_DATA_DIR": str(self.workdir / "data"),
            "BADBUZZ_WEB_PORT": str(self.web_port),
            "BADBUZZ_NOTIFY_METRICS_PORT": str(self.web_port),
            "BADBUZZ_WEB_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(str(path) for path in self.python_path),
        }
        if self.cwd is not None:
            del env["BADBUZZ_DATA_DIR"]
        log = (self.workdir / "worker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stream.cli", self.command],
            cwd=self.cwd or self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / "worker.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def log_lines(self) -> list[dict]:
        """The worker's JSON log lines (LiteRT's native code also writes a plain line)."""
        text = (self.workdir / "worker.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of a page of the worker's web server; (0, "") while it is down."""
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def request(
        self, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """Status, headers and body of a GET (or, with a body, a POST) to the web server."""
        url = f"http://127.0.0.1:{self.web_port}{path}"
        request = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.get("/ready")[0] != 200:
            if not self.alive or time.monotonic() > deadline:
                raise AssertionError(f"worker not ready:\n{self.log_tail()}")
            time.sleep(0.5)

    def metrics(self) -> dict[str, float]:
        """Its Prometheus samples by name with labels, e.g. `badbuzz_tweets_consumed_total`."""
        _, body = self.get("/metrics")
        samples = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when a machine dies."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        if not self.alive or self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def produce(
    kafka: KafkaConnection | str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None]],
    config: dict[str, str | int] | None = None,
) -> int:
    """`config`: more librdkafka producer settings, e.g. `{"compression.type": "zstd"}`."""
    # idempotent: a retried send must not put a tweet on the topic twice, where a test would
    # take it for the worker's duplicate
    settings = {"linger.ms": 5, "enable.idempotence": True, **(config or {})}
    producer = Producer(connection(kafka).librdkafka(settings))
    count = 0
    for key, value in messages:
        producer.produce(topic, key=key, value=value)
        producer.poll(0)
        count += 1
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} test messages were not delivered"
    return count


def tweet_payload(tweet_id: str, text: str, **extra: object) -> tuple[bytes, bytes]:
    return tweet_id.encode(), json.dumps({"id": tweet_id, "text": text, **extra}).encode()


def wrong_prediction_report(tweet_id: str, **extra: object) -> tuple[bytes, bytes]:
    """A user's feedback that a tweet scored positive was not, each tweet's from its own
    reporter, written by a trusted application."""
    report = {
        "tweet_id": tweet_id,
        "verdict": "wrong",
        "predicted_label": "positive",
        "text": "not a compliment at all",
        "reporter": f"user-{tweet_id}",
        "source": "kafka:User:support-app",
        **extra,
    }
    return tweet_id.encode(), json.dumps(report).encode()


class Collector:
    """Reads a topic from the beginning with its own group, accumulating decoded JSON."""

    def __init__(self, kafka: KafkaConnection | str, topic: str) -> None:
        self.messages: list[dict] = []
        self.consumer = Consumer(
            connection(kafka).librdkafka(
                {
                    "group.id": f"collector-{uuid.uuid4().hex[:8]}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                }
            )
        )
        self.consumer.subscribe([topic])

    def poll_until(
        self,
        done: Callable[[list[dict]], bool],
        timeout: float,
        alive: Callable[[], bool] = lambda: True,
    ) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not done(self.messages) and time.monotonic() < deadline:
            for message in self.consumer.consume(500, timeout=0.5):
                if message.error() is None:
                    self.messages.append(json.loads(message.value()))
            if not alive():
                raise AssertionError("the worker process died")
        return self.messages

    def close(self) -> None:
        self.consumer.close()


# Hostile JSON for property tests, as raw text: some of it (an integer past Python's digit
# limit, nesting past its recursion limit) Python cannot even build to serialise.
HOSTILE_FRAGMENTS = (
    "1" * 5_000,
    "[" * 1_100 + "]" * 1_100,
    '{"a":' * 1_100 + "1" + "}" * 1_100,
    '"\\ud800"',
    '"\\u0000\\u001b[2J\\u202e"',
    '"9999-12-31T23:59:59-14:00"',
    '"0001-01-01T00:00:00+14:00"',
    '"Sun Mar 01 12:30:00 +9999 2026"',
    "9.2e15",
    "-1",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    '"' + "x" * 5_000 + '"',
    '"' + "a.a." * 1_000 + '"',
)
FIELDS = ("id", "text", "created_at", "user", "lang", "brand", "tweet_id", "verdict")
FIELDS += ("corrected_label", "predicted_label", "reported_at", "comment")


def _json_fragments() -> st.SearchStrategy[str]:
    plain = st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=6,
    )
    return st.one_of(plain.map(json.dumps), st.sampled_from(HOSTILE_FRAGMENTS))


def json_object(pairs: dict[str, str]) -> bytes:
    """A JSON object from its keys and their values' JSON text."""
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs.items()) + "}").encode()


hostile_fields = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8), _json_fragments(), max_size=8
)
VALID_CORES = ({}, {"id": '"1"', "text": '"late again"'}, {"tweet_id": '"1"', "verdict": '"wrong"'})
hostile_payloads = st.one_of(
    st.binary(max_size=200),
    _json_fragments().map(str.encode),
    st.builds(
        lambda core, fields: json_object({**core, **fields}),
        st.sampled_from(VALID_CORES),
        hostile_fields,
    ),
    hostile_fields.map(lambda fields: json_object(fields).decode().encode("utf-16")),
)


DeliveryCallback = Callable[[KafkaError | None, None], None]


@dataclass
class FakeProducer:
    """A confluent-kafka producer whose delivery reports wait for `ack`, then run on the next
    poll, as librdkafka's do; transactional calls are recorded."""

    produced: list[tuple[str, bytes]] = field(default_factory=list)
    waiting: list[tuple[bytes, DeliveryCallback | None]] = field(default_factory=list)
    answered: list[tuple[DeliveryCallback | None, KafkaError | None]] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    fail_commit: KafkaError | None = None

    def produce(
        self,
        topic: str,
        key: bytes | None = None,
        value: bytes = b"",
        partition: int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        self.produced.append((topic, value))
        self.waiting.append((value, on_delivery))

    def ack(self, value: bytes, error: KafkaError | None = None) -> None:
        [entry] = [entry for entry in self.waiting if entry[0] == value]
        self.waiting.remove(entry)
        self.answered.append((entry[1], error))

    def poll(self, timeout: float = 0) -> int:
        answered, self.answered = self.answered, []
        for report, error in answered:
            if report is not None:
                report(error, None)
        return len(answered)

    def flush(self, timeout: float = 0) -> int:
        return self.poll()

    def begin_transaction(self) -> None:
        self.transactions.append("begin")

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: object, timeout: float
    ) -> None:
        self.transactions.append(f"offsets {[(tp.partition, tp.offset) for tp in offsets]}")

    def commit_transaction(self, timeout: float) -> None:
        if self.fail_commit is not None:
            raise KafkaException(self.fail_commit)
        self.transactions.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.transactions.append("abort")


@dataclass
class FakeConsumer:
    """What a sender asked of its consumer: offsets stored, seeks."""

    stored: list[tuple[int, int]] = field(default_factory=list)
    seeks: list[tuple[int, int]] = field(default_factory=list)

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        self.stored += [(tp.partition, tp.offset) for tp in offsets]

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))

    def consumer_group_metadata(self) -> object:
        return object()
