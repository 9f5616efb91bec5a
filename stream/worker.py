"""The worker: Faust's app with its agents, the scoring consumer, timers and web, wired to
the pipeline (stream/pipeline/steps.py) and to Kafka. Nothing here decides anything about a
tweet; it connects the parts and starts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial

import faust
import structlog
from confluent_kafka.admin import AclOperation

from model import SentimentModel
from stream.agents.alerts import add_alerts_agent
from stream.agents.feedback import add_feedback_agent
from stream.agents.handling import OUTPUT_TOO_LARGE, PRODUCE_FAILED, Handling
from stream.agents.scoring import ScoringObserver, scoring_consumer
from stream.app import create_app, raw_topic
from stream.kafka import KafkaAccessError, KafkaConnection, KafkaNotReady
from stream.kafka.access import READ, WRITE, check_access, until_ready
from stream.kafka.faust_lag import FaustLag
from stream.kafka.producer import OutputProducer
from stream.kafka.state_store import PartitionedStateStore
from stream.kafka.topics import ensure_badbuzz_topics, partition_counts
from stream.models.follower import ModelFollower
from stream.observability import metrics
from stream.observability.logs import configure_logging
from stream.pipeline.faults import PROCESSING_FAILED
from stream.pipeline.intake import REASONS
from stream.pipeline.steps import Pipeline, Topology
from stream.serving import load_bundle
from stream.settings import Settings
from stream.web import StatusBoard, WebApi, register_web

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def required_access(settings: Settings) -> Mapping[str, frozenset[AclOperation]]:
    """The operations the worker's principal needs on each topic (README lists them as ACLs):
    it reads its inputs, writes its outputs, and both on its two internal topics."""
    read, write, both = frozenset({READ}), frozenset({WRITE}), frozenset({READ, WRITE})
    return {
        settings.topic_raw: read,
        settings.topic_feedback: read,
        settings.topic_signals: both,
        settings.topic_alert_state: both,
        settings.topic_feedback_labelled: write,
        settings.topic_models: both,  # read whole; each worker writes its shadow tally
        settings.topic_model_bundles: read,
        **{topic: write for topic in settings.output_topics},
    }


def build_worker(
    settings: Settings,
    scorer: SentimentModel,
    kafka: KafkaConnection,
    clock: Callable[[], datetime] = utc_now,
) -> faust.App:
    outputs = OutputProducer(kafka)
    status = StatusBoard()
    pipeline = Pipeline.from_settings(settings, scorer, clock, topology_of(settings, kafka))
    handling = Handling(pipeline, outputs, status)
    metrics.declare_label_values(
        (*REASONS, PROCESSING_FAILED, OUTPUT_TOO_LARGE, PRODUCE_FAILED), settings.input_topics
    )

    follower = follow_models(settings, kafka, pipeline)
    app = create_app(settings, kafka, handling.dead_letter_undecodable)
    observer = ScoringObserver(handling)
    scoring = scoring_consumer(kafka, handling, observer)
    add_feedback_agent(app, raw_topic(app, settings.topic_feedback), handling)
    add_alerts_agent(
        app,
        raw_topic(app, settings.topic_signals),
        handling,
        PartitionedStateStore(kafka, settings.topic_alert_state),
    )

    @app.task
    async def start_scoring() -> None:
        scoring.start()
        if follower is not None:
            follower.start()

    faust_lag = FaustLag((settings.topic_feedback, settings.topic_signals))
    metrics.CONSUMER_LAG.read_from(lambda: scoring.lag, lambda: faust_lag.latest)

    @app.timer(interval=settings.lag_report_interval_s)
    async def measure_faust_lag() -> None:
        await faust_lag.measure(app.consumer)

    @app.on_before_shutdown.connect
    async def flush_outputs(app: faust.App, **kwargs: object) -> None:
        await asyncio.to_thread(scoring.stop)
        if follower is not None:
            await asyncio.to_thread(follower.stop)
        outputs.close()

    register_web(WebApi(app, settings, pipeline, outputs, status, lambda: scoring.alive))
    return app


def follow_models(
    settings: Settings, kafka: KafkaConnection, pipeline: Pipeline
) -> ModelFollower | None:
    """The control topic's champion installed before the first batch, and followed after."""
    if not settings.model_follow:
        return None
    follower = ModelFollower(
        settings,
        kafka,
        pipeline.models,
        partial(load_bundle, settings),
        settings.scoring_transactional_id,
    )
    follower.catch_up(settings.startup_timeout_s)
    return follower


def topology_of(settings: Settings, kafka: KafkaConnection) -> Topology:
    """The partition counts of the raw and signals topics, as the cluster has them."""
    counts = partition_counts(kafka, [settings.topic_raw, settings.topic_signals])
    default = settings.topic_partitions
    return Topology(
        counts.get(settings.topic_raw, default), counts.get(settings.topic_signals, default)
    )


EXIT_KAFKA_REFUSED = 78  # EX_CONFIG: a supervisor restarting at once would meet the same refusal
EXIT_KAFKA_UNAVAILABLE = 69  # EX_UNAVAILABLE: no answer within startup_timeout_s; try later


def prepare_cluster(settings: Settings, kafka: KafkaConnection) -> None:
    """The topics exist and the principal may do what the worker does."""
    ensure_badbuzz_topics(settings, kafka)
    check_access(kafka, required_access(settings), [settings.app_id, settings.scoring_group_id])


def run_worker(settings: Settings, scorer: SentimentModel) -> int:
    """Blocks until SIGTERM/SIGINT; Faust's worker then commits what was acknowledged. Brokers
    still starting are waited for (up to `startup_timeout_s`); their refusal (credentials,
    certificate, ACLs) is one error line and an exit, not clients retrying in a loop."""
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    kafka = KafkaConnection.from_settings(settings)
    try:
        until_ready(lambda: prepare_cluster(settings, kafka), settings.startup_timeout_s)
    except KafkaAccessError as exc:
        log.error("kafka_refused", exc_info=exc)
        return EXIT_KAFKA_REFUSED
    except KafkaNotReady as exc:
        log.error(
            "kafka_unavailable",
            error=exc.error.name(),
            waited_s=settings.startup_timeout_s,
            exc_info=exc,
        )
        return EXIT_KAFKA_UNAVAILABLE
    app = build_worker(settings, scorer, kafka)
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False, quiet=True)
    worker.spinner = None  # it writes terminal escape codes into the JSON log
    worker.execute_from_commandline()
    return 0
