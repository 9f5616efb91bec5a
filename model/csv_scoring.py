"""Offline scoring of a CSV file, for analysts who want labels without running Kafka."""

from __future__ import annotations

import csv
from pathlib import Path

from model.scorer import SentimentModel

EMPTY_TEXT = "empty_text"  # the stream's dead-letter reason for the same input


def score_csv(
    model: SentimentModel, source: Path, destination: Path, text_column: str = "text"
) -> tuple[int, int]:
    """Copy `source` to `destination` with `p_positive`, `label` and `error` columns.

    Rows with blank text are not scored (the stream dead-letters them as `empty_text`): their
    `error` says so. Returns (rows scored, rows flagged)."""
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise ValueError(f"{source} has no column {text_column!r}")
        fieldnames = [*reader.fieldnames, "p_positive", "label", "error"]
        rows = list(reader)
    texts = [row[text_column] or "" for row in rows]
    scorable = [n for n, text in enumerate(texts) if text.strip()]
    probabilities = model.predict_proba([texts[n] for n in scorable]) if scorable else []
    scores = dict(zip(scorable, probabilities, strict=True))
    with destination.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        for n, row in enumerate(rows):
            if n not in scores:
                writer.writerow({**row, "p_positive": "", "label": "", "error": EMPTY_TEXT})
                continue
            p = float(scores[n])
            writer.writerow(
                {**row, "p_positive": f"{p:.4f}", "label": model.label_for(p), "error": ""}
            )
    return len(scorable), len(rows) - len(scorable)
