"""The live class prior, re-estimated from unlabelled scores, and posteriors corrected to it.

The model's probabilities are calibrated under its training prior (about 50/50), while the
traffic it scores may be two thirds complaints: its threshold then misses negatives. EM
prior re-estimation (Saerens, Latinne & Decaestecker 2002) finds the prior under which the
re-weighted posteriors average to that prior; Bayes' rule then moves each posterior to it.
Known labels (user feedback) are a second estimate, mixed in with at most a fixed share
(`label_shift_max_feedback_share`): anyone allowed to send feedback can move a prior by at
most that much, however many reports they send (docs/security.md).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from stream.settings import Settings


class ScoresClasses(Protocol):
    classes: tuple[str, ...]
    train_prior: np.ndarray


PROBABILITY_FLOOR = 1e-6


def reweight(posteriors: np.ndarray, train_prior: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Posteriors calibrated under `train_prior`, moved by Bayes' rule to `prior` (one for
    all rows, or one per row)."""
    weighted = np.clip(posteriors, PROBABILITY_FLOOR, 1.0) * (prior / train_prior)
    return weighted / weighted.sum(axis=1, keepdims=True)


def em_prior(
    posteriors: np.ndarray,
    train_prior: np.ndarray,
    *,
    pseudo_count: float,
    start: np.ndarray | None = None,
    max_iterations: int = 200,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """The class prior that the traffic's posteriors agree with (MAP under a Dirichlet prior
    worth `pseudo_count` samples at the training prior, so a handful of scores barely move
    it)."""
    anchor = pseudo_count * train_prior
    total = len(posteriors) + pseudo_count
    prior = train_prior.copy() if start is None else start.copy()
    if total <= 0:
        return prior
    for _ in range(max_iterations):
        responsibilities = reweight(posteriors, train_prior, prior).sum(axis=0)
        updated = (responsibilities + anchor) / total
        if np.abs(updated - prior).max() < tolerance:
            return updated
        prior = updated
    return prior


def with_known_labels(
    prior: np.ndarray, label_counts: np.ndarray, evidence: float, max_share: float
) -> np.ndarray:
    """`prior` (estimated on `evidence` scores and pseudo-counts) mixed with the class
    frequencies of known labels, weighted by their share of all the evidence but never more
    than `max_share`: no class's probability moves by more than `max_share`.

    Known labels do not enter the EM itself: there, labels beside uninformative scores
    decide the prior alone, whatever their number."""
    labels = label_counts.sum()
    if labels <= 0:
        return prior
    share = min(max_share, labels / (labels + evidence))
    return (1 - share) * prior + share * label_counts / labels


REFRESHES_PER_WINDOW = 20


class RollingPrior:
    """EM prior over the last `window` scores and the last `window` known labels; memory is
    two fixed-size buffers whatever the traffic.

    Scores re-run the EM once a twentieth of the window is new (`refresh_if_due`), not on every
    batch: on small batches the EM was a large share of the scoring time (docs/architecture.md
    gives the figures). Labels then follow a prior at most a twentieth of its window old."""

    def __init__(
        self,
        train_prior: np.ndarray,
        window: int,
        pseudo_count: float,
        max_label_share: float = 0.0,
    ) -> None:
        self.train_prior = train_prior
        self.pseudo_count = pseudo_count
        self.max_label_share = max_label_share
        self.scores_prior = train_prior.copy()  # what the scores alone say
        self.prior = train_prior.copy()  # that, with known labels mixed in
        self._window = window
        # grown as scores come: most of 10,000 brands score a handful, not a window's worth
        self._scores = np.empty((0, len(train_prior)))
        self._next = 0
        self._filled = 0
        self._unrefreshed = 0
        self._refresh_every = max(1, window // REFRESHES_PER_WINDOW)
        self._labels: deque[int] = deque(maxlen=window)

    @property
    def samples(self) -> int:
        """Scores held: labels do not count, so feedback cannot give a brand its own prior."""
        return self._filled

    def add_scores(self, posteriors: np.ndarray) -> None:
        window = self._window
        rows = posteriors[-window:]
        wanted = min(window, self._filled + len(rows))
        if len(self._scores) < wanted:  # still filling: the buffer's rows are its first ones
            grown = np.empty((min(window, max(wanted, 2 * len(self._scores))), rows.shape[1]))
            grown[: self._filled] = self._scores[: self._filled]
            self._scores = grown
        self._scores[(self._next + np.arange(len(rows))) % window] = rows
        self._next = (self._next + len(rows)) % window
        self._filled = min(window, self._filled + len(rows))
        self._unrefreshed += len(rows)

    def refresh_if_due(self) -> None:
        if self._unrefreshed >= self._refresh_every:
            self.refresh()

    def add_labels(self, class_indices: Iterable[int]) -> None:
        self._labels.extend(class_indices)

    def refresh(self) -> None:
        self._unrefreshed = 0
        self.scores_prior = em_prior(
            self._scores[: self._filled],
            self.train_prior,
            pseudo_count=self.pseudo_count,
            start=self.scores_prior,
        )
        self.mix_labels()

    def mix_labels(self) -> None:
        labelled = np.bincount(np.asarray(self._labels, dtype=int), minlength=len(self.train_prior))
        evidence = self._filled + self.pseudo_count
        self.prior = with_known_labels(self.scores_prior, labelled, evidence, self.max_label_share)


class LabelShift:
    """One rolling prior for all traffic and one per busy scope (brand), at most
    `max_scopes` of them (least recently seen dropped). A scope uses its own estimate once
    it holds `min_scope_samples`, the global one before. Known labels move an estimate by
    at most `max_feedback_share` (none when it is 0)."""

    def __init__(
        self,
        classes: Sequence[str],
        train_prior: np.ndarray,
        *,
        window: int,
        scope_window: int,
        min_scope_samples: int,
        max_scopes: int,
        pseudo_count: float,
        max_feedback_share: float = 0.0,
    ) -> None:
        self.classes = tuple(classes)
        self.train_prior = np.asarray(train_prior, dtype=float)
        self.overall = RollingPrior(self.train_prior, window, pseudo_count, max_feedback_share)
        self._max_feedback_share = max_feedback_share
        self._scope_window = scope_window
        self._min_scope_samples = min_scope_samples
        self._max_scopes = max_scopes
        self._pseudo_count = pseudo_count
        self._scopes: OrderedDict[str, RollingPrior] = OrderedDict()
        self._lock = threading.RLock()

    def observe(self, scopes: Sequence[str], posteriors: np.ndarray) -> None:
        """Add a batch of calibrated posteriors (rows in training-prior terms)."""
        with self._lock:
            if not len(posteriors):
                return
            self.overall.add_scores(posteriors)
            self.overall.refresh_if_due()
            rows_of: dict[str, list[int]] = {}
            for row, scope in enumerate(scopes):
                rows_of.setdefault(scope, []).append(row)
            for scope, rows in rows_of.items():
                estimate = self._scope(scope)
                estimate.add_scores(posteriors[rows])
                estimate.refresh_if_due()

    def observe_labels(self, labelled: Iterable[tuple[str, str]]) -> None:
        """Add known (scope, class) pairs, e.g. from users' corrections. They count for a
        scope that scores already made an estimate for, never create one: reports naming made-up
        brands cannot push real brands out of the `max_scopes` tracked."""
        with self._lock:
            by_scope: dict[str, list[int]] = {}
            for scope, label in labelled:
                if label in self.classes:
                    by_scope.setdefault(scope, []).append(self.classes.index(label))
            for scope, indices in by_scope.items():
                self.overall.add_labels(indices)
                if (estimate := self._scopes.get(scope)) is not None:
                    estimate.add_labels(indices)
                    estimate.mix_labels()
            if by_scope:
                self.overall.mix_labels()

    def prior_for(self, scope: str) -> np.ndarray:
        with self._lock:
            estimate = self._scopes.get(scope)
            if estimate is not None and estimate.samples >= self._min_scope_samples:
                return estimate.prior
            return self.overall.prior

    def priors_for(self, scopes: Sequence[str]) -> dict[str, np.ndarray]:
        """Each distinct scope's live prior, read at one moment (another thread may be
        refreshing the estimates)."""
        with self._lock:
            return {scope: self.prior_for(scope) for scope in dict.fromkeys(scopes)}

    def correct(
        self, scopes: Sequence[str], posteriors: np.ndarray, priors: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """Each row moved to its scope's prior in `priors`, a `priors_for` snapshot (no rows:
        a batch whose tweets are all in languages no model reads)."""
        rows = np.array([priors[s] for s in scopes]).reshape(len(scopes), len(self.train_prior))
        return reweight(posteriors, self.train_prior, rows)

    @property
    def scopes_with_own_prior(self) -> int:
        with self._lock:
            return sum(e.samples >= self._min_scope_samples for e in self._scopes.values())

    def _scope(self, scope: str) -> RollingPrior:
        estimate = self._scopes.get(scope)
        if estimate is None:
            estimate = RollingPrior(
                self.train_prior,
                self._scope_window,
                self._pseudo_count,
                self._max_feedback_share,
            )
            self._scopes[scope] = estimate
            if len(self._scopes) > self._max_scopes:
                self._scopes.popitem(last=False)
        self._scopes.move_to_end(scope)
        return estimate


def label_shift_from(settings: Settings, scorer: ScoresClasses) -> LabelShift | None:
    """The worker's correction, or None when `BADBUZZ_LABEL_SHIFT` turns it off."""
    if not settings.label_shift:
        return None
    return LabelShift(
        scorer.classes,
        scorer.train_prior,
        window=settings.label_shift_window,
        scope_window=settings.label_shift_scope_window,
        min_scope_samples=settings.label_shift_min_scope_samples,
        max_scopes=settings.label_shift_max_scopes,
        pseudo_count=settings.label_shift_pseudo_count,
        max_feedback_share=settings.label_shift_max_feedback_share,
    )
