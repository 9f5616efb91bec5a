"""Training the French head: a tiny fixture in, a bundle the worker routes to out."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from model import SentimentModel
from model.bundle import DEFAULT_BUNDLE
from model.scorer import BINARY_CLASSES
from model.sentence_encoder import ENCODER_FILES, SentenceEncoder
from model.use_head import head_probabilities
from stream.settings import Settings
from tests.support import TRAINING_DATA, french_polar_rows
from training import cli
from training.data import Example, polar
from training.french import (
    HeadRule,
    embeddings,
    evaluate,
    fit_head,
    has_french,
    head_rule,
    load_french,
    route_into,
    rows_for,
    write_head,
)


def fixture_examples() -> list[Example]:
    return [
        Example(row["text"], int(row["label"] == "positive"), row["source"])
        for row in french_polar_rows()
    ]


def bundle_without_french(tmp_path: Path, binary: bool = False) -> Path:
    """The served bundle's English model (for `binary`, its polarity model alone, as a
    retrained challenger is binary) and the French encoder's files, no head nor route."""
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle, ignore=shutil.ignore_patterns("fr"))
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata.pop("routes", None)
    if binary:
        for key in ("classes", "neutral_model", "calibration", "train_prior"):
            metadata.pop(key)
        (bundle / "neutral.tflite").unlink()
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    (bundle / "fr").mkdir()
    for name in ENCODER_FILES:  # the exported encoder (test_use_export.py)
        shutil.copy(DEFAULT_BUNDLE / "fr" / name, bundle / "fr" / name)
    return bundle


def test_a_head_trained_on_a_few_rows_is_written_as_a_route_the_bundle_serves(
    tmp_path: Path,
) -> None:
    examples = fixture_examples()
    neutral = [Example("Le vol AF123 part à 14h de la porte 12", 2, "made_up")] * 3
    rows = examples + neutral
    bundle = bundle_without_french(tmp_path)
    rule = head_rule(bundle)
    encoder = SentenceEncoder(bundle / "fr")
    vectors = embeddings([e.text for e in rows], encoder, tmp_path / "cache")
    assert list((tmp_path / "cache").glob("use-*.npy"))  # the second run reads it back

    weights, bias = fit_head(vectors, np.array([e.label for e in rows]), rule)
    version = write_head(bundle / "fr", weights, bias, {}, rule)
    route_into(bundle, "fr", "fr")

    model = SentimentModel.load(bundle)
    probabilities = model.predict_classes([e.text for e in rows], ["fr"] * len(rows))
    assert model.version_of("fr") == version
    figures = evaluate(probabilities, rows, rule)
    assert figures["accuracy"] >= 0.9 and "macro_recall_3class" in figures  # it learnt them
    assert model.labels(probabilities[-1:]) == ["neutral"]


def test_a_binary_bundle_gets_a_binary_head_learnt_on_the_polar_rows(tmp_path: Path) -> None:
    examples = fixture_examples()
    neutral = [Example("Le vol AF123 part à 14h de la porte 12", 2, "made_up")] * 3
    bundle = bundle_without_french(tmp_path, binary=True)
    rule = head_rule(bundle)
    rows = rows_for(examples + neutral, rule)
    assert rule.classes == BINARY_CLASSES and rows == examples  # the neutral rows are left out
    vectors = embeddings([e.text for e in rows], SentenceEncoder(bundle / "fr"), None)

    weights, bias = fit_head(vectors, np.array([e.label for e in rows]), rule)
    assert weights.shape == (vectors.shape[1], 2) and bias.shape == (2,)
    write_head(bundle / "fr", weights, bias, {}, rule)
    route_into(bundle, "fr", "fr")

    model = SentimentModel.load(bundle)
    assert model.classes == BINARY_CLASSES and model.languages == {"en", "fr"}
    probabilities = model.predict_classes([e.text for e in rows], ["fr"] * len(rows))
    figures = evaluate(probabilities, rows, rule)
    assert figures["accuracy"] >= 0.9 and "macro_recall_3class" not in figures
    assert model.routes["fr"].metadata["train_prior"] == [0.5, 0.5]

    # the bundle labels every row at its own threshold: the head's balanced cut is moved there
    labels = np.array([e.label for e in rows])
    ((w5, b5), (w7, b7)) = (
        fit_head(vectors, labels, HeadRule(BINARY_CLASSES, cut)) for cut in (0.5, 0.7)
    )
    balanced = head_probabilities(vectors, w5, b5)[:, 1]
    moved = head_probabilities(vectors, w7, b7)[:, 1]
    assert ((moved >= 0.7) == (balanced >= 0.5)).all() and (moved != balanced).any()


def test_train_french_gives_a_binary_bundle_a_binary_route_and_logs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    bundle = bundle_without_french(tmp_path, binary=True)
    mlflow_dir = ["--mlflow-dir", str(tmp_path / "mlflow"), "--data-dir", str(TRAINING_DATA)]
    assert cli.main(["french", "--bundle", str(bundle), *mlflow_dir], Settings()) == 0

    out = capsys.readouterr().out
    result = json.loads(out[out.index("{") :])
    assert result["classes"] == list(BINARY_CLASSES)
    assert result["rows"]["train"] == len(polar(load_french(TRAINING_DATA).train))
    model = SentimentModel.load(bundle)
    assert (
        model.routes["fr"].classes == BINARY_CLASSES and model.version_of("fr") == result["version"]
    )
    run = MlflowClient().get_run(result["run_id"]).data
    assert run.params["classes"] == "negative,positive"
    assert run.metrics["test.accuracy"] == result["test"]["accuracy"]


def test_a_data_folder_with_part_of_the_french_files_trains_no_route(tmp_path: Path) -> None:
    assert has_french(TRAINING_DATA)
    (tmp_path / "french").mkdir()
    shutil.copy(TRAINING_DATA / "french" / "xlmt_train.csv", tmp_path / "french")
    assert not has_french(tmp_path)
