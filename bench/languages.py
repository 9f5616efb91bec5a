"""What languages cost the worker's scoring step, in one process (no Kafka): batches of raw
tweets (the worker's `batch_size`, 256) through `process_batch` (validation, language,
routing, scoring, events), side by side with the raw scorer on the same English texts in
batches of 64, as bench.run measures it.

    python -m bench.languages [--tweets 4096] [--repeats 5] [--threads 1] [--batch 256]

Streams are run in turn, `--repeats` times (a slow spell of a shared machine hits every one),
and each keeps its best run, in tweets per wall-clock second and per CPU second of the
process (steadier when other work shares the cores). The issue's two speed goals are printed
last: English without `lang` against the raw scorer (>= 0.8), and a 50/50 French/English
stream against English-only traffic (>= 0.5), then the process's resident memory before and
after the French route loads.

French texts: DEFT-2017 (`french/` in the training data folder); English: the Sentiment140
sample.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.data import FRENCH, load_texts, mixed, tweet_texts
from bench.memory import status_mb
from model import SentimentModel
from stream.pipeline.scoring import process_batch
from stream.records import RawRecord
from stream.settings import Settings

RAW_BATCH = 64
RAW = "raw scorer, english"
ENGLISH = "worker, english, lang=en"  # what the worker did before languages: no detection
ENGLISH_DETECTED = "worker, english, no lang"
MIXED = "worker, 50/50 french/english, no lang"


def records(texts: list[str], langs: list[str | None]) -> list[RawRecord]:
    return [
        RawRecord(
            "tweets.raw",
            0,
            n,
            1.0,
            json.dumps({"id": str(n), "text": text, **({"lang": lang} if lang else {})}).encode(),
        )
        for n, (text, lang) in enumerate(zip(texts, langs, strict=True))
    ]


def rates(run: Callable[[int], object], rows: int, batch: int) -> tuple[float, float]:
    """Tweets per wall-clock second and per CPU second of the process."""
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, rows, batch):
        run(start)
    return rows / (time.perf_counter() - wall), rows / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="the worker's inference_threads")
    parser.add_argument("--batch", type=int, help="worker batch (default: Settings.batch_size)")
    parser.add_argument("--data-dir", type=Path, help="default: Settings.training_data_dir")
    args = parser.parse_args()
    model = SentimentModel.load(num_threads=args.threads)
    settings = Settings()
    batch = args.batch or settings.batch_size
    data_dir = args.data_dir or settings.training_data_dir
    english = tweet_texts(load_texts(data_dir), args.tweets)
    french = tweet_texts(load_texts(data_dir, FRENCH), args.tweets)
    half, half_langs = mixed(english, french, 0.5)
    none = [None] * args.tweets
    streams = {
        ENGLISH: records(english, ["en"] * args.tweets),
        ENGLISH_DETECTED: records(english, none),
        "worker, 50/50 french/english, lang given": records(half, list(half_langs)),
        MIXED: records(half, none),
        "worker, french, lang=fr": records(french, ["fr"] * args.tweets),
        "worker, french, no lang": records(french, none),
    }
    now = datetime.now(UTC)

    def worker(stream: list[RawRecord]) -> Callable[[int], object]:
        return lambda start: process_batch(
            stream[start : start + batch],
            model,
            None,
            max_payload_bytes=settings.max_payload_bytes,
            deadletter_payload_bytes=settings.deadletter_payload_bytes,
            now=now,
            event_time_max_ahead_s=settings.event_time_max_ahead_s,
        )

    runs = {RAW: (lambda start: model.predict_classes(english[start : start + RAW_BATCH]), english)}
    runs |= {name: (worker(stream), stream) for name, stream in streams.items()}
    model.detector.detect("a text no word rule settles")  # loads the language identifier
    rss_before_french_mb = status_mb("VmRSS")
    model.predict_classes(french[:RAW_BATCH], ["fr"] * RAW_BATCH)  # and the French encoder
    rss_after_french_mb = status_mb("VmRSS")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeats):
        for name, (run, rows) in runs.items():
            wall, cpu = rates(run, len(rows), RAW_BATCH if name == RAW else batch)
            previous = best.get(name, (0.0, 0.0))
            best[name] = (max(previous[0], wall), max(previous[1], cpu))
    raw_wall, raw_cpu = best[RAW]
    print(f"{'':42s} {'tweets/s':>9s} {'x raw':>6s} {'per CPU s':>10s} {'x raw':>6s}")
    for name, (wall, cpu) in best.items():
        print(f"{name:42s} {wall:9.0f} {wall / raw_wall:6.2f} {cpu:10.0f} {cpu / raw_cpu:6.2f}")
    for goal, (name, reference) in {
        "english without lang / raw scorer (goal >= 0.8)": (ENGLISH_DETECTED, RAW),
        "50/50 without lang / english-only worker (goal >= 0.5)": (MIXED, ENGLISH),
    }.items():
        shares = [best[name][i] / best[reference][i] for i in (0, 1)]
        print(f"{goal}: {shares[0]:.2f} wall, {shares[1]:.2f} CPU")
    print(
        f"resident memory: {rss_before_french_mb:.0f} MB before the French route loads, "
        f"{rss_after_french_mb:.0f} MB after ({rss_after_french_mb - rss_before_french_mb:+.0f}), "
        f"{status_mb('VmRSS'):.0f} MB after the runs (peak {status_mb('VmHWM'):.0f} MB)"
    )


if __name__ == "__main__":
    main()
