"""The ceiling: the model alone on the same texts, batches of 64, one thread, no Kafka."""

from __future__ import annotations

import time

from model import SentimentModel


def tweets_per_s(texts: list[str], batch: int = 64) -> float:
    model = SentimentModel.load(num_threads=1)
    model.predict_proba(texts[:batch])  # warm-up: first invoke initialises XNNPACK
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        model.predict_proba(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)
