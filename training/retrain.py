"""Feedback-driven retraining: dataset v2 = the original training rows + corrected feedback.

The challenger is trained on v2 and judged on the same frozen validation and test rows as
the champion; the `champion` alias moves only if the challenger is strictly better by the
configured metric (`promote_champion` is the gate). Feedback rows whose text is one of the
frozen evaluation rows are dropped, so feedback can never leak a test tweet into training, and
so are rows no writer vouched for (source `unknown` or none: see docs/security.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from stream.kafka import KafkaConnection
from stream.kafka.compacted import read_topic
from training.data import Corpus, Example, data_hash, load_corpus
from training.selection import DEFAULT_SELECTION, Selection

LABELS = {"negative": 0, "positive": 1}


def vouched_for(row: dict[str, Any]) -> bool:
    """Written by the web front (`http`, behind its token) or by an application that the
    feedback topic's ACL lets write (`kafka:<principal>`)."""
    source = row.get("source")
    return isinstance(source, str) and (source == "http" or source.startswith("kafka:"))


def examples_from_rows(rows: Iterable[dict[str, Any]]) -> list[Example]:
    """Rows of tweets.feedback.labelled (`text`, `label`, `source`) that a writer vouched for;
    the newest such row per tweet wins."""
    latest = {
        row["tweet_id"]: row for row in rows if row.get("label") in LABELS and vouched_for(row)
    }
    return [Example(row["text"], LABELS[row["label"]], "feedback") for row in latest.values()]


def read_feedback_file(path: Path) -> list[Example]:
    """A JSONL export of the feedback topic, one labelled row per line."""
    with path.open(encoding="utf-8") as handle:
        return examples_from_rows(json.loads(line) for line in handle if line.strip())


def read_feedback_topic(
    kafka: KafkaConnection, topic: str, timeout_s: float = 10.0
) -> list[Example]:
    """Everything on the compacted feedback topic (the latest row per tweet), read from the
    start to its current end."""
    return examples_from_rows(
        json.loads(value) for value in read_topic(kafka, topic, timeout_s).values()
    )


def dataset_v2(corpus: Corpus, feedback: list[Example]) -> tuple[Corpus, int]:
    """The corpus with feedback added to training only; returns it and the rows kept."""
    frozen = {e.text for s in corpus.splits.values() for e in (*s.validation, *s.test)}
    frozen |= {e.text for e in (*corpus.manual_test, *corpus.calibration)}
    kept = [e for e in feedback if e.text not in frozen]
    name, first = next(iter(corpus.splits.items()))
    splits = {**corpus.splits, name: replace(first, train=[*first.train, *kept])}
    return replace(corpus, splits=splits), len(kept)


def retrain(
    feedback: list[Example],
    out_dir: Path,
    data_dir: Path,
    *,
    limit: int | None = None,
    selection: Selection = DEFAULT_SELECTION,
    promote: bool = True,
) -> dict[str, Any]:
    """Trains and registers the challenger; with `promote`, moves the `champion` alias if it
    is better offline. Without, the alias is left to `badbuzz model promote` after a shadow
    run on live traffic."""
    from training.baseline import BaselineConfig, train_bundle
    from training.calibrate import calibrate_bundle
    from training.pipeline import registered_version
    from training.tracking import champion_version, log_candidate, promote_champion

    corpus, kept = dataset_v2(load_corpus(data_dir, limit), feedback)
    train_bundle(out_dir, BaselineConfig(limit=limit), corpus=corpus)
    metadata = calibrate_bundle(out_dir, data_dir, limit)
    params = {
        "approach": "baseline",
        "dataset": "v2",
        "feedback_rows": kept,
        "dataset_sha256": data_hash(corpus.train),
        "limit": limit,
    }
    run_id = log_candidate(
        out_dir, metadata, approach="baseline-retrained", params=params, corpus=corpus
    )
    before = champion_version()
    after = (
        promote_champion(selection) if promote else None if before is None else str(before.version)
    )
    return {
        "challenger": registered_version(run_id),
        "feedback_rows": kept,
        "dataset_sha256": params["dataset_sha256"],
        "champion_before": None if before is None else str(before.version),
        "champion_after": after,
        "promoted": after == registered_version(run_id),
    }
