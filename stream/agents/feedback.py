"""tweets.feedback: users' verdicts, recorded by the feedback step through Faust's stream."""

from __future__ import annotations

from collections.abc import Sequence

import faust
import structlog

from stream.agents.handling import Handling, record_of, rejected_inputs
from stream.observability import metrics
from stream.records import RawRecord

log = structlog.get_logger(__name__)


def add_feedback_agent(app: faust.App, topic: faust.TopicT, handling: Handling) -> None:
    settings, pipeline = handling.settings, handling.pipeline

    async def record_feedback(records: Sequence[RawRecord]) -> None:
        recorded = pipeline.record_feedback(records)
        outcome = recorded.outcome
        await handling.deliver(recorded.messages, outcome.dead_letters)
        metrics.EVENT_TIME_CLAMPED.labels(source="feedback").inc(outcome.clamped)
        for _, report in outcome.accepted:
            metrics.FEEDBACK.labels(verdict=report.verdict.value).inc()
        log.info(
            "feedback_batch_done",
            consumed=len(records),
            accepted=len(outcome.accepted),
            dead_lettered=len(outcome.dead_letters),
            rejected=rejected_inputs(outcome.dead_letters),
        )

    @app.agent(topic, name="collect_feedback")
    async def collect_feedback(stream: faust.StreamT) -> None:
        batch_wait_s = settings.batch_max_wait_ms / 1000
        async for events in stream.take_events(settings.batch_size, within=batch_wait_s):
            await handling.handle("feedback", [record_of(e) for e in events], record_feedback)
