"""Offline scoring of a CSV file, for analysts who want labels without running Kafka."""

from __future__ import annotations

import csv
from pathlib import Path

from model.scorer import SentimentModel


def score_csv(
    model: SentimentModel, source: Path, destination: Path, text_column: str = "text"
) -> int:
    """Copy `source` to `destination` with one `p_<class>` column per class of the bundle
    (calibrated probabilities) and the `label` its decision rule gives; returns rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise ValueError(f"{source} has no column {text_column!r}")
        columns = [f"p_{name}" for name in model.classes]
        fieldnames = [*reader.fieldnames, *columns, "label"]
        rows = list(reader)
    probabilities = model.predict_classes([row[text_column] or "" for row in rows])
    labels = model.labels(probabilities)
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        for row, scores, label in zip(rows, probabilities, labels, strict=True):
            values = {column: f"{float(p):.4f}" for column, p in zip(columns, scores, strict=True)}
            writer.writerow({**row, **values, "label": label})
    return len(rows)
