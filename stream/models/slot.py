"""The model a batch is scored with, and the one scored beside it in shadow.

A `Serving` is one model version with the state that belongs to it: its label-shift
estimate (the live prior, re-estimated under that model's calibration). A swap replaces the
whole `Serving`, so no estimate made under one model corrects another's scores.

A batch takes `ServingModels.current()` once, when it is taken from Kafka, in consumption
order, and keeps that `Serving` to the end: a swap lands between two batches, batches
in flight finish with the model they started with, and each partition's events change
model version at one offset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stream.models.shadow import Shadow, ShadowBatch
from stream.pipeline.labelshift import LabelShift, label_shift_from
from stream.pipeline.scoring import BatchOutcome, TextScorer
from stream.settings import Settings


@dataclass(frozen=True)
class Serving:
    model: TextScorer
    shift: LabelShift | None

    @classmethod
    def of(cls, settings: Settings, model: TextScorer) -> Serving:
        return cls(model, label_shift_from(settings, model))

    @property
    def version(self) -> str:
        return self.model.version


class ServingModels:
    """The champion slot and the shadow; swapped from the control topic's follower thread,
    read by the scoring, feedback and web paths."""

    def __init__(self, champion: Serving, shadow_every: int = 1) -> None:
        self._champion = champion
        self._shadow: Shadow | None = None
        self._shadow_every = shadow_every
        self._lock = threading.Lock()
        self.failed_shadows: set[str] = set()  # not started again
        self.on_shadow: Callable[[ShadowBatch], None] = lambda batch: None  # metrics

    def current(self) -> Serving:
        """The champion now: read once per batch, at its start."""
        return self._champion

    def swap(self, champion: Serving) -> Serving:
        """`champion` serves from the next batch on; returns the one it replaces. A shadow of
        the same version ends (it is the champion now); another keeps running against it."""
        with self._lock:
            replaced, self._champion = self._champion, champion
            promoted = self._shadow is not None and self._shadow.version == champion.version
        if promoted:
            self.stop_shadow()
        return replaced

    def start_shadow(self, challenger: Serving) -> None:
        self.stop_shadow()
        with self._lock:
            # `on_shadow` read when a batch is scored: metrics may be wired after the start
            self._shadow = Shadow(
                challenger, self._shadow_every, on_scored=lambda batch: self.on_shadow(batch)
            )

    def stop_shadow(self) -> None:
        with self._lock:
            shadow, self._shadow = self._shadow, None
        if shadow is not None:
            shadow.stop()

    @property
    def shadow(self) -> Shadow | None:
        return self._shadow

    def offer_shadow(self, champion: Serving, outcome: BatchOutcome) -> None:
        """The batch `champion` scored, for the challenger to score beside it when idle."""
        shadow = self._shadow
        if shadow is None or shadow.version == champion.version:
            return
        if shadow.failed:
            self.failed_shadows.add(shadow.version)
            self.stop_shadow()
            return
        shadow.offer(champion.version, outcome)

    def judge(self, labelled: Sequence[tuple[str, str]]) -> None:
        """Users' labels (tweet id, true label): who of champion and challenger had it right."""
        shadow = self._shadow
        if shadow is not None:
            shadow.judge(labelled)
