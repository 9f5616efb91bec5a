"""The worker's pipeline on a list of messages, without a broker: what it would produce.

Like Quix Streams' `StreamingDataFrame.test`: raw tweet and feedback payloads in, every
output message out, by topic and decoded. Tweets go to raw partitions by their key (the
tweet id, as `badbuzz replay` produces them) and are read in the worker's batches, each
batch followed by the detect step on the signals it produced, with an in-memory state store,
so the whole alerts path runs as the worker runs it. At the end the input is caught up and
the clock moves on past the lateness, so the last windows are decided as they are live.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from stream.alerts.store import InMemoryStateStore, StateStore
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing, RawRecord

Payload = bytes | None
Keyed = tuple[bytes | None, Payload]


def raw_partition(key: bytes | None, partitions: int) -> int:
    return zlib.crc32(key or b"") % partitions


Batching = Callable[[list[list[RawRecord]], int], list[list[RawRecord]]]
"""Which records of each raw partition's log make each batch, given the batch size."""


def run_pipeline(
    pipeline: Pipeline,
    tweets: Sequence[Payload | Keyed] = (),
    feedback: Sequence[Payload] = (),
    store: StateStore | None = None,
    batching: Batching | None = None,
    *,
    catch_up: bool = True,
) -> dict[str, list[Any]]:
    """Tweets (a payload, or a (key, payload) pair) through scoring and detection, batch by
    batch, then feedback, then (`catch_up`) the idle input as the clock moves on. Outputs are
    JSON-decoded where they are JSON, else raw bytes."""
    store = store or InMemoryStateStore(pipeline.settings.topic_alert_state)
    produced = asyncio.run(_run(pipeline, tweets, feedback, store, batching, catch_up))
    outputs: dict[str, list[Any]] = defaultdict(list)
    for message in produced:
        outputs[message.topic].append(_decoded(message.value))
    return dict(outputs)


async def _run(
    pipeline: Pipeline,
    tweets: Sequence[Payload | Keyed],
    feedback: Sequence[Payload],
    store: StateStore,
    batching: Batching | None,
    catch_up: bool,
) -> list[Outgoing]:
    settings = pipeline.settings
    partitions = pipeline.topology.raw_partitions
    received = pipeline.clock().timestamp()
    logs: list[list[RawRecord]] = [[] for _ in range(partitions)]
    for item in tweets:
        key, value = item if isinstance(item, tuple) else (None, item)
        partition = raw_partition(key, partitions) if key is not None else 0
        offset = len(logs[partition])
        logs[partition].append(RawRecord(settings.topic_raw, partition, offset, received, value))
    batches = (batching or round_robin)(logs, settings.batch_size)
    read = [0] * partitions
    produced: list[Outgoing] = []
    detect = _Detect(pipeline, store)
    for batch in batches:
        for record in batch:
            read[record.partition] += 1
        lag = {p: len(logs[p]) - read[p] for p in range(partitions)}
        produced += await detect.after(pipeline.score(batch, lag).messages)
    for start in range(0, len(feedback), settings.batch_size):
        chunk = feedback[start : start + settings.batch_size]
        records = [
            RawRecord(settings.topic_feedback, 0, start + n, received, value)
            for n, value in enumerate(chunk)
        ]
        produced += await detect.after(pipeline.record_feedback(records).messages)
    if not catch_up:
        return produced
    # caught up, once the clock has moved past a window, its lateness and the idle grace: the
    # input's last windows are decided, as a live worker decides them while its input is idle
    clock = pipeline.clock
    quiet_s = settings.alert_window_s + settings.alert_lateness_s + settings.alert_idle_grace_s
    later = clock() + timedelta(seconds=quiet_s)
    pipeline.clock = lambda: later
    try:
        idle = pipeline.score([], dict.fromkeys(range(partitions), 0)).messages
        produced += await detect.after(idle)
    finally:
        pipeline.clock = clock
    return produced


class _Detect:
    def __init__(self, pipeline: Pipeline, store: StateStore) -> None:
        self._pipeline = pipeline
        self._store = store
        self._offsets: dict[int, int] = defaultdict(int)

    async def after(self, messages: list[Outgoing]) -> list[Outgoing]:
        """The messages, and what the detect step makes of the signals among them."""
        topic = self._pipeline.settings.topic_signals
        records = []
        for message in messages:
            if message.topic == topic:
                offset = self._offsets[message.partition]
                self._offsets[message.partition] += 1
                records.append(RawRecord(topic, message.partition, offset, None, message.value))
        detected = await self._pipeline.detect(records, [1] * len(records), self._store)
        return messages + detected.messages


def round_robin(logs: list[list[RawRecord]], size: int) -> list[list[RawRecord]]:
    """Batches of `size` taking the partitions in turn, a few records of each at a time."""
    queues = [list(log) for log in logs]
    merged: list[RawRecord] = []
    while any(queues):
        for queue in queues:
            merged += queue[:8]
            del queue[:8]
    return [merged[start : start + size] for start in range(0, len(merged), size)]


def _decoded(value: bytes) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
