"""The served bundle routes French to its USE head, English to the BiLSTM, and reads both."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from model import SentimentModel
from model.scorer import positive_share
from tests.support import french_polar_rows


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_the_default_bundle_reads_english_and_french(model: SentimentModel) -> None:
    assert model.languages == {"en", "fr"}
    assert model.version_of("fr").startswith("fr-use-lr-")
    assert model.version_of("en") == model.version


def test_each_text_goes_to_its_languages_model(model: SentimentModel) -> None:
    texts = ["Mon vol est annulé, c'est une honte", "My flight was cancelled, disgraceful"]

    routed = model.predict_classes(texts, ["fr", "en"])

    french = model.routes["fr"].predict_classes(texts[:1])
    english = model.predict_classes(texts[1:])
    assert routed == pytest.approx(np.vstack([french, english]), abs=1e-6)
    assert model.labels(routed) == ["negative", "negative"]


def test_without_languages_everything_is_read_by_the_bundles_own_model(
    model: SentimentModel,
) -> None:
    texts = ["Merci Air Paradis, vol parfait", "great flight"]

    assert model.predict_classes(texts) == pytest.approx(model.predict_classes(texts, ["en", "en"]))


def test_the_french_head_reads_held_out_french_tweets(model: SentimentModel) -> None:
    """48 negative/positive tweets of the held-out split (tests/fixtures/SOURCE.md)."""
    rows = french_polar_rows()
    texts = [row["text"] for row in rows]
    positive = np.array([row["label"] == "positive" for row in rows])

    p_positive = positive_share(model.predict_classes(texts, ["fr"] * len(texts)), model.classes)

    assert ((p_positive >= 0.5) == positive).mean() >= 0.75
    assert roc_auc_score(positive, p_positive) >= 0.85
