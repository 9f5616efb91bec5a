"""Offline scoring of a CSV file, for analysts who want labels without running Kafka."""

from __future__ import annotations

import csv
from pathlib import Path

from model.scorer import SentimentModel

EMPTY_TEXT = "empty_text"  # the stream's dead-letter reason for the same input


def score_csv(
    model: SentimentModel, source: Path, destination: Path, text_column: str = "text"
) -> tuple[int, int]:
    """Copy `source` to `destination` with one `p_<class>` column per class of the bundle
    (calibrated probabilities), the `label` its decision rule gives, and `error`.

    Rows with blank text are not scored (the stream dead-letters them as `empty_text`): their
    `error` says so. Returns (rows scored, rows flagged)."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise ValueError(f"{source} has no column {text_column!r}")
        columns = [f"p_{name}" for name in model.classes]
        fieldnames = [*reader.fieldnames, *columns, "label", "error"]
        rows = list(reader)
    texts = [row[text_column] or "" for row in rows]
    scorable = [n for n, text in enumerate(texts) if text.strip()]
    probabilities = model.predict_classes([texts[n] for n in scorable])
    scored = dict(
        zip(scorable, zip(probabilities, model.labels(probabilities), strict=True), strict=True)
    )
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        for n, row in enumerate(rows):
            if n not in scored:
                blank = dict.fromkeys([*columns, "label"], "")
                writer.writerow({**row, **blank, "error": EMPTY_TEXT})
                continue
            scores, label = scored[n]
            values = {column: f"{float(p):.4f}" for column, p in zip(columns, scores, strict=True)}
            writer.writerow({**row, **values, "label": label, "error": ""})
    return len(scorable), len(rows) - len(scorable)
