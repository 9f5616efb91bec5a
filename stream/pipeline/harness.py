"""The worker's pipeline on a list of messages, without a broker: what it would produce.

Like Quix Streams' `StreamingDataFrame.test`: raw tweet and feedback payloads in, every
output message out, by topic and decoded. The signals the steps emit are applied in order to
an in-memory state store, as the alerts agent applies them from the signals topic, so the
whole alerts path runs in a unit test.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from stream.alerts.store import InMemoryStateStore, StateStore
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing, RawRecord

Payload = bytes | None


def run_pipeline(
    pipeline: Pipeline,
    tweets: Sequence[Payload] = (),
    feedback: Sequence[Payload] = (),
    store: StateStore | None = None,
) -> dict[str, list[Any]]:
    """Tweets in batches of `batch_size`, then feedback, then every signal in the order
    produced. Outputs are JSON-decoded where they are JSON, else raw bytes."""
    store = store or InMemoryStateStore(pipeline.settings.topic_alert_state)
    return asyncio.run(_run(pipeline, tweets, feedback, store))


async def _run(
    pipeline: Pipeline, tweets: Sequence[Payload], feedback: Sequence[Payload], store: StateStore
) -> dict[str, list[Any]]:
    settings = pipeline.settings
    produced: list[Outgoing] = []
    for batch in _batches(settings.topic_raw, tweets, settings.batch_size, pipeline):
        produced += pipeline.score(batch).messages
    for batch in _batches(settings.topic_feedback, feedback, settings.batch_size, pipeline):
        produced += pipeline.record_feedback(batch).messages
    signals = [message for message in produced if message.topic == settings.topic_signals]
    records = [
        RawRecord(settings.topic_signals, 0, offset, None, signal.value)
        for offset, signal in enumerate(signals)
    ]
    produced += (await pipeline.detect(records, [1] * len(records), store)).messages
    outputs: dict[str, list[Any]] = defaultdict(list)
    for message in produced:
        outputs[message.topic].append(_decoded(message.value))
    return dict(outputs)


def _batches(
    topic: str, payloads: Sequence[Payload], size: int, pipeline: Pipeline
) -> list[list[RawRecord]]:
    received = pipeline.clock().timestamp()
    records = [RawRecord(topic, 0, n, received, value) for n, value in enumerate(payloads)]
    return [records[start : start + size] for start in range(0, len(records), size)]


def _decoded(value: bytes) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
