"""A tiny end-to-end training run: data, normalisation, Keras, TFLite export, LiteRT."""

from pathlib import Path

import pytest

from model import SentimentModel
from training.bilstm import BiLSTMConfig, train_bundle
from training.data import DEFAULT_DATA_DIR, load_corpus, split_bucket


def test_splits_are_deterministic_and_keep_test_rows_out_of_training() -> None:
    first = load_corpus(DEFAULT_DATA_DIR, limit=2_000)
    second = load_corpus(DEFAULT_DATA_DIR, limit=2_000)
    assert [e.text for e in first.train] == [e.text for e in second.train]
    train_texts = {e.text for e in first.train}
    for splits in first.splits.values():
        assert not train_texts & {e.text for e in splits.test}
    assert len(first.manual_test) == 359
    assert split_bucket("Hello @bob") == split_bucket("hello @alice")


@pytest.mark.timeout(240)
def test_tiny_training_run_produces_a_loadable_bundle(tmp_path: Path) -> None:
    metadata = train_bundle(tmp_path / "bundle", BiLSTMConfig(limit=300, epochs=1))
    model = SentimentModel.load(tmp_path / "bundle")
    assert model.version == metadata["version"]
    scores = model.predict_proba(["what a lovely flight", "terrible delay"])
    assert scores.shape == (2,)
    assert set(metadata["metrics"]) == {"test_sentiment140", "test_semeval", "manual_test"}
    assert 0.0 <= metadata["metrics"]["manual_test"]["accuracy"] <= 1.0
