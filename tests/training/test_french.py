"""Training the French head: a tiny fixture in, a bundle the worker routes to out."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from model import SentimentModel
from model.bundle import DEFAULT_BUNDLE
from model.sentence_encoder import ENCODER_FILES, SentenceEncoder
from training.data import Example
from training.french import embeddings, evaluate, fit_head, route_into, write_head

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_examples() -> list[Example]:
    with open(FIXTURES / "french_polar.csv", newline="", encoding="utf-8") as handle:
        return [
            Example(row["text"], int(row["label"] == "positive"), row["source"])
            for row in csv.DictReader(handle)
        ]


def test_a_head_trained_on_a_few_rows_is_written_as_a_route_the_bundle_serves(
    tmp_path: Path,
) -> None:
    examples = fixture_examples()
    neutral = [Example("Le vol AF123 part à 14h de la porte 12", 2, "made_up")] * 3
    rows = examples + neutral
    bundle = tmp_path / "bundle"
    shutil.copytree(DEFAULT_BUNDLE, bundle, ignore=shutil.ignore_patterns("fr"))
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata.pop("routes", None)
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    (bundle / "fr").mkdir()
    for name in ENCODER_FILES:  # the exported encoder (test_use_export.py)
        shutil.copy(DEFAULT_BUNDLE / "fr" / name, bundle / "fr" / name)
    encoder = SentenceEncoder(bundle / "fr")
    vectors = embeddings([e.text for e in rows], encoder, tmp_path / "cache")
    assert list((tmp_path / "cache").glob("use-*.npy"))  # the second run reads it back

    weights, bias = fit_head(vectors, np.array([e.label for e in rows]))
    version = write_head(bundle / "fr", weights, bias, {})
    route_into(bundle, "fr", "fr")

    model = SentimentModel.load(bundle)
    probabilities = model.predict_classes([e.text for e in rows], ["fr"] * len(rows))
    assert model.version_of("fr") == version
    assert evaluate(probabilities, rows)["accuracy"] >= 0.9  # it learnt its training rows
    assert model.labels(probabilities[-1:]) == ["neutral"]
