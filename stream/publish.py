"""Delivers output messages until the broker acknowledges them all.

The input offsets of a batch are committed only after this returns, which is what makes
the worker at-least-once: a delivery failure is retried here, never skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import faust
import structlog

from stream.metrics import PUBLISH_RETRIES

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: faust.TopicT
    key: bytes | None
    value: bytes


async def publish_reliably(
    messages: Sequence[Outgoing], backoff_s: float = 0.5, max_backoff_s: float = 10.0
) -> None:
    pending = list(messages)
    delay = backoff_s
    while pending:
        results = await asyncio.gather(
            *(_deliver(message) for message in pending), return_exceptions=True
        )
        failed = [
            (message, result)
            for message, result in zip(pending, results, strict=True)
            if isinstance(result, Exception)
        ]
        if not failed:
            return
        PUBLISH_RETRIES.inc(len(failed))
        log.warning(
            "publish_failed_retrying", failed=len(failed), error=repr(failed[0][1]), delay_s=delay
        )
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_s)
        pending = [message for message, _ in failed]


async def _deliver(message: Outgoing) -> object:
    """`force=True` sends now instead of attaching to the offset commit, so latency stays
    low; the returned future resolves when the broker has the message."""
    delivery = await message.topic.send(key=message.key, value=message.value, force=True)
    return await delivery
