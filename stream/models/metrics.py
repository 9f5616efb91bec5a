"""Prometheus metrics of the models served: swaps, and per version what each model does.

The champion's figures are counted per delivered batch; the shadow's are read from its
tally when Prometheus scrapes (stream/models/shadow.py), so the stream pays nothing for them.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from schemas import SentimentEvent
from stream.models.shadow import ShadowBatch
from stream.models.slot import ServingModels
from stream.observability.metrics import MODEL_INFO

MODEL_SWAPS = Counter(
    "badbuzz_model_swaps",
    "Models the control topic named: a champion swapped in, a champion or challenger "
    "refused (bad checksum or bundle; the model serving serves on), or its fetch failed "
    "for a passing reason (fetch_failed: tried again after a wait).",
    ["outcome"],
)
MODEL_SCORED = Counter(
    "badbuzz_model_scored",
    "Tweets labelled by the champion, by model version and label.",
    ["version", "label"],
)
MODEL_INFERENCE_SECONDS = Histogram(
    "badbuzz_model_inference_seconds",
    "Time to score one batch, by model version and role (champion or shadow).",
    ["version", "role"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


def export_serving(models: ServingModels) -> None:
    MODEL_INFO.info({"version": models.current().version})
    SHADOW.models = models
    models.on_shadow = observe_shadow


def observe_champion(version: str, events: Sequence[SentimentEvent], inference_s: float) -> None:
    """The batch's inference time under the bundle's `version`; each scored tweet under the
    version that labelled it (a language route has its own); a tweet flagged in a language no
    model reads was labelled by none."""
    if not events:
        return
    MODEL_INFERENCE_SECONDS.labels(version=version, role="champion").observe(inference_s)
    scored = collections.Counter((e.model_version, e.label.value) for e in events if e.scored)
    for (version, label), count in scored.items():
        MODEL_SCORED.labels(version=version, label=label).inc(count)


def observe_shadow(batch: ShadowBatch) -> None:
    MODEL_INFERENCE_SECONDS.labels(version=batch.version, role="shadow").observe(batch.inference_s)


class ShadowCollector(Collector):
    """The running challenger's tally against the champion, as counters."""

    def __init__(self) -> None:
        self.models: ServingModels | None = None

    def collect(self) -> Iterator[Metric]:
        shadow = None if self.models is None else self.models.shadow
        tally = None if shadow is None else shadow.tally()
        names = ("version", "champion")
        scored = CounterMetricFamily(
            "badbuzz_shadow_scored", "Tweets the challenger scored in shadow.", labels=names
        )
        agreed = CounterMetricFamily(
            "badbuzz_shadow_agreed", "Of them, labelled as the champion did.", labels=names
        )
        labels = CounterMetricFamily(
            "badbuzz_shadow_labels", "The challenger's labels.", labels=[*names, "label"]
        )
        feedback = CounterMetricFamily(
            "badbuzz_shadow_feedback",
            "User-labelled tweets both scored, and which model had each right.",
            labels=[*names, "right"],
        )
        skipped = CounterMetricFamily(
            "badbuzz_shadow_skipped",
            "Batches offered to the challenger while it was still busy: not scored in shadow.",
            labels=["version"],
        )
        if shadow is not None:
            skipped.add_metric([shadow.version], shadow.skipped)
        if shadow is not None and tally is not None:
            key = [shadow.version, tally.champion]
            scored.add_metric(key, tally.scored)
            agreed.add_metric(key, tally.agreed)
            for label, count in sorted(tally.labels.items()):
                labels.add_metric([*key, label], count)
            feedback.add_metric([*key, "total"], tally.feedback)
            feedback.add_metric([*key, "champion"], tally.champion_right)
            feedback.add_metric([*key, "challenger"], tally.challenger_right)
        yield from (scored, agreed, labels, feedback, skipped)


SHADOW = ShadowCollector()
REGISTRY.register(SHADOW)
