"""Faults on a real broker: a broker restart, a worker lost from a group, a flood of bad input."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka import KafkaError, Message, Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.kafka.local import LocalKafka
from tests.support import Collector, WorkerProcess, connection, produce, tweet_payload

pytestmark = pytest.mark.integration

MAX_PAYLOAD_BYTES = 16_384  # BADBUZZ_MAX_PAYLOAD_BYTES' default


def ids_seen(messages: list[dict]) -> set[str]:
    return {message["tweet_id"] for message in messages}


def tweets(prefix: str, n: int) -> list[tuple[bytes, bytes]]:
    return [tweet_payload(f"{prefix}-{i}", f"flight {i} to Paris was on time") for i in range(n)]


def consumed(worker: WorkerProcess) -> float:
    """The worker's `badbuzz_tweets_consumed_total`, 0 while its web server is not up yet."""
    return worker.metrics().get("badbuzz_tweets_consumed_total", 0.0)


def test_a_worker_rides_out_a_broker_restart_without_losing_tweets(
    unique_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    local_kafka: LocalKafka,
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw = unique_env["BADBUZZ_TOPIC_RAW"]
    produce(bootstrap, raw, tweets("before", 5_000))
    worker = start_worker(unique_env)
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    events.poll_until(lambda m: len(m) >= 300, timeout=90, alive=lambda: worker.alive)
    assert len(ids_seen(events.messages)) < 5_000, "the broker went down too late to matter"
    try:
        local_kafka.kill()
        time.sleep(5)
    finally:
        local_kafka.start()
    produce(bootstrap, raw, tweets("after", 1_000))

    wanted = {f"before-{i}" for i in range(5_000)} | {f"after-{i}" for i in range(1_000)}
    got = events.poll_until(
        lambda m: wanted <= ids_seen(m), timeout=150, alive=lambda: worker.alive
    )
    missing = wanted - ids_seen(got)
    assert not missing, f"{len(missing)} unscored: {sorted(missing)[:5]}\n{worker.log_tail()}"
    assert worker.alive
    events.close()


def test_a_group_shares_partitions_and_a_survivor_takes_over_a_killed_peer(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw = unique_env["BADBUZZ_TOPIC_RAW"]
    doomed = start_worker(unique_env, name="doomed")
    survivor = start_worker(unique_env, name="survivor")
    wanted: set[str] = set()
    deadline = time.monotonic() + 90
    while not (consumed(doomed) > 0 and consumed(survivor) > 0):
        assert time.monotonic() < deadline, "the two workers never both consumed"
        assert doomed.alive and survivor.alive, doomed.log_tail() + survivor.log_tail()
        chunk = tweets(f"shared-{len(wanted)}", 100)
        produce(bootstrap, raw, chunk)
        wanted |= {key.decode() for key, _ in chunk}
        time.sleep(1)

    doomed.kill()
    consumed_before = consumed(survivor)
    produce(bootstrap, raw, tweets("survivor", 1_000))
    wanted |= {f"survivor-{i}" for i in range(1_000)}
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    got = events.poll_until(
        lambda m: wanted <= ids_seen(m), timeout=120, alive=lambda: survivor.alive
    )
    missing = wanted - ids_seen(got)
    assert not missing, f"{len(missing)} unscored: {sorted(missing)[:5]}\n{survivor.log_tail()}"
    assert consumed(survivor) >= consumed_before + 1_000  # all of them, from every partition
    events.close()


# --- a flood of bad inputs -------------------------------------------------------------------
# A case is (kind, data); `render` turns it into a payload carrying a unique id, and
# `EXPECTED` names the dead-letter reasons a kind may get ("scored": a sentiment event).

EXPECTED: dict[str, set[str]] = {
    "valid": {"scored"},
    "wrong_text": {"invalid_field"},
    "bad_id": {"invalid_field"},
    "huge": {"oversized"},
    "blank": {"empty_text"},
    "bad_utf8": {"bad_encoding"},
    "random": {"empty_payload", "oversized", "bad_encoding", "malformed_json", "not_an_object"},
}
JSON_NOT_STR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def not_a_json_object(data: bytes | None) -> bool:
    """`random` stands for bytes that no JSON object parses from (JSON objects are the other
    kinds): Hypothesis also draws constants from the code, such as the demo's
    b'{"id": "no-text"}', which is a missing_text case, not a random one."""
    try:
        return not isinstance(json.loads(data), dict)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


CASES = st.one_of(
    st.tuples(st.just("valid"), st.text(min_size=1, max_size=280).filter(str.strip)),
    st.tuples(st.just("wrong_text"), JSON_NOT_STR),
    st.tuples(st.just("bad_id"), st.sampled_from([None, True, False, [1], {"a": 1}, ""])),
    st.tuples(st.just("huge"), st.integers(MAX_PAYLOAD_BYTES + 1, 3 * MAX_PAYLOAD_BYTES)),
    st.tuples(st.just("blank"), st.text(st.sampled_from(" \t\n\r\u00a0\u2003"), max_size=20)),
    st.tuples(st.just("bad_utf8"), st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80"])),
    st.tuples(
        st.just("random"), st.one_of(st.none(), st.binary(max_size=200).filter(not_a_json_object))
    ),
)


def render(kind: str, data: object, tweet_id: str) -> bytes | None:
    if kind == "random":
        return data  # type: ignore[return-value]
    if kind == "bad_utf8":
        return f'{{"id": "{tweet_id}", "text": "caf'.encode() + data + b'"}'  # type: ignore[operator]
    document: dict[str, object] = {"id": tweet_id, "text": data}
    if kind == "huge":
        document["text"] = "x" * data  # type: ignore[operator]
    elif kind == "bad_id":
        document = {"text": f"marker {tweet_id}"} | ({} if data is None else {"id": data})
    return json.dumps(document).encode()


def produce_tracked(
    bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes | None]]
) -> list[tuple[int, int]]:
    """Produce in order and return each message's (partition, offset) from delivery reports."""
    producer = Producer(connection(bootstrap).librdkafka({"linger.ms": 5}))
    positions: dict[int, tuple[int, int]] = {}

    def on_delivery(index: int) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            assert error is None, error
            positions[index] = (message.partition(), message.offset())

        return report

    for index, (key, value) in enumerate(messages):
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery(index))
        producer.poll(0)
    assert producer.flush(30) == 0
    return [positions[index] for index in range(len(messages))]


@dataclass
class Flood:
    """One worker and its output, shared by every example of the test (fixtures are set up
    once per test, not per example); totals count what all examples so far asked for."""

    worker: WorkerProcess
    events: Collector
    letters: Collector
    scored: int = 0
    lettered: int = 0


@pytest.fixture
def flood(
    unique_env: dict[str, str], start_worker: Callable[..., WorkerProcess]
) -> Iterator[Flood]:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    events = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_SENTIMENT"])
    letters = Collector(bootstrap, unique_env["BADBUZZ_TOPIC_DEADLETTER"])
    yield Flood(start_worker(unique_env), events, letters)
    events.close()
    letters.close()


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cases=st.lists(CASES, min_size=20, max_size=80))
def test_every_input_of_a_bad_flood_gets_exactly_one_outcome(
    cases: list[tuple[str, object]], unique_env: dict[str, str], flood: Flood
) -> None:
    bootstrap = unique_env["KAFKA_BOOTSTRAP_SERVERS"]
    raw = unique_env["BADBUZZ_TOPIC_RAW"]
    run = uuid.uuid4().hex[:6]
    ids = [f"{run}-{n}" for n in range(len(cases))]
    positions = produce_tracked(
        bootstrap,
        raw,
        [(i.encode(), render(kind, data, i)) for i, (kind, data) in zip(ids, cases, strict=True)],
    )
    scored_ids = {i for i, (kind, _) in zip(ids, cases, strict=True) if kind == "valid"}
    lettered_at = {p for p, (kind, _) in zip(positions, cases, strict=True) if kind != "valid"}
    flood.scored += len(scored_ids)
    flood.lettered += len(lettered_at)

    def alive() -> bool:
        return flood.worker.alive

    flood.events.poll_until(lambda m: scored_ids <= ids_seen(m), timeout=60, alive=alive)
    flood.letters.poll_until(
        lambda m: lettered_at <= {(d["partition"], d["offset"]) for d in m}, timeout=60, alive=alive
    )
    flood.events.poll_until(lambda m: False, timeout=2)  # anything extra would show up now
    flood.letters.poll_until(lambda m: False, timeout=1)

    scored = Counter(m["tweet_id"] for m in flood.events.messages)
    letters = {(d["partition"], d["offset"]): d for d in flood.letters.messages}
    for tweet_id, position, (kind, data) in zip(ids, positions, cases, strict=True):
        outcomes = ["scored"] * scored[tweet_id]
        outcomes += [letters[position]["reason"]] if position in letters else []
        assert len(outcomes) == 1, (kind, data, outcomes)
        assert outcomes[0] in EXPECTED[kind], (kind, data, outcomes)
    assert len(flood.events.messages) == flood.scored, "more events than valid tweets"
    assert len(flood.letters.messages) == flood.lettered, "more dead letters than bad inputs"
    assert all(d["source_topic"] == raw for d in flood.letters.messages)
    assert flood.worker.alive, flood.worker.log_tail()
