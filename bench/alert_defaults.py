"""Brand-shaped traffic to choose the alert rule's defaults, scored by the served model.

The traffic has the shape issue 19 describes for held-out airline traffic: six brands
averaging 3 to 21 tweets an hour over eight days, a daily cycle, some days twice as busy,
about 63% of tweets negative by the human labels, and bad buzzes of 8 to 20 extra complaints
within five minutes, some building over the hour before, some recurring the same day. Texts
are human-labelled tweets the model never trained on (the SemEval-2013 test split and the
SemEval-2016 held-out buckets, from `Settings.training_data_dir`), drawn so that about a
third of the human-negative tweets are ones the model reads as neutral, as on real brand
traffic. A bad buzz is the human labels' definition: a brand's 5-minute window with >= 8
negatives and >= 3x that brand's negative rate over its trailing day.

Each configuration replays the traffic through the worker's own pipeline (the harness that
`badbuzz eval-alerts` runs: the served model, label shift, the worker's batches, signals,
watermarks, detect) and is scored on bad buzzes caught (recall) and alerts that match one
(precision).

    python -m bench.alert_defaults [--seeds 3] [--days 8]
"""

from __future__ import annotations

import argparse
import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model import SentimentModel
from stream.settings import Settings
from stream.tools.eval_alerts import Interval, LabelledTweet, compare, replay_alerts
from training.data import split_bucket

DAY_S, HOUR_S = 86_400, 3600
RATES_PER_HOUR = (3, 6, 10, 13, 17, 21)
BASE_LABELS = {"negative": 0.60, "neutral": 0.23, "positive": 0.17}
NEUTRAL_READ_NEGATIVES = 0.34  # share of negatives drawn from those the model calls neutral
CONFIGURATIONS = {  # name: (alert_neutral_weight, alert_min_negatives, alert_max_p_value)
    "negative label only, 8, p<0.001": (0.0, 8.0, 0.001),
    "p_negative mass, 5, p<0.01": (0.0, 5.0, 0.01),
    "p_neg + 0.3 p_neu, 6.5, p<0.01": (0.3, 6.5, 0.01),
    "p_neg + 0.5 p_neu, 7, p<0.01 (default)": (0.5, 7.0, 0.01),
    "p_neg + 0.7 p_neu, 7.5, p<0.01": (0.7, 7.5, 0.01),
}


def held_out_texts(data_dir: Path) -> dict[str, list[str]]:
    """Human-labelled tweets no served model trained on, by label."""
    pool: dict[str, list[str]] = {label: [] for label in BASE_LABELS}
    for row in _rows(data_dir / "semeval2013" / "tweets.csv.gz"):
        if row["split"] == "test":
            pool[row["label"]].append(row["text"])
    for row in _rows(data_dir / "semeval2017" / "train.csv.gz"):
        if split_bucket(row["text"]) >= 0.9:  # its validation and test buckets
            pool[row["label"]].append(row["text"])
    return pool


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def simulate(
    pool: dict[str, list[str]], model: SentimentModel, seed: int, days: int
) -> list[LabelledTweet]:
    rng = np.random.default_rng(seed)
    neutral_read = model.predict_classes(pool["negative"]).argmax(axis=1) == 1
    ambiguous = [t for t, n in zip(pool["negative"], neutral_read, strict=True) if n]
    clear = [t for t, n in zip(pool["negative"], neutral_read, strict=True) if not n]
    span = days * DAY_S
    events: list[tuple[float, int, str]] = []
    for brand, mean_rate in enumerate(RATES_PER_HOUR):
        rate = mean_rate * rng.uniform(0.8, 1.2)
        busy = np.where(rng.random(days) < 0.3, 2.0, 1.0)
        minutes = np.arange(0, span, 60)
        cycle = 1 + 0.8 * np.sin(2 * np.pi * ((minutes % DAY_S) / DAY_S - 9 / 24))
        per_minute = rate / 60 * cycle / cycle.mean() * (busy / busy.mean())[minutes // DAY_S]
        counts = rng.poisson(per_minute)
        times = np.concatenate(
            [m + rng.random(c) * 60 for m, c in zip(minutes, counts, strict=True)]
        )
        labels = rng.choice(list(BASE_LABELS), size=len(times), p=list(BASE_LABELS.values()))
        events += [(float(t), brand, str(label)) for t, label in zip(times, labels, strict=True)]
        for _ in range(rng.poisson(days * 0.65 * (0.5 + rate / np.mean(RATES_PER_HOUR) / 2))):
            start = rng.uniform(26 * HOUR_S, span - 3 * HOUR_S)
            kind = rng.choice(["sharp", "building", "recurring"], p=[0.4, 0.35, 0.25])
            peaks = [start, start + rng.uniform(1, 4) * HOUR_S] if kind == "recurring" else [start]
            for peak in peaks:
                if kind == "building":
                    lead = rng.poisson(rng.uniform(6, 15))
                    events += [
                        (peak - HOUR_S * rng.random(), brand, "negative") for _ in range(lead)
                    ]
                duration = rng.uniform(90, 300)
                extra = int(rng.integers(8, 21))
                events += [
                    (peak + duration * rng.random(), brand, "negative") for _ in range(extra)
                ]
    events.sort()

    def text(label: str) -> str:
        if label == "negative":
            source = ambiguous if rng.random() < NEUTRAL_READ_NEGATIVES else clear
        else:
            source = pool[label]
        return source[rng.integers(len(source))]

    return [
        LabelledTweet(t, f"airline{brand}", text(label), label, f"s{seed}-{n}")
        for n, (t, brand, label) in enumerate(events)
    ]


def bad_buzzes(rows: list[LabelledTweet], step_s: int, window_s: int) -> list[Interval]:
    """Runs of windows with >= 8 human negatives and >= 3x the brand's trailing-day rate,
    after at least an hour of history."""
    episodes: list[Interval] = []
    for scope in sorted({row.scope for row in rows}):
        times = np.array([r.t for r in rows if r.scope == scope and r.human_negative])
        first = min(r.t for r in rows if r.scope == scope)
        buckets = np.bincount((times // step_s).astype(int))
        cumulative = np.concatenate([[0], np.cumsum(buckets)])
        steps = window_s // step_s
        first_bucket = int(first // step_s)
        for end in range(first_bucket + steps, len(cumulative)):
            start = end - steps
            negatives = cumulative[end] - cumulative[start]
            history_start = max(first_bucket, start - DAY_S // step_s)
            history_s = (start - history_start) * step_s
            usual = (cumulative[start] - cumulative[history_start]) / max(history_s, 1) * window_s
            if negatives >= 8 and history_s >= HOUR_S and negatives >= 3 * usual:
                interval = Interval(scope, start * step_s, end * step_s)
                last = episodes[-1] if episodes else None
                if last is not None and last.scope == scope and interval.start <= last.end:
                    episodes[-1] = Interval(scope, last.start, interval.end)
                else:
                    episodes.append(interval)
    return episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=8)
    args = parser.parse_args()
    base = Settings()
    model = SentimentModel.load(base.model_path)
    pool = held_out_texts(base.training_data_dir)
    traffic = [simulate(pool, model, seed, args.days) for seed in range(args.seeds)]
    episodes = [bad_buzzes(rows, base.alert_step_s, base.alert_window_s) for rows in traffic]
    tweets = sum(map(len, traffic))
    print(f"{tweets} tweets, {sum(map(len, episodes))} bad buzzes, {args.seeds} x {args.days} days")
    print("configuration                              alerts  caught  added  recall  precision")
    for name, (neutral_weight, min_negatives, p_value) in CONFIGURATIONS.items():
        settings = base.model_copy(
            update={
                "alert_neutral_weight": neutral_weight,
                "alert_min_negatives": min_negatives,
                "alert_max_p_value": p_value,
            }
        )
        reference, candidate, caught, added = 0, 0, 0, 0
        for rows, wanted in zip(traffic, episodes, strict=True):
            alerts = replay_alerts(settings, model, rows)
            result = compare(wanted, map(Interval.of, alerts))
            reference += result.reference
            candidate += result.candidate
            caught += result.caught
            added += result.added
        recall = caught / reference if reference else 1.0
        precision = (candidate - added) / candidate if candidate else 1.0
        print(
            f"{name:42s} {candidate:6d}  {caught:6d}  {added:5d}  {recall:6.2f}  {precision:9.2f}"
        )


if __name__ == "__main__":
    main()
