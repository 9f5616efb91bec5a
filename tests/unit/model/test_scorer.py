"""The shipped default bundle, scored through LiteRT exactly as the worker does."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import SentimentModel
from model.csv_scoring import score_csv
from model.scorer import row_plan
from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load()


def test_inference_never_imports_tensorflow() -> None:
    probe = (
        "import sys; from model import SentimentModel; "
        "SentimentModel.load().predict_proba(['fine']); print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_obvious_tweets_get_the_obvious_label(model: SentimentModel) -> None:
    texts = [
        "I love this airline, great flight and a lovely crew!",
        "worst flight ever, lost my luggage and rude staff",
    ]
    positive, negative = model.predict_proba(texts)
    assert positive > model.threshold > negative
    assert [model.label_for(p) for p in (positive, negative)] == ["positive", "negative"]


@pytest.mark.parametrize("count", [1, 63, 64, 65, 130])
def test_batching_does_not_change_scores_or_order(model: SentimentModel, count: int) -> None:
    texts = [f"flight {n} was {'great' if n % 3 else 'awful'} today" for n in range(count)]
    together = model.predict_proba(texts)
    one_by_one = np.concatenate([model.predict_proba([text]) for text in texts])
    assert together.shape == (count,)
    np.testing.assert_allclose(together, one_by_one, rtol=1e-5, atol=1e-6)
    assert ((together >= 0.0) & (together <= 1.0)).all()


def test_no_texts_no_scores(model: SentimentModel) -> None:
    assert model.predict_proba([]).shape == (0,)


def test_bundle_metadata_describes_the_model(model: SentimentModel) -> None:
    metadata = model.metadata
    assert metadata["version"] == model.version
    assert 0.0 < model.threshold < 1.0
    assert metadata["metrics"]["manual_test"]["n"] == 359
    assert len(metadata["reference_histogram"]) == 10
    assert len(metadata["training_data_sha256"]) == 64


def test_scores_are_the_bundles_calibration_of_the_raw_model(model: SentimentModel) -> None:
    texts = ["I love this airline", "worst flight ever", "the flight was on time"]
    raw = model.raw_classes(texts)
    calibrated = model.predict_classes(texts)
    entry = model.metadata["calibration"]
    logits = np.log(raw) / entry["temperature"] + np.asarray(entry["bias"])
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(calibrated, expected, rtol=1e-6)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, rtol=1e-9)
    assert not np.allclose(calibrated, raw, atol=1e-3)  # the calibration does something


def test_class_interface_matches_the_binary_score(model: SentimentModel) -> None:
    texts = ["I love this airline", "worst flight ever"]
    probabilities = model.predict_classes(texts)
    assert probabilities.shape == (2, len(model.classes))
    assert model.train_prior == pytest.approx([1 / len(model.classes)] * len(model.classes))
    positive, negative = (model.classes.index(c) for c in ("positive", "negative"))
    share = probabilities[:, positive] / (probabilities[:, positive] + probabilities[:, negative])
    np.testing.assert_allclose(model.predict_proba(texts), share, rtol=1e-6)
    assert model.labels(probabilities) == ["positive", "negative"]


def test_a_three_class_bundle_and_only_it_ships_a_neutral_model(model: SentimentModel) -> None:
    without = {k: v for k, v in model.metadata.items() if k != "neutral_model"}
    with pytest.raises(ValueError, match="neutral_model"):
        SentimentModel(model.bundle, without)
    with pytest.raises(ValueError, match="neutral_model"):
        SentimentModel(model.bundle, {**model.metadata, "classes": ["negative", "positive"]})


def test_factual_tweets_are_neutral_not_negative(model: SentimentModel) -> None:
    assert model.classes == ("negative", "neutral", "positive")
    texts = ["the flight was on time", "Is there wifi on the A320?", "worst flight ever"]
    assert model.labels(model.predict_classes(texts)) == ["neutral", "neutral", "negative"]


def test_offline_scoring_writes_each_class_probability_and_the_label(
    model: SentimentModel, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,the flight was on time\n2,worst flight ever\n")
    assert score_csv(model, source, tmp_path / "out.csv") == (2, 0)  # scored, flagged blank
    with (tmp_path / "out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["label"] for row in rows] == ["neutral", "negative"]
    for row in rows:
        assert sum(float(row[f"p_{name}"]) for name in model.classes) == pytest.approx(1, abs=1e-3)


def test_binary_score_and_class_decision_agree_on_polar_tweets(model: SentimentModel) -> None:
    texts = [f"flight {n} was {'great' if n % 3 else 'awful'}, crew {n}" for n in range(200)]
    texts += ["worst flight ever", "love this crew", "not bad at all", "could be better"]
    decided = model.labels(model.predict_classes(texts))
    binary = [model.label_for(p) for p in model.predict_proba(texts)]
    polar = [(a, b) for a, b in zip(decided, binary, strict=True) if a != "neutral"]
    assert len(polar) > 50
    assert all(a == b for a, b in polar)


def test_any_batch_size_scores_like_the_exported_batch(model: SentimentModel) -> None:
    """Batches run as chunks of 8 to 64 compiled rows, so a small batch is cheap; the scores
    must not depend on the chunking."""
    texts = [f"flight {n} was {'late' if n % 2 else 'fine'}, seat {n}" for n in range(300)]
    everything = model.predict_classes(texts)
    for rows in (1, 5, 8, 9, 64, 257):
        assert model.predict_classes(texts[:rows]) == pytest.approx(everything[:rows], abs=1e-6)


def test_a_batch_is_chunked_with_less_padding_than_the_smallest_size() -> None:
    sizes = (8, 16, 32, 64)
    assert row_plan(0, sizes) == []
    assert row_plan(5, sizes) == [(5, 8)]
    assert row_plan(100, sizes) == [(64, 64), (32, 32), (4, 8)]
    for rows in range(1, 600):
        plan = row_plan(rows, sizes)
        assert sum(taken for taken, _ in plan) == rows
        assert all(taken <= size for taken, size in plan)
        assert sum(size for _, size in plan) - rows < min(sizes)


def test_a_graph_fixed_to_its_exported_batch_runs_at_that_size() -> None:
    assert row_plan(150, (64,)) == [(64, 64), (64, 64), (22, 64)]
