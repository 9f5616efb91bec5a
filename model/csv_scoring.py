"""Offline scoring of a CSV file, for analysts who want labels without running Kafka."""

from __future__ import annotations

import csv
from pathlib import Path

from model.scorer import SentimentModel


def score_csv(
    model: SentimentModel, source: Path, destination: Path, text_column: str = "text"
) -> int:
    """Copy `source` to `destination` with `p_positive` and `label` columns; returns rows."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise ValueError(f"{source} has no column {text_column!r}")
        fieldnames = [*reader.fieldnames, "p_positive", "label"]
        rows = list(reader)
    scores = model.predict_proba([row[text_column] or "" for row in rows])
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        for row, p_positive in zip(rows, scores, strict=True):
            p = float(p_positive)
            writer.writerow({**row, "p_positive": f"{p:.4f}", "label": model.label_for(p)})
    return len(rows)
