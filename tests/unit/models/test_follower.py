"""The follower fetches again, after a wait, a bundle it could not fetch for a passing reason,
and never again one refused for good; the model serving serves on meanwhile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from stream.kafka import KafkaConnection
from stream.models import follower as follower_module
from stream.models.bundles import BundleRefused, BundleUnavailable, pack, sha256
from stream.models.control import CHAMPION_KEY, BundleRef, Champion, bundle_key, encode
from stream.models.follower import ModelFollower
from stream.models.slot import Serving, ServingModels
from stream.settings import Settings
from tests.unit.models.conftest import Clock, OneLabelScorer


class LoadedScorer(OneLabelScorer):
    metadata: ClassVar[dict[str, list[float]]] = {"reference_histogram": [1.0]}


class Fetches:
    """Answers each fetch with the next of `outcomes`: bytes, or an exception to raise."""

    def __init__(self, *outcomes: bytes | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, kafka: KafkaConnection, ref: BundleRef, timeout_s: float) -> bytes:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture
def bundle(tmp_path: Path) -> bytes:
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "metadata.json").write_text(json.dumps({"version": "v2"}))
    return pack(tmp_path / "v2")


def follower_of(
    tmp_path: Path, bundle: bytes, fetches: Fetches, monkeypatch: pytest.MonkeyPatch
) -> tuple[ModelFollower, ServingModels, Clock]:
    settings = Settings(data_dir=tmp_path / "worker", model_fetch_retry_s=5)
    models = ServingModels(Serving.of(settings, LoadedScorer("v1", 0.9)))
    clock = Clock()
    monkeypatch.setattr(follower_module, "fetch_bundle", fetches)
    follower = ModelFollower(
        settings,
        KafkaConnection("127.0.0.1:9"),  # never reached: the fetch is the stand-in
        models,
        load=lambda path: LoadedScorer(
            json.loads((path / "metadata.json").read_text())["version"], 0.1
        ),
        worker="w",
        clock=clock,
    )
    ref = BundleRef("v2", sha256(bundle), len(bundle), "bundles", 0, 0, 1)
    state = follower._reader.state
    state.apply(bundle_key("v2"), encode(ref))
    state.apply(CHAMPION_KEY.encode(), encode(Champion("v2")))
    return follower, models, clock


def test_a_fetch_that_timed_out_is_tried_again_after_the_wait(
    tmp_path: Path, bundle: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = Fetches(BundleUnavailable("v2: 3 of 17 chunks read"), bundle)
    follower, models, clock = follower_of(tmp_path, bundle, fetches, monkeypatch)
    follower.follow()
    assert models.current().version == "v1"  # serves on
    follower.follow()
    assert fetches.calls == 1  # not before the wait
    clock.now += 5
    follower.follow()
    assert fetches.calls == 2 and models.current().version == "v2"


def test_a_bundle_refused_for_good_is_not_fetched_again(
    tmp_path: Path, bundle: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetches = Fetches(BundleRefused("v2: sha256 differs"), bundle)
    follower, models, clock = follower_of(tmp_path, bundle, fetches, monkeypatch)
    follower.follow()
    clock.now += 3600
    follower.follow()
    assert fetches.calls == 1 and models.current().version == "v1"
