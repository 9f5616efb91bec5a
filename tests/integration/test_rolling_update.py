"""A new model goes live by a rolling restart under traffic, with no tweet lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from model.bundle import DEFAULT_BUNDLE, copy_as_version
from tests.support import Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration


def test_rolling_restart_to_a_new_model_loses_nothing(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    bootstrap, raw = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    old = start_worker(unique_env, name="old")
    sent: list[str] = []
    stop = threading.Event()

    def traffic() -> None:  # 200 tweets/s for as long as the update takes
        while not stop.is_set():
            batch = [tweet_payload(f"r-{len(sent) + i}", "my flight was fine") for i in range(20)]
            produce(bootstrap, raw, batch)
            sent.extend(key.decode() for key, _ in batch)
            time.sleep(0.1)

    producer = threading.Thread(target=traffic)
    producer.start()
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    try:
        events.poll_until(lambda m: len(m) >= 200, timeout=60, alive=lambda: old.alive)
        model_path = str(copy_as_version(DEFAULT_BUNDLE, tmp_path / "champion", "champion-2"))
        new = start_worker({**unique_env, "BADBUZZ_MODEL_PATH": model_path}, name="new")
        events.poll_until(
            lambda m: any(e["model_version"] == "champion-2" for e in m),
            timeout=90,
            alive=lambda: new.alive,
        )
        old.stop()  # SIGTERM: the documented way to retire the old worker
        assert old.process is not None and old.process.returncode is not None
        time.sleep(3)
    finally:
        stop.set()
        producer.join()
    got = events.poll_until(lambda m: set(sent) <= {e["tweet_id"] for e in m}, timeout=90)
    missing = set(sent) - {e["tweet_id"] for e in got}
    assert not missing, f"{len(missing)} tweets lost in the update"
    last = [e for e in got if e["tweet_id"] == sent[-1]]
    assert last and last[-1]["model_version"] == "champion-2"
    events.close()
