from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from stream.models.slot import Serving, ServingModels
from stream.pipeline.steps import Pipeline
from stream.settings import Settings
from tests.unit.models.conftest import OneLabelScorer, raw_tweets

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings()


def pipeline() -> Pipeline:
    return Pipeline.from_settings(SETTINGS, OneLabelScorer("old", 0.9), lambda: NOW)


def test_a_batch_keeps_the_model_it_took_when_a_swap_lands_before_it_is_scored() -> None:
    steps = pipeline()
    taken = steps.models.current()
    steps.models.swap(Serving.of(SETTINGS, OneLabelScorer("new", 0.1)))
    in_flight = steps.score(raw_tweets("a", "b"), serving=taken)
    after = steps.score(raw_tweets("c"))
    assert [e.model_version for e in in_flight.outcome.events] == ["old", "old"]
    assert [e.label.value for e in in_flight.outcome.events] == ["positive", "positive"]
    assert [(e.model_version, e.label.value) for e in after.outcome.events] == [("new", "negative")]


def test_label_shift_state_belongs_to_a_version_and_starts_anew_with_the_next() -> None:
    steps = pipeline()
    old_shift = steps.shift
    steps.score(raw_tweets(*(f"t{i}" for i in range(50))))
    steps.models.swap(Serving.of(SETTINGS, OneLabelScorer("new", 0.1)))
    assert steps.shift is not None and steps.shift is not old_shift
    assert steps.shift.overall.prior.tolist() == [0.5, 0.5]  # nothing of the old model's traffic
    assert steps.predict(["x"]).labels[0].value == "negative"  # /predict follows the swap


def test_promoting_the_challenger_ends_its_shadow_and_another_keeps_running() -> None:
    models = ServingModels(Serving.of(SETTINGS, OneLabelScorer("one", 0.9)))
    models.start_shadow(Serving.of(SETTINGS, OneLabelScorer("two", 0.9)))
    models.swap(Serving.of(SETTINGS, OneLabelScorer("three", 0.9)))
    assert models.shadow is not None and models.shadow.version == "two"
    models.swap(Serving.of(SETTINGS, OneLabelScorer("two", 0.9)))
    assert models.shadow is None


def test_a_shadow_of_the_serving_version_is_offered_nothing() -> None:
    steps = pipeline()
    steps.models.start_shadow(Serving.of(SETTINGS, OneLabelScorer("old", 0.1)))
    steps.models.offer_shadow(steps.models.current(), steps.score(raw_tweets("a")).outcome)
    shadow = steps.models.shadow
    assert shadow is not None
    shadow.stop()
    assert shadow.tally() is None


class BrokenScorer(OneLabelScorer):
    def predict_classes(
        self, texts: Sequence[str], langs: Sequence[str] | None = None
    ) -> np.ndarray:
        raise RuntimeError("a challenger that cannot score")


def test_a_failing_challenger_ends_its_shadow_and_the_champion_batch_is_untouched() -> None:
    models = ServingModels(Serving.of(SETTINGS, OneLabelScorer("old", 0.9)))
    models.start_shadow(Serving.of(SETTINGS, BrokenScorer("broken", 0.5)))
    steps = pipeline()
    scored = steps.score(raw_tweets("a"))
    shadow = models.shadow
    assert shadow is not None
    models.offer_shadow(models.current(), scored.outcome)
    shadow.stop()  # its thread ended on the failure
    assert shadow.failed
    models.offer_shadow(models.current(), scored.outcome)
    assert models.shadow is None and models.failed_shadows == {"broken"}
    assert [e.model_version for e in scored.outcome.events] == ["old"]


def test_shadow_batches_reach_the_metrics_wired_after_the_shadow_started() -> None:
    models = ServingModels(Serving.of(SETTINGS, OneLabelScorer("old", 0.9)))
    models.start_shadow(Serving.of(SETTINGS, OneLabelScorer("new", 0.1)))
    seen = []
    models.on_shadow = seen.append
    models.offer_shadow(models.current(), pipeline().score(raw_tweets("a", "b")).outcome)
    shadow = models.shadow
    assert shadow is not None
    shadow.stop()
    assert [(batch.version, batch.champion, batch.agreed) for batch in seen] == [("new", "old", 0)]
