"""The one way an agent handles its input, and how what it sends is counted.

Faust acknowledges an event even when the agent body raised, so an agent never lets an
exception escape: its handling is retried with backoff, then input by input, and what still
fails is dead-lettered as `processing_failed`. The caller acknowledges only after `handle`
returned, so an input is committed only once its outputs or its dead letter are delivered.
The scoring thread uses the same retry-and-isolate plan synchronously (`isolate`) and sends
the dead letters with its batch's other outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import faust
import structlog
from confluent_kafka import KafkaError

from schemas import DeadLetter
from stream.kafka.producer import TOO_LARGE, OutputProducer
from stream.observability import metrics
from stream.pipeline.faults import (
    Failed,
    RetryPolicy,
    RetryReport,
    input_span,
    isolate_failures,
    isolate_failures_async,
    processing_failed_letter,
)
from stream.pipeline.intake import Rejection, dead_letter, undecodable_batch_letter
from stream.pipeline.steps import Pipeline
from stream.records import Outgoing, RawRecord, UndecodableBatch
from stream.web import StatusBoard

log = structlog.get_logger(__name__)
OUTPUT_TOO_LARGE = "output_too_large"
PRODUCE_FAILED = "produce_failed"


def record_of(event: faust.EventT) -> RawRecord:
    message = event.message
    return RawRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp=message.timestamp,
        value=event.value,
    )


def rejected_inputs(letters: Sequence[DeadLetter]) -> list[str]:
    return [f"{letter.partition}:{letter.offset}:{letter.reason}" for letter in letters]


class Handling:
    def __init__(self, pipeline: Pipeline, outputs: OutputProducer, status: StatusBoard) -> None:
        self.settings = pipeline.settings
        self.pipeline = pipeline
        self.outputs = outputs
        self.status = status
        self.clock = pipeline.clock
        self.retry_policy = RetryPolicy(
            self.settings.processing_attempts, self.settings.processing_backoff_s
        )

    def count_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        for letter in letters:
            metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()
        self.status.record_dead_letters(letters)

    async def deliver(
        self, messages: Sequence[Outgoing], letters: Sequence[DeadLetter] = ()
    ) -> None:
        """Deliver a step's messages; `letters` are the dead letters among them, counted once
        the broker has them."""
        await self.outputs.deliver(messages)
        self.count_dead_letters(letters)

    def rejected_output_letters(self, message: Outgoing, error: KafkaError) -> list[Outgoing]:
        """The dead letters of the inputs an output was made from, once Kafka refused that
        output for good: the worker goes on and commits them, instead of retrying forever."""
        reason = OUTPUT_TOO_LARGE if error.code() in TOO_LARGE else PRODUCE_FAILED
        detail = (
            f"{error.name()}: its {message.topic} message of {len(message.value)} bytes was "
            f"refused ({error.str()})"
        )
        metrics.OUTPUTS_REJECTED.labels(topic=message.topic, error=error.name()).inc()
        log.error(
            "output_rejected",
            topic=message.topic,
            size=len(message.value),
            error=error.name(),
            inputs=input_span(message.inputs),
        )
        now = self.clock()
        keep = self.settings.deadletter_payload_bytes
        letters = [dead_letter(r, Rejection(reason, detail), keep, now) for r in message.inputs]
        self.count_dead_letters(letters)
        return self.pipeline.dead_letters(letters)

    def within_limit(self, messages: Sequence[Outgoing]) -> list[Outgoing]:
        """`messages`, each one larger than `max_output_bytes` replaced by its inputs' dead
        letters before Kafka has to refuse it (in exactly-once mode a refusal would doom
        the whole transaction)."""
        limit = self.settings.max_output_bytes
        bounded: list[Outgoing] = []
        for message in messages:
            if len(message.value) + len(message.key or b"") <= limit:
                bounded.append(message)
                continue
            error = KafkaError(
                KafkaError.MSG_SIZE_TOO_LARGE, f"larger than BADBUZZ_MAX_OUTPUT_BYTES ({limit})"
            )
            bounded += self.rejected_output_letters(message, error)
        return bounded

    async def dead_letter_undecodable(self, batch: UndecodableBatch) -> None:
        letter = self.undecodable_letter(batch)
        await self.deliver(self.pipeline.dead_letters([letter]), [letter])

    def undecodable_letter(self, batch: UndecodableBatch) -> DeadLetter:
        log.error(
            "undecodable_batch_skipped",
            topic=batch.topic,
            partition=batch.partition,
            first_offset=batch.first_offset,
            last_offset=batch.last_offset,
            exc_info=batch.error,
        )
        return undecodable_batch_letter(batch, self.clock())

    async def handle(
        self,
        agent: str,
        records: Sequence[RawRecord],
        handle: Callable[[Sequence[RawRecord]], Awaitable[None]],
    ) -> None:
        """`handle`, retried and isolated, for a Faust agent; never raises for a bad input,
        so the caller's ack always follows a finished handling."""
        on_retry = self._retry_logger(agent, records)
        failed = await isolate_failures_async(records, handle, self.retry_policy, on_retry=on_retry)
        letters = self._failure_letters(agent, records, failed)
        if letters:
            await self.deliver(self.pipeline.dead_letters(letters), letters)

    def isolate(
        self,
        agent: str,
        records: Sequence[RawRecord],
        handle: Callable[[Sequence[RawRecord]], object],
    ) -> list[DeadLetter]:
        """`handle`, retried and isolated on the caller's thread (no event loop); the dead
        letters of the inputs whose handling kept raising are returned, for the caller to
        send with its other outputs."""
        on_retry = self._retry_logger(agent, records)
        failed = isolate_failures(records, handle, self.retry_policy, on_retry=on_retry)
        return self._failure_letters(agent, records, failed)

    def _retry_logger(self, agent: str, records: Sequence[RawRecord]) -> RetryReport:
        def log_retry(error: Exception, attempt: int, delay_s: float) -> None:
            log.warning(
                "processing_retry",
                agent=agent,
                attempt=attempt,
                delay_s=delay_s,
                inputs=input_span(records),
                exc_info=error,
            )

        return log_retry

    def _failure_letters(
        self, agent: str, records: Sequence[RawRecord], failed: Failed
    ) -> list[DeadLetter]:
        now = self.clock()
        letters = []
        for record, failure in failed:
            log.error(
                "processing_failed",
                agent=agent,
                attempts=failure.attempts,
                inputs=input_span([record]),
                exc_info=failure.error,
            )
            letters.append(
                processing_failed_letter(
                    record, failure, self.settings.deadletter_payload_bytes, now
                )
            )
        for topic, count in Counter(record.topic for record in records).items():
            metrics.MESSAGES_CONSUMED.labels(topic=topic).inc(count)
        return letters
