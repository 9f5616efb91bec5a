"""BADBUZZ_PROCESSING_GUARANTEE=exactly_once on a real broker: a worker SIGKILLed mid-stream and
restarted leaves every tweet scored exactly once for a read_committed consumer."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.support import Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration


def test_a_kill_mid_stream_gives_no_duplicate_and_no_loss(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    env = {**unique_env, "BADBUZZ_PROCESSING_GUARANTEE": "exactly_once"}
    total = 10_000
    produce(
        bootstrap,
        env["BADBUZZ_TOPIC_RAW"],
        (tweet_payload(f"x-{n}", f"tweet {n} about my flight to Paris") for n in range(total)),
    )
    # librdkafka's consumers default to isolation.level=read_committed: aborted or still open
    # transactions are never seen
    events = Collector(bootstrap, env["BADBUZZ_TOPIC_SENTIMENT"])
    worker = start_worker(env, name="worker")
    events.poll_until(lambda m: len(m) >= 1_500, timeout=90, alive=lambda: worker.alive)
    worker.kill()
    assert len(events.messages) < total, "the kill came too late to test anything"

    restarted = start_worker(env, name="worker")  # same folder: same transactional id
    events.poll_until(lambda m: len(m) >= total, timeout=180, alive=lambda: restarted.alive)
    time.sleep(3)  # a duplicate would arrive right behind the last event
    events.poll_until(lambda m: False, timeout=2)
    copies = Counter(message["tweet_id"] for message in events.messages)
    assert set(copies) == {f"x-{n}" for n in range(total)}, "tweets lost"
    duplicated = {tweet_id: n for tweet_id, n in copies.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} tweets scored twice, e.g. {list(duplicated)[:5]}"
    events.close()
