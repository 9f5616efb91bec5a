"""Delivers output messages until the broker acknowledges them all.

Outputs go through librdkafka (confluent-kafka), which batches and tracks acks in C; the
event loop only waits for the last ack of a batch. The input offsets of a batch are marked
done only after `deliver` returns, which is what makes the worker at-least-once: a failed
delivery is retried here, never skipped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from stream.kafka import KafkaConnection
from stream.observability.logs import LIBRDKAFKA
from stream.observability.metrics import PUBLISH_RETRIES
from stream.pipeline.faults import doubling_wait
from stream.records import Outgoing

log = structlog.get_logger(__name__)


DeliveryReport = Callable[[KafkaError | None, Message | None], None]

# Kafka's answers about one message that sending it again cannot change: it is too large for
# the topic (or the client), or the broker refuses its content. Any other failure is retried.
REJECTED = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_TIMESTAMP,
        KafkaError.POLICY_VIOLATION,
        KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        KafkaError._BAD_MSG,
        KafkaError._INVALID_ARG,
    }
)
TOO_LARGE = frozenset(
    {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG_SIZE, KafkaError.RECORD_LIST_TOO_LARGE}
)


def is_rejected(error: KafkaError) -> bool:
    """This message can never be produced as it is (delivery reports carry no retriable
    flag, so the codes decide)."""
    return error.code() in REJECTED and not error.fatal()


class OutputRejected(Exception):
    """Kafka refused an output for good: the inputs it came from are to be dead-lettered."""

    def __init__(self, message: Outgoing, error: KafkaError) -> None:
        super().__init__(f"{error.name()}: {message.topic} message of {len(message.value)} bytes")
        self.message = message
        self.error = error


def try_produce(
    producer: Producer, message: Outgoing, on_delivery: DeliveryReport | None = None
) -> bool:
    """Hands a message to librdkafka; False when its local queue is full, for the caller to
    let it drain (in its own way: an event loop sleeps, a client thread polls) and retry.
    A message librdkafka refuses at once (larger than `message.max.bytes`) is reported to
    `on_delivery` like a broker's refusal; without one, `OutputRejected` is raised."""
    try:
        producer.produce(
            message.topic,
            key=message.key,
            value=message.value,
            partition=message.partition,
            on_delivery=on_delivery,
        )
    except BufferError:
        return False
    except KafkaException as exc:
        error = exc.args[0]
        if not is_rejected(error):
            raise
        if on_delivery is None:
            raise OutputRejected(message, error) from exc
        on_delivery(error, None)
    return True


def produce_polling(
    producer: Producer, message: Outgoing, on_delivery: DeliveryReport | None = None
) -> None:
    """`try_produce` from a client thread: while the local queue is full, serve delivery
    reports until it has room."""
    while not try_produce(producer, message, on_delivery):
        producer.poll(0.01)


def close_producer(producer: Producer, timeout_s: float) -> None:
    """Deliver what `timeout_s` allows, drop the rest, and stop the client's threads at once:
    `Producer.close()` alone waits up to `message.timeout.ms` (minutes) for an unreachable
    broker, and a producer left to the garbage collector keeps reconnecting until then. What
    is dropped was never acknowledged, so its inputs' offsets were not committed either."""
    producer.flush(timeout_s)
    producer.purge()
    producer.close()


class OutputProducer:
    def __init__(
        self, kafka: KafkaConnection, backoff_s: float = 0.5, max_backoff_s: float = 10.0
    ) -> None:
        self._producer = Producer(
            kafka.librdkafka(
                {
                    "logger": LIBRDKAFKA,
                    # no duplicate or reordered output when librdkafka retries a send; it implies
                    # acks=all and caps max.in.flight.requests.per.connection at 5 by itself
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 2,
                    "message.timeout.ms": 30_000,
                }
            )
        )
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._running = True
        self._poller = threading.Thread(target=self._serve_callbacks, daemon=True)
        self._poller.start()

    def _serve_callbacks(self) -> None:
        """Delivery reports run on this thread, so the event loop never blocks on poll()."""
        while self._running:
            self._producer.poll(0.05)

    async def deliver(self, messages: Sequence[Outgoing]) -> None:
        pending = list(messages)
        failures = 0
        while pending:
            failed = await self._send_batch(pending)
            if not failed:
                return
            fatal = next((error for _, error in failed if error.fatal()), None)
            if fatal is not None:
                raise KafkaException(fatal)  # the producer is unusable: retrying cannot help
            rejected = next(((m, e) for m, e in failed if is_rejected(e)), None)
            if rejected is not None:  # the caller's handling dead-letters the input
                raise OutputRejected(*rejected)
            PUBLISH_RETRIES.inc(len(failed))
            failures += 1
            delay = doubling_wait(self._backoff_s, self._max_backoff_s, failures)
            log.warning(
                "publish_failed_retrying",
                failed=len(failed),
                error=str(failed[0][1]),
                delay_s=delay,
            )
            await asyncio.sleep(delay)
            pending = [message for message, _ in failed]

    async def _send_batch(self, batch: list[Outgoing]) -> list[tuple[Outgoing, KafkaError]]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        failed: list[tuple[Outgoing, KafkaError]] = []
        remaining = len(batch)

        def report(message: Outgoing, error: KafkaError | None, _: Message | None) -> None:
            nonlocal remaining
            if error is not None:
                failed.append((message, error))
            remaining -= 1
            if remaining == 0:
                loop.call_soon_threadsafe(done.set_result, None)

        for message in batch:
            while not try_produce(
                self._producer, message, lambda err, msg, m=message: report(m, err, msg)
            ):
                await asyncio.sleep(0.01)  # the local queue is full: let it drain
        if batch:
            await done
        return failed

    def close(self, timeout_s: float = 10.0) -> None:
        self._running = False
        self._poller.join(timeout_s)
        close_producer(self._producer, timeout_s)
