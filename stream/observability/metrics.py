"""Prometheus metrics of the worker; names are a contract with dashboards and alert rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily

from model.language import METRIC_LANGUAGES, OTHER
from schemas import AlertKind, AlertStatus, FeedbackVerdict, Label

TWEETS_CONSUMED = Counter("badbuzz_tweets_consumed", "Raw messages read from the input topic.")
TWEETS_SCORED = Counter("badbuzz_tweets_scored", "Tweets scored, by predicted label.", ["label"])
TWEETS_BY_LANGUAGE = Counter(
    "badbuzz_tweets_language",
    "Tweets scored or flagged `unsupported_language`, by language (a fixed set, else other) "
    "and whether a served model read them.",
    ["lang", "scored"],
)
MESSAGES_CONSUMED = Counter(
    "badbuzz_messages_consumed",
    "Input messages handled (scored, recorded or dead-lettered), by topic.",
    ["topic"],
)
DEAD_LETTERS = Counter("badbuzz_dead_letters", "Inputs sent to the dead-letter topic.", ["reason"])
PUBLISH_RETRIES = Counter(
    "badbuzz_publish_retries", "Output messages sent again after a failed delivery."
)
OUTPUTS_REJECTED = Counter(
    "badbuzz_outputs_rejected",
    "Output messages Kafka refused for good (too large, invalid), whose inputs were "
    "dead-lettered instead, by topic and error.",
    ["topic", "error"],
)
BATCH_SIZE = Histogram(
    "badbuzz_batch_size", "Messages per micro-batch.", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)
)
INFERENCE_SECONDS = Histogram(
    "badbuzz_inference_seconds",
    "Model time per micro-batch.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
END_TO_END_SECONDS = Histogram(
    "badbuzz_end_to_end_latency_seconds",
    "From the raw tweet's Kafka timestamp to its sentiment event being acknowledged.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LAST_BATCH_AT = Gauge("badbuzz_last_batch_timestamp_seconds", "When the last batch finished.")
MODEL_INFO = Info("badbuzz_model", "The model bundle being served.")
FEEDBACK = Counter("badbuzz_feedback", "Valid feedback reports, by verdict.", ["verdict"])
ALERTS = Counter("badbuzz_alerts", "Alert messages sent, by kind and status.", ["kind", "status"])
EVENT_TIME_CLAMPED = Counter(
    "badbuzz_event_time_clamped",
    "Event times too far ahead of the clock, replaced by the arrival time, by where: "
    "tweets/feedback at intake, signals in the alerts agent.",
    ["source"],
)
ALERT_LATE_DROPPED = Counter(
    "badbuzz_alert_late_dropped",
    "Events older than the alert window's lateness allowance, not counted, by alert kind.",
    ["kind"],
)
ALERT_DUPLICATES_DROPPED = Counter(
    "badbuzz_alert_duplicates_dropped",
    "Events whose tweet id (feedback: tweet id and user) the alert window had counted already.",
    ["kind"],
)
CLAMP_SOURCES = ("tweets", "feedback", "signals")
LagSource = Callable[[], Mapping[tuple[str, int], int]]


class ConsumerLag:
    """`badbuzz_consumer_lag`, read from the consumers' own measurements when it is scraped
    (and by /status): no copy kept in a gauge, which a scrape could catch half-refreshed."""

    name = "badbuzz_consumer_lag"
    documentation = "Messages between the worker's position and the end of each partition it owns."

    def __init__(self) -> None:
        self._sources: tuple[LagSource, ...] = ()

    def read_from(self, *sources: LagSource) -> None:
        """Each source returns a whole map of the partitions it owns now."""
        self._sources = sources

    def current(self) -> dict[tuple[str, int], int]:
        lag: dict[tuple[str, int], int] = {}
        for source in self._sources:
            lag.update(source())
        return lag

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        for (topic, partition), lag in sorted(self.current().items()):
            family.add_metric([topic, str(partition)], lag)
        yield family

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=["topic", "partition"])


CONSUMER_LAG = ConsumerLag()
REGISTRY.register(CONSUMER_LAG)
DRIFT_PSI = Gauge(
    "badbuzz_drift_psi", "PSI of recent p_positive scores against the bundle's reference."
)
PREDICTED_NEGATIVE_SHARE = Gauge(
    "badbuzz_predicted_negative_share", "Share of recent predictions that are negative."
)
OOV_TOKEN_RATE = Gauge(
    "badbuzz_oov_token_rate", "Share of recent tokens the model's vocabulary does not know."
)

LABEL_PRIOR = Gauge(
    "badbuzz_label_prior",
    "Live class prior estimated from recent scores (all brands), by class.",
    ["class"],
)
LABEL_PRIOR_SCOPES = Gauge(
    "badbuzz_label_prior_scopes", "Brands whose probabilities are corrected to their own prior."
)

# `badbuzz notify` is its own process: its /metrics shows these only.
NOTIFIER_REGISTRY = CollectorRegistry()
NOTIFICATIONS = Counter(
    "badbuzz_notifications",
    "Alerts posted to a receiver (Alertmanager), by outcome: sent (accepted), retried (the "
    "post failed and will be made again), failed (refused for good, not sent).",
    ["receiver", "outcome"],
    registry=NOTIFIER_REGISTRY,
)
NOTIFIER_ACTIVE_ALERTS = Gauge(
    "badbuzz_notifier_active_alerts",
    "Raised, unresolved alerts the notifier keeps alive in Alertmanager.",
    registry=NOTIFIER_REGISTRY,
)
NOTIFICATION_OUTCOMES = ("sent", "retried", "failed")


def declare_label_values(reasons: tuple[str, ...], input_topics: tuple[str, ...]) -> None:
    """Start every labelled series at 0, so Prometheus sees the first event as an increase."""
    for topic in input_topics:
        MESSAGES_CONSUMED.labels(topic=topic)
    for reason in reasons:
        DEAD_LETTERS.labels(reason=reason)
    for label in Label:
        if label is not Label.UNSUPPORTED_LANGUAGE:  # never scored: badbuzz_tweets_language
            TWEETS_SCORED.labels(label=label.value)
    for lang in (*METRIC_LANGUAGES, OTHER):
        for scored in ("true", "false"):
            TWEETS_BY_LANGUAGE.labels(lang=lang, scored=scored)
    for verdict in FeedbackVerdict:
        FEEDBACK.labels(verdict=verdict.value)
    for kind in AlertKind:
        ALERT_LATE_DROPPED.labels(kind=kind.value)
        ALERT_DUPLICATES_DROPPED.labels(kind=kind.value)
        for status in AlertStatus:
            ALERTS.labels(kind=kind.value, status=status.value)
    for source in CLAMP_SOURCES:
        EVENT_TIME_CLAMPED.labels(source=source)
