"""Inputs that make the worker's outputs too large for Kafka, sent together on a real broker:
no produce error takes the worker down, their inputs are dead-lettered with a reason, and
ordinary traffic after them is scored at once."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable

import pytest
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from tests.support import Collector, WorkerProcess, produce, tweet_payload

pytestmark = pytest.mark.integration

ANGRY = "worst airline ever, lost my bags, rude staff, never again 😡 déçu, très déçu "
# The worker bounds its own outputs (signals split by size, examples cut), so the outputs a
# broker can still refuse are the ones a topic's own limit makes too large: here the
# sentiment events of 16 KB tweets, on a topic that takes 8 KB.
SENTIMENT_MAX_BYTES = 8_000


def angry_text(size_bytes: int = 15_800) -> str:
    """Non-ASCII text of about `size_bytes` in UTF-8 (JSON escaping makes it grow)."""
    text = ""
    while len((text + ANGRY).encode()) < size_bytes:
        text += ANGRY
    return text


def utf8_tweet(tweet_id: str, text: str, brand: str) -> tuple[bytes, bytes]:
    """UTF-8 as it comes, not escaped: 16 KB of payload is 16 KB of text."""
    document = {"id": tweet_id, "text": text, "brand": brand}
    return tweet_id.encode(), json.dumps(document, ensure_ascii=False).encode()


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_outputs_too_large_for_kafka_dead_letter_their_inputs_and_the_worker_goes_on(
    guarantee: str, unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    """The worker's own limit, set to the topic's, keeps the large events from the broker
    (which would refuse them) and dead-letters their inputs, in both modes."""
    unique_env = {
        **unique_env,
        "BADBUZZ_PROCESSING_GUARANTEE": guarantee,
        "BADBUZZ_MAX_OUTPUT_BYTES": str(SENTIMENT_MAX_BYTES),
        "BADBUZZ_DEADLETTER_PAYLOAD_BYTES": "2048",  # a dead letter stays under the limit too
    }
    bootstrap, raw = unique_env["KAFKA_BOOTSTRAP_SERVERS"], unique_env["BADBUZZ_TOPIC_RAW"]
    sentiment = unique_env["BADBUZZ_TOPIC_SENTIMENT"]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    limit = ConfigEntry(
        "max.message.bytes",
        str(SENTIMENT_MAX_BYTES),
        incremental_operation=AlterConfigOpType.SET,
    )
    resource = ConfigResource(ResourceType.TOPIC, sentiment, incremental_configs=[limit])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)
    hostile = [utf8_tweet(f"angry-{n}", angry_text(), brand="hostair") for n in range(60)] + [
        tweet_payload(f"dots-{n}", "a." * 8_000) for n in range(40)
    ]
    assert all(len(value) <= 16_384 for _, value in hostile)  # within max_payload_bytes
    worker = start_worker(unique_env)
    worker.wait_ready(timeout=90)
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    letters = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_DEADLETTER"])
    produce(bootstrap, raw, hostile)
    ordinary = [tweet_payload(f"ok-{n}", "the flight was on time") for n in range(2_000)]
    sent_at = time.monotonic()
    produce(bootstrap, raw, ordinary)

    def scored(messages: list[dict]) -> set[str]:
        return {m["tweet_id"] for m in messages}

    wanted = {f"ok-{n}" for n in range(2_000)}
    events.poll_until(lambda m: wanted <= scored(m), timeout=60, alive=lambda: worker.alive)
    took = time.monotonic() - sent_at
    assert wanted <= scored(events.messages), f"{len(wanted - scored(events.messages))} unscored"
    assert took < 60, took

    # An angry tweet's event passes the sentiment topic's limit: its input is dead-lettered,
    # and its neighbours' events go through.
    lettered = letters.poll_until(bool, timeout=30)
    lettered = letters.poll_until(lambda m: False, timeout=3)
    assert lettered, worker.log_tail()
    assert {d["reason"] for d in lettered} == {"output_too_large"}
    assert all("MSG_SIZE_TOO_LARGE" in d["detail"] for d in lettered)
    assert letter_ids(lettered) & {f"angry-{n}" for n in range(60)}
    hostile_ids = {key.decode() for key, _ in hostile}
    assert letter_ids(lettered) <= hostile_ids  # not the neighbours refused along with them
    assert hostile_ids <= scored(events.messages) | letter_ids(lettered)
    assert worker.alive, worker.log_tail()
    assert (
        worker.metrics()[
            f'badbuzz_outputs_rejected_total{{error="MSG_SIZE_TOO_LARGE",topic="{sentiment}"}}'
        ]
        >= 1
    )
    events.close()
    letters.close()


def letter_ids(letters: list[dict]) -> set[str]:
    """The tweet ids of dead-lettered inputs: `id` comes first in the (cut) payload."""
    ids = set()
    for letter in letters:
        found = re.match(rb'\{"id": "([^"]+)"', base64.b64decode(letter["payload_base64"]))
        if found:
            ids.add(found.group(1).decode())
    return ids
