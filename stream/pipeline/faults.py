"""What to do when handling an input raises: retry a few times, then dead-letter it.

Faust acknowledges an event even when the agent body raised, so an exception that escapes an
agent loses its input. Agents therefore never let one escape: they retry the handling with
backoff and, when the retries are spent, dead-letter the inputs with the error and go on.
The scoring thread does the same without an event loop: one plan, two thin drivers.
A down broker is not an input fault: `OutputProducer.deliver` retries it forever itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas import DeadLetter
from stream.pipeline.intake import Rejection, dead_letter
from stream.records import RawRecord

PROCESSING_FAILED = "processing_failed"


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


def doubling_wait(first_s: float, max_s: float, failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: `first_s`, doubled at each further
    failure, capped at `max_s`."""
    return min(first_s * 2 ** (failures - 1), max_s)


def retry_delay(policy: RetryPolicy, failed_attempts: int) -> float | None:
    """Seconds to wait before the next attempt after `failed_attempts` failures, or None when
    the policy gives up."""
    if failed_attempts >= policy.attempts:
        return None
    return doubling_wait(policy.backoff_s, policy.max_backoff_s, failed_attempts)


@dataclass(frozen=True, slots=True)
class Attempt:
    """Handle these inputs; the plan is sent back the exception it raised, or None."""

    records: Sequence[RawRecord]


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


Failed = list[tuple[RawRecord, GaveUp]]
# The retry-and-isolate decisions, apart from how a handling is called or a pause is taken:
# the scoring thread drives it with plain calls, the Faust agents with awaits.
Plan = Generator[Attempt | Pause, Exception | None, Failed]
RetryReport = Callable[[Exception, int, float], None]


def isolating_plan(
    records: Sequence[RawRecord], policy: RetryPolicy, on_retry: RetryReport
) -> Plan:
    """The batch with retries and backoff; if it keeps failing, each input alone once, so one
    poison input does not take its whole batch to the dead letters. Returns the inputs that
    failed, each with its failure."""
    failed_attempts = 0
    while True:
        error = yield Attempt(records)
        if error is None:
            return []
        failed_attempts += 1
        delay = retry_delay(policy, failed_attempts)
        if delay is None:
            break
        on_retry(error, failed_attempts, delay)
        yield Pause(delay)
    if len(records) == 1:
        return [(records[0], GaveUp(error, failed_attempts))]
    failed = []
    for record in records:
        if (alone := (yield Attempt([record]))) is not None:
            failed.append((record, GaveUp(alone, failed_attempts + 1)))
    return failed


def _no_report(error: Exception, attempt: int, delay_s: float) -> None:
    pass


def isolate_failures(
    records: Sequence[RawRecord],
    handle: Callable[[Sequence[RawRecord]], object],
    policy: RetryPolicy,
    *,
    on_retry: RetryReport = _no_report,
    sleep: Callable[[float], None] = time.sleep,
) -> Failed:
    """`isolating_plan` with plain calls, on the caller's thread (no event loop). Only
    `Exception`s count as failures: anything else stops at once."""
    plan = isolating_plan(records, policy, on_retry)
    outcome: Exception | None = None
    try:
        while True:
            step = plan.send(outcome)
            outcome = None
            if isinstance(step, Pause):
                sleep(step.seconds)
                continue
            try:
                handle(step.records)
            except Exception as error:
                outcome = error
    except StopIteration as done:
        return done.value


async def isolate_failures_async(
    records: Sequence[RawRecord],
    handle: Callable[[Sequence[RawRecord]], Awaitable[None]],
    policy: RetryPolicy,
    *,
    on_retry: RetryReport = _no_report,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Failed:
    """`isolating_plan` with awaits, for the Faust agents; a cancelled task (shutdown) is not
    a failure and stops at once."""
    plan = isolating_plan(records, policy, on_retry)
    outcome: Exception | None = None
    try:
        while True:
            step = plan.send(outcome)
            outcome = None
            if isinstance(step, Pause):
                await sleep(step.seconds)
                continue
            try:
                await handle(step.records)
            except Exception as error:
                outcome = error
    except StopIteration as done:
        return done.value


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
