"""Workers join and leave a group under steady traffic, and none of them takes another down
(seen as faust-streaming #94: a rebalance crashed the first worker with `IllegalStateError:
Partition ... is not assigned`, or `AssertionError`, from the lag timer; before the fix this
test crashed it within 5 cycles)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.support import Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration

CYCLES = 10
BRAND = "scalair"
ANGRY = 20  # BADBUZZ_ALERT_COLD_START_NEGATIVES is 15 below: a first-seen brand alerts once


def test_workers_joining_and_leaving_ten_times_crash_nothing_and_lose_nothing(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    env = {
        **unique_env,
        "BADBUZZ_SESSION_TIMEOUT_S": "6",
        "BADBUZZ_COMMIT_INTERVAL_S": "0.2",  # a commit is always close to a revoke
        "BADBUZZ_LAG_REPORT_INTERVAL_S": "0.02",  # partitions measured all through a rebalance
        "BADBUZZ_ALERT_COLD_START_NEGATIVES": "15",
    }
    bootstrap, raw = env["KAFKA_BOOTSTRAP_SERVERS"], env["BADBUZZ_TOPIC_RAW"]
    first = start_worker(env, name="first")
    first.wait_ready(timeout=90)
    sent: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        """About 200 tweets/s, and every 5th batch an angry one about the brand."""
        for batches in itertools.count():
            if stop.is_set():
                return
            batch = [tweet_payload(f"t-{len(sent) + i}", "my flight was fine") for i in range(20)]
            angry = batches // 5
            if angry < ANGRY and batches % 5 == 0:
                batch.append(
                    tweet_payload(
                        f"angry-{angry}",
                        "worst airline ever, lost my bags, rude staff, never again",
                        brand=BRAND,
                        created_at=datetime.now(UTC).isoformat(),
                    )
                )
            produce(bootstrap, raw, batch)
            sent.extend(key.decode() for key, _ in batch)
            time.sleep(0.1)

    producer = threading.Thread(target=traffic)
    producer.start()
    exits = []
    try:
        for cycle in range(CYCLES):
            joiner = start_worker(env, name=f"joiner-{cycle}")
            joiner.wait_ready(timeout=60)
            joiner.stop()
            exits.append(joiner.process.returncode if joiner.process else None)
            assert first.alive, f"cycle {cycle}: the first worker died\n{first.log_tail()}"
    finally:
        stop.set()
        producer.join()
    events = Collector(bootstrap, env["BADBUZZ_TOPIC_SENTIMENT"])
    alerts = Collector(bootstrap, env["BADBUZZ_TOPIC_ALERTS"])
    got = events.poll_until(
        lambda m: set(sent) <= {e["tweet_id"] for e in m}, timeout=60, alive=lambda: first.alive
    )
    missing = set(sent) - {e["tweet_id"] for e in got}
    assert not missing, f"{len(missing)} tweets without a sentiment event"
    assert len([i for i in sent if i.startswith("angry")]) == ANGRY
    raised = alerts.poll_until(lambda m: False, timeout=5)
    assert [(a["kind"], a["status"]) for a in raised if a["scope"] == BRAND] == [
        ("negative_sentiment", "raised")
    ], raised
    assert exits == [0] * CYCLES, exits
    assert first.alive
    crashed = [line for line in first.log_lines() if line.get("level") in ("error", "critical")]
    assert not crashed, crashed[:3]
    events.close()
    alerts.close()
