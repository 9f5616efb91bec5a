"""Event time decides, whatever the batching: the worker's pipeline raises the same alerts
(ids, windows, counts) whether a file comes in one batch, in one-second batches, or in
random batches with the raw partitions interleaved at random."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.alerts.store import InMemoryStateStore
from stream.pipeline.harness import run_pipeline
from stream.pipeline.steps import Pipeline
from stream.records import RawRecord
from stream.settings import Settings
from stream.tools.eval_alerts import (
    Columns,
    LabelledTweet,
    LabelScorer,
    payloads,
    read_labelled_csv,
)

FIXTURE = Path(__file__).parents[2] / "fixtures" / "labelled_airline_tweets.csv"
SETTINGS = Settings(label_shift=False)


def traffic() -> list[LabelledTweet]:
    """The fixture (one bad buzz) and a brand with two bursts an hour apart."""
    rows = read_labelled_csv(FIXTURE, Columns(label="airline_sentiment"))
    start = rows[0].t
    extra = [
        LabelledTweet(start + 40 * n, "busyair", f"calm {n}", "positive", f"calm-{n}")
        for n in range(120)
    ]
    for burst, at in enumerate((start + 900, start + 4500)):
        extra += [
            LabelledTweet(at + 7 * n, "busyair", f"angry {burst} {n}", "negative", f"b{burst}-{n}")
            for n in range(35)
        ]
    return sorted(rows + extra, key=lambda row: row.t)


ROWS = traffic()


def alerts_of(batching=None, batch_size: int = SETTINGS.batch_size) -> list[tuple]:
    run_settings = SETTINGS.model_copy(update={"batch_size": batch_size})
    end = datetime.fromtimestamp(ROWS[-1].t, tz=UTC)
    pipeline = Pipeline(run_settings, LabelScorer(ROWS), lambda: end)
    outputs = run_pipeline(pipeline, payloads(ROWS), batching=batching)
    return sorted(
        (a["alert_id"], a["status"], a["window_start"], a["window_end"], a["count"], a["total"])
        for a in outputs.get(SETTINGS.topic_alerts, [])
    )


def event_time(record: RawRecord) -> float:
    return datetime.fromisoformat(json.loads(record.value or b"")["created_at"]).timestamp()


def one_batch(logs: list[list[RawRecord]], size: int) -> list[list[RawRecord]]:
    """Everything at once, one partition after the other (a catch-up after an outage)."""
    return [[record for log in logs for record in log]]


def per_second(logs: list[list[RawRecord]], size: int) -> list[list[RawRecord]]:
    """One batch per second of event time (live traffic, at its own pace)."""
    merged = sorted((r for log in logs for r in log), key=event_time)
    batches: dict[int, list[RawRecord]] = {}
    for record in merged:
        batches.setdefault(int(event_time(record)), []).append(record)
    return list(batches.values())


def shuffled(seed: int):
    """Random runs of each partition (in its own order) cut into random batches."""

    def batching(logs: list[list[RawRecord]], size: int) -> list[list[RawRecord]]:
        rng = random.Random(seed)
        queues = [list(log) for log in logs]
        merged: list[RawRecord] = []
        while any(queues):
            queue = rng.choice([q for q in queues if q])
            take = rng.randint(1, 200)
            merged += queue[:take]
            del queue[:take]
        batches, start = [], 0
        while start < len(merged):
            end = start + rng.randint(1, 300)
            batches.append(merged[start:end])
            start = end
        return batches

    return batching


REFERENCE = alerts_of(per_second)


def test_the_traffic_holds_alerts_to_compare() -> None:
    raised = [a for a in REFERENCE if a[1] == "raised"]
    assert len(raised) >= 3  # the fixture's bad buzz and busyair's two bursts


def test_one_batch_gives_the_alerts_of_one_second_batches() -> None:
    assert alerts_of(one_batch) == REFERENCE


def test_the_worker_batches_give_the_same_alerts() -> None:
    assert alerts_of() == REFERENCE
    assert alerts_of(batch_size=7) == REFERENCE


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_random_batches_and_partition_interleavings_give_the_same_alerts(seed: int) -> None:
    assert alerts_of(shuffled(seed)) == REFERENCE


def test_a_restart_mid_stream_resumes_from_the_stored_state() -> None:
    """The first half on one worker, the second on a fresh one reading the state store back
    (a restart or a rebalance): the alerts are those of one uninterrupted run."""
    store = InMemoryStateStore(SETTINGS.topic_alert_state)
    end = datetime.fromtimestamp(ROWS[-1].t, tz=UTC)
    half = len(ROWS) // 2
    outputs = []
    for rows, catch_up in ((ROWS[:half], False), (ROWS[half:], True)):
        pipeline = Pipeline(SETTINGS, LabelScorer(ROWS), lambda: end)
        outputs += run_pipeline(pipeline, payloads(rows), store=store, catch_up=catch_up).get(
            SETTINGS.topic_alerts, []
        )
    assert (
        sorted(
            (a["alert_id"], a["status"], a["window_start"], a["window_end"], a["count"], a["total"])
            for a in outputs
        )
        == REFERENCE
    )
