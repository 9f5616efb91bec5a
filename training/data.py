"""Labelled tweets from the training data folder (`Settings.training_data_dir`, docs/data.md),
split deterministically so test rows never train."""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.text import normalize

SENTIMENT140_LABELS = {"0": 0, "4": 1}
SEMEVAL_LABELS = {"negative": 0, "positive": 1}
NEUTRAL = 2  # after the binary labels, so 0/1 keep their meaning everywhere
SEMEVAL_CLASSES = {**SEMEVAL_LABELS, "neutral": NEUTRAL}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: int
    source: str


def sample_weights(examples: Sequence[Example], semeval_weight: float) -> np.ndarray:
    """A SemEval tweet (human label) counts `semeval_weight` times a Sentiment140 one
    (emoticon label)."""
    return np.array([semeval_weight if e.source == "semeval" else 1.0 for e in examples])


def labels_and_weights(
    examples: Sequence[Example], semeval_weight: float, label_dtype: type = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([e.label for e in examples], dtype=label_dtype)
    return labels, sample_weights(examples, semeval_weight)


def csv_rows(path: Path) -> Iterable[dict[str, str]]:
    """The rows of a labelled-tweet CSV file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def load_sentiment140(path: Path, source: str = "sentiment140") -> list[Example]:
    """Rows labelled 0 (negative) or 4 (positive); neutral (2) rows are left out."""
    return [
        Example(row["text"], SENTIMENT140_LABELS[row["target"]], source)
        for row in csv_rows(path)
        if row["target"] in SENTIMENT140_LABELS
    ]


def load_semeval(
    path: Path, source: str = "semeval", split_name: str | None = None, neutral: bool = False
) -> list[Example]:
    """Human-labelled tweets; neutral ones (label `NEUTRAL`) only when asked for. `split_name`
    keeps the rows of one of the task's own splits (SemEval-2013 has a `split` column)."""
    labels = SEMEVAL_CLASSES if neutral else SEMEVAL_LABELS
    return [
        Example(row["text"], labels[row["label"]], source)
        for row in csv_rows(path)
        if row["label"] in labels and (split_name is None or row["split"] == split_name)
    ]


def polar(examples: Iterable[Example]) -> list[Example]:
    """The negative and positive rows: what a binary model is trained and judged on."""
    return [e for e in examples if e.label != NEUTRAL]


def split_bucket(text: str, salt: str = "badbuzz") -> float:
    """A stable number in [0, 1) from the normalised text: duplicates share a bucket, so the
    same tweet can never sit on both sides of a split."""
    digest = hashlib.sha256(f"{salt}:{normalize(text)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Splits:
    train: list[Example]
    validation: list[Example]
    test: list[Example]


def split(examples: Iterable[Example], validation: float = 0.05, test: float = 0.05) -> Splits:
    parts: tuple[list[Example], list[Example], list[Example]] = ([], [], [])
    for example in examples:
        bucket = split_bucket(example.text)
        index = 2 if bucket < test else 1 if bucket < test + validation else 0
        parts[index].append(example)
    return Splits(*parts)


def data_hash(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\t{example.source}\t{example.text}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Corpus:
    """Every labelled source, split once; the manual test set is only ever a test set."""

    splits: dict[str, Splits]
    manual_test: list[Example]
    calibration: list[Example] = field(default_factory=list)

    @property
    def train(self) -> list[Example]:
        return [e for s in self.splits.values() for e in s.train]

    @property
    def validation(self) -> list[Example]:
        return [e for s in self.splits.values() for e in s.validation]


def first_rows(rows: list[Example], limit: int | None) -> list[Example]:
    if limit is None:
        return rows
    return sorted(rows, key=lambda e: hashlib.sha256(e.text.encode()).digest())[:limit]


def load_corpus(data_dir: Path, limit: int | None = None, neutral: bool = False) -> Corpus:
    """`limit` keeps the first rows of each source shuffled by a hash of the raw text (not
    the normalised one, which would cost seconds per call), for quick test runs.

    SemEval-2013 keeps the task's own splits: its test split is one more frozen test set,
    its dev split is the calibration set (`Corpus.calibration`, all three classes, never
    trained on; the 11 tweets it shares with the other two splits are left out), and its
    train split trains only three-class models (`neutral=True`), so binary bundles keep the
    training rows, and hashes, they were built on. With `neutral`, the SemEval rows include
    their neutral tweets (label `NEUTRAL`)."""
    semeval_2013 = data_dir / "semeval2013" / "tweets.csv.gz"
    sources = {
        "sentiment140": load_sentiment140(data_dir / "sentiment140" / "train_sample_100k.csv.gz"),
        "semeval": load_semeval(data_dir / "semeval2017" / "train.csv.gz", neutral=neutral),
    }
    sources = {name: first_rows(rows, limit) for name, rows in sources.items()}
    manual = load_sentiment140(data_dir / "sentiment140" / "test_manual.csv", "manual_test")
    fractions = {"sentiment140": (0.05, 0.05), "semeval": (0.1, 0.1)}
    splits = {name: split(rows, *fractions[name]) for name, rows in sources.items()}
    by_split = {
        name: first_rows(load_semeval(semeval_2013, "semeval2013", name, neutral=True), limit)
        for name in ("train", "dev", "test")
    }
    splits["semeval2013"] = Splits(
        train=by_split["train"] if neutral else [],
        validation=[],
        test=by_split["test"] if neutral else polar(by_split["test"]),
    )
    elsewhere = {normalize(e.text) for name in ("train", "test") for e in by_split[name]}
    calibration = [e for e in by_split["dev"] if normalize(e.text) not in elsewhere]
    return Corpus(splits, manual, calibration=calibration)
