"""Follows the control topic: installs the champion it names and runs its challenger in
shadow, on a thread of its own; the scoring thread only ever sees a ready model.

Every worker reads the whole topic from its beginning with a consumer of its own, assigned
and never in a group (a group would give each worker one share of it). A named bundle is
fetched, checked against its sha256, loaded and warmed up before it is handed to the slot;
one that fails any of these is refused (a log line, `badbuzz_model_swaps_total{outcome=
"refused"}`) and the model serving keeps serving. One whose chunks could not be read for a
passing reason (not in time, a broker away) is fetched again after a doubling wait while it
is still named (`outcome="fetch_failed"`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from model import SentimentModel
from stream.kafka.compacted import read_partition, reader_consumer, watermarks
from stream.kafka.connection import KafkaConnection
from stream.models import metrics
from stream.models.bundles import BundleRefused, BundleUnavailable, fetch_bundle, unpack
from stream.models.control import ControlState, encode, shadow_key
from stream.models.retry import FetchRetries
from stream.models.slot import Serving, ServingModels
from stream.observability.logs import LIBRDKAFKA
from stream.settings import Settings

log = structlog.get_logger(__name__)

Loader = Callable[[Path], SentimentModel]
# texts enough to run every compiled batch size once (model/scorer.py `row_plan`: 64+32+16+8)
WARMUP_TEXTS = ["warming up the new model before it serves"] * 120


def read_control(kafka: KafkaConnection, topic: str, timeout_s: float) -> ControlState:
    """The control topic folded, as of its end now (for `badbuzz model`)."""
    state = ControlState()
    for key, value in read_partition(kafka, topic, 0, timeout_s).items():
        state.apply(key, value)
    return state


class ControlReader:
    """The control topic from its beginning, folded into a `ControlState` as it is read."""

    def __init__(self, kafka: KafkaConnection, topic: str) -> None:
        self.state = ControlState()
        self._topic = topic
        # long-lived: librdkafka's own lines go out as JSON with the worker's
        self._consumer = reader_consumer(kafka, topic, {"logger": LIBRDKAFKA})
        self._consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])

    def read_to_end(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        _, high = watermarks(self._consumer, TopicPartition(self._topic, 0), deadline)
        while self.position() < high:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._topic} not read to {high} in {timeout_s}s")
            if not self.poll(0.2):
                break

    def position(self) -> int:
        offset = self._consumer.position([TopicPartition(self._topic, 0)])[0].offset
        return max(offset, 0)

    def poll(self, timeout_s: float) -> bool:
        """Applies what arrived within `timeout_s`; False at the partition's end."""
        message = self._consumer.poll(timeout_s)
        if message is None:
            return True
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return False
            log.warning("model_control_read_error", error=error.str())
            return True
        if message.key() is not None:
            self.state.apply(message.key(), message.value())
        return True

    def close(self) -> None:
        self._consumer.close()


class ModelFollower:
    def __init__(
        self,
        settings: Settings,
        kafka: KafkaConnection,
        models: ServingModels,
        load: Loader,
        worker: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._kafka = kafka
        self._models = models
        self._load = load
        self._worker = worker
        self._reader = ControlReader(kafka, settings.topic_models)
        self._refused: set[tuple[str, str]] = set()  # (version, sha256) refused for good
        self._retries = FetchRetries(
            settings.model_fetch_retry_s, settings.model_fetch_retry_max_s, clock
        )
        self._loaded: dict[str, Serving] = {}  # the last versions installed, for a rollback
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-follower", daemon=True)
        self._producer: Producer | None = None
        self._reported = 0.0

    def catch_up(self, timeout_s: float) -> None:
        """Reads the topic to its end and installs what it names: at start, before the
        first batch, so a restarted worker serves the champion, not its image's bundle."""
        self._reader.read_to_end(timeout_s)
        self.follow()

    def start(self) -> None:
        self._running.set()
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._running.clear()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            while self._running.is_set():
                at_end = not self._reader.poll(0.5)
                if at_end or self._retries.due(self._reader.state.named_bundles()):
                    self.follow()
                self._report_shadow()
        except Exception:  # the worker keeps scoring with what it has
            log.exception("model_follower_failed")
        finally:
            self._reader.close()
            if self._producer is not None:
                self._producer.flush(5)

    def follow(self) -> None:
        """Installs the champion and starts the shadow that the topic, as read so far, names."""
        state = self._reader.state
        if state.champion is not None and state.champion.version != self._models.current().version:
            champion = self._ready(state, state.champion.version)
            if champion is not None:
                replaced = self._models.swap(champion)
                self._loaded = {replaced.version: replaced}  # kept for a quick rollback
                metrics.MODEL_SWAPS.labels(outcome="swapped").inc()
                metrics.export_serving(self._models)
                log.info("model_swapped", version=champion.version, replaced=replaced.version)
        shadow = self._models.shadow
        wanted = state.challenger
        if wanted is None or (state.champion and wanted == state.champion.version):
            if shadow is not None:
                self._models.stop_shadow()
                log.info("model_shadow_stopped", version=shadow.version)
        elif wanted not in self._models.failed_shadows and (
            shadow is None or shadow.version != wanted
        ):
            challenger = self._ready(state, wanted)
            if challenger is not None:
                self._models.start_shadow(challenger)
                log.info("model_shadow_started", version=wanted)

    def _ready(self, state: ControlState, version: str) -> Serving | None:
        """The version fetched, verified, loaded and warmed up; None once refused."""
        if version in self._loaded:
            return Serving.of(self._settings, self._loaded.pop(version).model)
        ref = state.bundles.get(version)
        bundle = (version, "" if ref is None else ref.sha256)
        if bundle in self._refused or self._retries.waiting(bundle):
            return None
        if ref is None:
            return self._refuse(version, "", "no bundle published for this version")
        started = time.perf_counter()
        try:
            data = fetch_bundle(self._kafka, ref, self._settings.model_fetch_timeout_s)
        except (BundleUnavailable, KafkaException) as exc:
            wait = self._retries.failed(bundle)
            metrics.MODEL_SWAPS.labels(outcome="fetch_failed").inc()
            log.warning("model_fetch_failed", version=version, reason=str(exc), retry_in_s=wait)
            return None
        except BundleRefused as exc:
            return self._refuse(version, ref.sha256, str(exc))
        self._retries.forget(bundle)
        try:
            path = unpack(data, self._settings.data_dir / "models" / f"{version}-{ref.sha256[:12]}")
            model = self._load(path)
            if model.version != version:
                raise BundleRefused(f"the bundle says it is {model.version}, not {version}")
            model.metadata["reference_histogram"]  # drift's reference: missing, refused now
            model.predict_classes(WARMUP_TEXTS)
            for lang in sorted(model.languages - {model.language}):  # each route loads now
                model.predict_classes(WARMUP_TEXTS[:8], [lang] * 8)
        except (BundleRefused, ValueError, RuntimeError, OSError, KeyError) as exc:
            return self._refuse(version, ref.sha256, str(exc))
        log.info("model_ready", version=version, seconds=round(time.perf_counter() - started, 2))
        return Serving.of(self._settings, model)

    def _refuse(self, version: str, sha256: str, reason: str) -> None:
        """Once per (version, sha256): a fixed bundle published again is a new sha256."""
        self._refused.add((version, sha256))
        self._retries.forget((version, sha256))
        metrics.MODEL_SWAPS.labels(outcome="refused").inc()
        log.error(
            "model_refused", version=version, reason=reason, serving=self._models.current().version
        )
        return None

    def _report_shadow(self) -> None:
        """This worker's shadow tally on the control topic, for `badbuzz model promote`."""
        shadow = self._models.shadow
        now = time.monotonic()
        if shadow is None or now - self._reported < self._settings.shadow_report_s:
            return
        tally = shadow.tally()
        if tally is None:
            return
        self._reported = now
        if self._producer is None:
            self._producer = Producer(self._kafka.librdkafka({"acks": "all", "logger": LIBRDKAFKA}))
        key = shadow_key(shadow.version, self._worker)
        self._producer.produce(self._settings.topic_models, encode(tally), key, 0)
        self._producer.poll(0)
