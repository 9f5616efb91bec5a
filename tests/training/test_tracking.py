"""MLflow tracking, registry and champion promotion end to end on a tiny run, and the
baseline's exported TFLite model against sklearn."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model import SentimentModel
from model.bundle import read_metadata
from stream.serving import load_serving_model
from stream.settings import Settings
from tests.support import TRAINING_DATA
from training.baseline import BaselineConfig, fit_linear, token_lists
from training.data import Example, load_corpus
from training.export import write_bundle
from training.linear_tflite import cuckoo_tables, linear_tflite
from training.plots import PLOTS
from training.report import held_out_accuracy
from training.selection import Selection

TRICKY = [
    "good good good flight, good crew !!",
    "not good not good at all :( delayed delayed",
    "@united worst. flight. ever. http://t.co/x",
    "",
    "zzqx unknownword",
    "love love love the new seats <3 #happy",
]


def test_held_out_accuracy_weighs_each_training_source_by_its_size() -> None:
    metrics = {
        "test_sentiment140.accuracy": 0.8,
        "test_sentiment140.n": 300.0,
        "test_semeval.accuracy": 0.9,
        "test_semeval.n": 100.0,
        "manual_test.accuracy": 0.1,  # not a held-out split of the training data
        "manual_test.n": 359.0,
    }
    assert held_out_accuracy(metrics) == pytest.approx(0.825)
    assert held_out_accuracy({"test_semeval.accuracy": 0.9, "test_semeval.n": 100.0}) is None


def test_only_fast_models_with_both_recalls_above_the_floor_can_serve() -> None:
    rule = Selection(recall_floor=0.7, min_tweets_per_s=8_000)
    fit = {"validation.recall_negative": 0.8, "validation.recall_positive": 0.75}
    assert rule.eligible({**fit, "tweets_per_s": 20_000})
    assert not rule.eligible({**fit, "tweets_per_s": 360})  # the transformer teaches
    assert not rule.eligible({**fit, "validation.recall_positive": 0.3, "tweets_per_s": 9e4})
    assert not rule.eligible({"tweets_per_s": 20_000})  # no validation metrics, no crown
    assert Selection(min_tweets_per_s=0).eligible({**fit})


def test_a_french_route_is_held_to_the_same_recall_floor() -> None:
    rule = Selection(recall_floor=0.7, min_tweets_per_s=0)
    english = {"validation.recall_negative": 0.8, "validation.recall_positive": 0.75}
    french = {"fr.test.recall_negative": 0.85, "fr.test.recall_positive": 0.8}
    assert rule.eligible({**english, **french})
    assert not rule.eligible({**english, **french, "fr.test.recall_positive": 0.4})
    assert rule.eligible({**english, "fr.xlmt_val.recall_positive": 0.4})  # a test set only


@pytest.mark.parametrize("sublinear_tf", [True, False])
def test_baseline_litert_scores_match_sklearn(tmp_path: Path, sublinear_tf: bool) -> None:
    corpus = load_corpus(TRAINING_DATA, limit=300)
    config = BaselineConfig(min_df=1, sublinear_tf=sublinear_tf, serve_batch_size=16)
    labels = np.array([e.label for e in corpus.train])
    tokens = token_lists(corpus.train, config.max_len)
    fit = fit_linear(tokens, labels, np.ones(len(labels)), config)
    tflite, vocabulary, dropped = linear_tflite(
        fit.vectorizer, fit.classifier, config.max_len, config.serve_batch_size
    )
    assert dropped == 0
    metadata = {"version": "t", "threshold": 0.5, "batch_size": 16, "max_len": config.max_len}
    served = SentimentModel.load(write_bundle(tmp_path, tflite, vocabulary, metadata))
    examples = corpus.validation + [Example(text, 1, "x") for text in TRICKY]
    expected = fit.scores(token_lists(examples, config.max_len))
    actual = served.predict_proba([e.text for e in examples])
    assert np.abs(actual - expected).max() < 1e-5


def test_cuckoo_tables_place_every_pair_once() -> None:
    pairs = [(a, b) for a in range(2, 60) for b in range(2, 40)]
    first, second, dropped = cuckoo_tables(pairs, 2_999)
    placed = sorted(int(i) for i in np.concatenate([first, second]) if i >= 0)
    assert dropped == 0
    assert placed == list(range(len(pairs)))


def _crafted(source: Path, target: Path, version: str, **validation: float) -> dict[str, Any]:
    """A copy of a bundle whose metadata claims the given validation metrics."""
    shutil.copytree(source, target)
    metadata = read_metadata(target)
    metadata["version"] = version
    metadata["metrics"]["validation"] = {
        "accuracy": 0.8,
        "precision_positive": 0.8,
        "recall_positive": 0.8,
        "recall_negative": 0.8,
        **validation,
    }
    (target / "metadata.json").write_text(json.dumps(metadata))
    return metadata


@pytest.mark.timeout(180)
def test_tiny_run_is_tracked_registered_promoted_and_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from model.registry import MODEL_NAME, fetch_champion
    from training.pipeline import run_all
    from training.tracking import configure, log_candidate, promote_champion

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = configure(root=tmp_path / "mlflow")
    assert uri.startswith("sqlite:///") and uri.endswith("mlruns.db")

    result = run_all(
        TRAINING_DATA,
        tmp_path / "work",
        tmp_path / "serve",
        tmp_path / "reports",
        limit=300,
        epochs=1,
        only=["baseline"],  # the BiLSTM, slow to export, is test_pipeline.py's
    )
    assert set(result["registered"]) == {"baseline"}
    client = MlflowClient()
    version = client.get_model_version(MODEL_NAME, result["registered"]["baseline"])
    run = client.get_run(version.run_id)
    for key in (
        "validation.accuracy",
        "manual_test.precision_positive",
        "test_semeval.roc_auc",
        "test_sentiment140.f1_negative",
        "test_semeval2013.ece",  # every candidate is calibrated before it is logged
        "test_semeval2013.ece_uncalibrated",
        "model_size_bytes",
        "tweets_per_s",
    ):
        assert key in run.data.metrics
    assert run.data.tags["training_data_sha256"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts == {f"plots/{name}" for name in PLOTS}
    report = (tmp_path / "reports" / "comparison.md").read_text()
    assert "| baseline" in report
    assert read_metadata(tmp_path / "work" / "baseline")["calibration"]["temperature"] > 0
    assert (tmp_path / "reports" / "baseline_roc_curve.png").exists()

    corpus = load_corpus(TRAINING_DATA, limit=300)
    source = tmp_path / "work" / "baseline"
    candidates = {
        "better": _crafted(source, tmp_path / "c1", "better", precision_positive=0.98),
        "degenerate": _crafted(
            source, tmp_path / "c2", "degenerate", precision_positive=0.999, recall_positive=0.3
        ),
        "worse": _crafted(source, tmp_path / "c3", "worse", precision_positive=0.9),
    }
    for index, (name, metadata) in enumerate(candidates.items(), start=1):
        log_candidate(tmp_path / f"c{index}", metadata, approach=name, params={}, corpus=corpus)
    # The speed floor is the rule's own test's: here a loaded machine would decide it.
    selection = Selection(min_tweets_per_s=1.0)
    champion = promote_champion(selection)
    assert client.get_model_version(MODEL_NAME, champion).tags["bundle_version"] == "better"
    assert promote_champion(selection) == champion  # equal is not better: the alias stays

    served = SentimentModel.load(fetch_champion(tmp_path / "fetched"))
    assert served.version == "better"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    worker_settings = Settings(model_source="registry", data_dir=tmp_path / "worker")
    assert load_serving_model(worker_settings).version == "better"
    assert served.predict_proba(["lovely crew", "lost my bags again"]).shape == (2,)
