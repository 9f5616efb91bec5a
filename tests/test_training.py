"""A tiny end-to-end training run: data, normalisation, Keras, TFLite export, LiteRT."""

from pathlib import Path

import numpy as np
import pytest

from model import SentimentModel
from training.bilstm import BiLSTMConfig, train_bundle
from training.data import DEFAULT_DATA_DIR, load_corpus, split_bucket
from training.pipeline import train_bilstm
from training.teacher import (
    TEACHER_FILE,
    blend_targets,
    load_teacher_scores,
    save_teacher_scores,
)


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


@pytest.mark.timeout(240)
def test_bilstm_distils_the_teacher_scores_left_beside_it(tmp_path: Path) -> None:
    train = load_corpus(DEFAULT_DATA_DIR, limit=300).train
    teacher = np.random.default_rng(0).random(len(train), dtype=np.float32)
    save_teacher_scores(tmp_path / TEACHER_FILE, teacher, train)
    metadata = train_bilstm(tmp_path / "bilstm", DEFAULT_DATA_DIR, 300, 1)
    assert metadata["distillation"] == {"soft_weight": 0.5, "teacher": "transformer"}
    assert metadata["version"].startswith("bilstm-kd50-")
    model = SentimentModel.load(tmp_path / "bilstm")
    assert model.version == metadata["version"]
    assert model.predict_proba(["what a lovely flight"]).shape == (1,)


def test_teacher_scores_only_load_against_the_rows_they_scored(tmp_path: Path) -> None:
    train = load_corpus(DEFAULT_DATA_DIR, limit=50).train
    path = save_teacher_scores(tmp_path / TEACHER_FILE, np.full(len(train), 0.25), train)
    np.testing.assert_allclose(load_teacher_scores(path, train), 0.25)
    with pytest.raises(ValueError, match="other training rows"):
        load_teacher_scores(path, load_corpus(DEFAULT_DATA_DIR, limit=60).train)
    with pytest.raises(ValueError, match="teacher scores for"):
        save_teacher_scores(path, np.zeros(3), train)


def test_blended_targets_mix_labels_and_teacher_scores() -> None:
    with pytest.raises(ValueError, match="do not match"):
        blend_targets(np.zeros(3, np.float32), np.zeros(4, np.float32), 0.5)
    with pytest.raises(ValueError, match="soft_weight"):
        blend_targets(np.zeros(2, np.float32), np.zeros(2, np.float32), 1.5)
    blended = blend_targets(np.array([1.0, 0.0], np.float32), np.array([0.2, 0.6]), 0.5)
    np.testing.assert_allclose(blended, [0.6, 0.3])
