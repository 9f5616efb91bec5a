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
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from stream.models.shadow import Shadow, ShadowBatch
from stream.pipeline.labelshift import LabelShift, label_shift_from
from stream.pipeline.scoring import BatchOutcome, TextScorer
from stream.settings import Settings

log = structlog.get_logger(__name__)


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
        self.failed_shadows: set[str] = set()
        self._lock = threading.Lock()

    def current(self) -> Serving:
        """The champion now: read once per batch, at its start."""
        return self._champion

    def swap(self, champion: Serving) -> Serving:
        """`champion` serves from the next batch on; returns the one it replaces. A shadow of
        the same version ends (it is the champion now); another keeps running against it."""
        with self._lock:
            replaced, self._champion = self._champion, champion
            if self._shadow is not None and self._shadow.version == champion.version:
                self._shadow = None
        return replaced

    def start_shadow(self, challenger: Serving) -> None:
        with self._lock:
            self._shadow = Shadow(challenger, every=self._shadow_every)

    def stop_shadow(self) -> None:
        with self._lock:
            self._shadow = None

    @property
    def shadow(self) -> Shadow | None:
        return self._shadow

    def shadow_score(self, champion: Serving, outcome: BatchOutcome) -> ShadowBatch | None:
        """The challenger on the batch `champion` scored, when its turn has come."""
        shadow = self._shadow
        if shadow is None or shadow.version == champion.version:
            return None
        try:
            return shadow.score(champion.version, outcome)
        except Exception:  # a challenger's failure must never cost the champion's batch
            log.exception("model_shadow_failed", version=shadow.version)
            with self._lock:
                self.failed_shadows.add(shadow.version)  # not started again
                if self._shadow is shadow:
                    self._shadow = None
            return None

    def judge(self, labelled: Sequence[tuple[str, str]]) -> None:
        """Users' labels (tweet id, true label): who of champion and challenger had it right."""
        shadow = self._shadow
        if shadow is not None:
            shadow.judge(labelled)
