import asyncio
import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from stream.pipeline.faults import (
    PROCESSING_FAILED,
    GaveUp,
    RetryPolicy,
    input_span,
    isolate_failures,
    isolate_failures_async,
    processing_failed_letter,
    retry_delay,
)
from stream.records import RawRecord

POLICY = RetryPolicy(attempts=4, backoff_s=0.5, max_backoff_s=1.5)
ONE_INPUT = [RawRecord("tweets.raw", 0, 9, None, b"{}")]


class Flaky:
    """Raises `failures` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, records: Sequence[RawRecord]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise KeyError(f"kind (call {self.calls})")


def run(flaky: Flaky, policy: RetryPolicy = POLICY) -> tuple[list, list[float], list]:
    """One input through the synchronous driver, on this thread."""
    slept: list[float] = []
    retried: list[tuple[str, int, float]] = []
    failed = isolate_failures(
        ONE_INPUT,
        flaky,
        policy,
        on_retry=lambda error, attempt, delay: retried.append((str(error), attempt, delay)),
        sleep=slept.append,
    )
    return failed, slept, retried


def test_delays_double_up_to_the_cap_and_stop_at_the_attempt_limit() -> None:
    assert [retry_delay(POLICY, failed) for failed in range(1, 5)] == [0.5, 1.0, 1.5, None]
    assert retry_delay(RetryPolicy(attempts=1, backoff_s=0.5), 1) is None


def test_a_handling_that_succeeds_first_time_never_sleeps() -> None:
    flaky = Flaky(0)
    assert run(flaky) == ([], [], [])
    assert flaky.calls == 1


def test_transient_failures_are_retried_with_backoff_until_one_attempt_succeeds() -> None:
    flaky = Flaky(2)
    failed, slept, retried = run(flaky)
    assert (failed, flaky.calls) == ([], 3)
    assert slept == [0.5, 1.0]
    assert [(attempt, delay) for _, attempt, delay in retried] == [(1, 0.5), (2, 1.0)]
    assert "call 1" in retried[0][0]


def test_a_handling_that_keeps_failing_gives_up_after_the_attempts_with_the_last_error() -> None:
    flaky = Flaky(100)
    failed, slept, _ = run(flaky)
    [(record, gave_up)] = failed
    assert record == ONE_INPUT[0]
    assert (gave_up.attempts, flaky.calls) == (4, 4)
    assert isinstance(gave_up.error, KeyError) and "call 4" in str(gave_up.error)
    assert slept == [0.5, 1.0, 1.5]


def test_the_synchronous_driver_runs_without_an_event_loop() -> None:
    def handle(records: Sequence[RawRecord]) -> None:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()

    assert isolate_failures(ONE_INPUT, handle, POLICY, sleep=lambda _: None) == []


def test_cancellation_is_not_retried() -> None:
    async def cancelled(records: Sequence[RawRecord]) -> None:
        raise asyncio.CancelledError

    async def no_sleep(delay: float) -> None:
        raise AssertionError("a cancelled handling was retried")

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(isolate_failures_async(ONE_INPUT, cancelled, POLICY, sleep=no_sleep))


def test_the_dead_letter_names_the_error_and_where_the_input_was() -> None:
    record = RawRecord("app-signals", 2, 41, None, b'{"not": "a signal"}')
    now = datetime(2026, 1, 1, tzinfo=UTC)
    letter = processing_failed_letter(record, GaveUp(KeyError("kind"), 3), 1024, now)
    assert letter.reason == PROCESSING_FAILED
    assert (letter.source_topic, letter.partition, letter.offset) == ("app-signals", 2, 41)
    assert letter.detail == "KeyError: 'kind' (after 3 attempts; app-signals partition 2 offset 41)"
    assert base64.b64decode(letter.payload_base64) == b'{"not": "a signal"}'
    assert letter.rejected_at == now


def test_input_span_gives_the_offset_range_of_each_partition() -> None:
    records = [
        RawRecord("tweets.raw", partition, offset, None, b"")
        for partition, offset in [(1, 7), (0, 3), (1, 5), (0, 4), (1, 6)]
    ]
    assert input_span(records) == ["tweets.raw:0:3-4", "tweets.raw:1:5-7"]


class PoisonedBatch:
    """A batch handler that raises whenever the batch holds a poison input."""

    def __init__(self, poison_offsets: set[int]) -> None:
        self.poison_offsets = poison_offsets
        self.handled: list[list[int]] = []

    def __call__(self, records: Sequence[RawRecord]) -> None:
        offsets = [record.offset for record in records]
        if self.poison_offsets & set(offsets):
            raise ValueError(f"cannot score offsets {offsets}")
        self.handled.append(offsets)


def isolate_sync(records: list[RawRecord], handler: PoisonedBatch) -> tuple[list, list[float]]:
    slept: list[float] = []
    return isolate_failures(records, handler, POLICY, sleep=slept.append), slept


def isolate_async(records: list[RawRecord], handler: PoisonedBatch) -> tuple[list, list[float]]:
    """The agents' driver of the same plan: the same decisions, with awaits."""
    slept: list[float] = []

    async def handle(batch: Sequence[RawRecord]) -> None:
        handler(batch)

    async def sleep(delay: float) -> None:
        slept.append(delay)

    return asyncio.run(isolate_failures_async(records, handle, POLICY, sleep=sleep)), slept


Isolate = Callable[[list[RawRecord], PoisonedBatch], tuple[list, list[float]]]
DRIVERS = pytest.mark.parametrize("isolate", [isolate_sync, isolate_async])


def records_at(*offsets: int) -> list[RawRecord]:
    return [RawRecord("tweets.raw", 0, offset, None, b"{}") for offset in offsets]


@DRIVERS
def test_a_healthy_batch_is_handled_once_and_nothing_fails(isolate: Isolate) -> None:
    handler = PoisonedBatch(set())
    assert isolate(records_at(1, 2, 3), handler) == ([], [])
    assert handler.handled == [[1, 2, 3]]


@DRIVERS
def test_a_poisoned_batch_fails_only_its_poison_after_the_retries(isolate: Isolate) -> None:
    handler = PoisonedBatch({2, 4})
    failed, slept = isolate(records_at(1, 2, 3, 4), handler)
    assert slept == [0.5, 1.0, 1.5]
    assert handler.handled == [[1], [3]]
    assert [(record.offset, gave_up.attempts) for record, gave_up in failed] == [(2, 5), (4, 5)]
    assert str(failed[0][1].error) == "cannot score offsets [2]"


@DRIVERS
def test_a_single_failing_input_is_not_tried_again_alone(isolate: Isolate) -> None:
    handler = PoisonedBatch({7})
    failed, slept = isolate(records_at(7), handler)
    assert [(record.offset, gave_up.attempts) for record, gave_up in failed] == [(7, 4)]
    assert len(slept) == 3
