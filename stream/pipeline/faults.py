"""What to do when handling an input raises: retry a few times, then dead-letter it.

Faust acknowledges an event even when the agent body raised, so an exception that escapes an
agent loses its input. Agents therefore never let one escape: they retry the handling with
backoff and, when the retries are spent, dead-letter the inputs with the error and go on.
A down broker is not an input fault: `OutputProducer.deliver` retries it forever itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from schemas import DeadLetter
from stream.pipeline.intake import Rejection, dead_letter
from stream.records import RawRecord

PROCESSING_FAILED = "processing_failed"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int
    backoff_s: float
    max_backoff_s: float = 30.0


@dataclass(frozen=True, slots=True)
class GaveUp:
    """Every attempt raised; `error` is the last exception."""

    error: Exception
    attempts: int


def retry_delay(policy: RetryPolicy, failed_attempts: int) -> float | None:
    """Seconds to wait before the next attempt after `failed_attempts` failures, or None when
    the policy gives up: the backoff doubles from `backoff_s`, capped at `max_backoff_s`."""
    if failed_attempts >= policy.attempts:
        return None
    return min(policy.backoff_s * 2 ** (failed_attempts - 1), policy.max_backoff_s)


async def run_with_retries(
    handle: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[Exception, int, float], None] = lambda error, attempt, delay: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T | GaveUp:
    """The result of the first attempt that returns, or GaveUp once the policy says so.
    Only `Exception`s are retried: a cancelled task (shutdown) still stops at once."""
    failed = 0
    while True:
        try:
            return await handle()
        except Exception as error:
            failed += 1
            delay = retry_delay(policy, failed)
            if delay is None:
                return GaveUp(error, failed)
            on_retry(error, failed, delay)
            await sleep(delay)


async def handle_isolating_failures(
    records: Sequence[RawRecord],
    handle: Callable[[Sequence[RawRecord]], Awaitable[None]],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[Exception, int, float], None] = lambda error, attempt, delay: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[tuple[RawRecord, GaveUp]]:
    """Handles a batch with retries; if it keeps failing, handles each input alone once, so
    one poison input does not take its whole batch to the dead letters. Returns the inputs
    that failed, each with its failure."""
    result = await run_with_retries(lambda: handle(records), policy, on_retry=on_retry, sleep=sleep)
    if not isinstance(result, GaveUp):
        return []
    if len(records) == 1:
        return [(records[0], result)]
    failed = []
    for record in records:
        try:
            await handle([record])
        except Exception as error:
            failed.append((record, GaveUp(error, result.attempts + 1)))
    return failed


def processing_failed_letter(
    record: RawRecord, failure: GaveUp, keep_bytes: int, now: datetime
) -> DeadLetter:
    """The dead letter of an input whose handling kept raising: the error and where it was."""
    error = failure.error
    detail = (
        f"{type(error).__name__}: {error} (after {failure.attempts} attempts; "
        f"{record.topic} partition {record.partition} offset {record.offset})"
    )
    return dead_letter(record, Rejection(PROCESSING_FAILED, detail), keep_bytes, now)


def input_span(records: Sequence[RawRecord]) -> list[str]:
    """`topic:partition:first-last` per partition: where a batch came from, in one short list."""
    offsets: dict[tuple[str, int], list[int]] = {}
    for record in records:
        offsets.setdefault((record.topic, record.partition), []).append(record.offset)
    return [
        f"{topic}:{partition}:{min(found)}-{max(found)}"
        for (topic, partition), found in sorted(offsets.items())
    ]
