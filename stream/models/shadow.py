"""A challenger scored on the champion's batches, its labels compared and never published.

It runs off the batches' path, on a thread of its own: a batch's outputs never wait for
it. Its cost is bounded twice: it is offered one batch in `every`, and takes an offered
batch only when it is idle (one waits at most; the others are skipped and counted). What
it is measured on is what a promotion is gated on (stream/models/gate.py): how often it
agrees with the champion, its label distribution, its inference time, and, when users
label a tweet both scored, which of the two had it right.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from schemas import Label
from stream.models.control import ShadowTally
from stream.pipeline.scoring import BatchOutcome, decide, score_texts, served_rows
from stream.pipeline.signals import scope_of

if TYPE_CHECKING:
    from stream.models.slot import Serving

log = structlog.get_logger(__name__)
REMEMBERED = 50_000  # tweets whose two labels are kept for the feedback that may come
STOP = None


@dataclass(frozen=True)
class ShadowBatch:
    version: str
    champion: str
    labels: list[str]
    agreed: int
    inference_s: float


class Shadow:
    def __init__(
        self,
        challenger: Serving,
        every: int,
        remembered: int = REMEMBERED,
        on_scored: Callable[[ShadowBatch], None] = lambda batch: None,
    ) -> None:
        self.challenger = challenger
        self.failed = False
        self.skipped = 0  # offered while it was still busy
        self._every = every
        self._turns = itertools.count()
        self._remembered = remembered
        self._on_scored = on_scored
        self._labels: OrderedDict[str, tuple[str, str]] = OrderedDict()  # champion, challenger
        self._tally: ShadowTally | None = None
        self._lock = threading.Lock()
        self._waiting: queue.Queue[tuple[str, BatchOutcome] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="model-shadow", daemon=True)
        self._thread.start()

    def offer(self, champion: str, outcome: BatchOutcome) -> None:
        """A batch the champion scored; taken when its turn has come and the shadow is idle."""
        if not outcome.events or next(self._turns) % self._every:
            return
        try:
            self._waiting.put_nowait((champion, outcome))
        except queue.Full:
            self.skipped += 1

    def stop(self, timeout_s: float = 10.0) -> None:
        """After the batch it holds, if any."""
        if self._thread.is_alive():
            self._waiting.put(STOP)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while (item := self._waiting.get()) is not STOP:
            try:
                self._on_scored(self.score(*item))
            except Exception:  # a challenger's failure must never reach the champion
                log.exception("model_shadow_failed", version=self.version)
                self.failed = True
                return

    @property
    def version(self) -> str:
        return self.challenger.version

    def score(self, champion: str, outcome: BatchOutcome) -> ShadowBatch:
        """The challenger on the texts the champion labelled, compared and counted: each read
        by the challenger's model for its language. One in a language it does not read is
        its `unsupported_language`, what it would make of that tweet once promoted."""
        started = time.perf_counter()
        model = self.challenger.model
        events = [event for event in outcome.events if event.scored]
        langs = [event.lang or model.language for event in events]
        readable = served_rows(model, langs)
        labels = [Label.UNSUPPORTED_LANGUAGE.value] * len(events)
        if readable:
            texts = [events[n].text for n in readable]
            scopes = [scope_of(events[n].brand) for n in readable]
            read_langs = [langs[n] for n in readable]
            _, corrected, _ = score_texts(model, texts, scopes, self.challenger.shift, read_langs)
            decided = decide(model.classes, corrected, model.threshold)
            for n, label in zip(readable, decided, strict=True):
                labels[n] = label.value
        inference_s = time.perf_counter() - started
        theirs = [event.label.value for event in events]
        agreed = sum(a == b for a, b in zip(theirs, labels, strict=True))
        batch = ShadowBatch(self.version, champion, labels, agreed, inference_s)
        with self._lock:
            for event, mine in zip(events, labels, strict=True):
                self._labels[event.tweet_id] = (event.label.value, mine)
                self._labels.move_to_end(event.tweet_id)
            while len(self._labels) > self._remembered:
                self._labels.popitem(last=False)
            self._add(
                champion,
                ShadowTally(
                    champion, len(labels), agreed, dict(Counter(labels)), latency_s=inference_s
                ),
            )
        return batch

    def judge(self, labelled: Sequence[tuple[str, str]]) -> list[tuple[bool, bool]]:
        """(champion right, challenger right) for each labelled tweet both scored."""
        verdicts = []
        with self._lock:
            for tweet_id, truth in labelled:
                if tweet_id in self._labels:
                    theirs, mine = self._labels[tweet_id]
                    verdicts.append((theirs == truth, mine == truth))
            if verdicts and self._tally is not None:
                self._add(
                    self._tally.champion,
                    ShadowTally(
                        self._tally.champion,
                        feedback=len(verdicts),
                        champion_right=sum(c for c, _ in verdicts),
                        challenger_right=sum(s for _, s in verdicts),
                    ),
                )
        return verdicts

    def _add(self, champion: str, tally: ShadowTally) -> None:
        if self._tally is None or self._tally.champion != champion:
            self._tally = ShadowTally(champion)  # against a new champion, counted anew
        self._tally = self._tally.plus(tally)

    def tally(self) -> ShadowTally | None:
        with self._lock:
            return self._tally
