"""A tiny end-to-end training run: data, normalisation, Keras, TFLite export, LiteRT."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from model import SentimentModel, tokenize
from model.bundle import write_metadata
from model.text import MAX_TEXT_CHARS
from model.wordpiece import WordPieceEncoder
from tests.support import TRAINING_DATA
from training.baseline import token_lists
from training.bilstm import BiLSTMConfig, train_bundle
from training.calibrate import calibrate_bundle
from training.data import NEUTRAL, Example, load_corpus, split_bucket
from training.export import VOCAB_FILE
from training.minilm import pretrained_dir
from training.neutral import NeutralConfig, build_three_class_bundle
from training.pipeline import train_bilstm
from training.teacher import (
    TEACHER_FILE,
    blend_targets,
    load_teacher_scores,
    save_teacher_scores,
)

# the negative and positive rows among the 300 of the fixture's manual test set (not neutral)
MANUAL_POLAR_ROWS = 222


def test_splits_are_deterministic_and_keep_test_rows_out_of_training() -> None:
    first = load_corpus(TRAINING_DATA)
    second = load_corpus(TRAINING_DATA)
    assert [e.text for e in first.train] == [e.text for e in second.train]
    train_texts = {e.text for e in first.train}
    for splits in first.splits.values():
        assert not train_texts & {e.text for e in splits.test}
    assert len(first.manual_test) == MANUAL_POLAR_ROWS
    assert split_bucket("Hello @bob") == split_bucket("hello @alice")


def test_neutral_rows_train_only_three_class_models_and_calibration_rows_stay_apart() -> None:
    binary = load_corpus(TRAINING_DATA)
    three = load_corpus(TRAINING_DATA, neutral=True)
    assert all(e.label != NEUTRAL for e in binary.train + binary.validation)
    assert all(e.label != NEUTRAL for s in binary.splits.values() for e in s.test)
    assert not binary.splits["semeval2013"].train
    neutral_sources = {e.source for e in three.train if e.label == NEUTRAL}
    assert neutral_sources == {"semeval", "semeval2013"}  # human labels only
    assert {e.label for e in three.calibration} == {0, 1, NEUTRAL}
    frozen = {e.text for s in three.splits.values() for e in s.test} | {
        e.text for e in three.manual_test
    }
    assert not {e.text for e in three.calibration} & ({e.text for e in three.train} | frozen)


@pytest.mark.timeout(300)
def test_a_binary_bundle_plus_a_neutral_detector_is_a_calibrated_three_class_bundle(
    tmp_path: Path,
) -> None:
    shipped = SentimentModel.load()
    # the English model alone: a route must have its bundle's classes
    english_only = ("classes", "neutral_model", "routes")
    binary = {k: v for k, v in shipped.metadata.items() if k not in english_only}
    routes = shipped.metadata.get("routes", {}).values()
    ignored = shutil.ignore_patterns("neutral*", *routes)
    shutil.copytree(shipped.bundle, tmp_path / "binary", ignore=ignored)
    write_metadata(tmp_path / "binary", binary)
    base = SentimentModel.load(tmp_path / "binary")
    with pytest.raises(ValueError, match="not a binary"):
        build_three_class_bundle(shipped.bundle, tmp_path / "again", TRAINING_DATA)
    config = NeutralConfig(limit=300, epochs=1)
    build_three_class_bundle(base.bundle, tmp_path / "three", TRAINING_DATA, config)
    metadata = calibrate_bundle(tmp_path / "three", TRAINING_DATA, limit=300)
    model = SentimentModel.load(tmp_path / "three")
    assert model.classes == ("negative", "neutral", "positive")
    assert model.train_prior == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    texts = ["the flight was on time", "worst flight ever", "love this crew"]
    raw = model.raw_classes(texts)
    # the binary model is kept as is: it reads as p(positive | not neutral)
    np.testing.assert_allclose(
        raw[:, 2] / (raw[:, 0] + raw[:, 2]), base.raw_classes(texts)[:, 1], rtol=1e-5
    )
    probabilities = model.predict_classes(texts)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-9)
    assert model.labels(probabilities) == [model.classes[i] for i in probabilities.argmax(1)]
    assert len(metadata["calibration"]["bias"]) == 3
    assert metadata["threshold"] == 0.5  # the argmax between negative and positive
    assert metadata["version"].startswith("3class-") and metadata["version"].endswith("-cal")
    for name in ("validation_3class", "test_semeval_3class", "test_semeval2013_3class"):
        assert 0.0 <= metadata["metrics"][name]["macro_recall"] <= 1.0
    assert metadata["metrics"]["manual_test"]["n"] == MANUAL_POLAR_ROWS


@pytest.mark.timeout(240)
def test_tiny_training_run_produces_a_loadable_bundle(tmp_path: Path) -> None:
    metadata = train_bundle(tmp_path / "bundle", TRAINING_DATA, BiLSTMConfig(limit=300, epochs=1))
    model = SentimentModel.load(tmp_path / "bundle")
    assert model.version == metadata["version"]
    scores = model.predict_proba(["what a lovely flight", "terrible delay"])
    assert scores.shape == (2,)
    assert set(metadata["metrics"]) == {
        "test_sentiment140",
        "test_semeval",
        "test_semeval2013",
        "manual_test",
    }
    assert 0.0 <= metadata["metrics"]["manual_test"]["accuracy"] <= 1.0


@pytest.mark.timeout(240)
def test_bilstm_distils_the_teacher_scores_left_beside_it(tmp_path: Path) -> None:
    train = load_corpus(TRAINING_DATA, limit=300).train
    teacher = np.random.default_rng(0).random(len(train), dtype=np.float32)
    save_teacher_scores(tmp_path / TEACHER_FILE, teacher, train)
    metadata = train_bilstm(tmp_path / "bilstm", TRAINING_DATA, 300, 1)
    assert metadata["distillation"] == {"soft_weight": 0.5, "teacher": "transformer"}
    assert metadata["version"].startswith("bilstm-kd50-")
    model = SentimentModel.load(tmp_path / "bilstm")
    assert model.version == metadata["version"]
    assert model.predict_proba(["what a lovely flight"]).shape == (1,)


def test_teacher_scores_only_load_against_the_rows_they_scored(tmp_path: Path) -> None:
    train = load_corpus(TRAINING_DATA, limit=50).train
    path = save_teacher_scores(tmp_path / TEACHER_FILE, np.full(len(train), 0.25), train)
    np.testing.assert_allclose(load_teacher_scores(path, train), 0.25)
    with pytest.raises(ValueError, match="other training rows"):
        load_teacher_scores(path, load_corpus(TRAINING_DATA, limit=60).train)
    with pytest.raises(ValueError, match="teacher scores for"):
        save_teacher_scores(path, np.zeros(3), train)


def test_blended_targets_mix_labels_and_teacher_scores() -> None:
    with pytest.raises(ValueError, match="do not match"):
        blend_targets(np.zeros(3, np.float32), np.zeros(4, np.float32), 0.5)
    with pytest.raises(ValueError, match="soft_weight"):
        blend_targets(np.zeros(2, np.float32), np.zeros(2, np.float32), 1.5)
    blended = blend_targets(np.array([1.0, 0.0], np.float32), np.array([0.2, 0.6]), 0.5)
    np.testing.assert_allclose(blended, [0.6, 0.3])


def test_training_and_serving_cut_and_clean_a_long_text_alike() -> None:
    """The encoders training builds (bilstm's WordPiece, the baseline's word tokens) and the
    one the worker loads from the shipped bundle read a long text the same way: its first
    MAX_TEXT_CHARS characters, cleaned."""
    long = "worst delay ever @crew http://t.co/x " + "a.a. " * 1_000 + "unseen-tail"
    served = SentimentModel.load().vocabulary
    trained = WordPieceEncoder.from_file(pretrained_dir() / VOCAB_FILE, served.max_len)
    assert np.array_equal(trained.encode([long]), served.encode([long]))
    assert trained.tokenize(long) == trained.tokenize(long[:MAX_TEXT_CHARS])
    assert "unseen" not in " ".join(trained.tokenize(long))
    raw = WordPieceEncoder.from_file(pretrained_dir() / VOCAB_FILE, 8, tweet_normalize=False)
    assert raw.tokenize(long) == raw.tokenize(long[:MAX_TEXT_CHARS])
    [baseline] = token_lists([Example(long, 0, "sentiment140")], max_len=10_000)
    assert baseline == tokenize(long[:MAX_TEXT_CHARS])
    assert baseline[:6] == ["worst", "delay", "ever", "<user>", "<url>", "a"]
