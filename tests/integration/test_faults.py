"""Faults of the worker's own making on a real broker: a bare folder, an input whose handling
raises, and what the logs show of them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support import (
    Collector,
    WorkerProcess,
    produce,
    tweet_payload,
    wrong_prediction_report,
)

pytestmark = pytest.mark.integration


def test_the_worker_starts_in_an_empty_folder_and_its_log_is_plain_json(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    empty = tmp_path / "empty"
    empty.mkdir()
    worker = start_worker(unique_env, cwd=empty)
    produce(
        bootstrap,
        unique_env["BADBUZZ_TOPIC_RAW"],
        [tweet_payload("fresh-1", "lost my luggage and nobody answers, awful airline")],
    )
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    got = events.poll_until(lambda m: len(m) >= 1, timeout=90, alive=lambda: worker.alive)
    assert [(m["tweet_id"], m["label"]) for m in got] == [("fresh-1", "negative")]
    assert (empty / "var" / "worker").is_dir()
    worker.stop()
    log = (worker.workdir / "worker.log").read_bytes()
    assert b"\x1b" not in log and b"\x08" not in log
    # no banner or "OK" either; the one plain line is LiteRT's C++ logger, not ours
    plain = [line for line in log.decode().splitlines() if not line.startswith("{")]
    assert plain == ["INFO: Created TensorFlow Lite XNNPACK delegate for CPU."]
    assert any(line["event"] == "batch_done" for line in worker.log_lines())
    events.close()


def test_a_signal_whose_handling_raises_is_dead_lettered_and_alerts_go_on(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """The alerts agent is handed valid JSON that is not a signal: it retries, dead-letters it
    with the error and its position, and still raises the alert of the reports behind it."""
    env = {**unique_env, "BADBUZZ_PROCESSING_ATTEMPTS": "3", "BADBUZZ_PROCESSING_BACKOFF_S": "0.1"}
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    signals_topic = f"{env['BADBUZZ_APP_ID']}-signals"
    worker = start_worker(env)
    worker.wait_ready(timeout=90)
    # every signals partition gets the watermarks, so any partition is one real signals go to
    produce(bootstrap, signals_topic, [(b"close", b'{"not": "a signal"}')])
    now = datetime.now(UTC)
    reports = [
        wrong_prediction_report(
            f"c-{n}", reported_at=(now - timedelta(seconds=20 * n)).isoformat(), brand="close"
        )
        for n in range(3)
    ]
    produce(bootstrap, env["BADBUZZ_TOPIC_FEEDBACK"], [(b"x", b"{not json"), *reports])

    alerts = Collector(bootstrap, env["BADBUZZ_TOPIC_ALERTS"])
    got = alerts.poll_until(lambda m: len(m) >= 1, timeout=60, alive=lambda: worker.alive)
    assert [(a["kind"], a["scope"], a["status"]) for a in got] == [
        ("negative_feedback", "close", "raised")
    ]
    letters = Collector(bootstrap, env["BADBUZZ_TOPIC_DEADLETTER"])
    dead = letters.poll_until(lambda m: len(m) >= 2, timeout=30)
    by_reason = {letter["reason"]: letter for letter in dead}
    assert sorted(by_reason) == ["malformed_json", "processing_failed"]
    poison = by_reason["processing_failed"]
    assert poison["source_topic"] == signals_topic
    # 3 attempts alone, or 3 with the batch it came in and one more alone
    assert re.fullmatch(
        rf"KeyError: 'rows' \(after [34] attempts; {re.escape(signals_topic)} partition "
        rf"{poison['partition']} offset {poison['offset']}\)",
        poison["detail"],
    ), poison["detail"]
    assert by_reason["malformed_json"]["source_topic"] == env["BADBUZZ_TOPIC_FEEDBACK"]

    samples = worker.metrics()
    assert samples['badbuzz_dead_letters_total{reason="processing_failed"}'] == 1
    assert (
        samples[f'badbuzz_messages_consumed_total{{topic="{env["BADBUZZ_TOPIC_FEEDBACK"]}"}}'] == 4
    )
    assert samples[f'badbuzz_messages_consumed_total{{topic="{signals_topic}"}}'] >= 2

    lines = worker.log_lines()
    retries = [line for line in lines if line["event"] == "processing_retry"]
    assert [line["attempt"] for line in retries] == [1, 2]
    (failed,) = [line for line in lines if line["event"] == "processing_failed"]
    assert (failed["agent"], failed["error_type"], failed["error_message"]) == (
        "detect",
        "builtins.KeyError",
        "'rows'",
    )
    assert failed["inputs"] == [
        f"{signals_topic}:{poison['partition']}:{poison['offset']}-{poison['offset']}"
    ]
    assert "in decode" in failed["exception"]
    feedback_done = [line for line in lines if line["event"] == "feedback_batch_done"]
    assert sum(line["consumed"] for line in feedback_done) == 4
    assert sum(line["accepted"] for line in feedback_done) == 3
    assert [r for line in feedback_done for r in line["rejected"]] == [
        f"{by_reason['malformed_json']['partition']}:{by_reason['malformed_json']['offset']}:"
        "malformed_json"
    ]
    alerts.close()
    letters.close()
