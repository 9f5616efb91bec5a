"""A new model reaches running workers through the control topic: both swap between two
batches, under traffic, with no tweet lost or scored twice; a bundle that fails its
checksum is refused while the old model serves on; a challenger runs in shadow; rollback
returns to the model before."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from model.bundle import DEFAULT_BUNDLE, copy_as_version, read_metadata
from stream.kafka import KafkaConnection
from stream.models import commands
from stream.models.bundles import chunk_key, chunks, pack, sha256
from stream.models.control import BundleRef, bundle_key, encode
from stream.settings import Settings
from tests.support import Collector, WorkerProcess, wait_for

pytestmark = pytest.mark.integration

PARTITIONS = 3
SWAP_WITHIN_S = 20.0  # announcement to both workers serving, on a loaded 2-core machine


@pytest.fixture
def control(
    unique_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], commands.ControlTopic]]:
    """The control topic as `badbuzz model ...` sees it, read afresh at each call."""
    for key, value in unique_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings()
    kafka = KafkaConnection(unique_env["KAFKA_BOOTSTRAP_SERVERS"])
    yield lambda: commands.ControlTopic(settings, kafka)


class Traffic:
    """Tweets `p<partition>-<n>` to each raw partition in turn, 100 a second."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.sent: list[str] = []
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True}
        )
        self._topic = topic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        for n in itertools.count():
            if self._stop.is_set():
                break
            partition = n % PARTITIONS
            tweet_id = f"p{partition}-{n // PARTITIONS:06d}"
            body = json.dumps({"id": tweet_id, "text": "the crew was lovely, the seat not"})
            self._producer.produce(self._topic, body.encode(), tweet_id.encode(), partition)
            self.sent.append(tweet_id)
            self._producer.poll(0)
            time.sleep(0.01)
        assert self._producer.flush(30) == 0

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def publish_corrupted(control: commands.ControlTopic, bundle: Path) -> None:
    """A bundle whose bytes changed after its checksum was taken (a flipped bit on the way)."""
    version = read_metadata(bundle)["version"]
    data = pack(bundle)
    digest = sha256(data)
    parts = list(chunks(data[:-1] + bytes([data[-1] ^ 1])))
    topic = control.settings.topic_model_bundles
    first = produce_chunks(control.kafka, topic, version, digest, parts)
    ref = BundleRef(version, digest, len(data), topic, 0, first, len(parts))
    control.write(bundle_key(version), encode(ref))


def produce_chunks(
    kafka: KafkaConnection, topic: str, version: str, digest: str, parts: list[bytes]
) -> int:
    """The offset of the first chunk."""
    offsets: list[int] = []
    producer = Producer(kafka.librdkafka({"acks": "all", "enable.idempotence": True}))
    for index, part in enumerate(parts):
        producer.produce(
            topic,
            part,
            chunk_key(version, digest, index),
            0,
            on_delivery=lambda error, message: offsets.append(message.offset()),
        )
    assert producer.flush(30) == 0
    return min(offsets)


def swaps(worker: WorkerProcess, outcome: str) -> float:
    return worker.metrics().get(f'badbuzz_model_swaps_total{{outcome="{outcome}"}}', 0.0)


def versions_in_order(events: list[dict]) -> dict[str, list[str]]:
    """Per raw partition, the model versions its tweets were scored with, runs collapsed."""
    runs: dict[str, list[str]] = {}
    for event in sorted(events, key=lambda e: e["tweet_id"]):
        partition = event["tweet_id"].split("-")[0]
        seen = runs.setdefault(partition, [])
        if not seen or seen[-1] != event["model_version"]:
            seen.append(event["model_version"])
    return runs


def test_workers_swap_refuse_shadow_and_roll_back_under_traffic(
    unique_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    control: Callable[[], commands.ControlTopic],
    tmp_path: Path,
) -> None:
    env = {**unique_env, "BADBUZZ_SHADOW_EVERY": "1", "BADBUZZ_SHADOW_REPORT_S": "1"}
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    original = read_metadata(DEFAULT_BUNDLE)["version"]
    commands.publish(control(), DEFAULT_BUNDLE, "champion")  # what the image serves, on record
    workers = [start_worker(env, name="a"), start_worker(env, name="b")]
    for worker in workers:
        worker.wait_ready(timeout=90)
    events = Collector(bootstrap, env["BADBUZZ_TOPIC_SENTIMENT"])
    with Traffic(bootstrap, env["BADBUZZ_TOPIC_RAW"]) as traffic:
        wait_for(
            lambda: all(w.metrics().get("badbuzz_tweets_consumed_total", 0) > 0 for w in workers),
            60,
            workers,
        )
        commands.publish(
            control(), copy_as_version(DEFAULT_BUNDLE, tmp_path / "v2", "swap-2"), "champion"
        )
        took = wait_for(lambda: all(swaps(w, "swapped") == 1 for w in workers), 30, workers)
        assert took < SWAP_WITHIN_S, f"both workers swapped in {took:.1f} s"

        commands.publish(
            control(), copy_as_version(DEFAULT_BUNDLE, tmp_path / "v3", "swap-3"), "challenger"
        )
        shadowed = (
            'badbuzz_shadow_scored_total{champion="swap-2",version="swap-3"}',
            'badbuzz_model_inference_seconds_count{role="shadow",version="swap-3"}',
        )
        wait_for(
            lambda: all(w.metrics().get(name, 0) > 0 for w in workers for name in shadowed),
            30,
            workers,
        )
        wait_for(lambda: len(control().state.shadow.get("swap-3", {})) == 2, 30, workers)
        tally = control().state.shadow_total("swap-3", "swap-2")  # both workers' reports
        assert tally.agreed >= 0.9 * tally.scored > 0, tally  # the same weights, apart
        assert set(tally.labels) <= {"negative", "neutral", "positive"}  # from own priors

        topic = control()
        publish_corrupted(topic, copy_as_version(DEFAULT_BUNDLE, tmp_path / "bad", "swap-bad"))
        promoted, said = commands.promote(topic, "swap-bad", gated=False)
        assert promoted, said
        wait_for(lambda: all(swaps(w, "refused") == 1 for w in workers), 30, workers)

        assert "swap-2 is champion again" in commands.rollback(control())
        assert f"{original} is champion again" in commands.rollback(control())
        wait_for(lambda: all(swaps(w, "swapped") == 2 for w in workers), 30, workers)
        time.sleep(1)
    sent = set(traffic.sent)
    got = events.poll_until(lambda m: sent <= {e["tweet_id"] for e in m}, timeout=60)
    events.close()

    scored = [e for e in got if e["tweet_id"] in sent]
    assert sent <= {e["tweet_id"] for e in scored}, "tweets lost in the swaps"
    ids = [e["tweet_id"] for e in scored]
    assert len(ids) == len(set(ids)), "tweets scored twice"
    expected = [original, "swap-2", original]
    assert versions_in_order(scored) == {f"p{p}": expected for p in range(PARTITIONS)}
    refusals = [
        line for w in workers for line in w.log_lines() if line.get("event") == "model_refused"
    ]
    assert len(refusals) == 2 and all(line["version"] == "swap-bad" for line in refusals)
    assert all(line["serving"] == "swap-2" and "sha256" in line["reason"] for line in refusals)
