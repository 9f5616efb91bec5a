"""Feedback-driven retraining: dataset v2, and the gate that promotes only a better model."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import SentimentModel
from model.scorer import BINARY_CLASSES
from tests.support import TRAINING_DATA
from training.data import Example, data_hash, load_corpus
from training.retrain import (
    FeedbackRecord,
    dataset_v2,
    examples_from_rows,
    feedback_since,
    retrain,
)
from training.selection import Selection

LIMIT = 300


def test_feedback_rows_become_examples_newest_per_tweet() -> None:
    rows = [
        {"tweet_id": "1", "text": "late again", "label": "positive", "source": "http"},
        {"tweet_id": "1", "text": "late again", "label": "negative", "source": "http"},
        {"tweet_id": "2", "text": "no label", "source": "http"},
    ]
    assert examples_from_rows(rows) == [Example("late again", 0, "feedback")]


def test_rows_from_unknown_sources_are_not_trained_on() -> None:
    rows = [
        {"tweet_id": "1", "text": "lost my bag", "label": "negative", "source": "http"},
        {"tweet_id": "2", "text": "on time", "label": "positive", "source": "kafka:User:app"},
        {"tweet_id": "3", "text": "forged praise", "label": "positive", "source": "unknown"},
        {"tweet_id": "4", "text": "older worker's row", "label": "positive"},
        {"tweet_id": "5", "text": "made up", "label": "positive", "source": "carrier-pigeon"},
        # an unvouched row cannot overwrite a vouched one either
        {"tweet_id": "1", "text": "lost my bag", "label": "positive", "source": "unknown"},
    ]
    assert examples_from_rows(rows) == [
        Example("lost my bag", 0, "feedback"),
        Example("on time", 1, "feedback"),
    ]


def labelled(tweet_id: str, label: str, source: str = "http") -> dict[str, str]:
    return {"tweet_id": tweet_id, "text": f"tweet {tweet_id}", "label": label, "source": source}


def test_feedback_since_trains_on_all_but_counts_only_what_is_past_the_marker() -> None:
    records = [
        FeedbackRecord(0, 3, labelled("old", "negative")),
        FeedbackRecord(0, 7, labelled("new", "positive")),
        FeedbackRecord(0, 8, labelled("forged", "positive", source="unknown")),
        FeedbackRecord(1, 0, labelled("other-partition", "negative")),
    ]
    read = feedback_since(records, marker={0: 5}, ends={0: 9, 1: 1})
    assert {e.text for e in read.examples} == {"tweet old", "tweet new", "tweet other-partition"}
    assert read.new == 2  # partition 1 was never marked: all of it is new; the forged row is not
    assert read.ends == {0: 9, 1: 1}


def test_with_the_marker_at_the_end_nothing_is_new() -> None:
    records = [FeedbackRecord(0, n, labelled(str(n), "negative")) for n in range(4)]
    assert feedback_since(records, marker={0: 4}, ends={0: 4}).new == 0
    assert feedback_since(records, marker={}, ends={0: 4}).new == 4


def test_dataset_v2_adds_feedback_to_training_only_and_never_a_frozen_row() -> None:
    corpus = load_corpus(TRAINING_DATA, limit=LIMIT)
    frozen_texts = {corpus.manual_test[0].text, corpus.calibration[0].text}
    new = Example("a brand new complaint about the lounge", 0, "feedback")
    v2, kept = dataset_v2(corpus, [new, *(Example(t, 1, "feedback") for t in frozen_texts)])
    assert kept == 1
    assert new in v2.train and not frozen_texts & {e.text for e in v2.train}
    assert v2.validation == corpus.validation and v2.manual_test == corpus.manual_test
    assert data_hash(v2.train) != data_hash(corpus.train)


def poisoned(corpus_train: list[Example]) -> list[dict[str, str]]:
    """Every training text twice more with the wrong label: a model that learns it is worse."""
    return [
        {
            "tweet_id": f"p{copy}-{n}",
            "text": e.text,
            "label": "positive" if e.label == 0 else "negative",
            "source": "http",
        }
        for copy in range(2)
        for n, e in enumerate(corpus_train)
    ]


@pytest.mark.timeout(240)
def test_a_challenger_for_shadow_leaves_the_alias_a_better_one_moves_it_a_worse_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from training.tracking import champion_version, configure

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    configure(root=tmp_path / "mlflow")
    train = load_corpus(TRAINING_DATA, limit=LIMIT).train
    bad = examples_from_rows(poisoned(train))
    gate = {"limit": LIMIT, "selection": Selection("validation.accuracy", 0.0, 0.0)}

    english_only = tmp_path / "english-only"
    english_only.mkdir()
    for source in TRAINING_DATA.iterdir():
        if source.name != "french":
            (english_only / source.name).symlink_to(source)
    shadowed = retrain(bad, tmp_path / "v1", english_only, **gate, promote=False)
    assert not shadowed["promoted"] and shadowed["challenger"]
    assert champion_version() is None  # `badbuzz model promote` decides, after the shadow
    assert shadowed["french"] is None
    assert SentimentModel.load(tmp_path / "v1").languages == {"en"}

    better = retrain([], tmp_path / "v2", TRAINING_DATA, **gate)
    assert better["promoted"], better
    assert better["champion_before"] is None
    challenger = SentimentModel.load(tmp_path / "v2")  # binary, and it reads French
    assert challenger.languages == {"en", "fr"}
    assert challenger.routes["fr"].classes == challenger.classes == BINARY_CLASSES
    assert challenger.version_of("fr") == better["french"]["version"]
    logged = MlflowClient().get_run(champion_version().run_id).data
    assert logged.metrics["fr.test.roc_auc"] == better["french"]["test"]["roc_auc"]
    assert logged.params["french_head"] == better["french"]["version"]

    worse = retrain(bad, tmp_path / "v3", TRAINING_DATA, **gate)
    assert not worse["promoted"], worse
    assert str(champion_version().version) == better["challenger"]
    assert worse["feedback_rows"] == len(bad) > 0
