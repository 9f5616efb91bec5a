"""Feedback-driven retraining: dataset v2 = the original training rows + corrected feedback.

The challenger is trained on v2 and judged on the same frozen validation and test rows as
the champion; the `champion` alias moves only if the challenger is strictly better by the
configured metric (`promote_champion` is the gate). Feedback rows whose text is one of the
frozen evaluation rows are dropped, so feedback can never leak a test tweet into training, and
so are rows no writer vouched for (source `unknown` or none: see docs/security.md).

The challenger is trained on the base corpus plus all the trusted feedback so far (the
compacted topic's latest row per tweet), but a run trains only when enough of it is new
since the last successful run: a `FeedbackMarker` keeps where that run stopped reading.

The challenger is a binary bundle; when the data folder has the French tweets
(training/french.py), it gets a French route of its own, a binary head, so that promoting it
does not leave French tweets unscored. Its figures are logged with the challenger's run
(`fr.test.*`, `fr.xlmt_val.*`) and the offline rule holds its recalls to the same floor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from stream.kafka import KafkaConnection
from stream.kafka.compacted import read_partition_records
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


@dataclass(frozen=True)
class FeedbackRecord:
    """The latest row of one tweet on the feedback topic, and where it is."""

    partition: int
    offset: int
    row: dict[str, Any]


@dataclass(frozen=True)
class FeedbackRead:
    """The feedback topic as read now: every trusted example, how many tweets got a trusted
    label since the marker, and each partition's end offset (the marker once this run is
    done)."""

    examples: list[Example]
    new: int
    ends: dict[int, int]


def feedback_since(
    records: Iterable[FeedbackRecord], marker: dict[int, int], ends: dict[int, int]
) -> FeedbackRead:
    """All the trusted examples; the new ones are those at or past the marker's offset in
    their partition (a partition the marker does not name is new from its start)."""
    records = list(records)
    examples = examples_from_rows(r.row for r in records)
    fresh = examples_from_rows(r.row for r in records if r.offset >= marker.get(r.partition, 0))
    return FeedbackRead(examples, len(fresh), ends)


class FeedbackMarker:
    """Where the last successful retrain stopped reading the feedback topic: offsets
    committed under a consumer group of the retrain's own, never joined. Kafka keeps them
    beside the data they point into; a run that fails commits nothing, so the next run sees
    its feedback as new again."""

    def __init__(
        self, kafka: KafkaConnection, topic: str, group: str, timeout_s: float = 10.0
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._timeout_s = timeout_s
        self._consumer = Consumer(
            kafka.librdkafka({"group.id": group, "enable.auto.commit": False})
        )

    def read(self) -> FeedbackRead:
        """Every partition from its start to its end now, against the marker."""
        topic = self._consumer.list_topics(self._topic, timeout=self._timeout_s).topics[self._topic]
        records: list[FeedbackRecord] = []
        ends: dict[int, int] = {}
        for partition in sorted(topic.partitions):
            latest, ends[partition] = read_partition_records(
                self._kafka, self._topic, partition, self._timeout_s
            )
            records += [
                FeedbackRecord(partition, offset, json.loads(value))
                for offset, value in latest.values()
            ]
        return feedback_since(records, self.committed(list(ends)), ends)

    def committed(self, partitions: list[int]) -> dict[int, int]:
        offsets = self._consumer.committed(
            [TopicPartition(self._topic, p) for p in partitions], timeout=self._timeout_s
        )
        return {tp.partition: tp.offset for tp in offsets if tp.offset != OFFSET_INVALID}

    def advance(self, ends: dict[int, int]) -> None:
        """Called once the run has done everything it was asked to."""
        self._consumer.commit(
            offsets=[TopicPartition(self._topic, p, end) for p, end in ends.items()],
            asynchronous=False,
        )

    def close(self) -> None:
        self._consumer.close()


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
    run on live traffic; `eligible` says whether it passes the offline rule (both recalls
    above the floor, in each language it reads, fast enough) that a challenger needs to be
    worth a shadow. `french`: its French route's figures, None without French data."""
    from mlflow.tracking import MlflowClient

    from training.baseline import BaselineConfig, train_bundle
    from training.calibrate import calibrate_bundle
    from training.french import has_french, train_french
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
    french = train_french(out_dir, data_dir) if has_french(data_dir) else None
    if french is not None:
        params["french_head"] = french["version"]
        metrics = {**metadata["metrics"], **{f"fr.{k}": french[k] for k in ("test", "xlmt_val")}}
        metadata = {**metadata, "metrics": metrics}
    run_id = log_candidate(
        out_dir, metadata, approach="baseline-retrained", params=params, corpus=corpus
    )
    client = MlflowClient()
    before = champion_version(client)
    before_version = None if before is None else str(before.version)
    after = promote_champion(selection) if promote else before_version
    challenger = registered_version(run_id)
    return {
        "challenger": challenger,
        "feedback_rows": kept,
        "dataset_sha256": params["dataset_sha256"],
        "champion_before": before_version,
        "champion_after": after,
        "promoted": after == challenger,
        "eligible": selection.eligible(client.get_run(run_id).data.metrics),
        "french": french,
    }
