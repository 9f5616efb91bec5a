"""`badbuzz model ...`: what publishing, promoting and rolling back write on the control
topic (and, when a tracking URI is configured, the `champion` alias in MLflow)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from confluent_kafka import Producer

from stream.kafka import KafkaConnection
from stream.kafka.topics import ensure_model_topics
from stream.models.bundles import publish_bundle
from stream.models.control import (
    CHALLENGER_KEY,
    CHAMPION_KEY,
    Champion,
    ControlState,
    bundle_key,
    encode,
    promoted,
    rolled_back,
)
from stream.models.follower import read_control
from stream.models.gate import GateDecision, judge
from stream.settings import Settings

Role = Literal["champion", "challenger", "none"]
READ_TIMEOUT_S = 30.0


class ModelCommandError(Exception):
    """What the command refuses to do, in a sentence for the operator."""


class ControlTopic:
    """Reads the control topic's state and writes records to it, in order, acknowledged."""

    def __init__(self, settings: Settings, kafka: KafkaConnection) -> None:
        self.settings = settings
        self.kafka = kafka
        ensure_model_topics(settings, kafka)
        self.state: ControlState = read_control(kafka, settings.topic_models, READ_TIMEOUT_S)

    def write(self, key: str | bytes, value: bytes | None) -> None:
        producer = Producer(self.kafka.librdkafka({"acks": "all", "enable.idempotence": True}))
        raw_key = key.encode() if isinstance(key, str) else key
        producer.produce(self.settings.topic_models, value, raw_key, 0)
        if producer.flush(READ_TIMEOUT_S):
            raise ModelCommandError(f"{self.settings.topic_models} did not take the record")
        self.state.apply(raw_key, value)

    def name_champion(self, champion: Champion) -> str:
        """Writes the champion record; returns what happened to MLflow's alias."""
        self.write(CHAMPION_KEY, encode(champion))
        if self.state.challenger == champion.version:
            self.write(CHALLENGER_KEY, None)  # promoted: no longer in shadow
        return record_alias(champion.version)


def publish(control: ControlTopic, bundle: Path, role: Role) -> str:
    ref = publish_bundle(
        control.kafka, control.settings.topic_model_bundles, bundle, READ_TIMEOUT_S
    )
    control.write(bundle_key(ref.version), encode(ref))
    lines = [f"published {ref.version}: {ref.size} bytes, sha256 {ref.sha256} at {ref.location}"]
    if role == "challenger":
        control.write(CHALLENGER_KEY, encode({"version": ref.version}))
        lines.append(f"{ref.version} is in shadow of {champion_name(control.state)}")
    elif role == "champion":
        alias = control.name_champion(promoted(control.state, ref.version, "published"))
        lines.append(f"{ref.version} is champion{alias}")
    return "\n".join(lines)


def promote(control: ControlTopic, version: str, gated: bool) -> tuple[bool, str]:
    """Makes `version` champion; when `gated` and it is the challenger in shadow, only if its
    shadow figures pass the gate. Returns whether it was promoted, and why."""
    state = control.state
    if version not in state.bundles:
        raise ModelCommandError(f"no bundle published for {version}: `badbuzz model publish`")
    if state.champion is not None and state.champion.version == version:
        return False, f"{version} is already champion"
    decision = gate(control, version) if gated else None
    if decision is not None and not decision.passed:
        return False, str(decision)
    alias = control.name_champion(promoted(state, version, "promoted"))
    head = "" if decision is None else f"{decision}\n"
    return True, f"{head}{version} is champion (was {champion_name(state, previous=True)}){alias}"


def gate(control: ControlTopic, version: str) -> GateDecision:
    state = control.state
    champion = champion_name(state)
    tally = state.shadow_total(version, champion)
    settings = control.settings
    return judge(tally, settings.promote_min_scores, settings.promote_min_agreement)


def rollback(control: ControlTopic) -> str:
    champion = rolled_back(control.state)
    if champion is None:
        raise ModelCommandError("no earlier champion to return to")
    current = champion_name(control.state)
    alias = control.name_champion(champion)
    return f"{champion.version} is champion again (was {current}){alias}"


def status(control: ControlTopic) -> str:
    state = control.state
    lines = [f"champion: {champion_name(state)}"]
    if state.champion is not None and state.champion.previous:
        lines.append(f"before it: {', '.join(state.champion.previous)}")
    if state.challenger is not None:
        lines.append(f"in shadow: {state.challenger}")
        lines.append(str(gate(control, state.challenger)))
    lines += [f"bundle {ref.version}: sha256 {ref.sha256[:12]}" for ref in state.bundles.values()]
    return "\n".join(lines)


def champion_name(state: ControlState, previous: bool = False) -> str:
    """The champion's version; with `previous`, the one before the latest promotion."""
    if state.champion is None:
        return "the workers' own bundle"
    if previous:
        return state.champion.previous[0] if state.champion.previous else "none"
    return state.champion.version


def record_alias(version: str) -> str:
    """The `champion` alias in MLflow follows, when a tracking URI is configured; what
    happened, as the end of a sentence."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return ""
    from model.registry import set_champion_alias

    number = set_champion_alias(version)
    if number is None:
        return f"; no MLflow version is tagged bundle_version={version}, alias left alone"
    return f"; MLflow alias champion -> {number}"
